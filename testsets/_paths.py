"""Path rules shared by the loaders: which files a data set may point at (its root folder is
checked by ``bench.options.expand_root``).

A manifest or list file is data, not code, so it must not be able to make the harness read
``/etc/passwd`` or a sibling user's folder: every path it names is resolved inside the data root,
and ``..`` escapes or absolute paths elsewhere are refused.
"""

from __future__ import annotations

import os
from pathlib import Path

from bench.errors import ConfigError


def expand_file(value: str | os.PathLike[str], what: str) -> Path:
    """A configured file (``~`` and ``$VARS`` expanded), which must exist."""
    path = Path(os.path.expandvars(os.path.expanduser(str(value))))
    if not path.is_file():
        raise ConfigError(f"{what}: file {path} does not exist")
    return path


def resolve_inside(root: Path, value: str | os.PathLike[str], *, source: str) -> Path:
    """Resolve ``value`` (relative to ``root``, or absolute) and refuse anything outside ``root``.

    ``source`` names the file the path came from, so the error tells the user which line to fix.
    The check is lexical (``..`` collapsed, symlinks not followed): a symlink inside the root was put
    there by whoever owns the data tree (data sets are often linked in from another disk), whereas
    a manifest line is only text and must not reach outside.
    """
    text = str(value).strip()
    if not text:
        raise ConfigError(f"{source}: empty path")
    candidate = Path(text)
    base = Path(os.path.normpath(root.absolute()))
    normal = Path(os.path.normpath(candidate if candidate.is_absolute() else base / candidate))
    bases = {base, root.resolve()}
    if not any(normal == b or b in normal.parents for b in bases):
        raise ConfigError(f"{source}: path {text!r} resolves to {normal}, outside the data root {base}; "
                          "paths must stay inside the root")
    return normal


def find_subdir(root: Path, names: tuple[str, ...]) -> Path | None:
    """The first of ``root/name`` that is a folder (layouts differ in nesting between releases)."""
    for name in names:
        candidate = root / name
        if candidate.is_dir():
            return candidate
    return None
