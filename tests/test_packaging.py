"""Installing sebench as a package: install hints that never repeat the command just run."""

from __future__ import annotations

from importlib import metadata

import pytest

from bench.errors import MissingDependencyError

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

