"""Exception types the harness turns into per-item failure records or clear CLI messages."""

from __future__ import annotations

import re


class SebenchError(Exception):
    """Base class: anything the CLI should print as one line rather than a traceback."""


class AudioError(SebenchError):
    """An audio file is unreadable, empty, or at a sample rate other than the one declared."""


class MissingWeightsError(SebenchError):
    """A system or metric needs a weights file the user has not put in place.

    The message must name the missing file, where the loader looked, and where the official file
    is published, because nothing is ever downloaded at run time.
    """


class MissingDependencyError(SebenchError):
    """An optional dependency is absent; the message says how to install it (:func:`install_hint`).

    ``extra`` is the pip extra of sebench that provides ``package`` (its pip name), or None where no
    extra does (a system library, a package with unusable declared requirements): then ``detail``
    must say how to get it.
    """

    def __init__(self, package: str, extra: str | None, detail: str = "") -> None:
        hint = install_hint(package, extra)
        message = f"'{package}' is not installed"
        if hint:
            message += f": {hint}"
        if detail:
            message += f" ({detail})" if hint else f": {detail}"
        super().__init__(message)
        self.package = package
        self.extra = extra


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _extra_requirements(requirements: list[str], extra: str) -> list[str]:
    """Requirement strings of ``sebench[extra]``, with nested ``sebench[a,b]`` expanded."""
    found: list[str] = []
    for requirement in requirements:
        marker = re.search(r"""extra\s*==\s*['"]([^'"]+)['"]""", requirement)
        if not marker or _normalized(marker.group(1)) != _normalized(extra):
            continue
        spec = requirement.split(";", 1)[0].strip()
        nested = re.fullmatch(r"sebench\s*\[([^\]]+)\].*", spec)
        if nested:
            for inner in nested.group(1).split(","):
                found += _extra_requirements(requirements, inner.strip())
        else:
            found.append(spec)
    return found


def _requirement_name(spec: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", spec)
    return _normalized(match.group(0)) if match else spec


def install_hint(package: str, extra: str | None) -> str:
    """The pip command that installs ``package``, never one the user has already run.

    If sebench's metadata says ``sebench[extra]`` is installed (every other requirement of the extra
    is present) and lists the package, recommending the extra again would change nothing: then the
    hint names the package's own requirement. Otherwise it names the extra (also where the installed
    metadata predates the package, as in an editable install of an older checkout: re-installing
    the extra is then what helps). ``extra=None`` gives no hint: the caller's detail says what to do.
    """
    from importlib import metadata

    if extra is None:
        return ""
    try:
        requirements = metadata.requires("sebench") or []
    except metadata.PackageNotFoundError:
        return f"pip install 'sebench[{extra}]'"
    specs = {_requirement_name(spec): spec for spec in _extra_requirements(requirements, extra)}
    target = _normalized(package)

    def installed(name: str) -> bool:
        try:
            metadata.version(name)
        except metadata.PackageNotFoundError:
            return False
        return True

    if target in specs and all(installed(name) for name in specs if name != target):
        return f"pip install '{specs[target]}'"
    return f"pip install 'sebench[{extra}]'"


class BadOutputError(SebenchError):
    """A system returned something unusable: NaN/inf, silence, or the wrong length."""


class ConfigError(SebenchError):
    """A CLI flag, spec string or YAML config is malformed or names something unknown."""


class StorageError(SebenchError):
    """The cache or the results store cannot be written or read (a full disk, a corrupt database):
    not a fault of one item, so the run stops with one line naming the path."""
