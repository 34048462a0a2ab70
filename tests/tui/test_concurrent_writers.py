"""The dashboard open while real `healthtui backfill` and `collect` processes write: it keeps
answering, follows them to the final numbers, and the database ends as if they had run alone."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import store
from healthtui import metrics as m
from healthtui.collect.gitrepo import GitRepo
from healthtui.collect.history import backfill, collect_commits
from healthtui.config import load_config
from healthtui.tui.app import HealthApp
from healthtui.tui.screens.overview import OverviewScreen
from healthtui.tui.widgets.card import HeadlineCard
from tests.dbdump import dump
from tests.test_reliability import build_repo, cli, grow, snapshot_count
from tests.tui.pilot import settle, wait_for


def _tip_value(db: Path) -> float:
    engine = store.open_engine(db)
    try:
        with store.read_session(engine) as s:
            return store.metric_series(s, metric=m.AWAIT_MISUSE)[-1].value
    finally:
        engine.dispose()


async def test_the_dashboard_stays_live_while_a_backfill_and_two_collects_write(tmp_path):
    b = build_repo(tmp_path / "repo")
    db = tmp_path / "h.db"
    config = load_config(b.path)
    engine = store.open_engine(db)
    backfill(GitRepo.open(b.path), engine, config, every=20)  # something to show at first
    grow(b, 40, 40)
    app = HealthApp(engine=engine, config=config, poll_interval=0.05, repo_label="app")
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            assert isinstance(app.screen, OverviewScreen)
            generation = app.generation
            writers = [
                subprocess.Popen(
                    cli(b, db, "backfill"), stdout=subprocess.PIPE, stderr=subprocess.PIPE
                )
            ]
            before = snapshot_count(db)
            # once the backfill writes, it holds the lock: the collects wait or step aside
            while snapshot_count(db) == before:
                assert writers[0].poll() is None, writers[0].stderr.read()
                await pilot.pause(0.005)
            writers += [
                subprocess.Popen(
                    cli(b, db, "collect"), stdout=subprocess.PIPE, stderr=subprocess.PIPE
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
            card = app.screen.query_one("#card-0", HeadlineCard)

            def shows_tip() -> bool:  # a refresh may still be on its way for the last write
                return card.summary is not None and card.summary.sha == b.tip()

            assert await wait_for(pilot, shows_tip, timeout=10)
            assert app.generation > generation
            await settle(pilot)
            assert shows_tip()
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
