"""An exclusive lock on a file, held by one process at a time for as long as it keeps the file open.

The lock belongs to the open file, not to its name: the system drops it the moment the holder exits, however it
exits (a kill -9 included), so a lock can never be left behind by a dead process. POSIX uses `flock`, Windows
`msvcrt.locking` on one byte far past the text, so the text (who holds it) can still be read by the others.
"""

from __future__ import annotations

import os
import socket
import sys
from typing import BinaryIO

_WINDOWS_LOCK_OFFSET = 1 << 20  # Windows locks a byte range, and a reader may not read a locked range


class LockHeld(Exception):
    """Another process holds the lock; `holder` is what it wrote ("<pid> <host>"), or "" if it wrote nothing yet."""

    def __init__(self, path: os.PathLike[str] | str, holder: str) -> None:
        super().__init__(f"{path} is locked by {holder or 'another process'}")
        self.holder = holder

    @property
    def pid(self) -> int | None:
        first = self.holder.split(" ", 1)[0]
        return int(first) if first.isdigit() else None


class FileLock:
    """Take it with `FileLock.acquire(path)` (never waits: `LockHeld` when taken), give it back with `release()`."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle

    @classmethod
    def acquire(cls, path: os.PathLike[str] | str) -> FileLock:
        handle = open(path, "a+b")  # created if missing, never truncated before the lock is ours
        try:
            _lock(handle)
        except OSError:
            handle.seek(0)
            holder = handle.read(200).decode("utf-8", "replace").strip()
            handle.close()
            raise LockHeld(path, holder) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()} {socket.gethostname()}\n".encode())
        handle.flush()
        return cls(handle)

    def release(self) -> None:
        if not self._handle.closed:
            self._handle.close()  # closing drops the lock


def _lock(handle: BinaryIO) -> None:
    if sys.platform == "win32":
        import msvcrt

        handle.seek(_WINDOWS_LOCK_OFFSET)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
    else:
        import fcntl

        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
