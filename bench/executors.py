"""Where jobs run. An executor maps Jobs to JobResults; the driver records them as they arrive.

Executors are looked up by name (``--executor``); each keeps models loaded for the whole run.
"""

from __future__ import annotations

from typing import Callable, Iterator, Sequence

from bench.config import RunConfig
from bench.errors import ConfigError
from bench.worker import Job, JobResult, Worker


def serial(config: RunConfig, jobs: Sequence[Job]) -> Iterator[JobResult]:
    """In-process, in plan order: the reference every parallel executor must reproduce."""
    worker = Worker(config)
    for job in jobs:
        yield worker.process(job)


EXECUTORS: dict[str, Callable[[RunConfig, Sequence[Job]], Iterator[JobResult]]] = {"serial": serial}


def get_executor(name: str) -> Callable[[RunConfig, Sequence[Job]], Iterator[JobResult]]:
    if name not in EXECUTORS:
        raise ConfigError(f"unknown executor {name!r}; known: {', '.join(sorted(EXECUTORS))}")
    return EXECUTORS[name]
