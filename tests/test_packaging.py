"""Installing sebench as a package and its first run: install hints that never repeat the command
just run, the default run's content and ``--full``, and the built wheel installed with every extra
into a fresh venv running the default command (slow)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

from bench.cli import build_parser, config_from_args, main
from bench.config import QUICK_ITEMS_PER_SUBSET, RunConfig
from bench.errors import ConfigError, MissingDependencyError
from bench.metric import METRICS
from bench.system import SYSTEMS
from bench.testset import TESTSETS

REQUIRES = [
    "numpy>=1.24",
    'faster-whisper>=1.0; extra == "asr"',
    'whisper-normalizer>=0.1; extra == "asr"',
    'resemblyzer>=0.1.4; extra == "spk"',
    'sebench[asr,spk]; extra == "all"',
]


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch):
    """Pretend sebench's metadata is REQUIRES and only the named distributions are installed."""
    present: set[str] = set()

    def version(name: str) -> str:
        if name.lower().replace("_", "-") in present:
            return "1.0"
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "requires", lambda name: REQUIRES)
    monkeypatch.setattr(metadata, "version", version)
    return present


def test_missing_extra_names_the_extra(installed: set[str]) -> None:
    message = str(MissingDependencyError("faster-whisper", "asr"))
    assert message == "'faster-whisper' is not installed: pip install 'sebench[asr]'"


def test_installed_extra_is_not_recommended_again(installed: set[str]) -> None:
    """[asr] was installed (its other requirements are there) but the backend is not: name the backend."""
    installed.add("whisper-normalizer")
    message = str(MissingDependencyError("faster-whisper", "asr"))
    assert message == "'faster-whisper' is not installed: pip install 'faster-whisper>=1.0'"
    assert "sebench[" not in message


def test_nested_extras_and_packages_no_extra_provides(installed: set[str]) -> None:
    installed.update({"faster-whisper", "whisper-normalizer"})
    assert "pip install 'resemblyzer>=0.1.4'" in str(MissingDependencyError("resemblyzer", "all"))
    installed.add("resemblyzer")
    # what no extra provides (a system library): only the caller's instructions
    message = str(MissingDependencyError("libopus", None, "apt install libopus0"))
    assert message == "'libopus' is not installed: apt install libopus0"
    message = str(MissingDependencyError("openai-whisper", None, "pip install --no-deps openai-whisper"))
    assert message == "'openai-whisper' is not installed: pip install --no-deps openai-whisper"
    # installed metadata older than the package (an editable install of an older checkout): the extra helps
    assert str(MissingDependencyError("newcomer", "spk")) == "'newcomer' is not installed: pip install 'sebench[spk]'"


def test_source_tree_without_metadata_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    def absent(name: str) -> list[str]:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "requires", absent)
    assert str(MissingDependencyError("ray", "ray", "needed for --executor ray")) == (
        "'ray' is not installed: pip install 'sebench[ray]' (needed for --executor ray)"
    )



def test_default_run_shows_real_systems_on_a_quick_suite() -> None:
    config = RunConfig()
    assert [s.name + (f"@{s.variant}" if s.variant else "") for s in config.systems] == [
        "unprocessed", "oracle", "silence", "deepfilternet3", "seflow@f-12-4"]
    assert [(s.name, s.config) for s in config.testsets] == [("synthetic", {"n_per_subset": str(QUICK_ITEMS_PER_SUBSET)})]
    assert [s.name for s in config.metrics] == ["dnsmos", "pesq", "stoi", "sisdr", "wer", "spksim", "plcmos", "aecmos", "erle"]
    assert config.executor == "local"  # every core
    for spec in config.systems:
        SYSTEMS.get(spec.name)
    for spec in config.metrics:
        METRICS.get(spec.name)
    TESTSETS.get("synthetic")


def test_full_runs_the_default_suite_at_its_documented_size(capsys: pytest.CaptureFixture[str]) -> None:
    config = config_from_args(build_parser().parse_args(["run", "--full"]))
    assert [(s.name, s.config) for s in config.testsets] == [("synthetic", {})]  # 10 items per subset
    with pytest.raises(ConfigError, match="--full sizes the default test set"):
        config_from_args(build_parser().parse_args(["run", "--full", "--testset", "synthetic:n_per_subset=2"]))
    assert main(["run", "--full", "--testset", "dns:root=/nowhere"]) == 2
    assert capsys.readouterr().err.strip().startswith("sebench: error: --full sizes the default test set")


DATA_SUFFIXES = (".json", ".yaml", ".csv", ".tsv", ".safetensors")
PACKAGES = ("bench", "systems", "testsets", "reports")


def _source_files(repo: Path) -> list[str]:
    """Tracked and untracked-but-not-ignored files of the checkout (what a commit would hold)."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=repo, capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout: cannot tell which files are the package's")
    return [name for name in listed.stdout.splitlines() if (repo / name).is_file()]


def _numbers(row: str) -> int:
    """How many cells of a Markdown table row hold a number (bold or not)."""
    return sum(cell.strip().strip("*").lstrip("-").replace(".", "", 1).isdigit() for cell in row.split("|"))


@pytest.mark.slow
@pytest.mark.timeout(3600)  # about 4 minutes on a quiet 2-core machine; 36 at load average 13-20 (pip 24, run 8)
def test_built_wheel_installs_with_all_and_runs_the_default_command() -> None:
    """pip install "sebench[all]" from the built wheel into a fresh venv gives a working `sebench run`.

    The venv sees neither this checkout nor the site-packages it was developed in; the machine's
    pip configuration (local wheels such as torch's CPU build) is reused. Not in pytest's tmp_path:
    concurrent pytest sessions prune each other's old tmp folders, and the 2.7 GB venv goes away
    at the end. Prints how long each step took.
    """
    repo = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory(prefix="sebench-wheel-test-") as scratch:
        root = Path(scratch)
        source = root / "source"
        for name in _source_files(repo):
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(repo / name, source / name)
        timings: dict[str, float] = {}

        def step(label: str, command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
            start = time.monotonic()
            done = subprocess.run(command, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
            timings[label] = time.monotonic() - start
            print(f"wheel test: {label}: {timings[label]:.0f} s", flush=True)
            assert done.returncode == 0, f"{label} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            return done

        dist = root / "dist"
        step("build wheel", [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(source)])
        (wheel,) = dist.glob("sebench-*.whl")
        with zipfile.ZipFile(wheel) as archive:
            packaged = set(archive.namelist())
        data = [n for n in _source_files(repo) if n.startswith(tuple(f"{p}/" for p in PACKAGES)) and n.endswith(DATA_SUFFIXES)]
        assert data and not [name for name in data if name not in packaged], "package data missing from the wheel"

        venv = root / "venv"
        step("create venv", [sys.executable, "-m", "venv", str(venv)])
        python = venv / "bin" / "python"
        step("pip install sebench[all]", [str(python), "-m", "pip", "install", "-q", "-c", str(repo / "constraints.txt"), f"{wheel}[all]"])

        env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "VIRTUAL_ENV", "SEBENCH"))}
        env.update(SEBENCH_HOME=str(root / "home"), PATH=f"{venv / 'bin'}:{env.get('PATH', '')}")
        work = root / "work"  # not the checkout: `bench` must come from the installed wheel
        work.mkdir()
        run = step("sebench run --limit 1", ["sebench", "run", "--limit", "1", "--no-progress"], cwd=work, env=env, timeout=1200)
        located = subprocess.run([str(python), "-c", "import bench; print(bench.__file__)"], cwd=work, env=env,
                                 capture_output=True, text=True)
        assert str(venv) in located.stdout

    table, log = run.stdout, run.stderr[-3000:]
    header = next(line for line in table.splitlines() if "WER" in line and "DNSMOS_OVRL" in line)
    assert "SpkSim" in header and "PESQ_WB" in header and "PLCMOS" in header, f"{header}\n{log}"
    for system in ("unprocessed", "oracle", "silence", "deepfilternet3", "seflow@f-12-4"):
        first = next((line for line in table.splitlines() if f" {system} " in line), None)  # no_reverb: both support it
        assert first is not None and "fail" not in first and _numbers(first) >= 10, f"{system}:\n{table}\n{log}"
    assert "skipped" not in log, log


def test_package_data_patterns_cover_every_data_file() -> None:
    """Every json/yaml/csv/tsv/checkpoint file inside the packages matches a package-data pattern
    (the slow test checks the built wheel itself)."""
    import fnmatch
    import tomllib

    repo = Path(__file__).resolve().parents[1]
    patterns = tomllib.loads((repo / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    data = [name for name in _source_files(repo) if name.startswith(tuple(f"{p}/" for p in PACKAGES)) and name.endswith(DATA_SUFFIXES)]

    def covered(name: str) -> bool:
        path = Path(name)
        for package, globs in patterns.items():
            if package == "*":
                if any(fnmatch.fnmatch(path.name, g) for g in globs):
                    return True
                continue
            root = Path(*package.split("."))
            if root in path.parents and any(fnmatch.fnmatch(str(path.relative_to(root)), g) for g in globs):
                return True
        return False

    assert data and [name for name in data if not covered(name)] == []


def _setup_commands(readme: str) -> list[str]:
    """The command lines of the README's "Set-up: two commands" block."""
    section = readme.split("## Set-up: two commands", 1)[1]
    block = section.split("```bash", 1)[1].split("```", 1)[0]
    return [line.strip() for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_readme_keeps_two_setup_commands_and_ci_runs_its_test_command() -> None:
    """A fresh machine needs exactly two commands, the main job and the tests; CI runs the same
    install and test command, so the README's promise is what CI checks."""
    repo = Path(__file__).resolve().parents[1]
    run, tests = _setup_commands((repo / "README.md").read_text())
    install, _, main_job = run.partition(" && ")
    assert (install, main_job) == ("bash scripts/install.sh", "sebench run")
    install_again, _, test_command = tests.partition(" && ")
    assert install_again == install and "pytest" in test_command
    ci_lines = [line.strip() for line in (repo / ".ci" / "run").read_text().splitlines()]
    assert install in ci_lines and test_command in ci_lines
