"""An item's files, carried to a machine that cannot read the driver's disk.

Loaders give items as paths on the driver's machine. On a cluster without a shared filesystem those
paths mean nothing to another node, so the driver packs each item's files (``Item.files``: input,
every reference, enrollment, far end) as bytes, keyed by their sha256, and a worker unpacks them into its node's
staging folder, content-addressed (``<root>/<sha[:2]>/<sha>/<original name>``: the name is kept for
systems that read it). A worker then runs the item exactly as it would locally, on byte-identical
files, so every cache key (built from file contents, never from paths) is the one the driver would
compute. A node that already holds a file from an earlier item or run does not fetch it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

from bench.cache import content_hash
from bench.errors import AudioError
from bench.files import atomic_write_bytes
from bench.item import Item


@dataclass(frozen=True)
class StagedFile:
    sha256: str
    name: str


Manifest = Mapping[str, StagedFile]
"""Role (as ``Item.files`` names it) -> the file it names, by content."""
Blobs = Mapping[str, bytes]
"""sha256 -> file bytes."""


def manifest(item: Item) -> Manifest:
    """What a worker needs to rebuild ``item``'s files (hashing them; the hashes are memoised).

    A file the driver cannot read is left out: the worker then meets the same missing file a
    local run would, and records the same failure for that item.
    """
    files = {}
    for role, path in item.files():
        try:
            files[role] = StagedFile(content_hash(Path(path)), Path(path).name)
        except AudioError:  # missing or unreadable
            continue
    return files


def pack(item: Item, files: Manifest) -> dict[str, bytes]:
    """The bytes of ``item``'s files, keyed by sha256 (a file named twice is sent once)."""
    paths = dict(item.files())
    return {entry.sha256: Path(paths[role]).read_bytes() for role, entry in files.items()}


class Staging:
    """A node's folder of item files received from the driver."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, entry: StagedFile) -> Path:
        return self.root / entry.sha256[:2] / entry.sha256 / entry.name

    def missing(self, files: Manifest) -> bool:
        return any(not self.path(entry).is_file() for entry in files.values())

    def localise(self, item: Item, files: Manifest, fetch: Callable[[], Blobs]) -> Item:
        """``item`` with its paths pointing at this node's copies; ``fetch`` (the driver's bytes)
        is called only if some file is not here yet."""
        if self.missing(files):
            blobs = fetch()
            for entry in files.values():
                target = self.path(entry)
                if not target.is_file():  # written whole: two actors of a node may stage it at once
                    atomic_write_bytes(target, blobs[entry.sha256])
        return item.with_files({role: self.path(entry) for role, entry in files.items()})
