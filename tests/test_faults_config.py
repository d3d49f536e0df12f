"""Fault injection, configuration: run names that would leave the runs folder, malformed YAML and
flags. Each is one line on stderr and exit code 2, with nothing written (README, "Failure
handling")."""

from __future__ import annotations

from pathlib import Path

import pytest

from faults_support import (  # noqa: F401  (fault_plugin: fixture)
    fault_plugin, make_dataset, run_args, sebench_inprocess,
)


# --- run names and configs --------------------------------------------------------------------

ESCAPING_NAMES = ["../../escaped", "../escaped", "a/../../escaped", "{tmp}/escaped-abs", "..", ".", "",
                  "nested/name", "name\x00nul"]


@pytest.mark.parametrize("name", ESCAPING_NAMES)
def test_a_run_name_cannot_leave_the_runs_folder(tmp_path, fault_plugin, name):
    data = make_dataset(tmp_path / "data")
    runs = tmp_path / "deep" / "er" / "runs"
    args = run_args(tmp_path, data, ["fault"])
    args[args.index("--name") + 1] = name.format(tmp=tmp_path)
    args[args.index("--runs-dir") + 1] = str(runs)
    before = set(tmp_path.rglob("*"))
    code, out, err = sebench_inprocess(*args)
    assert code == 2, (out, err)
    assert "run name" in err and err.count("\n") == 1, err
    created = set(tmp_path.rglob("*")) - before
    assert not [p for p in created if runs not in p.parents and p != runs], created
    assert not Path("{tmp}/escaped-abs").exists()


def test_a_run_name_in_a_yaml_config_cannot_leave_the_runs_folder(tmp_path, fault_plugin):
    data = make_dataset(tmp_path / "data")
    yaml_path = tmp_path / "run.yaml"
    yaml_path.write_text(f"name: ../../escaped\ntestsets: ['{data.spec}']\nsystems: [fault]\nmetrics: [sisdr]\n")
    code, out, err = sebench_inprocess("run", "--no-progress", "--config", str(yaml_path),
                                       "--runs-dir", str(tmp_path / "runs"), "--cache-dir", str(tmp_path / "cache"))
    assert code == 2 and "run name" in err, (out, err)
    assert not (tmp_path.parent / "escaped").exists()


BAD_CONFIGS = {
    # case: (YAML text or None, extra CLI args, words the one-line error must contain)
    "yaml-python-tag": ("!!python/object/apply:os.system ['touch /tmp/sebench-pwned']\n", [], "cannot read config"),
    "yaml-not-a-mapping": ("- a\n- b\n", [], "must be a mapping"),
    "yaml-unknown-key": ("systemz: [fault]\n", [], "unknown keys"),
    "yaml-empty-systems": ("systems: []\n", [], "non-empty list"),
    "yaml-syntax": ("systems: [fault\n", [], "cannot read config"),
    "unknown-system": (None, ["--system", "no-such-system"], "unknown system"),
    "unknown-metric": (None, ["--metric", "no-such-metric"], "unknown metric"),
    "spec-without-value": (None, ["--system", "fault:mode"], "expected key=value"),
    "unknown-executor": (None, ["--executor", "quantum"], "unknown executor"),
    "negative-timeout": (None, ["--timeout", "-1"], "timeout"),
    "zero-workers": (None, ["--workers", "0", "--executor", "local"], "worker"),
    "negative-limit": (None, ["--limit", "-2"], "limit"),
    "duplicate-labels": (None, ["--system", "fault", "--system", "fault"], "labelled"),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_a_bad_config_is_one_line_and_exit_2(tmp_path, fault_plugin, case):
    data = make_dataset(tmp_path / "data")
    text, extra, words = BAD_CONFIGS[case]
    args = ["run", "--no-progress", "--testset", data.spec, "--runs-dir", str(tmp_path / "runs"),
            "--cache-dir", str(tmp_path / "cache"), *extra]
    if text is not None:
        (tmp_path / "run.yaml").write_text(text)
        args += ["--config", str(tmp_path / "run.yaml")]
    code, out, err = sebench_inprocess(*args)
    assert code == 2, (out, err)
    assert words in err and err.startswith("sebench: error:") and err.count("\n") == 1, err
    assert not Path("/tmp/sebench-pwned").exists()
