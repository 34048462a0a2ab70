"""The CLI's contract: one-line errors, exit codes 0/1/2, no tracebacks without -v."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import store
from healthtui.cli import main


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "healthtui", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_help_lists_every_command():
    out = run("--help")
    assert out.returncode == 0
    for command in ("backfill", "collect", "scan", "export", "check", "demo", "tui"):
        assert command in out.stdout


def test_not_a_repository_is_a_one_line_error_exit_2(tmp_path: Path):
    out = run("--repo", str(tmp_path), "backfill")
    assert out.returncode == 2
    assert out.stderr.strip() == f"healthtui: error: {tmp_path}: not a git repository"


def test_missing_repository_path(tmp_path: Path):
    out = run("--repo", str(tmp_path / "nowhere"), "collect")
    assert out.returncode == 2
    assert "no such directory" in out.stderr and "Traceback" not in out.stderr


def test_repository_without_commits(tmp_path: Path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    out = run("--repo", str(tmp_path), "backfill")
    assert out.returncode == 2
    assert "has no commits yet" in out.stderr


def test_bad_config_exits_2_naming_the_key(tmp_path: Path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "healthtui.toml").write_text("[rules]\nknown_sync = 1\n")
    out = run("--repo", str(tmp_path), "backfill")
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1
    assert "rules.known_sync: expected a list of strings" in out.stderr


def test_database_that_is_not_sqlite_exits_2(tmp_path: Path):
    bogus = tmp_path / "x.db"
    bogus.write_text("hello")
    out = run("--db", str(bogus), "export")
    assert out.returncode == 2
    assert "not SQLite" in out.stderr and "Traceback" not in out.stderr


def test_usage_errors_exit_2(capsys):
    assert main(["backfill", "--every", "0"]) == 2
    assert main(["no-such-command"]) == 2


@pytest.mark.parametrize("flag", ["-v", "--verbose"])
def test_verbose_shows_the_traceback(tmp_path: Path, flag: str):
    out = run(flag, "--repo", str(tmp_path), "backfill")
    assert out.returncode == 2
    assert "Traceback" in out.stderr


def test_progress_shows_the_first_tree_then_commits_at_the_walks_own_pace(capsys):
    from healthtui.cli import Progress

    now = [0.0]
    bar = Progress("backfill", True, clock=lambda: now[0])
    for done in (500, 1000, 1500):
        now[0] += 1.0  # the first tree: 3 s of files
        bar.tree(done, 1500)
    now[0] += 0.05
    bar(1, 101)  # the first commit: no pace known yet, none shown
    for done in range(2, 102):
        now[0] += 0.01 if done % 2 else 0.03  # then 50 commits/s
        bar(done, 101)
    bar.close()
    frames = capsys.readouterr().err.split("\r")[1:]
    assert frames[0].startswith("backfill ████████░░░░░░░░░░░░░░░░ 500/1,500 files of the first")
    assert "1,500/1,500 files" in frames[2]
    assert frames[3].rstrip() == "backfill ░░░░░░░░░░░░░░░░░░░░░░░░ 1/101 commits"
    assert len(frames[3]) == max(len(f) for f in frames[:3])  # the longer tree line is blanked
    # redrawn at most every 0.1 s, the last frame always; the rate ignores the first tree's 3 s
    assert 20 <= len(frames) <= 30
    assert frames[-1].rstrip().endswith("101/101 commits · 50.0/s · ETA 0s")


def test_a_backfill_reports_the_first_tree_file_by_file(tmp_path: Path):
    from healthtui.collect.gitrepo import GitRepo
    from healthtui.collect.history import TICK_FILES, backfill
    from healthtui.config import Config
    from healthtui.demo.builder import RepoBuilder

    b = RepoBuilder(tmp_path / "repo")
    b.commit({f"app/m{i}.py": f"X = {i}\n" for i in range(TICK_FILES + 7)}, message="many")
    b.commit({"app/m0.py": "X = 1\n"}, message="one")

    class Seen(list):
        def tree(self, done: int, total: int) -> None:
            self.append(("tree", done, total))

        def __call__(self, done: int, total: int) -> None:
            self.append(("commits", done, total))

    seen = Seen()
    engine = store.open_engine(tmp_path / "h.db")
    try:
        backfill(GitRepo.open(b.path), engine, Config(), progress=seen)
    finally:
        engine.dispose()
    n = TICK_FILES + 7
    assert seen == [("tree", TICK_FILES, n), ("tree", n, n), ("commits", 1, 2), ("commits", 2, 2)]
