"""Atomic writes with ordinary permissions: how sebench puts files into its cache.

A file is written to a temporary name in its folder and renamed into place, so a killed run or a
concurrent worker only ever sees complete files. ``mkstemp`` creates its file mode 0600; the file is
given the mode a plain ``open`` would have given it (0666 less the umask) before any byte is written,
so a shared cache and the reports copied from it stay readable by the team. A failing disk (full,
read-only, over quota) becomes a ``StorageError`` naming the file, which stops the run with one line.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from bench.errors import StorageError


def default_file_mode() -> int:
    """0666 less the process umask (read without changing it for long: Python has no getter)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
        os.fchmod(fd, default_file_mode())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
