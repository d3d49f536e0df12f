"""What the TSE loaders (Libri2Mix, WSJ0-2mix) share: enrollment lists and the seeded pick rule.

Enrollment list format (one target per line; ``#`` comments; whitespace, tab or comma separated)::

    <item id> <enrollment path>                    e.g.  1089-134686-0000_121-121726-0000_s1  spk/1089_a.wav
    <mixture name> <target> <enrollment path>      target: s1, s2, 1, 2, or the target's utterance id

Paths are relative to ``enrollment_root`` (default: the list's folder) and must stay inside it.
When a list is given it defines the items: targets without a line are not evaluated.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Sequence

from bench.errors import ConfigError
from testsets._paths import resolve_inside

_SPLIT = re.compile(r"[\s,]+")


def read_enrollment_list(path: Path, root: Path) -> list[tuple[str, str | None, Path]]:
    """(mixture or item id, target or None, enrollment path) per line."""
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read enrollment list {path}: {exc}") from exc
    entries = []
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = _SPLIT.split(line)
        where = f"enrollment list {path}, line {number}"
        if len(parts) == 2:
            entries.append((parts[0], None, resolve_inside(root, parts[1], source=where)))
        elif len(parts) == 3:
            entries.append((parts[0], parts[1], resolve_inside(root, parts[2], source=where)))
        else:
            raise ConfigError(f"{where}: expected '<item id> <path>' or '<mixture> <target> <path>', got {line!r}")
    if not entries:
        raise ConfigError(f"enrollment list {path} has no entries")
    return entries


def target_index(target: str, utterances: Sequence[str], where: str) -> int:
    """1-based source index named by ``s1``/``2``/an utterance id."""
    text = target.lower().removeprefix("s")
    if text.isdigit() and 1 <= int(text) <= len(utterances):
        return int(text)
    if target in utterances:
        return utterances.index(target) + 1
    raise ConfigError(f"{where}: target {target!r} is neither s1..s{len(utterances)} nor one of {list(utterances)}")


def pick_enrollment(candidates: dict[str, Path], seed: int, item_id: str) -> tuple[str, Path]:
    """The documented rule: sort the candidate utterance ids, pick one with ``Random(f"{seed}/{item_id}")``.

    Seeding per item (not one stream for the whole set) keeps each item's choice stable when
    ``--limit`` or a filter changes which other items are loaded.
    """
    keys = sorted(candidates)
    choice = keys[random.Random(f"{seed}/{item_id}").randrange(len(keys))]
    return choice, candidates[choice]
