"""The overview: four headline cards and every other metric in a sortable table."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Static

from healthtui import metrics as m
from healthtui.tui import data
from healthtui.tui.downsample import stretch
from healthtui.tui.messages import MetricSelected
from healthtui.tui.screens.base import (
    DataScreen,
    Table,
    keep_cursor,
    restore_cursor,
    set_columns,
)
from healthtui.tui.text import delta_style, fmt_delta, metric_title, plain, shorten
from healthtui.tui.widgets.card import HeadlineCard, status_label
from healthtui.tui.widgets.keybar import KeyBar
from healthtui.tui.widgets.status_line import StatusLine

SPARK_CHARS = "▁▂▃▄▅▆▇█"
COLUMNS = (
    ("metric", "Metric", 32),
    ("value", "Now", 8, "right"),
    ("prev", "Δ prev", 9, "right"),
    ("week", "Δ 7d", 9, "right"),
    ("target", "Target", 7, "right"),
    ("trend", "Trend (30 d)", 16),
    ("status", "Status", 12),
)
LABELS = {column[0]: column[1] for column in COLUMNS}
SORTABLE = ("status", "metric", "value", "prev", "week")
STATUS_ORDER = {
    data.STATUS_REGRESSED: 0,
    data.STATUS_STEADY: 1,
    data.STATUS_IMPROVING: 2,
    data.STATUS_MET: 3,
    data.STATUS_NODATA: 4,
}
STATUS_COLOR = {
    data.STATUS_MET: "success",
    data.STATUS_IMPROVING: "primary",
    data.STATUS_REGRESSED: "error",
    data.STATUS_STEADY: "foreground-muted",
    data.STATUS_NODATA: "foreground-muted",
}
CARDS = Binding.Group("Open card", compact=True)
SORT = Binding.Group("Sort", compact=True)


def spark_text(values: tuple[float, ...], width: int = 16) -> str:
    """A one-line sparkline made of block characters."""
    if not values:
        return ""
    vals = stretch(values, width)
    lo, hi = min(vals), max(vals)
    if hi == lo:
        return SPARK_CHARS[0] * len(vals)
    scale = (len(SPARK_CHARS) - 1) / (hi - lo)
    return "".join(SPARK_CHARS[round((v - lo) * scale)] for v in vals)


def sort_key(column: str, row: data.MetricSummary) -> Any:
    """Rows without a value sort last whichever way the column goes."""
    title = metric_title(row.id).lower()
    if column == "metric":
        return (0, title)
    if column == "status":
        return (0, STATUS_ORDER[row.status], title)
    value = {"value": row.value, "prev": row.delta_previous, "week": row.delta_week}[column]
    return (1, 0.0, title) if value is None else (0, value, title)


class OverviewScreen(DataScreen[data.OverviewData]):
    """Where the dashboard opens."""

    BINDINGS = [
        Binding("1", "card(0)", "Await", group=CARDS),
        Binding("2", "card(1)", "Deprecated", group=CARDS),
        Binding("3", "card(2)", "Markers", group=CARDS),
        Binding("4", "card(3)", "Pass rate", group=CARDS),
        Binding("s", "sort", "Sort column", group=SORT),
        Binding("S", "reverse", "Reverse", group=SORT),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.sort_column = "status"
        self.sort_reverse = False

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status-line")
        with Horizontal(id="cards"):
            for i, metric in enumerate(m.HEADLINE):
                yield HeadlineCard(metric, id=f"card-{i}")
        with Vertical(id="others"):
            yield Static("", id="others-title", classes="section-title")
            yield Table(id="metrics")
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.query_one("#metrics", Table)
        set_columns(table, list(COLUMNS))
        self._update_title()
        table.focus()

    def cache_key(self) -> Hashable:
        return ("overview",)

    def fetch(self) -> data.OverviewData:
        return data.load_overview(self.health.engine, self.health.config, self.health.now())

    def show(self, overview: data.OverviewData) -> None:
        self.query_one(StatusLine).show(overview.repository, self.health.now())
        self.health.repository = overview.repository
        if overview.empty:
            self.health.show_first_run(overview.repository)
            return
        for i, summary in enumerate(overview.headline):
            self.query_one(f"#card-{i}", HeadlineCard).summary = summary
        self._fill_table()

    def loaded(self, overview: data.OverviewData) -> None:
        if not overview.empty:
            self.health.prefetch_screens()

    def _rows(self) -> list[data.MetricSummary]:
        if self.data is None:
            return []
        present = [r for r in self.data.others if r.value is not None]
        missing = [r for r in self.data.others if r.value is None]
        ordered = sorted(
            present, key=lambda r: sort_key(self.sort_column, r), reverse=self.sort_reverse
        )
        return ordered + sorted(missing, key=lambda r: metric_title(r.id).lower())

    def _fill_table(self) -> None:
        table = self.query_one("#metrics", Table)
        selected = keep_cursor(table)
        fallback = table.cursor_row
        set_columns(table, list(COLUMNS))
        color = self.health.color
        for row in self._rows():
            info = row.info
            table.add_row(
                plain(shorten(metric_title(row.id), COLUMNS[0][2])),
                Text(info.format(row.value), justify="right"),
                Text(
                    fmt_delta(info, row.delta_previous),
                    style=color(delta_style(info, row.delta_previous)),
                    justify="right",
                ),
                Text(
                    fmt_delta(info, row.delta_week),
                    style=color(delta_style(info, row.delta_week)),
                    justify="right",
                ),
                Text(info.format(row.target) if row.target is not None else "–", justify="right"),
                Text(spark_text(row.spark), style=color("primary")),
                Text(status_label(row), style=color(STATUS_COLOR[row.status])),
                key=row.id,
            )
        restore_cursor(table, selected, fallback)
        self._update_title()

    def _update_title(self) -> None:
        label = LABELS[self.sort_column]
        arrow = "↓" if self.sort_reverse else "↑"
        self.query_one("#others-title", Static).update(
            Content.assemble(
                ("Other metrics", "bold"),
                (f"  sorted by {label} {arrow} · s column · S reverse · enter opens", "dim"),
            )
        )

    def selected_metric(self) -> str | None:
        focused = self.focused
        if isinstance(focused, HeadlineCard):
            return focused.metric
        key = keep_cursor(self.query_one("#metrics", Table))
        return str(key) if key is not None else None

    def context_rule(self) -> str | None:
        metric = self.selected_metric()
        return data.rule_of(metric) if metric else None

    def action_card(self, index: int) -> None:
        self.post_message(MetricSelected(m.HEADLINE[index]))

    def action_sort(self) -> None:
        i = SORTABLE.index(self.sort_column) if self.sort_column in SORTABLE else -1
        self.sort_column = SORTABLE[(i + 1) % len(SORTABLE)]
        self.sort_reverse = False
        self._fill_table()

    def action_reverse(self) -> None:
        self.sort_reverse = not self.sort_reverse
        self._fill_table()

    def on_row_table_header_selected(self, event: Table.HeaderSelected) -> None:
        column = str(event.column_key.value)
        if column not in SORTABLE:
            return
        if column == self.sort_column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column, self.sort_reverse = column, False
        self._fill_table()

    def on_row_table_row_selected(self, event: Table.RowSelected) -> None:
        if event.row_key.value is not None:
            self.post_message(MetricSelected(str(event.row_key.value)))

    def on_headline_card_chosen(self, event: HeadlineCard.Chosen) -> None:
        self.post_message(MetricSelected(event.metric))
