"""Option keys: every built-in system, test set and metric rejects a key it does not declare (a typo
is an error naming the known keys, never silently ignored), declared defaults are filled in, and a
data root is required and checked by the base class."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.errors import ConfigError, MissingDependencyError
from bench.metric import METRICS
from bench.system import SYSTEMS
from bench.testset import TESTSETS

CHECKED_ELSEWHERE = {"llase", "llase-g1"}
"""LLaSE checks its keys against its config file's schema (systems/llase/config.py)."""


def _builtins(registry) -> list[str]:
    return [name for name in registry.names() if name not in CHECKED_ELSEWHERE]


@pytest.mark.parametrize("registry, name", [(SYSTEMS, n) for n in _builtins(SYSTEMS)]
                         + [(TESTSETS, n) for n in _builtins(TESTSETS)] + [(METRICS, n) for n in _builtins(METRICS)])
def test_unknown_key_is_rejected(registry, name, tmp_path: Path) -> None:
    try:
        cls = registry.get(name)
    except MissingDependencyError as exc:
        pytest.skip(str(exc))
    with pytest.raises(ConfigError, match=r"unknown config key.*'no_such_key'"):
        cls(no_such_key="1", root=str(tmp_path))


def test_declared_defaults_are_filled_in_and_given_values_win() -> None:
    assert SYSTEMS.get("deepfilternet3")().config == {"atten_lim": 100.0, "post_filter_beta": 0.0}
    assert SYSTEMS.get("deepfilternet3")(atten_lim="12").config == {"atten_lim": "12", "post_filter_beta": 0.0}
    assert METRICS.get("plcmos")().config == {"seed": 0}
    assert SYSTEMS.get("oracle")().config == {}


def test_data_root_is_required_and_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="dns: 'root' is required"):
        TESTSETS.get("dns")()
    with pytest.raises(ConfigError, match=f"folder: folder {tmp_path / 'missing'} does not exist"):
        SYSTEMS.get("folder")(root=str(tmp_path / "missing"))
    (tmp_path / "no_reverb" / "noisy").mkdir(parents=True)
    assert TESTSETS.get("dns")(root=str(tmp_path)).root == tmp_path.resolve()


def test_a_plugin_without_declared_options_keeps_its_config() -> None:
    from bench.system import EnhanceInput, System

    class Legacy(System):
        def enhance(self, inputs: EnhanceInput, variant: str = "default"):
            return inputs.audio

    assert Legacy(anything="x").config == {"anything": "x"}
