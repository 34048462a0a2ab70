"""Every screen at 120x40 against its accepted SVG (`pytest --snapshot-update` to accept changes)."""

from __future__ import annotations

import store
from healthtui import metrics as m
from healthtui.config import Config
from healthtui.tui.app import LIGHT_THEME, HealthApp
from tests.tui.pilot import settle

SIZE = (120, 40)


def test_overview(snap_compare, history_engine, make_app):
    assert snap_compare(make_app(history_engine), terminal_size=SIZE, run_before=settle)


def test_overview_light(snap_compare, history_engine, make_app):
    app = make_app(history_engine, theme=LIGHT_THEME)
    assert snap_compare(app, terminal_size=SIZE, run_before=settle)


def test_metric(snap_compare, history_engine, make_app):
    async def open_metric(pilot):
        await settle(pilot)
        await pilot.press("1")
        await settle(pilot)
        await pilot.press("down", "down")
        await settle(pilot)

    assert snap_compare(make_app(history_engine), terminal_size=SIZE, run_before=open_metric)


def test_metric_over_commits_last_week(snap_compare, history_engine, make_app):
    async def open_metric(pilot):
        await settle(pilot)
        pilot.app.open_metric(m.GOLDEN_PATH_PASS_RATE)
        await settle(pilot)
        await pilot.press("x", "w")
        await settle(pilot)

    assert snap_compare(make_app(history_engine), terminal_size=SIZE, run_before=open_metric)


def test_commit(snap_compare, history, history_engine, make_app):
    async def open_commit(pilot):
        await settle(pilot)
        pilot.app.open_commit(history.shas[31])
        await settle(pilot)
        await pilot.press("tab")
        await settle(pilot)

    assert snap_compare(make_app(history_engine), terminal_size=SIZE, run_before=open_commit)


def test_findings(snap_compare, history_engine, make_app):
    async def open_findings(pilot):
        await settle(pilot)
        await pilot.press("f")
        await settle(pilot)
        await pilot.press("b", "enter")
        await settle(pilot)

    assert snap_compare(make_app(history_engine), terminal_size=SIZE, run_before=open_findings)


def test_tests(snap_compare, history_engine, make_app):
    async def open_tests(pilot):
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        await pilot.press("down")
        await settle(pilot)

    assert snap_compare(make_app(history_engine), terminal_size=SIZE, run_before=open_tests)


def test_help(snap_compare, history_engine, make_app):
    async def open_help(pilot):
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)

    assert snap_compare(make_app(history_engine), terminal_size=SIZE, run_before=open_help)


def test_first_run(snap_compare, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    engine = store.open_engine("health.db")
    try:
        app = HealthApp(engine=engine, config=Config(), poll_interval=0, now=lambda: 0)
        assert snap_compare(app, terminal_size=SIZE, run_before=settle)
    finally:
        engine.dispose()
