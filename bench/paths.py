"""Where sebench keeps generated data and caches (override with SEBENCH_HOME)."""

from __future__ import annotations

import os
from pathlib import Path


def sebench_home() -> Path:
    """Root for the synthetic suite and the content-addressed cache; ~/.cache/sebench by default."""
    return Path(os.environ.get("SEBENCH_HOME", Path.home() / ".cache" / "sebench")).expanduser()


def shared_data_root() -> Path | None:
    """The team's real-audio folder (../shared/data beside the checkout), if present.

    Only tests and documented examples read it; the project never ships its contents.
    """
    env = os.environ.get("SEBENCH_SHARED_DATA")
    candidate = Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"
    return candidate if candidate.is_dir() else None
