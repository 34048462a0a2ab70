"""The CLI's contract: one-line errors, exit codes 0/1/2, no tracebacks without -v."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

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
