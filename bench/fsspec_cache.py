"""The content-addressed cache on any fsspec filesystem: ``s3://bucket/sebench``, ``gs://...``,
``file:///mnt/shared/cache``.

Cluster nodes that share no disk can still share a cache through an object store: the entries,
keys and layout of ``bench.cache.Cache`` (checked on every read the same way), so a node skips
whatever any node computed before, and a folder written either way reads the other. Objects are
written whole (a PUT is atomic on object stores; on a local or mounted filesystem a temp file is
renamed into place), so readers never see half an entry. Credentials and endpoints come from the
filesystem's own configuration (for S3: s3fs's environment variables or ``~/.aws``).
"""

from __future__ import annotations

import uuid
from pathlib import Path

from bench.cache import Cache
from bench.errors import ConfigError, MissingDependencyError, StorageError


def is_url(location: str | Path) -> bool:
    return isinstance(location, str) and "://" in location


def open_cache(location: str | Path) -> Cache:
    """A cache at a local folder or at an fsspec URL."""
    return FsspecCache(location) if is_url(location) else Cache(Path(location))


class FsspecCache(Cache):
    def __init__(self, url: str) -> None:
        try:
            import fsspec
        except ImportError as exc:
            raise MissingDependencyError("fsspec", "ray", f"needed for the cache URL {url}") from exc
        try:
            self.fs, root = fsspec.core.url_to_fs(url)
        except (ImportError, ValueError) as exc:  # an unknown protocol, or its package (s3fs) missing
            raise ConfigError(f"cache URL {url}: {exc}") from exc
        protocols = self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
        self._local = "file" in protocols or "local" in protocols
        self.url = url
        self._root = root.rstrip("/")
        super().__init__(Path(self._root))

    def audio_path(self, key: str) -> str:  # type: ignore[override]  # a URL, not a local path
        return self.fs.unstrip_protocol(f"{self._root}/audio/{key[:2]}/{key}.wav")

    def _score_path(self, key: str) -> str:  # type: ignore[override]
        return self.fs.unstrip_protocol(f"{self._root}/scores/{key[:2]}/{key}.json")

    def _read(self, path: str) -> bytes | None:  # type: ignore[override]
        try:
            return self.fs.cat_file(path)
        except (FileNotFoundError, OSError):
            return None

    def _write(self, path: str, data: bytes) -> None:  # type: ignore[override]
        try:
            if not self._local:
                self.fs.pipe_file(path, data)
                return
            self.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
            tmp = f"{path}.tmp-{uuid.uuid4().hex}"
            self.fs.pipe_file(tmp, data)
            self.fs.mv(tmp, path)
        except OSError as exc:
            raise StorageError(f"cannot write {path}: {exc}") from exc
