"""Failures of the disk rather than of the run: a full disk, a read-only file system, a folder not ours to write.

A training run that meets one is stopped, not failed: what it saved before is intact and it resumes once there is
room again. `StorageError` carries one line naming what was being written ("disk full while saving checkpoint
step-40"), so the front ends show that instead of a traceback.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

_PROBLEMS = {
    errno.ENOSPC: "disk full",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
}


class StorageError(OSError):
    """A write refused by the disk; `str()` is one line naming the problem and what was being written."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(code, message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def storage_problem(error: BaseException) -> str | None:
    """"disk full", "read-only file system", ... when `error` is the disk refusing a write; else None."""
    return _PROBLEMS.get(error.errno) if isinstance(error, OSError) and error.errno is not None else None


def as_storage_error(error: BaseException, doing: str) -> StorageError | None:
    """`error` as a StorageError reading "<problem> while <doing>", or None when the disk is not the cause."""
    problem = storage_problem(error)
    return None if problem is None else StorageError(error.errno, f"{problem} while {doing}")  # type: ignore[arg-type]


def writability_problem(folder: Path) -> str | None:
    """Why files cannot be created in `folder` (created if missing), or None. It tries, rather than asking
    `os.access`: root passes every permission check, and only a real write meets a read-only mount."""
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-check-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as error:
        return storage_problem(error) or error.strerror or type(error).__name__
    return None
