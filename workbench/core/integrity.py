"""Checksums of checkpoint files, checked before a checkpoint is loaded.

A checkpoint's sha256s are recorded when it is saved; a file whose bytes changed since (a flipped bit, a
truncated copy, an edit) must not be loaded as if it were the model that was trained. Hashing a large file on
every load would make switching between checkpoints slow, so each file is hashed once per process for as long as
its size, modification time and inode stay the same (any write changes one of them).
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

_CHUNK = 1 << 20
_hashes: dict[tuple[str, int, int, int], str] = {}
_lock = threading.Lock()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_once(path: str | os.PathLike[str]) -> str:
    """The sha256 of the file at `path`, computed once per (path, size, mtime, inode) in this process."""
    resolved = Path(path).resolve()
    stat = resolved.stat()
    key = (str(resolved), stat.st_size, stat.st_mtime_ns, stat.st_ino)
    with _lock:
        known = _hashes.get(key)
    if known is None:
        known = _sha256(resolved)
        with _lock:
            _hashes[key] = known
    return known


def damage(folder: str | os.PathLike[str], expected: dict[str, str | None]) -> tuple[str, str] | None:
    """What is wrong with the files named in `expected` ({file name: sha256, or None where none was recorded}) in
    `folder`, as (kind, detail): ("checksum mismatch", "model.safetensors is not the file that was saved") or
    ("files missing", "training_state.pt is not there"); None when all are there and match. A file without a
    recorded checksum is only checked to exist."""
    missing = [name for name in expected if not (Path(folder) / name).is_file()]
    if missing:
        return "files missing", f"{', '.join(missing)} {_is(missing)} not there"
    changed = [name for name, sha256 in expected.items()
               if sha256 is not None and sha256_once(Path(folder) / name) != sha256]
    if changed:
        return "checksum mismatch", f"{', '.join(changed)} {_is(changed)} not the file that was saved"
    return None


def _is(names: list[str]) -> str:
    return "is" if len(names) == 1 else "are"
