"""Pilot drives the real app on a real database: every screen, keys, palette, back navigation."""

from __future__ import annotations

import gc
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from textual.pilot import Pilot
from textual.widgets import Digits

import store
from healthtui import metrics as m
from healthtui.config import Config
from healthtui.tui import data
from healthtui.tui.app import DARK_THEME, LIGHT_THEME, HealthApp
from healthtui.tui.screens.commit import CommitScreen
from healthtui.tui.screens.findings import FindingsScreen
from healthtui.tui.screens.help import HelpScreen
from healthtui.tui.screens.metric import SHOWN_MOVES, MetricScreen
from healthtui.tui.screens.overview import OverviewScreen
from healthtui.tui.screens.tests import TestsScreen
from healthtui.tui.widgets.card import HeadlineCard
from healthtui.tui.widgets.chart import TrendChart
from healthtui.tui.widgets.strip import OutcomeStrip
from healthtui.tui.widgets.tabline import TabLine
from tests.tui.history import FLAKY, build_history, code_metrics
from tests.tui.pilot import (
    column_text,
    palette,
    row_keys,
    row_text,
    selected_key,
    settle,
    text_of,
)

SIZE = (120, 40)


@asynccontextmanager
async def on_metric(app: HealthApp, metric: str) -> AsyncIterator[Pilot]:
    """`app` running at SIZE, settled on `metric`'s screen."""
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_metric(metric)
        await settle(pilot)
        yield pilot


async def test_overview_shows_the_header_cards_and_a_sortable_table(
    history, history_engine, make_app
):
    app = make_app(history_engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, OverviewScreen)
        header = text_of(screen.query_one("#status-line"))
        assert "shop" in header and "branch main" in header
        assert "collected 1 h ago" in header and "stale" not in header
        assert f"HEAD {history.shas[-1][:8]}" in header
        card = screen.query_one("#card-0", HeadlineCard)
        n = len(history.shas)
        assert card.summary is not None
        assert card.summary.value == code_metrics(n - 1, n)["await_misuse"]
        assert card.has_class("-improving")
        assert card.query_one(Digits).value == str(int(card.summary.value))
        assert "prev −1" in text_of(card.query_one(".deltas"))
        assert screen.query_one("#card-3", HeadlineCard).has_class("-met") is False
        table = screen.query_one("#metrics")
        keys = row_keys(table)
        assert set(data.OTHER_METRICS) <= set(keys) and m.AWAIT_MISUSE not in keys
        statuses = column_text(table, 6)
        assert statuses[0].endswith("regressed")  # sorted by status, worst first

        await pilot.press("s")  # next sort column: metric name
        titles = column_text(table, 0)
        assert titles == sorted(titles, key=str.lower)
        await pilot.press("S")
        assert column_text(table, 0) == sorted(titles, key=str.lower, reverse=True)
        now_x = table.ordered_columns[0].get_render_width(table) + 1
        await pilot.click("#metrics", offset=(now_x, 0))  # the "Now" header sorts by value
        await pilot.pause()
        assert screen.sort_column == "value"
        values = [float(v.replace(",", "")) for v in column_text(table, 1) if v != "–"]
        assert values == sorted(values)


async def test_an_old_collect_is_marked_stale(history, history_engine, make_app):
    app = make_app(history_engine, now=lambda: history.now + 3 * 86400)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        header = text_of(app.screen.query_one("#status-line"))
        assert "3 d ago · stale" in header


async def test_keys_walk_every_screen_and_back_keeps_the_selection(
    history, history_engine, make_app
):
    app = make_app(history_engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        overview = app.screen
        table = overview.query_one("#metrics")
        await pilot.press("down", "down")
        chosen_metric = selected_key(table)

        await pilot.press("1")
        await settle(pilot)
        metric = app.screen
        assert isinstance(metric, MetricScreen) and metric.metric == m.AWAIT_MISUSE
        changes = metric.query_one("#changes")
        assert changes.row_count == len(metric.data.moves)
        await pilot.press("down", "down", "down")
        chosen_sha = selected_key(changes)
        assert metric.query_one(TrendChart).spec.cursor is not None

        await pilot.press("enter")
        await settle(pilot)
        commit = app.screen
        assert isinstance(commit, CommitScreen) and commit.sha == chosen_sha
        assert chosen_sha[:12] in text_of(commit.query_one("#commit-title"))

        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is metric and selected_key(changes) == chosen_sha
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is overview and selected_key(table) == chosen_metric

        await pilot.press("t")
        await settle(pilot)
        assert isinstance(app.screen, TestsScreen)
        await pilot.press("escape", "f")
        await settle(pilot)
        assert isinstance(app.screen, FindingsScreen)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.press("g")
        await settle(pilot)
        assert app.screen is overview and len(app.screen_stack) == 1

        await pilot.press("enter")  # the table's highlighted row opens
        await settle(pilot)
        assert isinstance(app.screen, MetricScreen) and app.screen.metric == chosen_metric


async def test_cards_open_with_their_number_a_click_or_enter(history, history_engine, make_app):
    app = make_app(history_engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for key, metric in zip("1234", m.HEADLINE, strict=True):
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, MetricScreen) and app.screen.metric == metric
            await pilot.press("escape")
            await settle(pilot)
        await pilot.click("#card-1")
        await settle(pilot)
        assert app.screen.metric == m.DEPRECATED_IMPORTS
        await pilot.press("escape")
        app.screen.query_one("#card-2").focus()
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.metric == m.MARKER_ERRORS


async def test_metric_screen_zooms_toggles_the_axis_and_sorts_by_size(
    history, history_engine, make_app
):
    app = make_app(history_engine)
    async with on_metric(app, m.AWAIT_MISUSE) as pilot:
        screen = app.screen
        chart = screen.query_one(TrendChart)
        assert chart.spec.target == 0 and len(chart.spec.marks) == 3
        assert {mark.good for mark in chart.spec.marks} == {True, False}  # the spike and fixes
        everything = screen.query_one("#changes").row_count

        await pilot.press("w")
        points, moves = screen.window()
        assert screen.range == "week" and len(points) < len(screen.data.points)
        assert all(p.at >= screen.data.points[-1].at - 7 * 86400 for p in points)
        assert screen.query_one("#changes").row_count == len(moves) < everything
        assert "last week" in text_of(screen.query_one("#metric-title"))
        await pilot.press("m")
        assert screen.range == "month"
        await pilot.press("a")
        assert screen.query_one("#changes").row_count == everything

        await pilot.press("x")
        assert screen.by_commit and chart.spec.by_commit
        assert chart.spec.lines[0].xs == tuple(float(i) for i in range(len(screen.data.points)))
        assert "by commit" in text_of(screen.query_one("#metric-title"))

        await pilot.press("s")
        deltas = [abs(mv.delta) for mv in screen.data.moves if mv.before is not None]
        table = screen.query_one("#changes")
        shown = [
            abs(float(row_text(table, k)[4].replace("−", "").replace("+", "")))
            for k in row_keys(table)[:-1]
        ]
        assert shown == sorted(deltas, reverse=True)
        assert row_text(table, row_keys(table)[-1])[4] == "first"


async def test_commit_screen_shows_deltas_and_the_changed_lines(history, history_engine, make_app):
    app = make_app(history_engine)
    sha = history.shas[31]  # inside the spike: findings added
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_commit(sha)
        await settle(pilot)
        screen = app.screen
        detail = screen.data
        deltas = screen.query_one("#deltas")
        moved = [d for d in detail.deltas if d.before is None or d.delta != 0]
        assert deltas.row_count == len(moved) and deltas.row_count < len(detail.deltas)
        await pilot.press("u")
        assert deltas.row_count == len(detail.deltas)
        changes = screen.query_one("#findings")
        files = {c.path for c in detail.changes}
        assert changes.row_count == len(detail.changes) + len(files)
        signs = {row_text(changes, k)[0] for k in row_keys(changes) if not str(k).startswith("f")}
        assert signs <= {"+", "−"} and signs
        assert "e opens the line" in text_of(screen.query_one("#changes-title"))

        await pilot.press("tab")  # to the findings table
        await settle(pilot)
        change = screen.selected_change()
        assert change is not None
        await pilot.press("enter")
        await settle(pilot)
        findings = app.screen
        assert isinstance(findings, FindingsScreen)
        assert findings.rule == change.rule
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen and screen.selected_change() == change
        screen.query_one("#deltas").focus()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, MetricScreen)


async def test_findings_group_switch_rules_and_open_the_editor(
    history, history_engine, make_app, tmp_path, monkeypatch
):
    work = tmp_path / "work"
    work.mkdir()
    (work / "CODEOWNERS").write_text("* @everyone\napp/ @app-team\n")
    log = tmp_path / "editor.log"
    script = tmp_path / "editor.py"
    script.write_text(f"import sys\nopen({str(log)!r}, 'w').write(' '.join(sys.argv[1:]))\n")
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    monkeypatch.delenv("VISUAL", raising=False)
    app = make_app(history_engine, repo_root=work)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, FindingsScreen)
        first_rule = screen.rule
        groups = screen.query_one("#groups")
        counts = [int(x) for x in column_text(groups, 1)]
        assert counts == sorted(counts, reverse=True)
        assert sum(counts) == len(history.tip_findings[first_rule])

        await pilot.press("b")
        assert screen.grouping == "directory"
        assert all(k.endswith("/") for k in row_keys(groups))
        await pilot.press("b")
        assert screen.grouping == "owner"
        assert set(row_keys(groups)) <= {"@everyone", "@app-team"}
        await pilot.press("b")
        assert screen.grouping == "file"

        await pilot.press("n")
        await settle(pilot)
        assert screen.rule != first_rule
        await pilot.press("p")
        await settle(pilot)
        assert screen.rule == first_rule

        await pilot.press("enter")  # into the sites of the highlighted file
        await settle(pilot)
        site = screen.selected_site()
        assert site is not None
        assert app.focused is screen.query_one("#sites")
        await pilot.press("e")  # the file is not in the work tree yet
        await settle(pilot)
        assert not log.exists()
        target = work / site.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("x\n" * (site.line + 1))
        await pilot.press("e")
        await settle(pilot)
        assert log.read_text() == f"+{site.line} {target.resolve()}"


async def test_tests_screen_tabs_history_strip_and_commit(history, history_engine, make_app):
    app = make_app(history_engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, TestsScreen) and screen.data.complete
        summary = text_of(screen.query_one("#tests-summary"))
        assert "pass rate" in summary and "without flaky" in summary and "target 90%" in summary
        assert f"newest run {history.shas[-1][:8]}" in summary
        chart = screen.query_one("#tests-chart", TrendChart)
        assert [line.label for line in chart.spec.lines] == ["pass rate", "without flaky"]
        tabs = dict(screen.query_one(TabLine).labels)
        assert tabs["flaky"] == "Flaky 1" and tabs["runs"] == f"Runs {history.runs}"
        table = screen.query_one("#tests-table")
        assert FLAKY in [screen._rows[int(k)].nodeid for k in row_keys(table)]
        await pilot.press("down")
        kept = selected_key(table)

        await pilot.press("3")
        await settle(pilot)
        assert screen.tab == "collection" and screen.query_one(TabLine).active == "collection"
        causes = column_text(table, 1)
        assert "legacy.http" in causes and any(c.startswith("slow_") for c in causes)
        await pilot.click(TabLine, offset=(3, 0))  # back to the first tab, cursor where it was
        await settle(pilot)
        assert screen.tab == "failures" and selected_key(table) == kept

        await pilot.press("4")
        await settle(pilot)
        assert screen.history_of == FLAKY
        strip = screen.query_one(OutcomeStrip)
        assert len(strip.outcomes) == history.runs and set(strip.outcomes) == {"passed", "failed"}
        assert "History" in text_of(screen.query_one("#history-title"))

        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CommitScreen)
        assert app.screen.sha == screen.data.flaky[0].last_sha


async def test_palette_jumps_to_a_metric_and_a_commit(history, history_engine, make_app):
    app = make_app(history_engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        hits = await palette(pilot, "deprecated imports files")
        assert any("Deprecated imports (files)" in h for h in hits)
        assert isinstance(app.screen, MetricScreen)
        assert app.screen.metric == "deprecated_imports.files"

        await palette(pilot, history.shas[17][:7])
        assert isinstance(app.screen, CommitScreen) and app.screen.sha == history.shas[17]

        hits = await palette(pilot, "webhook sender")
        assert isinstance(app.screen, CommitScreen)
        assert "webhook sender" in app.screen.data.commit.subject
        assert all("webhook sender" in h for h in hits if h.startswith("Commit"))


async def test_palette_jumps_to_a_file_and_a_screen(history, history_engine, make_app):
    app = make_app(history_engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        path = next(f.path for v in history.tip_findings.values() for f in v)
        await palette(pilot, path.rsplit("/", 1)[-1])
        assert isinstance(app.screen, FindingsScreen)
        assert selected_key(app.screen.query_one("#groups")) == path

        await palette(pilot, "go to tests")
        assert isinstance(app.screen, TestsScreen)


async def test_light_and_dark_themes_redraw(history, history_engine, make_app):
    app = make_app(history_engine)
    async with on_metric(app, m.AWAIT_MISUSE) as pilot:
        assert app.theme == DARK_THEME
        dark_line = app.screen.query_one(TrendChart)._rgb("primary")
        await pilot.press("d")
        await settle(pilot)
        assert app.theme == LIGHT_THEME
        assert app.screen.query_one(TrendChart)._rgb("primary") != dark_line
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, OverviewScreen)
        assert app.screen.query_one("#card-0", HeadlineCard).summary is not None


async def test_the_editor_never_opens_a_path_outside_the_work_tree(
    history, history_engine, make_app, tmp_path, monkeypatch
):
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "outside.py").write_text("x\n")
    (work / "inside.py").write_text("x\n")
    log = tmp_path / "editor.log"
    script = tmp_path / "editor.py"
    script.write_text(f"import sys\nopen({str(log)!r}, 'a').write(sys.argv[-1] + '\\n')\n")
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    monkeypatch.delenv("VISUAL", raising=False)
    app = make_app(history_engine, repo_root=work)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_in_editor("../outside.py", 1)
        app.open_in_editor("/etc/passwd", 1)
        app.open_in_editor("inside.py", 1)
        await settle(pilot)
    assert log.read_text().splitlines() == [str((work / "inside.py").resolve())]


async def test_a_noisy_metric_reads_the_remaining_subjects_after_the_first_paint(tmp_path):
    history = build_history(
        tmp_path / "noisy.db",
        commits=300,
        step=3600,
        findings=False,
        tests_snapshot_every_commit=True,
    )
    engine = store.open_engine(history.path)
    app = HealthApp(engine=engine, config=Config(), poll_interval=0, now=lambda: history.now)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            app.open_metric("tests.total")
            await settle(pilot)
            screen = app.screen
            assert sum(mv.commit is None for mv in screen.data.moves) > 0
            subjects = column_text(screen.query_one("#changes"), 3)
            assert len(subjects) == SHOWN_MOVES and "…" not in subjects
    finally:
        engine.dispose()


def chart_text(chart: TrendChart) -> str:
    return "\n".join(chart.render_line(y).text for y in range(chart.size.height))


def chart_styles(chart: TrendChart) -> set[str]:
    return {
        str(segment.style)
        for y in range(chart.size.height)
        for segment in chart.render_line(y)._segments
    }


async def test_charts_draw_off_the_event_loop_and_the_screen_completes_with_them(
    history, history_engine, make_app
):
    app = make_app(history_engine)
    async with on_metric(app, m.AWAIT_MISUSE) as pilot:
        screen = app.screen
        chart = screen.query_one(TrendChart)
        assert chart.current and screen.complete and screen._completed
        drawn = chart_text(chart)
        assert "▲" in drawn or "▼" in drawn  # the biggest jumps, marked

        await pilot.press("w")  # a new spec: the old drawing stays until the new one is in
        assert chart.spec.marks != () and chart_text(chart).strip()
        await settle(pilot)
        assert chart.current and chart_text(chart) != drawn

        dark = chart_styles(chart)
        app.theme = LIGHT_THEME  # a theme change draws it again, in the new colours
        await settle(pilot)
        assert chart.current and chart_styles(chart) != dark


async def test_reads_ahead_show_the_next_screen_with_its_first_paint(
    history, history_engine, make_app
):
    app = make_app(history_engine, prefetch=True)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            rule = app.screen.context_rule()
            assert app.cached(("findings", rule, None), app.generation) is not None
            assert app.cached(data.TESTS_KEY, app.generation).complete
            assert gc.get_freeze_count() > 0  # what the prefetch left alive is out of the GC's way

            await pilot.press("1")
            await settle(pilot)
            sha = app.screen.selected_sha()
            assert app.cached(("commit", sha), app.generation) is not None
            await pilot.press("enter")  # the commit was read ahead: on screen without a read
            commit = app.screen
            assert isinstance(commit, CommitScreen) and commit.data.commit.sha == sha
            assert not any(w.group == "load" for w in app.workers)
            await settle(pilot)
            await pilot.press("escape", "down")
            await pilot.pause(0.5)  # the cursor rests on another commit: it is read ahead too
            await settle(pilot)
            moved = app.screen.selected_sha()
            assert moved != sha and app.cached(("commit", moved), app.generation) is not None
    finally:
        gc.unfreeze()


async def test_a_chart_shown_again_is_on_screen_with_the_first_frame(
    history, history_engine, make_app
):
    app = make_app(history_engine)
    async with on_metric(app, m.AWAIT_MISUSE) as pilot:
        first = app.screen.query_one(TrendChart)
        drawn = chart_text(first)
        assert first.draws == 1
        await pilot.press("escape")
        await settle(pilot)
        app.open_metric(m.AWAIT_MISUSE)
        await settle(pilot)
        chart = app.screen.query_one(TrendChart)
        assert chart is not first and chart.current and chart_text(chart) == drawn
        assert chart.draws == 0  # taken from the app's drawings, not drawn again
        await pilot.press("w")
        await settle(pilot)
        assert chart.draws == 1


async def test_a_terminal_resize_lays_the_screen_out_again(history, history_engine, make_app):
    app = make_app(history_engine)
    async with on_metric(app, m.AWAIT_MISUSE) as pilot:
        screen = app.screen
        chart = screen.query_one(TrendChart)
        table = screen.query_one("#changes")
        wide = (chart.size.width, table.ordered_columns[3].width)
        await pilot.resize_terminal(90, 30)
        await settle(pilot)
        assert screen.size.width == 90 and chart.size.width < wide[0]
        assert table.ordered_columns[3].width < wide[1]  # the subject column gave way
        assert chart.current and chart_text(chart).strip()
        await pilot.press("escape")
        await settle(pilot)
        overview = app.screen
        assert isinstance(overview, OverviewScreen) and overview.size.width == 90
        assert overview.query_one("#metrics").size.width <= 90


async def test_the_findings_title_counts_one_site_in_one_file(tmp_path):
    from healthtui.collect.gitrepo import GitRepo
    from healthtui.collect.history import backfill
    from healthtui.config import load_config
    from healthtui.demo.builder import RepoBuilder

    b = RepoBuilder(tmp_path / "repo")
    b.commit(
        {
            "healthtui.toml": '[rules]\nknown_sync = ["get_manager"]\n',
            "app/a.py": "async def handle():\n    return await get_manager()\n",
        },
        message="One misuse",
    )
    engine = store.open_engine(tmp_path / "health.db")
    try:
        config = load_config(b.path)
        backfill(GitRepo.open(b.path), engine, config)
        app = HealthApp(engine=engine, config=config, poll_interval=0, prefetch=False)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("f")
            await settle(pilot)
            assert isinstance(app.screen, FindingsScreen)
            title = text_of(app.screen.query_one("#findings-title"))
            assert title.endswith("await_misuse   1 site in 1 file")
    finally:
        engine.dispose()
