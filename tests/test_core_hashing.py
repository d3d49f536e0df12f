"""The one file-hashing helper: memoised per process, large files memoised on disk too."""

from __future__ import annotations

import hashlib
import json
import os

import bench.hashing
from bench.hashing import file_sha256


def test_hash_is_memoised_until_the_file_changes(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(b"weights v1")
    assert file_sha256(path) == hashlib.sha256(b"weights v1").hexdigest()
    path.write_bytes(b"weights v2")
    os.utime(path, ns=(1, 1))  # a new mtime, as any rewrite gives
    assert file_sha256(path) == hashlib.sha256(b"weights v2").hexdigest()


def test_large_files_are_hashed_once_per_machine(tmp_path, sebench_home, monkeypatch):
    monkeypatch.setattr(bench.hashing, "LARGE_FILE_BYTES", 10)
    path = tmp_path / "llm.ckpt"
    path.write_bytes(b"a large checkpoint")
    digest = file_sha256(path)
    assert digest == hashlib.sha256(b"a large checkpoint").hexdigest()
    memo_path = sebench_home / "weights-sha256.json"
    memo = json.loads(memo_path.read_text())
    assert list(memo.values()) == [digest]

    # another process (no in-process memo) reads the on-disk memo instead of the file
    bench.hashing._memoised.cache_clear()
    memo_path.write_text(json.dumps({key: "memoised" for key in memo}))
    assert file_sha256(path) == "memoised"
    small = tmp_path / "small.bin"
    small.write_bytes(b"tiny")
    assert file_sha256(small) == hashlib.sha256(b"tiny").hexdigest()
    assert len(json.loads(memo_path.read_text())) == 1  # small files stay out of the memo
