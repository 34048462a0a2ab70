"""Live refresh: another connection writes while the app runs; the app notices and keeps its place."""

from __future__ import annotations

import store
from healthtui import metrics as m
from healthtui.config import Config
from healthtui.tui.app import HealthApp
from healthtui.tui.screens.first_run import FirstRunScreen
from healthtui.tui.screens.metric import MetricScreen
from healthtui.tui.screens.overview import OverviewScreen
from healthtui.tui.widgets.card import HeadlineCard
from tests.tui.history import add_commit, build_history, code_metrics
from tests.tui.pilot import row_keys, selected_key, settle, text_of, wait_for

SIZE = (120, 40)


async def test_a_snapshot_written_elsewhere_refreshes_the_open_screens_in_place(
    history, history_engine, make_app
):
    app = make_app(history_engine, poll_interval=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        overview = app.screen
        table = overview.query_one("#metrics")
        await pilot.press("down", "down", "down")
        chosen = selected_key(table)
        await pilot.press("1")
        await settle(pilot)
        metric = app.screen
        assert isinstance(metric, MetricScreen)
        before_points = len(metric.data.points)
        await pilot.press("down", "down")
        place = selected_key(metric.query_one("#changes"))
        generation = app.generation

        writer = store.open_engine(history.path)
        try:
            n = len(history.shas)
            values = dict(code_metrics(n - 1, n), await_misuse=3)
            sha = add_commit(writer, history, values, "Cron: fix the last await misuse")
        finally:
            writer.dispose()

        assert await wait_for(pilot, lambda: app.generation > generation)
        await settle(pilot)
        assert len(metric.data.points) == before_points + 1
        assert metric.data.points[-1].sha == sha
        changes = metric.query_one("#changes")
        assert row_keys(changes)[0] == sha  # newest first
        assert selected_key(changes) == place  # the user's row, not the row number

        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is overview
        card = overview.query_one("#card-0", HeadlineCard)
        assert card.summary.value == 3 and card.summary.sha == sha
        assert f"HEAD {sha[:8]}" in text_of(overview.query_one("#status-line"))
        assert selected_key(table) == chosen


async def test_polling_is_cheap_when_nothing_changes(history, history_engine, make_app):
    app = make_app(history_engine, poll_interval=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        generation = app.generation
        await pilot.pause(0.4)
        assert app._watcher is not None  # polled, and saw nothing new
        assert app.generation == generation


async def test_an_empty_database_shows_the_first_run_screen_until_data_arrives(tmp_path):
    path = tmp_path / "empty.db"
    engine = store.open_engine(path)
    app = HealthApp(engine=engine, config=Config(), poll_interval=0.05, now=lambda: 0)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, FirstRunScreen)
            command = text_of(screen.query_one("#command"))
            assert command == f"$ healthtui --db {path} backfill"
            assert "healthtui demo" in text_of(screen.query_one("#why"))
            await pilot.press("t")  # nothing to show yet: navigation keys are off
            await settle(pilot)
            assert app.screen is screen

            history = build_history(tmp_path / "elsewhere.db", commits=6)
            source = store.open_engine(history.path)
            try:
                with store.read_session(source) as s:
                    points = {
                        m.AWAIT_MISUSE: store.metric_series(s, metric=m.AWAIT_MISUSE)[-1].value
                    }
            finally:
                source.dispose()
            writer = store.open_engine(path)
            try:
                with store.write_session(writer) as s:
                    store.ensure_repository(s, root="/srv/shop", name="shop", branch="main")
                add_commit(writer, history, points, "first collect")
            finally:
                writer.dispose()

            assert await wait_for(pilot, lambda: isinstance(app.screen, OverviewScreen))
            await settle(pilot)
            card = app.screen.query_one("#card-0", HeadlineCard)
            assert card.summary is not None and card.summary.value == points[m.AWAIT_MISUSE]
    finally:
        engine.dispose()


async def test_a_registered_repository_without_snapshots_asks_for_collect(tmp_path):
    path = tmp_path / ".git" / "healthtui.db"
    engine = store.open_engine(path)
    with store.write_session(engine) as s:
        store.ensure_repository(s, root=str(tmp_path), name="shop", branch="main")
    app = HealthApp(engine=engine, config=Config(), poll_interval=0, repo_root=tmp_path)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, FirstRunScreen)
            assert text_of(screen.query_one("#command")) == f"$ healthtui --repo {tmp_path} collect"
    finally:
        engine.dispose()
