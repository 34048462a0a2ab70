"""Lock files: one holder at a time, agreeing with the `filelock` package's lock on the same file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

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


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_lock_ends_with_its_taker_even_if_a_forked_child_lives_on(tmp_path):
    path = str(tmp_path / "db.lock")
    script = (
        "import os, sys, time\n"
        "from healthtui.locking import acquire\n"
        "acquire(sys.argv[1])\n"
        "child = os.fork()\n"
        "if child == 0:\n"
        "    null = os.open(os.devnull, os.O_WRONLY)\n"
        "    os.dup2(null, 1), os.dup2(null, 2)\n"
        "    time.sleep(30)\n"
        "    os._exit(0)\n"
        "print(child, flush=True)\n"
        "os._exit(0)\n"  # dies holding the lock, never releasing it
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, path], capture_output=True, text=True, timeout=20
    )
    child = int(proc.stdout)
    try:
        os.kill(child, 0)  # still there, with its copy of the descriptor
        acquire(path).release()
    finally:
        os.kill(child, signal.SIGKILL)
