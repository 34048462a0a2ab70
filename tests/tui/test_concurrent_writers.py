"""The dashboard open while real `healthtui backfill` and `collect` processes write: it keeps
answering, follows them to the final numbers, and the database ends as if they had run alone."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import store
from healthtui import metrics as m
from healthtui.collect.gitrepo import GitRepo
from healthtui.collect.history import backfill, collect_commits
from healthtui.config import load_config
from healthtui.demo.builder import RepoBuilder
from healthtui.tui.app import HealthApp
from healthtui.tui.screens.overview import OverviewScreen
from healthtui.tui.widgets.card import HeadlineCard
from tests.dbdump import dump
from tests.tui.pilot import settle, wait_for

CONFIG = '[rules]\nknown_sync = ["get_manager"]\ndeprecated_modules = ["app.legacy"]\n'


def _handler(n: int) -> str:
    lines = ["from app.manager import get_manager", "from app.legacy import thing"]
    for i in range(n):
        lines += [f"async def h{i}():", "    return await get_manager()", ""]
    return "\n".join(lines) + "\n"


def _repo(path: Path) -> RepoBuilder:
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
    with b.bulk():
        for i in range(60):
            b.commit({f"app/m{i % 7}.py": _handler(i % 5)}, message=f"step {i}")
    return b


def _cli(repo: Path, db: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "healthtui", "--repo", str(repo), "--db", str(db), *args]


def _snapshots(db: Path) -> int:
    con = sqlite3.connect(db, timeout=5)
    try:
        return con.execute("SELECT count(*) FROM snapshot").fetchone()[0]
    finally:
        con.close()


def _tip_value(db: Path) -> float:
    engine = store.open_engine(db)
    try:
        with store.read_session(engine) as s:
            return store.metric_series(s, metric=m.AWAIT_MISUSE)[-1].value
    finally:
        engine.dispose()


async def test_the_dashboard_stays_live_while_a_backfill_and_two_collects_write(tmp_path):
    b = _repo(tmp_path / "repo")
    db = tmp_path / "h.db"
    config = load_config(b.path)
    engine = store.open_engine(db)
    backfill(GitRepo.open(b.path), engine, config, every=20)  # something to show at first
    with b.bulk():
        for i in range(60, 90):
            b.commit({f"app/m{i % 7}.py": _handler(i % 5)}, message=f"later {i}")
    app = HealthApp(engine=engine, config=config, poll_interval=0.05, repo_label="app")
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            assert isinstance(app.screen, OverviewScreen)
            generation = app.generation
            writers = [
                subprocess.Popen(
                    _cli(b.path, db, "backfill"), stdout=subprocess.PIPE, stderr=subprocess.PIPE
                )
            ]
            before = _snapshots(db)
            while _snapshots(db) == before:  # the backfill holds the lock: collects wait or yield
                assert writers[0].poll() is None, writers[0].stderr.read()
                await pilot.pause(0.005)
            writers += [
                subprocess.Popen(
                    _cli(b.path, db, "collect"), stdout=subprocess.PIPE, stderr=subprocess.PIPE
                )
                for _ in range(2)
            ]
            deadline = time.monotonic() + 60
            while any(w.poll() is None for w in writers):  # the user keeps browsing
                assert time.monotonic() < deadline
                await pilot.press("down")
                await pilot.pause(0.02)
            outputs = [
                (w.returncode, *(p.read().decode() for p in (w.stdout, w.stderr))) for w in writers
            ]
            for code, out, err in outputs:
                assert code == 0, err
                assert "Traceback" not in out + err
            assert await wait_for(pilot, lambda: app.generation > generation)
            await settle(pilot)
            card = app.screen.query_one("#card-0", HeadlineCard)
            assert card.summary is not None and card.summary.sha == b.tip()
            assert card.summary.value == _tip_value(db)
    finally:
        engine.dispose()
        for w in writers:
            for pipe in (w.stdout, w.stderr):
                pipe.close()

    ref = tmp_path / "ref.db"
    ref_engine = store.open_engine(ref)
    try:
        repo = GitRepo.open(b.path)
        backfill(repo, ref_engine, config, every=20)
        backfill(repo, ref_engine, config)
        collect_commits(repo, ref_engine, config)
    finally:
        ref_engine.dispose()
    assert dump(db) == dump(ref)
