"""Repository strings are shown as the literal text they are: markup, escapes and HTML included."""

from __future__ import annotations

from healthtui.tui.screens.commit import CommitScreen
from healthtui.tui.screens.findings import FindingsScreen
from healthtui.tui.screens.metric import MetricScreen
from healthtui.tui.screens.tests import TestsScreen
from healthtui.tui.text import clean
from tests.tui.history import HOSTILE, HOSTILE_PATH
from tests.tui.pilot import cell_text, column_text, palette, row_keys, settle, text_of

SIZE = (120, 40)
SHOWN = clean(HOSTILE)  # the escape character drawn as ␛, nothing else changed


def hostile_index(history) -> int:
    return len(history.shas) - 5


async def test_commit_subjects_render_literally_in_tables_titles_and_the_palette(
    history, history_engine, make_app
):
    sha = history.shas[hostile_index(history)]
    app = make_app(history_engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_metric("await_misuse")
        await settle(pilot)
        metric = app.screen
        assert isinstance(metric, MetricScreen)
        changes = metric.query_one("#changes")
        subject = cell_text(changes.get_row(sha)[3])
        assert subject.startswith("[bold]Revert[/] ␛[31mred␛[0m <script>")

        hits = await palette(pilot, sha[:8])
        assert any("[bold]Revert[/]" in h and "<script>" in h for h in hits)
        commit = app.screen
        assert isinstance(commit, CommitScreen) and commit.sha == sha
        title = text_of(commit.query_one("#commit-title"))
        assert title.endswith(f"{SHOWN} (#{100 + hostile_index(history)})")
        svg = app.export_screenshot()
        assert "[bold]Revert[/]" in svg.replace("&#160;", " ")
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
        assert "<script>" not in svg


async def test_paths_and_source_lines_render_literally_in_findings(
    history, history_engine, make_app
):
    app = make_app(history_engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_findings(None, HOSTILE_PATH)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, FindingsScreen)
        groups = screen.query_one("#groups")
        assert HOSTILE_PATH in row_keys(groups) and HOSTILE_PATH in column_text(groups, 0)
        assert HOSTILE_PATH in text_of(screen.query_one("#sites-title"))

        app.open_findings("deprecated_imports")
        await settle(pilot)
        await pilot.press("enter")
        texts = column_text(app.screen.query_one("#sites"), 1)
        assert texts and all("[red]old[/]" in t for t in texts if t.startswith("from"))

        app.open_findings("todo_comments")
        await settle(pilot)
        texts = [t for t in column_text(app.screen.query_one("#sites"), 1) if "TODO" in t]
        assert texts and all("␛[31m" in t and "\x1b" not in t for t in texts)


async def test_failure_messages_render_literally_on_the_tests_screen(
    history, history_engine, make_app
):
    app = make_app(history_engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_tests()
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, TestsScreen)
        messages = column_text(screen.query_one("#tests-table"), 3)
        assert any("[bold]0[/bold]" in m for m in messages)
        await pilot.press("2")
        await settle(pilot)
        assert any("[bold]0[/bold]" in m for m in column_text(screen.query_one("#tests-table"), 2))
