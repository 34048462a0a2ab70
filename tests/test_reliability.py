"""Reliability: killed processes, overlapping runs, hostile databases and repositories.

Every case checks that nothing is lost or double-counted and that the user gets one clear line.
"""

from __future__ import annotations

import functools
import json
import os
import random
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import store
from healthtui.collect.gitrepo import GitRepo
from healthtui.collect.history import backfill, collect_commits
from healthtui.config import load_config
from healthtui.demo.builder import RepoBuilder
from tests.dbdump import dump

CONFIG = '[rules]\nknown_sync = ["get_manager"]\ndeprecated_modules = ["app.legacy"]\n'


def handler(n: int, legacy: bool) -> str:
    lines = ["from app.manager import get_manager"]
    if legacy:
        lines.append("from app.legacy import thing")
    for i in range(n):
        lines += [f"async def h{i}():", "    return await get_manager()", ""]
    return "\n".join(lines) + "\n"


def grow(b: RepoBuilder, start: int, count: int) -> None:
    with b.bulk():
        for i in range(start, start + count):
            b.commit({f"app/m{i % 9}.py": handler(i % 6, legacy=i % 4 == 0)}, message=f"step {i}")


@pytest.fixture
def repo(tmp_path: Path) -> RepoBuilder:
    return build_repo(tmp_path / "repo")


def build_repo(path: Path) -> RepoBuilder:
    """41 commits of a small service whose awaits and legacy imports come and go."""
    b = RepoBuilder(path)
    b.commit(
        {
            "app/__init__.py": "",
            "app/legacy.py": "",
            "app/manager.py": "def get_manager():\n    return 1\n",
            "healthtui.toml": CONFIG,
        },
        message="base",
    )
    grow(b, 0, 40)
    return b


def cli(repo: RepoBuilder, db: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "healthtui", "--repo", str(repo.path), "--db", str(db), *args]


def run(repo: RepoBuilder, db: Path, *args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cli(repo, db, *args), capture_output=True, text=True, timeout=60, **kw)


def reference(repo: RepoBuilder, db: Path, *, collect: bool = False, every: int | None = None):
    """The uninterrupted result, computed in-process (no interpreter start-up)."""
    engine = store.open_engine(db)
    run = collect_commits if collect else functools.partial(backfill, every=every)
    try:
        run(GitRepo.open(repo.path), engine, load_config(repo.path))
    finally:
        engine.dispose()
    return db


def snapshot_count(db: Path) -> int:
    try:
        con = sqlite3.connect(db, timeout=1)
        try:
            return con.execute("SELECT count(*) FROM snapshot").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def kill_when(proc: subprocess.Popen, db: Path, snapshots: int) -> None:
    """SIGKILL `proc` once `db` holds `snapshots` snapshots (or at once if it already finished)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and proc.poll() is None:
        if snapshot_count(db) >= snapshots:
            break
        time.sleep(0.002)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def test_killed_collects_at_random_points_converge_to_the_uninterrupted_result(repo, tmp_path):
    victim, ref = tmp_path / "victim.db", tmp_path / "ref.db"
    assert run(repo, victim, "backfill", "--every", "5").returncode == 0
    reference(repo, ref, every=5)
    grow(repo, 40, 25)
    rng = random.Random(7)
    before = snapshot_count(victim)
    for _ in range(2):
        proc = subprocess.Popen(cli(repo, victim, "collect", "--quiet"), stderr=subprocess.DEVNULL)
        kill_when(proc, victim, before + rng.randint(1, 12))
    final = run(repo, victim, "collect", "--quiet")
    assert final.returncode == 0 and final.stdout == final.stderr == ""
    assert dump(victim) == dump(reference(repo, ref, collect=True))


def test_collect_while_a_backfill_runs_waits_its_turn_and_never_double_counts(repo, tmp_path):
    db = tmp_path / "h.db"
    running = subprocess.Popen(cli(repo, db, "backfill"), stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while snapshot_count(db) == 0 and running.poll() is None:  # the backfill holds the lock
        assert time.monotonic() < deadline
        time.sleep(0.005)
    collects = [run(repo, db, "collect") for _ in range(2)]
    assert running.wait(timeout=60) == 0
    for out in collects:
        assert out.returncode == 0, out.stderr
        busy = "another healthtui backfill or collect is running" in out.stderr
        assert busy or "collect:" in out.stdout
    assert run(repo, db, "collect", "--quiet").returncode == 0
    assert dump(db) == dump(reference(repo, tmp_path / "ref.db"))


def test_a_reader_open_during_a_backfill_is_never_blocked(repo, tmp_path):
    db = tmp_path / "h.db"
    assert run(repo, db, "backfill", "--every", "10").returncode == 0
    engine = store.open_engine(db)
    grow(repo, 40, 30)
    proc = subprocess.Popen(cli(repo, db, "backfill"), stdout=subprocess.DEVNULL)
    seen = []
    while proc.poll() is None:
        started = time.monotonic()
        with store.read_session(engine) as s:
            seen.append(len(store.metric_series(s, metric="await_misuse")))
        assert time.monotonic() - started < 2  # WAL: a reader never waits for the writer
    assert proc.wait() == 0
    with store.read_session(engine) as s:
        assert len(store.metric_series(s, metric="await_misuse")) == 71
    engine.dispose()
    assert seen == sorted(seen)


def _make_read_only(path: Path) -> None:
    if os.geteuid() != 0:
        path.chmod(0o555 if path.is_dir() else 0o444)
        return
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True)
    if done.returncode != 0:
        pytest.skip("running as root on a filesystem without immutable files")


def _make_writable(path: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(path)], capture_output=True)
    path.chmod(0o755 if path.is_dir() else 0o644)


def test_a_read_only_database_is_a_clear_error_and_stays_intact(repo, tmp_path):
    db = tmp_path / "h.db"
    assert run(repo, db, "backfill", "--every", "10").returncode == 0
    before = dump(db)
    grow(repo, 40, 3)
    _make_read_only(db)
    try:
        out = run(repo, db, "collect")
    finally:
        _make_writable(db)
    assert out.returncode == 2
    assert out.stderr.strip().endswith(
        "the database is read-only (check the file's and directory's permissions)"
    )
    assert "Traceback" not in out.stderr and out.stderr.count("\n") == 1
    assert dump(db) == before


def test_a_database_in_a_read_only_directory_is_a_clear_error(repo, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    _make_read_only(locked)
    try:
        out = run(repo, locked / "h.db", "backfill")
    finally:
        _make_writable(locked)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.count("\n") == 1 and "h.db" in out.stderr
    assert not (locked / "h.db").exists()


def _limit_file_size(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_full_disk_stops_with_a_clear_error_and_a_rerun_completes(repo, tmp_path):
    db = tmp_path / "h.db"
    assert run(repo, db, "backfill", "--every", "20").returncode == 0
    size = db.stat().st_size + 8192  # the WAL and the database may grow only two pages
    full = subprocess.run(
        cli(repo, db, "backfill"),
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_limit_file_size(size),
    )
    assert full.returncode == 2, full.stderr
    assert full.stderr.count("\n") == 1 and "Traceback" not in full.stderr
    assert "disk" in full.stderr or "full" in full.stderr
    assert run(repo, db, "backfill").returncode == 0
    assert dump(db) == dump(reference(repo, tmp_path / "ref.db"))


def test_a_database_of_another_repository_is_refused(repo, tmp_path):
    db = tmp_path / "h.db"
    assert run(repo, db, "backfill", "--every", "10").returncode == 0
    before = dump(db)
    other = RepoBuilder(tmp_path / "other")
    other.commit({"x.py": "print(1)\n"}, message="unrelated")
    out = subprocess.run(
        [sys.executable, "-m", "healthtui", "--repo", str(other.path), "--db", str(db), "collect"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert "shares no commits" in out.stderr
    assert dump(db) == before


def test_a_moved_clone_keeps_using_its_database(repo, tmp_path):
    db = tmp_path / "h.db"
    assert run(repo, db, "backfill").returncode == 0
    before = dump(db)
    moved = tmp_path / "moved"
    shutil.copytree(repo.path, moved)
    out = subprocess.run(
        [sys.executable, "-m", "healthtui", "--repo", str(moved), "--db", str(db), "collect"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert dump(db) == before


def test_a_database_from_a_newer_healthtui_is_refused_untouched(repo, tmp_path):
    db = tmp_path / "h.db"
    assert run(repo, db, "backfill", "--every", "10").returncode == 0
    con = sqlite3.connect(db)
    con.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    raw = db.read_bytes()
    for command in ("collect", "export"):
        out = run(repo, db, command)
        assert out.returncode == 2 and out.stderr.count("\n") == 1
        assert "newer healthtui" in out.stderr
    assert db.read_bytes() == raw


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing", "no such directory"),
        ("file", "r: not a directory"),
        ("plain", "not a git repository"),
        ("empty", "has no commits yet"),
    ],
)
def test_repositories_that_cannot_be_collected(tmp_path, setup, message):
    path = tmp_path / "r"
    if setup == "file":
        path.write_text("not a repository\n")
    elif setup != "missing":
        path.mkdir()
    if setup == "empty":
        subprocess.run(["git", "init", "-q", str(path)], check=True)
    # `scan` lints a work tree, so only a path that is no directory stops it
    for command in (
        ("backfill", "collect", "scan") if setup in ("missing", "file") else ("backfill", "collect")
    ):
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "healthtui",
                "--repo",
                str(path),
                "--db",
                str(tmp_path / "h.db"),
                command,
            ],
            capture_output=True,
            text=True,
        )
        assert out.returncode == 2, (command, out.stderr)
        assert message in out.stderr and out.stderr.count("\n") == 1, (command, out.stderr)


def test_bare_and_shallow_repositories_collect_via_the_cli(repo, tmp_path):
    bare, shallow = tmp_path / "bare.git", tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo.path), str(bare)], check=True)
    subprocess.run(
        ["git", "clone", "-q", "--depth", "5", f"file://{repo.path}", str(shallow)], check=True
    )
    for path, expected in ((bare, 41), (shallow, 5)):
        db = tmp_path / f"{path.name}.db"
        out = subprocess.run(
            [sys.executable, "-m", "healthtui", "--repo", str(path), "--db", str(db), "backfill"],
            capture_output=True,
            text=True,
        )
        assert out.returncode == 0, out.stderr
        con = sqlite3.connect(db)
        assert con.execute("SELECT count(*) FROM snapshot").fetchone()[0] == expected
        con.close()
    assert "shallow" in out.stderr or "shallow" in out.stdout


def healthtui(repo: RepoBuilder, db: Path, capsys, *args: str) -> tuple[int, str, str]:
    """Run the CLI in-process; returns (exit code, stdout, stderr)."""
    from healthtui.cli import main

    code = main(["--repo", str(repo.path), "--db", str(db), *args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def backfilled(repo: RepoBuilder, tmp_path: Path, capsys) -> Path:
    db = tmp_path / "h.db"
    assert healthtui(repo, db, capsys, "backfill", "--every", "10")[0] == 0
    return db


def test_export_into_a_fifo_writes_through_it_and_leaves_it_a_fifo(repo, backfilled, capsys):
    fifo = backfilled.with_name("standup.fifo")
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        code, _, err = healthtui(
            repo, backfilled, capsys, "export", "--format", "txt", "-o", str(fifo)
        )
        got = os.read(reader, 1 << 16).decode()
    finally:
        os.close(reader)
    assert (code, err) == (0, "")
    assert fifo.is_fifo() and got.startswith("Standup: repo (main)")


def test_export_through_a_symlink_writes_its_target_and_keeps_the_link(repo, backfilled, capsys):
    target = backfilled.with_name("real.md")
    target.write_text("old\n")
    link = backfilled.with_name("standup.md")
    link.symlink_to(target.name)
    assert healthtui(repo, backfilled, capsys, "export", "-o", str(link))[0] == 0
    assert link.is_symlink() and target.read_text().startswith("# Standup: repo (main)")


def test_check_on_a_damaged_database_is_one_line(repo, backfilled, capsys):
    con = sqlite3.connect(backfilled)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    (root,) = con.execute("SELECT rootpage FROM sqlite_master WHERE name = 'blob_facts'").fetchone()
    con.close()
    with backfilled.open("r+b") as fh:
        fh.seek((root - 1) * page_size)
        fh.write(b"\xde\xad\xbe\xef" * (page_size // 4))
    code, _, err = healthtui(repo, backfilled, capsys, "check")
    assert code == 2 and err.count("\n") == 1, err
    assert err.endswith(
        f"{backfilled}: not a healthtui database (the file is not SQLite, or is damaged)\n"
    )


def passing_report(root: Path, created: float) -> str:
    """A minimal pytest-json-report of one passing test in `app/manager.py`."""
    stage = {"duration": 0.001, "outcome": "passed"}
    test = {"nodeid": "app/manager.py::test_manager", "lineno": 1, "outcome": "passed"}
    test |= {"keywords": ["test_manager"], "setup": stage, "call": stage, "teardown": stage}
    summary = {"passed": 1, "total": 1, "collected": 1}
    return json.dumps(
        {"created": created, "duration": 0.1, "exitcode": 0, "root": str(root)}
        | {"environment": {}, "summary": summary, "collectors": [], "tests": [test]}
    )


def test_report_globs_may_be_absolute_and_odd_ones_match_nothing(repo, tmp_path, capsys):
    reports = tmp_path / "ci reports"
    reports.mkdir()
    (reports / "r1.json").write_text(passing_report(repo.path, 1_790_000_000.5))
    config = tmp_path / "healthtui.toml"
    config.write_text(f"reports = {json.dumps([f'{reports}/*.json', '', '.', 'a**b/*.json'])}\n")
    db = tmp_path / "h.db"
    code, out, err = healthtui(repo, db, capsys, "--config", str(config), "collect")
    assert (code, err) == (
        0,
        "note: no history yet: snapshotted the tip only; run `healthtui backfill` for trends\n",
    )
    assert out == "collect: 1 new snapshot, 1 report ingested\n"


def test_export_of_a_read_only_database_is_shown_and_not_recorded(repo, tmp_path, capsys):
    backfilled = tmp_path / "h.db"  # by another process: none of this one's connections stay open
    assert run(repo, backfilled, "backfill", "--every", "10").returncode == 0
    before = dump(backfilled)
    _make_read_only(backfilled)
    try:
        code, out, err = healthtui(repo, backfilled, capsys, "export", "--format", "txt")
    finally:
        _make_writable(backfilled)
    assert code == 0 and out.startswith("Standup: repo (main)")
    assert err == (
        f"note: this export was not recorded ({backfilled}: the database is read-only (check the "
        "file's and directory's permissions)); the next `--since last` starts before it\n"
    )
    assert dump(backfilled) == before
    _make_read_only(backfilled)
    try:  # in one stream, as on a terminal: the standup comes first, the note after it
        both = subprocess.run(
            cli(repo, backfilled, "export", "--format", "txt"),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=60,
        ).stdout
    finally:
        _make_writable(backfilled)
    assert both.startswith("Standup: repo (main)")
    assert both.endswith("the next `--since last` starts before it\n")


def test_scan_shows_control_characters_in_file_names_escaped(repo, tmp_path, capsys):
    hostile = "app/\x1b[2J\x1b[31mred\rx\ny.py"
    repo.commit({hostile: "import app.legacy\n"}, message="hostile name")
    code, out, err = healthtui(
        repo, tmp_path / "h.db", capsys, "scan", "--rev", "HEAD", "--rule", "deprecated_imports"
    )
    assert (code, err) == (0, "")
    assert (
        "app/\\x1b[2J\\x1b[31mred\\rx\\ny.py:1:1: deprecated_imports import of deprecated "
        "module app.legacy\n"
    ) in out
    assert not any(ch in out.replace("\n", "") for ch in "\x1b\r")


def test_backfill_since_after_until_is_a_usage_error(repo, tmp_path, capsys):
    db = tmp_path / "h.db"
    code, out, err = healthtui(
        repo, db, capsys, "backfill", "--since", "2030-01-01", "--until", "2020-01-01"
    )
    assert (code, out) == (2, "")
    assert err.splitlines()[-1] == "Error: --since 2030-01-01 is after --until 2020-01-01"
    assert not db.exists()
    same_day = ("--since", "2020-01-01T10:00", "--until", "2020-01-01")
    assert healthtui(repo, db, capsys, "backfill", *same_day)[0] == 0


def test_scan_of_a_bad_revision_is_one_clear_line(repo, tmp_path, capsys):
    db = tmp_path / "h.db"
    code, out, err = healthtui(repo, db, capsys, "scan", "--rev", "nosuch")
    assert (code, out) == (2, "")
    assert err == f"healthtui: error: 'nosuch': no such revision in {repo.path}\n"
    code, out, err = healthtui(repo, db, capsys, "scan", "--rev=--abbrev=4")
    assert (code, out, err) == (2, "", "healthtui: error: '--abbrev=4': not a revision\n")
