"""A Ray cluster of several nodes on this one machine: the multi-node set-up, simulated.

Each node is its own ``ray start --block`` process, started in a new session with its own temp
folder, CPU count, custom resources (``{"gpu_node": 1}``) and environment (a per-node
``SEBENCH_HOME``, hence a per-node cache), exactly as ``ray start`` builds a node of a real cluster
(Slurm, ``ray up``). Nodes share nothing the harness relies on except the machine, which is what
the two-node test and the throughput benchmark need to check that a run works without a shared
filesystem.

``stop`` ends exactly the processes this cluster started (every process of each node's session,
found through /proc), never other Ray instances on the machine (``ray stop`` would end them all),
and removes the temp folders; it runs on ``with``-exit, on failures included. Each node also
watches the process that started it, and ends itself if that process is gone: a test killed
outright (a CI timeout) leaves no Ray node behind.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

STARTED = "Ray runtime started"
"""What ``ray start --block`` prints once the node is up."""


@dataclass(frozen=True)
class NodeSpec:
    """One simulated node: its logical CPUs (and GPUs), custom resources and extra environment."""

    cpus: int = 1
    gpus: int = 0
    resources: Mapping[str, float] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    object_store_bytes: int = 80 * 1024 * 1024
    """Small: every node of a simulated cluster shares this machine's memory (Ray's minimum is 75 MiB)."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _kill_session(session: int, timeout: float = 10.0, spare: int | None = None) -> None:
    """SIGKILL every process of a session (but ``spare``) until none is left."""
    deadline = time.monotonic() + timeout
    while (pids := [p for p in _session_processes(session) if p != spare]) and time.monotonic() < deadline:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)


def processes() -> Iterator[tuple[int, list[str]]]:
    """Every process (Linux /proc) with the fields of its ``stat`` line after the command name:
    ``fields[0]`` is the state, ``[1]`` the parent, ``[3]`` the session, ``[11:13]`` user and
    system CPU ticks, ``[19]`` the start time."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            yield int(stat.parent.name), stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue


def _session_processes(session: int) -> list[int]:
    """pids of the live processes in a session, the session leader included."""
    return [pid for pid, fields in processes() if int(fields[3]) == session and fields[0] != "Z"]


class LocalCluster:
    """``with LocalCluster([NodeSpec(...), NodeSpec(...)]) as cluster: ... cluster.address ...``

    The first node is the head. ``start`` returns once every node has joined (checked from a
    short-lived driver connection, which it closes again, so the caller connects as it would to
    any cluster: ``ray.init(address=cluster.address)`` or ``--ray-address``).
    """

    def __init__(self, nodes: Sequence[NodeSpec], *, root: Path | None = None, timeout: float = 120.0) -> None:
        if not nodes:
            raise ValueError("a cluster needs at least one node")
        self.nodes = list(nodes)
        self.timeout = timeout
        # Short root: Ray keeps Unix sockets under the temp folder and socket paths have ~107 bytes.
        self.root = Path(tempfile.mkdtemp(prefix="sebench-ray-", dir=root or "/tmp"))
        self.address = ""
        self._processes: list[subprocess.Popen] = []
        self._cpu: dict[tuple[int, int], float] = {}
        self._stopped = threading.Event()

    def node_dir(self, index: int) -> Path:
        return self.root / f"n{index}"

    def start(self) -> str:
        try:
            port = _free_port()
            self.address = f"127.0.0.1:{port}"
            for index, node in enumerate(self.nodes):
                head = ["--head", f"--port={port}", "--node-ip-address=127.0.0.1"] if index == 0 else \
                    [f"--address={self.address}", "--node-ip-address=127.0.0.1"]
                self._start_node(index, node, head)
            self._wait_for_nodes()
            threading.Thread(target=self._sampling, daemon=True).start()
        except BaseException:
            self.stop()
            raise
        return self.address

    def _start_node(self, index: int, node: NodeSpec, role: list[str]) -> None:
        folder = self.node_dir(index)
        folder.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "bench.ray_cluster", str(os.getpid()), str(folder),
                   sys.executable, "-m", "ray.scripts.scripts", "start", *role, "--block",
                   f"--temp-dir={folder / 'tmp'}", f"--num-cpus={node.cpus}", f"--num-gpus={node.gpus}",
                   f"--resources={json.dumps(dict(node.resources))}",
                   f"--object-store-memory={node.object_store_bytes}", "--disable-usage-stats"]
        if index == 0:
            command.append("--include-dashboard=false")
        # The nodes authenticate as this process will when it joins: ``ray start`` turns token
        # authentication on whenever ~/.ray/auth_token exists (any local ``ray.init()`` writes one),
        # while a driver joining by address uses $RAY_AUTH_MODE, "disabled" when unset (and a local
        # ``ray.init()`` sets it to "token" for the rest of its process). Both read the same token.
        mode = os.environ.get("RAY_AUTH_MODE", "disabled")
        env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", **node.env, "RAY_AUTH_MODE": mode}
        env.pop("RAY_ADDRESS", None)
        log = folder / "ray-start.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env,
                                       start_new_session=True)
        self._processes.append(process)
        deadline = time.monotonic() + self.timeout
        while STARTED not in log.read_text(errors="replace"):
            if process.poll() is not None:
                raise RuntimeError(f"ray start for node {index} exited with {process.returncode}:\n"
                                   f"{log.read_text(errors='replace')[-3000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"node {index} did not start within {self.timeout:g} s (log: {log})")
            time.sleep(0.2)

    def _wait_for_nodes(self) -> None:
        import ray

        if ray.is_initialized():
            raise RuntimeError("LocalCluster.start: this process is already connected to a Ray cluster")
        ray.init(address=self.address, logging_level=logging.WARNING)
        try:
            deadline = time.monotonic() + self.timeout
            while sum(1 for node in ray.nodes() if node["Alive"]) < len(self.nodes):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"only {len(ray.nodes())} of {len(self.nodes)} nodes joined")
                time.sleep(0.2)
        finally:
            ray.shutdown()

    def stop(self) -> None:
        """End every process of every node and remove the temp folders. Safe to call twice and
        after a failed start."""
        self._stopped.set()
        for process in reversed(self._processes):
            self._end_session(process)
        self._processes.clear()
        shutil.rmtree(self.root, ignore_errors=True)

    @staticmethod
    def _end_session(process: subprocess.Popen, timeout: float = 10.0) -> None:
        """SIGKILL every process of the node's session: nothing of a throw-away node needs a
        graceful exit (its temp folder goes next), and ``ray start --block`` takes 15 s and more to
        stop its head node on SIGTERM."""
        _kill_session(process.pid, timeout)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass

    def cpu_seconds(self) -> float:
        """CPU time the processes of every node (Ray's daemons and workers) have used since the
        cluster started. Ray reaps its workers without accounting for them, so a sampler keeps
        each process's last reading: a process that exits loses at most its last half second."""
        self._sample()
        return sum(self._cpu.values())

    def _sample(self) -> None:
        ticks = os.sysconf("SC_CLK_TCK")
        sessions = {process.pid for process in self._processes}
        for pid, fields in processes():
            if int(fields[3]) in sessions:  # keyed with the start time: a reused pid is another process
                self._cpu[(pid, int(fields[19]))] = (int(fields[11]) + int(fields[12])) / ticks

    def _sampling(self) -> None:
        while not self._stopped.wait(0.5):
            self._sample()

    def __enter__(self) -> "LocalCluster":
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def _supervise(parent: int, folder: Path, command: Sequence[str]) -> int:
    """Run one node (``ray start --block``) until it exits or ``parent`` is gone, then end every
    process of this session (the node's daemons and workers); an orphaned node also removes its
    folder, and the cluster's root once it is empty."""
    node = subprocess.Popen(list(command))
    while node.poll() is None and os.getppid() == parent:
        time.sleep(0.5)
    orphaned = os.getppid() != parent
    _kill_session(os.getsid(0), spare=os.getpid())
    if orphaned:
        shutil.rmtree(folder, ignore_errors=True)
        try:
            folder.parent.rmdir()
        except OSError:
            pass
    return node.wait()


if __name__ == "__main__":
    raise SystemExit(_supervise(int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]))
