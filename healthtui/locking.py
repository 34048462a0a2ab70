"""Exclusive lock files taken without waiting: one backfill or collect per database, one demo build
per directory. On POSIX this is `flock` on the lock file, the lock the `filelock` package takes
there too (so the two agree); elsewhere `filelock` itself."""

from __future__ import annotations

import contextlib
import os
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]


class Busy(Exception):
    """Someone else holds the lock."""


_held: set[int] = set()  # descriptors of the locks this process holds


def _drop_inherited() -> None:
    """In a forked child (a worker process): close the lock descriptors it inherited, so the
    locks end with the process that took them even if the child outlives it."""
    for fd in _held:
        with contextlib.suppress(OSError):
            os.close(fd)
    _held.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_drop_inherited)


class Held:
    """A lock this process holds until `release()` (or the end of a `with` block)."""

    def __init__(self, fd: int | None, other: Any = None):
        self._fd, self._other = fd, other

    def release(self) -> None:
        if self._fd is not None:
            _held.discard(self._fd)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        elif self._other is not None:  # pragma: no cover - not POSIX
            self._other.release()
            self._other = None

    def __enter__(self) -> Held:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def acquire(path: str) -> Held:
    """Take the lock file `path` (created if missing); Busy if another process holds it, OSError
    if it cannot be created or locked."""
    if fcntl is None:  # pragma: no cover - not POSIX
        from filelock import FileLock, Timeout

        lock = FileLock(path, timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise Busy(path) from None
        return Held(None, lock)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise Busy(path) from None
        except BaseException:
            os.close(fd)
            raise
        if os.fstat(fd).st_nlink:
            _held.add(fd)
            return Held(fd)
        os.close(fd)  # deleted by its last holder while we opened it: lock a new one
