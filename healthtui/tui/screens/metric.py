"""One metric: its chart over time or over commits, and the commits that moved it."""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Hashable
from dataclasses import replace
from functools import partial

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.timer import Timer
from textual.widgets import Static

import store
from healthtui.metrics import info as metric_info
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
from healthtui.tui.text import (
    commit_time,
    delta_style,
    fmt_delta,
    metric_title,
    plain,
    shorten,
)
from healthtui.tui.widgets.chart import ChartSpec, Line, Mark, TrendChart
from healthtui.tui.widgets.keybar import KeyBar

RANGES = {"week": 7 * 86400, "month": 30 * 86400, "all": None}
RANGE_LABELS = {"week": "last week", "month": "last month", "all": "all time"}
MARKED_JUMPS = 3
PREFETCH_AFTER = 0.3  # seconds the cursor rests on a commit before it is read ahead
SHOWN_MOVES = 200  # rows of the commits table: the newest (or biggest) of a noisy metric
ZOOM = Binding.Group("Zoom", compact=True)
# Commit, date, author, delta and value columns; the subject takes the rest.
FIXED = (8, 16, 18, 8, 8)


class MetricScreen(DataScreen[data.MetricData]):
    BINDINGS = [
        Binding("x", "toggle_axis", "Time/commits"),
        Binding("w", "zoom('week')", "Week", group=ZOOM),
        Binding("m", "zoom('month')", "Month", group=ZOOM),
        Binding("a", "zoom('all')", "All", group=ZOOM),
        Binding("s", "toggle_sort", "Sort"),
    ]

    def __init__(self, metric: str) -> None:
        super().__init__()
        self.metric = metric
        self.range = "all"
        self.by_commit = False
        self.by_size = False
        self._x_of: dict[str, float] = {}
        self._spec = ChartSpec()
        self._commits: dict[str, store.CommitInfo] = {}  # read later, for rows shown
        self._prefetch_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="metric-title", classes="screen-title")
        yield TrendChart(id="chart")
        yield Static(id="changes-title", classes="section-title")
        yield Table(id="changes")
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.query_one("#changes", Table)
        set_columns(table, self._columns(flex_width(table, sum(FIXED), 6)))
        self._title()
        table.focus()

    def cache_key(self) -> Hashable:
        return ("metric", self.metric)

    @staticmethod
    def _columns(subject: int) -> list[tuple[str, str, int]]:
        sha, date, author, delta, after = FIXED
        return [
            ("sha", "Commit", sha),
            ("date", "Date", date),
            ("author", "Author", author),
            ("subject", "Subject", subject),
            ("delta", "Δ", delta, "right"),
            ("after", "After", after, "right"),
        ]

    def context_rule(self) -> str | None:
        return data.rule_of(self.metric)

    def fetch(self) -> data.MetricData:
        return data.load_metric(self.health.engine, self.health.config, self.metric)

    def show(self, metric: data.MetricData) -> None:
        self._title()
        self._draw()

    def _start(self) -> float | None:
        """Where the zoomed range starts (it ends at the newest point); None for all time."""
        assert self.data is not None
        span = RANGES[self.range]
        if span is None or not self.data.points:
            return None
        return self.data.points[-1].at - span

    def window(self) -> tuple[tuple, tuple[data.Move, ...]]:
        """The points and moves inside the zoomed range."""
        assert self.data is not None
        return self.data.since(self._start())

    def _title(self) -> None:
        d = self.data
        info = d.info if d else metric_info(self.metric)
        value = d.points[-1].value if d and d.points else None
        target = d.target if d else self.health.config.target_for(self.metric)
        unit = "" if info.unit == "ratio" or value is None else f" {info.unit}"
        self.query_one("#metric-title", Static).update(
            Content.assemble(
                (metric_title(self.metric), "bold"),
                "  ",
                (self.metric, "dim"),
                "   now ",
                (info.format(value), "bold"),
                unit,
                "   target ",
                (info.format(target) if target is not None else "none", "bold"),
                "   ",
                (
                    f"{RANGE_LABELS[self.range]} · by {'commit' if self.by_commit else 'time'}",
                    "dim",
                ),
            )
        )

    def _draw(self) -> None:
        if self.data is None:
            return
        d = self.data
        start = self._start()
        first = d.start_of(start)
        points, moves = d.since(start)
        info = d.info
        xs = tuple(map(float, range(len(points)))) if self.by_commit else d.times[first:]

        def x_of(mv: data.Move) -> float:
            i = d.position[mv.point.sha]
            return float(i - first) if self.by_commit else d.times[i]

        self._x_of = {mv.point.sha: x_of(mv) for mv in moves}
        jumps = heapq.nlargest(
            MARKED_JUMPS,
            (mv for mv in moves if mv.before is not None),
            key=lambda mv: abs(mv.delta),
        )
        marks = tuple(
            Mark(
                x=self._x_of[mv.point.sha],
                y=mv.point.value,
                up=mv.delta > 0,
                good=delta_style(info, mv.delta) == "good",
            )
            for mv in jumps
        )
        self._spec = ChartSpec(
            lines=(Line(metric_title(self.metric), xs, d.values[first:]),),
            target=d.target,
            marks=marks,
            ratio=info.unit == "ratio",
            by_commit=self.by_commit,
            commit_labels=tuple(p.sha[:7] for p in points) if self.by_commit else (),
            empty=f"no values of {self.metric} in {RANGE_LABELS[self.range]}",
        )
        self._fill_changes(moves)
        self._show_chart()

    def _show_chart(self) -> None:
        key = keep_cursor(self.query_one("#changes", Table))
        cursor = self._x_of.get(str(key)) if key is not None else None
        self.query_one(TrendChart).show(replace(self._spec, cursor=cursor))

    def _fill_changes(self, moves: tuple[data.Move, ...]) -> None:
        assert self.data is not None
        table = self.query_one("#changes", Table)
        selected = keep_cursor(table)
        if self.by_size:
            ordered = sorted(
                moves,
                key=lambda mv: abs(mv.delta) if mv.before is not None else -1.0,
                reverse=True,
            )
        else:
            ordered = list(reversed(moves))
        shown = ordered[:SHOWN_MOVES]
        subject_width = flex_width(table, sum(FIXED), 6)
        set_columns(table, self._columns(subject_width))
        missing = [
            mv.point.sha for mv in shown if (mv.commit or self._commits.get(mv.point.sha)) is None
        ]
        fill(
            table,
            [(mv.point.sha, partial(self._cells, mv, subject_width)) for mv in shown],
            selected,
        )
        if missing:
            self.run_worker(partial(self._read_commits, missing), group="commits", exclusive=True)
        order = "biggest change first" if self.by_size else "newest first"
        more = f" · showing {len(shown)} of {len(moves)}" if len(moves) > len(shown) else ""
        self.query_one("#changes-title", Static).update(
            Content.assemble(
                ("Commits that changed it", "bold"),
                (f"  {len(moves)} in {RANGE_LABELS[self.range]} · {order}{more}", "dim"),
                ("  ·  ▲▼ on the chart: the biggest jumps", "dim"),
            )
        )

    def _cells(self, mv: data.Move, subject_width: int) -> list[Text]:
        """One row of the commits table (commit details as far as they are read)."""
        assert self.data is not None
        info = self.data.info
        color = self.health.color
        c = mv.commit or self._commits.get(mv.point.sha)
        first = mv.before is None
        return [
            Text(mv.point.sha[:8], style=color("accent")),
            Text(commit_time(mv.point.at, c.committer_offset if c else 0)),
            plain(shorten(c.author_name, FIXED[2]) if c else "…"),
            plain(shorten(c.subject, subject_width) if c else "…"),
            Text(
                "first" if first else fmt_delta(info, mv.delta),
                style="dim" if first else color(delta_style(info, mv.delta)),
                justify="right",
            ),
            Text(info.format(mv.point.value), justify="right"),
        ]

    async def _read_commits(self, shas: list[str]) -> None:
        """Authors and subjects of the rows shown that the first read left out."""
        found = await asyncio.to_thread(data.load_commits, self.health.engine, shas)
        self._commits.update(found)
        table = self.query_one("#changes", Table)
        width = table.ordered_columns[3].width
        for sha, c in found.items():
            if sha in table.rows and table.row_made(sha):  # rows made later read _commits
                table.update_cell(sha, "author", plain(shorten(c.author_name, FIXED[2])))
                table.update_cell(sha, "subject", plain(shorten(c.subject, width)))
                date = Text(commit_time(c.committed_at, c.committer_offset))
                table.update_cell(sha, "date", date)

    def loaded(self, metric: data.MetricData) -> None:
        self.call_after_refresh(self._prefetch_commit)

    def _prefetch_commit(self) -> None:
        """Read the selected commit in the background: Enter most likely opens it next."""
        self._prefetch_timer = None
        sha = self.selected_sha()
        if sha is not None:
            read = partial(data.load_commit, self.health.engine, sha)
            self.health.prefetch_read(("commit", sha), read)

    def on_row_table_row_highlighted(self, event: Table.RowHighlighted) -> None:
        if self.data is not None:
            self._show_chart()
            if self._prefetch_timer is not None:
                self._prefetch_timer.stop()
            self._prefetch_timer = self.set_timer(PREFETCH_AFTER, self._prefetch_commit)

    def on_row_table_row_selected(self, event: Table.RowSelected) -> None:
        if event.row_key.value is not None:
            self.post_message(CommitSelected(str(event.row_key.value)))

    def selected_sha(self) -> str | None:
        key = keep_cursor(self.query_one("#changes", Table))
        return str(key) if key is not None else None

    def action_toggle_axis(self) -> None:
        self.by_commit = not self.by_commit
        self._title()
        self._draw()

    def action_zoom(self, which: str) -> None:
        self.range = which
        self._title()
        self._draw()

    def action_toggle_sort(self) -> None:
        self.by_size = not self.by_size
        self._draw()
