"""Which files a report may copy out of a run, and how paths are shown to a reader.

A report folder is made to be shared (zipped, served, committed), so it must never carry a file
the run did not own. A data root can hold a symlink to anywhere (``/etc/passwd``), so a clip is
copied only when its real path is a regular file inside one of the run's *known roots*: the data
roots its config names, the cache and the sebench home it wrote to, and the run folder. Files are
copied, never hard-linked: cache files may be private (mode 0600) and a link would carry that mode,
or let an edit of the page's copy change the cache.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from bench.paths import sebench_home

ROOT_KEYS = re.compile(r"^(root|.+_root|path)$")
"""Spec options naming where a loader or folder system reads files (a file option: its folder)."""

CACHE_ENTRY = re.compile(r"^(?P<root>.+)/audio/(?P<prefix>[0-9a-f]{2})/(?P=prefix)[0-9a-f]{62}\.wav$")
"""An enhanced-audio cache entry (``bench.cache.Cache.audio_path``); its root is a cache folder."""

COPIED_MODE = 0o644


@dataclass(frozen=True)
class KnownRoots:
    """Real (symlink-free) folders a run read from or wrote to, each with the name shown for it."""

    roots: tuple[tuple[Path, str], ...]

    def contains(self, path: Path) -> bool:
        return any(path == root or root in path.parents for root, _ in self.roots)

    def display(self, text: str) -> str:
        """``text`` with every absolute known-root prefix replaced by its short name, so a page
        shows ``<dns>/noisy/x.wav`` rather than the author's home folder."""
        for root, name in sorted(self.roots, key=lambda pair: -len(str(pair[0]))):
            text = text.replace(str(root) + os.sep, f"<{name}>/").replace(str(root), f"<{name}>")
        return text


def _resolve(value: str, bases: Iterable[Path]) -> Path | None:
    path = Path(os.path.expandvars(os.path.expanduser(value)))
    candidates = [path] if path.is_absolute() else [base / path for base in bases]
    for candidate in candidates:
        if candidate.exists():
            real = candidate.resolve()
            return real if real.is_dir() else real.parent
    return None


def known_roots(config: Mapping[str, Any], run_dir: Path, output_paths: Iterable[str] = ()) -> KnownRoots:
    """The folders a run's files may come from.

    Relative roots in a config were relative to where ``sebench run`` was started: usually the
    folder holding ``runs/``, else the current folder. The cache folder (``--cache-dir`` is not
    part of the stored config) is recognised from the layout of the output paths the runner
    recorded, which only the cache writes.
    """
    bases = [run_dir.resolve().parent.parent, Path.cwd()]
    roots: list[tuple[Path, str]] = []

    def add(path: Path | None, name: str) -> None:
        if path is not None and path.exists() and all(path.resolve() != r for r, _ in roots):
            roots.append((path.resolve(), name))

    for kind in ("testsets", "systems"):
        for entry in config.get(kind) or []:
            if not isinstance(entry, Mapping):
                continue
            label = str(entry.get("label") or entry.get("name") or kind)
            for key, value in entry.items():
                if isinstance(value, str) and ROOT_KEYS.match(str(key)):
                    add(_resolve(value, bases), label if key == "root" else f"{label} {key}")
    for output in output_paths:
        match = CACHE_ENTRY.match(str(output))
        if match:
            add(Path(match.group("root")), "cache")
    add(sebench_home(), "sebench home")
    add(run_dir, "run")
    return KnownRoots(tuple(roots))


def safe_source(source: str | None, roots: KnownRoots) -> tuple[Path | None, str]:
    """(the real file to copy, "") or (None, why it is not copied)."""
    if not source:
        return None, "no file"
    path = Path(source)
    try:
        real = path.resolve(strict=True)
        mode = os.stat(real).st_mode
    except (OSError, RuntimeError):
        return None, "file missing"
    if not stat.S_ISREG(mode):
        return None, "not a regular file"
    if not roots.contains(real):
        return None, "not copied: the file lies outside the run's data and cache folders"
    return real, ""


def copy_clip(source: Path, target: Path) -> Path:
    """A fresh copy readable by whoever serves the page (never a hard link, never the source's mode)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() or target.is_symlink():
        target.unlink()
    shutil.copyfile(source, target, follow_symlinks=False)
    os.chmod(target, COPIED_MODE)
    return target
