"""`healthtui demo`: builds, backfills, ingests, tells the user where things are; rebuilds safely."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

import store
from healthtui.cli import main
from healthtui.collect.gitrepo import GitRepo
from healthtui.collect.history import backfill
from healthtui.config import Config
from healthtui.demo import workspace
from healthtui.demo.builder import RepoBuilder
from healthtui.errors import HealthError
from store import testruns

SMALL = ("--commits", "10", "--files", "0")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "healthtui", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def counts(db: Path) -> tuple[int, int]:
    """(snapshots of await_misuse, test runs) in a database."""
    engine = store.open_engine(db, create=False)
    try:
        with store.read_session(engine) as session:
            points = store.metric_series(session, metric="await_misuse")
            runs = testruns.test_runs(session, limit=1000)
    finally:
        engine.dispose()
    return len(points), len(runs)


def next_commands(stdout: str) -> list[list[str]]:
    """The commands the demo suggests, as argument lists (without the trailing comment)."""
    lines = stdout.split("next, try:\n", 1)[1].splitlines()
    return [shlex.split(line.split("  # ")[0]) for line in lines if line.startswith("  ")]


def test_demo_no_tui_builds_collects_and_says_what_to_try(tmp_path: Path):
    where = tmp_path / "demo"
    elsewhere = tmp_path / "not-this.db"
    env = os.environ | {"HOME": str(tmp_path / "home"), "HEALTHTUI_DB": str(elsewhere)}
    out = run("demo", "--no-tui", "--path", str(where), env=env)
    assert out.returncode == 0, out.stderr
    repo, db = where / "repo", where / "repo" / ".git" / "healthtui.db"
    assert f"repository: {repo}\n" in out.stdout
    assert f"database:   {db}\n" in out.stdout
    assert "60 snapshots, 9 test reports ingested" in out.stdout
    assert "Traceback" not in out.stderr
    assert counts(db) == (60, 9)
    assert not elsewhere.exists()  # $HEALTHTUI_DB is the user's, not the demo's

    commands = next_commands(out.stdout)
    assert [c[1:3] for c in commands] == [["--repo", str(repo)]] * 4
    assert all(c[3:5] == ["--db", str(db)] for c in commands)  # since $HEALTHTUI_DB is set
    export = next(c for c in commands if "export" in c and "--since" in c)
    shown = run(*export[1:], env=env)
    assert shown.returncode == 0, shown.stderr
    assert "Await misuse" in shown.stdout and "Golden path" in shown.stdout


def test_a_second_run_on_the_same_path_replaces_the_demo(tmp_path: Path):
    where = tmp_path / "demo"
    repo, db = where / "repo", where / "repo" / ".git" / "healthtui.db"
    first = run("demo", "--no-tui", "--path", str(where), *SMALL)
    assert first.returncode == 0, first.stderr
    (where / "reports" / "stray.json").write_text("{}")
    (repo / "untracked.py").write_text("x = 1\n")
    again = run("demo", "--no-tui", "--path", str(where), *SMALL)
    assert again.returncode == 0, again.stderr
    assert "10 snapshots, 3 test reports ingested" in again.stdout
    assert len(GitRepo.open(repo).first_parent_line("main")) == 10
    assert counts(db) == (10, 3)
    assert not (where / "reports" / "stray.json").exists()
    assert not (repo / "untracked.py").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".demo.lock", "demo"]


def test_demo_refuses_a_directory_it_did_not_make(tmp_path: Path, capsys):
    (tmp_path / "notes.txt").write_text("mine\n")
    assert main(["demo", "--no-tui", "--path", str(tmp_path), *SMALL]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path}: not empty and not a healthtui demo" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def backfilled_db(repo: Path, db: Path) -> Path:
    """A real database holding a backfill of a one-commit repository at `repo`."""
    RepoBuilder(repo).commit({"app.py": "x = 1\n"})
    engine = store.open_engine(db)
    backfill(GitRepo.open(repo), engine, Config())
    engine.dispose()
    return db


def test_demo_with_an_explicit_db_writes_there_and_refuses_anothers(tmp_path: Path, capsys):
    db = tmp_path / "demo.db"
    args = ["--db", str(db), "demo", "--no-tui", "--path", str(tmp_path / "demo"), *SMALL]
    assert main(args) == 0
    assert counts(db) == (10, 3)
    assert f"--db {db}" in capsys.readouterr().out
    assert not (tmp_path / "demo" / "repo" / ".git" / "healthtui.db").exists()

    foreign = backfilled_db(tmp_path / "other", tmp_path / "foreign.db")
    before = foreign.read_bytes()
    tip = GitRepo.open(tmp_path / "demo" / "repo").resolve("main")
    args[1] = str(foreign)
    assert main(args) == 2
    assert "already holds another repository's data" in capsys.readouterr().err
    assert foreign.read_bytes() == before
    assert GitRepo.open(tmp_path / "demo" / "repo").resolve("main") == tip  # nothing rebuilt


def test_claim_database_removes_only_the_demos_own(tmp_path: Path):
    where = tmp_path / "demo"
    own = backfilled_db(workspace.repo_dir(where), tmp_path / "own.db")
    Path(f"{own}-wal").write_bytes(b"")
    workspace.claim_database(own, workspace.repo_dir(where))
    assert not own.exists() and not Path(f"{own}-wal").exists()
    workspace.claim_database(own, workspace.repo_dir(where))  # nothing there: fine

    other = backfilled_db(tmp_path / "other", tmp_path / "other.db")
    not_sqlite = tmp_path / "notes.db"
    not_sqlite.write_text("my notes\n")
    for db in (other, not_sqlite):
        with pytest.raises(HealthError, match="another repository's data"):
            workspace.claim_database(db, workspace.repo_dir(where))
        assert db.exists()


def test_a_failed_rebuild_keeps_the_previous_demo(tmp_path: Path):
    where = tmp_path / "demo"
    with workspace.demo_lock(where):
        first = workspace.rebuild(where, commits=10, files=0, reports=False)
        with pytest.raises(ValueError, match="at least"):
            workspace.rebuild(where, commits=3)
    assert workspace.is_demo(where)
    assert GitRepo.open(first.repo).first_parent_line("main")[-1].sha == first.commits[-1]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".demo.lock", "demo"]


def test_rebuild_moves_reports_with_the_demo(tmp_path: Path):
    where = tmp_path / "demo"
    with workspace.demo_lock(where):
        built = workspace.rebuild(where, commits=10, files=0, report_every=10)
    assert built.repo == where / "repo"
    assert [r.path.parent for r in built.reports] == [where / "reports"] * 2
    assert all(r.path.is_file() for r in built.reports)


def test_a_second_demo_in_the_same_place_is_told_to_wait(tmp_path: Path):
    where = tmp_path / "demo"
    with workspace.demo_lock(where):
        out = run("demo", "--no-tui", "--path", str(where), *SMALL)
    assert out.returncode == 2
    assert "another `healthtui demo` is working in" in out.stderr
    assert not where.exists()


def test_default_dir_follows_the_platform_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert workspace.default_dir() == tmp_path / "cache" / "healthtui" / "demo"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert workspace.default_dir() == tmp_path / ".cache" / "healthtui" / "demo"
    monkeypatch.setattr(sys, "platform", "darwin")
    assert workspace.default_dir() == tmp_path / "Library" / "Caches" / "healthtui" / "demo"
