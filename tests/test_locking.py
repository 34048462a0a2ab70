"""Lock files: one holder at a time, agreeing with the `filelock` package's lock on the same file."""

from __future__ import annotations

import pytest
from filelock import FileLock, Timeout

from healthtui.locking import Busy, acquire


def test_a_second_taker_is_told_until_the_first_releases(tmp_path):
    path = str(tmp_path / "db.lock")
    first = acquire(path)
    with pytest.raises(Busy):
        acquire(path)
    first.release()
    with acquire(path), pytest.raises(Busy):
        acquire(path)
    acquire(path).release()


def test_agrees_with_filelock_both_ways(tmp_path):
    path = str(tmp_path / "db.lock")
    with FileLock(path, timeout=0), pytest.raises(Busy):
        acquire(path)
    with acquire(path), pytest.raises(Timeout):
        FileLock(path, timeout=0).acquire()


def test_a_lock_file_that_cannot_be_made_raises_oserror(tmp_path):
    with pytest.raises(OSError):
        acquire(str(tmp_path / "missing" / "db.lock"))
