"""Tests: the golden-path pass rate (raw and without flaky tests), failures, clusters, collection
errors with their causes, flaky tests, and one test's pass/fail history as a strip."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Static

from healthtui import metrics as m
from healthtui.tui import data
from healthtui.tui.messages import CommitSelected
from healthtui.tui.screens.base import (
    DataScreen,
    Table,
    fill,
    flex_width,
    keep_cursor,
    set_columns,
)
from healthtui.tui.text import clean, plain, shorten, shorten_path
from healthtui.tui.widgets.chart import ChartSpec, Line, TrendChart
from healthtui.tui.widgets.keybar import KeyBar
from healthtui.tui.widgets.strip import OutcomeStrip
from healthtui.tui.widgets.tabline import TabLine

NO_REPORTS = (
    "No test reports stored yet. Ingest pytest-json-report files with "
    "`healthtui collect --report PATH` (or set `reports` / `test_command` in the config), "
    "or try `healthtui demo`."
)
TABS = Binding.Group("Tab", compact=True)


@dataclass(frozen=True)
class Column:
    label: str
    width: int | None  # None: shares what the fixed columns leave
    cell: Callable[[Any], Any]
    tail: bool = False  # too long: keep the end (a test's name) rather than the start
    justify: str = "left"


def first_line(value: object) -> str:
    text = str(value or "").strip()
    return text.splitlines()[0] if text else ""


def short_sha(sha: str) -> str:
    return sha[:8]


@dataclass(frozen=True)
class Tab:
    id: str
    title: str
    source: str  # the TestsData attribute listing the rows
    columns: tuple[Column, ...]
    nodeid: Callable[[Any], str | None]  # whose history a row shows
    sha: Callable[[Any, data.TestsData], str | None]  # the commit a row opens


def _newest_sha(_row: Any, tests: data.TestsData) -> str | None:
    return tests.runs[0].sha if tests.runs else None


TAB_LIST = (
    Tab(
        "failures",
        "Failures",
        "failures",
        (
            Column("Test", None, lambda r: r.nodeid, tail=True),
            Column("Outcome", 7, lambda r: r.outcome),
            Column("Stage", 8, lambda r: r.when),
            Column("Message", None, lambda r: first_line(r.message)),
        ),
        lambda r: r.nodeid,
        _newest_sha,
    ),
    Tab(
        "clusters",
        "Clusters",
        "clusters",
        (
            Column("Tests", 5, lambda r: r.count, justify="right"),
            Column("Exception", 20, lambda r: r.exception),
            Column("Message", None, lambda r: first_line(r.message)),
            Column("Since", 8, lambda r: short_sha(r.first_sha)),
            Column("Runs", 5, lambda r: r.runs, justify="right"),
            Column("Now", 3, lambda r: "●" if r.current else ""),
        ),
        lambda r: r.tests[0] if r.tests else None,
        lambda r, _t: r.first_sha,
    ),
    Tab(
        "collection",
        "Collection errors",
        "collection_errors",
        (
            Column("Kind", 7, lambda r: r.kind),
            Column("Cause", 24, lambda r: r.cause),
            Column("Where", None, lambda r: r.nodeid, tail=True),
            Column("Message", None, lambda r: first_line(r.message)),
        ),
        lambda _r: None,
        _newest_sha,
    ),
    Tab(
        "flaky",
        "Flaky",
        "flaky",
        (
            Column("Test", None, lambda r: r.nodeid, tail=True),
            Column("Passed", 6, lambda r: r.passes, justify="right"),
            Column("Failed", 6, lambda r: r.failures, justify="right"),
            Column("Last", 8, lambda r: short_sha(r.last_sha)),
        ),
        lambda r: r.nodeid,
        lambda r, _t: r.last_sha,
    ),
    Tab(
        "warnings",
        "Warnings",
        "warnings",
        (
            Column("Count", 6, lambda r: r.count, justify="right"),
            Column("Category", 22, lambda r: r.category),
            Column("Message", None, lambda r: first_line(r.message)),
            Column("Where", 36, lambda r: f"{r.path}:{r.line}" if r.line else (r.path or r.module)),
        ),
        lambda _r: None,
        _newest_sha,
    ),
    Tab(
        "runs",
        "Runs",
        "runs",
        (
            Column("Commit", 8, lambda r: short_sha(r.sha)),
            Column("Subject", None, lambda r: r.subject),
            Column("Passed", 6, lambda r: r.passed, justify="right"),
            Column("Failed", 6, lambda r: r.failed, justify="right"),
            Column("Errors", 6, lambda r: r.errors, justify="right"),
            Column("Coll. err", 9, lambda r: r.collection_errors, justify="right"),
        ),
        lambda _r: None,
        lambda r, _t: r.sha,
    ),
)
OUTCOME_STYLE = {"passed": "success", "failed": "error", "error": "error"}


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


class TestsScreen(DataScreen[data.TestsData]):
    __test__ = False
    KEY = data.TESTS_KEY
    BINDINGS = [
        *(
            Binding(str(i + 1), f"tab('{tab.id}')", tab.title, group=TABS)
            for i, tab in enumerate(TAB_LIST)
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.history_of: str | None = None
        self.tab = TAB_LIST[0].id
        self._rows: tuple[Any, ...] = ()
        self._cursor: dict[str, Any] = {}  # the selected row of each tab, kept across switches
        self._history_waits = False  # a history to read once the screen's own reads are done

    def compose(self) -> ComposeResult:
        yield Static(id="tests-title", classes="screen-title")
        yield Static(id="tests-summary", classes="meta")
        yield TrendChart(id="tests-chart")
        yield TabLine(id="tests-tabs")
        yield Table(id="tests-table")
        with Vertical(id="history"):
            yield Static(id="history-title", classes="section-title")
            yield OutcomeStrip(id="strip")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#tests-title", Static).update(Content.from_markup("[b]Tests[/b]"))
        self.query_one("#history-title", Static).update(
            Content.assemble(("History", "bold"), ("  highlight a test to see its runs", "dim"))
        )
        self.query_one("#tests-table", Table).focus()

    def cache_key(self) -> Hashable:
        return self.KEY

    def fetch(self) -> data.TestsData:
        return data.load_tests(self.health.engine, self.health.config)

    def loaded(self, tests: data.TestsData) -> None:
        if not tests.complete:
            self.run_worker(partial(self._read_rest, tests), group="rest", exclusive=True)

    async def _read_rest(self, tests: data.TestsData) -> None:
        """Read what the quick read left out, one part after the other, each shown when it is
        in: the pass rates first (the chart then draws while the counts are read), then the
        counts over all runs (summary, clusters, flaky tests)."""
        generation = self.health.generation
        engine = self.health.engine
        parts: list[Callable[[], dict[str, Any]]] = []
        if not tests.rates_read:
            raw = self.health.cached(("metric", m.suite_metric(tests.suite)), generation)
            parts.append(partial(data.read_pass_rates, engine, tests.suite, raw))
        if not tests.counted:
            if tests.available:
                parts.append(partial(data.count_tests, engine, tests.suite))
            else:
                parts.append(partial(dict, counted=True))
        for job in parts:
            try:
                fields = await asyncio.to_thread(job)
            except Exception as exc:
                self.report_error(exc)
                return
            if generation != self.health.generation or self.data is None:
                return
            self._merge(fields, generation)

    def _merge(self, fields: dict[str, Any], generation: int) -> None:
        tests = replace(self.data, **fields)
        self.health.remember(self.KEY, generation, tests)
        self.data = tests
        with self.app.batch_update():
            if "pass_rate" in fields:
                self._summary(tests)
                self._chart(tests)
            else:
                self.show(tests)
        if tests.complete and self._history_waits:
            self._history_waits = False
            self._start_history(self.history_of)
        self.call_after_refresh(self.check_complete)

    def show(self, tests: data.TestsData) -> None:
        title = m.info(m.suite_metric(tests.suite)).title
        self.query_one("#tests-title", Static).update(
            Content.assemble(("Tests", "bold"), "  ", (clean(title), "dim"))
        )
        self._summary(tests)
        self._chart(tests)
        labels = []
        for tab in TAB_LIST:
            pending = not tests.counted and tab.source in ("clusters", "flaky")
            count = "…" if pending else str(len(getattr(tests, tab.source)))
            labels.append((tab.id, f"{tab.title} {count}"))
        tabline = self.query_one(TabLine)
        tabline.labels = tuple(labels)
        tabline.active = self.tab
        self._fill(tests)
        self._history_for_cursor()

    def _summary(self, tests: data.TestsData) -> None:
        widget = self.query_one("#tests-summary", Static)
        if not tests.available:
            widget.update(Content(NO_REPORTS))
            return
        s = tests.summary
        rate = s.pass_rate if s else (tests.pass_rate[-1].value if tests.pass_rate else None)
        excl = (
            s.pass_rate_excl_flaky
            if s
            else (tests.pass_rate_excl_flaky[-1].value if tests.pass_rate_excl_flaky else None)
        )
        target = s.target if s and s.target is not None else tests.target
        parts: list[Any] = [
            ("pass rate ", "dim"),
            (percent(rate), "bold"),
            ("  without flaky ", "dim"),
            percent(excl),
        ]
        if s is not None:
            parts += [("  over expected ", "dim"), percent(s.pass_rate_expected)]
        if target is not None:
            parts += [("  target ", "dim"), f"{target * 100:.0f}%"]
        parts.append("\n")
        if s is not None:
            parts += [
                ("passed ", "dim"),
                str(s.passed),
                (" failed ", "dim"),
                str(s.failed),
                (" errors ", "dim"),
                str(s.errors),
                ("  collected ", "dim"),
                f"{s.collected} of {s.expected}",
            ]
            if s.flaky:
                parts += [("  flaky ", "dim"), str(s.flaky)]
        elif not tests.counted:
            parts += [("counting…", "dim")]
        newest = tests.runs[0]
        parts += [
            ("  │  newest run ", "dim"),
            newest.sha[:8],
            ("  ", ""),
            (f"{len(tests.runs)}{'+' if len(tests.runs) >= 50 else ''} runs", "dim"),
        ]
        widget.update(Content.assemble(*parts))

    def _chart(self, tests: data.TestsData) -> None:
        if not tests.rates_read:
            return  # drawn when the pass rates are in
        (raw_x, raw_y), (excl_x, excl_y) = tests.rate_xy
        lines = []
        if raw_x:
            lines.append(Line("pass rate", raw_x, raw_y))
        if excl_x:
            lines.append(Line("without flaky", excl_x, excl_y, color="warning"))
        self.query_one("#tests-chart", TrendChart).show(
            ChartSpec(
                lines=tuple(lines),
                target=tests.target,
                ratio=True,
                empty=f"no {tests.suite} pass rates stored yet",
            )
        )

    def current_tab(self) -> Tab:
        return next(t for t in TAB_LIST if t.id == self.tab)

    def _fill(self, tests: data.TestsData) -> None:
        """Fill the table with the active tab's rows, its cursor where it was."""
        tab = self.current_tab()
        rows = tuple(getattr(tests, tab.source))
        table = self.query_one("#tests-table", Table)
        selected = self._cursor.get(tab.id)
        fixed = sum(c.width or 0 for c in tab.columns)
        flexible = sum(1 for c in tab.columns if c.width is None)
        share = flex_width(table, fixed, len(tab.columns)) // max(flexible, 1)
        set_columns(
            table,
            [
                (f"{tab.id}-{i}", c.label, c.width or share, c.justify)
                for i, c in enumerate(tab.columns)
            ],
        )
        self._rows = rows
        shown = rows[: data.MAX_TABLE_ROWS]
        fill(
            table,
            [(str(i), partial(self._cells, tab, row, share)) for i, row in enumerate(shown)],
            selected,
        )

    def _cells(self, tab: Tab, row: Any, share: int) -> list[Any]:
        color = self.health.color
        cells: list[Any] = []
        for col in tab.columns:
            value = col.cell(row)
            if col.label == "Outcome":
                cells.append(Text(str(value), style=color(OUTCOME_STYLE.get(value, "warning"))))
            elif isinstance(value, int) and not isinstance(value, bool):
                cells.append(Text(f"{value:,}", justify="right"))
            elif col.tail:
                cells.append(plain(shorten_path(str(value), col.width or share)))
            else:
                cells.append(plain(shorten(str(value), col.width or share)))
        return cells

    def _current(self) -> tuple[Tab, Any] | None:
        key = keep_cursor(self.query_one("#tests-table", Table))
        if key is None or not self._rows:
            return None
        return self.current_tab(), self._rows[int(key)]

    def selected_test(self) -> str | None:
        current = self._current()
        return current[0].nodeid(current[1]) if current else None

    def _history_for_cursor(self) -> None:
        """Read the selected test's history once the screen is painted (a cursor moving fast
        reads only where it stops)."""
        nodeid = self.selected_test()
        if nodeid is not None and nodeid != self.history_of:
            self.history_of = nodeid
            self.call_after_refresh(self._start_history, nodeid)

    def _start_history(self, nodeid: str | None) -> None:
        """Read a test's history, after the rest of the screen is read."""
        if nodeid is None or nodeid != self.history_of or not self.is_mounted:
            return
        if self.data is not None and not self.data.complete:
            self._history_waits = True
            return
        self.run_worker(partial(self._load_history, nodeid), group="history", exclusive=True)

    async def _load_history(self, nodeid: str) -> None:
        rows = await asyncio.to_thread(data.load_test_history, self.health.engine, nodeid)
        outcomes = tuple(r.outcome for r in rows)
        self.query_one(OutcomeStrip).outcomes = outcomes
        passed = sum(o == "passed" for o in outcomes)
        failed = sum(o in ("failed", "error") for o in outcomes)
        self.query_one("#history-title", Static).update(
            Content.assemble(
                ("History ", "bold"),
                shorten(clean(nodeid), 70),
                (
                    f"  {passed} passed · {failed} failed in {len(outcomes)} runs, oldest left",
                    "dim",
                ),
            )
        )

    def on_row_table_row_highlighted(self, _event: Table.RowHighlighted) -> None:
        self._cursor[self.tab] = keep_cursor(self.query_one("#tests-table", Table))
        self._history_for_cursor()

    def on_tab_line_picked(self, event: TabLine.Picked) -> None:
        self.action_tab(event.tab)

    def on_row_table_row_selected(self, _event: Table.RowSelected) -> None:
        current = self._current()
        if current is None or self.data is None:
            return
        sha = current[0].sha(current[1], self.data)
        if sha:
            self.post_message(CommitSelected(sha))

    def action_tab(self, tab_id: str) -> None:
        self.tab = tab_id
        self.query_one(TabLine).active = tab_id
        if self.data is not None:
            self._fill(self.data)
        self.query_one("#tests-table", Table).focus()
        self._history_for_cursor()
