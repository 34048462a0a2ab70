"""One commit: every metric's delta there, and the findings it added or removed, line by line."""

from __future__ import annotations

from collections.abc import Hashable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.widgets import Static

import store
from healthtui.metrics import info as metric_info
from healthtui.tui import data
from healthtui.tui.messages import FindingsRequested, MetricSelected
from healthtui.tui.screens.base import (
    DataScreen,
    Row,
    Table,
    fill,
    flex_width,
    keep_cursor,
    restore_cursor,
    set_columns,
)
from healthtui.tui.text import (
    clean,
    commit_time,
    delta_style,
    fmt_delta,
    metric_title,
    plain,
    shorten,
)
from healthtui.tui.widgets.keybar import KeyBar

# Sign, rule and line columns of the findings table; file names and source lines take the rest.
FIXED = (1, 20, 5)


def change_order(row: store.FindingChangeRow) -> tuple[str, int, int, str]:
    return (row.path, row.line, -row.delta, row.rule)


class CommitScreen(DataScreen["store.CommitDetail | None"]):
    BINDINGS = [
        Binding("e", "edit", "Edit"),
        Binding("u", "toggle_unchanged", "Unchanged"),
        Binding("tab", "app.focus_next", "Switch"),
    ]

    def __init__(self, sha: str) -> None:
        super().__init__()
        self.sha = sha
        self.show_unchanged = False
        self._changes: list[store.FindingChangeRow] = []

    def compose(self) -> ComposeResult:
        yield Static(id="commit-title", classes="screen-title")
        yield Static(id="commit-meta", classes="meta")
        yield Static(id="deltas-title", classes="section-title")
        yield Table(id="deltas", zebra_stripes=False)
        yield Static(id="changes-title", classes="section-title")
        yield Table(id="findings", zebra_stripes=False)
        yield KeyBar()

    def on_mount(self) -> None:
        deltas = self.query_one("#deltas", Table)
        deltas.add_column("Metric", key="metric", width=44)
        deltas.add_column("Before", key="before", width=8, justify="right")
        deltas.add_column("After", key="after", width=8, justify="right")
        deltas.add_column("Δ", key="delta", width=10, justify="right")
        changes = self.query_one("#findings", Table)
        set_columns(changes, self._change_columns(flex_width(changes, sum(FIXED), 4)))
        self.query_one("#commit-title", Static).update(
            Content.assemble(("Commit ", "bold"), (clean(self.sha[:12]), "bold"))
        )
        deltas.focus()

    def cache_key(self) -> Hashable:
        return ("commit", self.sha)

    @staticmethod
    def _change_columns(text: int) -> list[tuple[str, str, int]]:
        sign, rule, line = FIXED
        return [
            ("sign", "", sign),
            ("line", "Line", line, "right"),
            ("text", "File / source line", text),
            ("rule", "Rule", rule),
        ]

    def fetch(self) -> store.CommitDetail | None:
        return data.load_commit(self.health.engine, self.sha)

    def context_rule(self) -> str | None:
        if self.focused is self.query_one("#deltas", Table):
            key = keep_cursor(self.query_one("#deltas", Table))
            return data.rule_of(str(key)) if key is not None else None
        row = self.selected_change()
        return row.rule if row else None

    def show(self, detail: store.CommitDetail | None) -> None:
        if detail is None:
            self.query_one("#commit-meta", Static).update(
                Content(f"No stored commit matches {clean(self.sha)}.")
            )
            return
        c = detail.commit
        self.query_one("#commit-title", Static).update(
            Content.assemble(("Commit ", "bold"), (c.sha[:12], "bold"), "  ", clean(c.subject))
        )
        meta: list[str | tuple[str, str]] = [
            ("author ", "dim"),
            clean(f"{c.author_name} <{c.author_email}>"),
            ("   date ", "dim"),
            commit_time(c.committed_at, c.committer_offset),
            ("   parents ", "dim"),
            " ".join(p[:8] for p in c.parents) or "none",
        ]
        if c.issue_refs:
            meta += [("   refs ", "dim"), clean(" ".join(c.issue_refs))]
        if not c.reachable:
            meta += [("   no longer on the branch", "bold")]
        self.query_one("#commit-meta", Static).update(Content.assemble(*meta))
        self._fill_deltas(detail)
        self._fill_changes(detail)

    def _fill_deltas(self, detail: store.CommitDetail) -> None:
        color = self.health.color
        table = self.query_one("#deltas", Table)
        selected = keep_cursor(table)
        table.clear()

        def unchanged(d: store.MetricDelta) -> bool:
            return d.before is not None and d.delta == 0

        def order(d: store.MetricDelta) -> tuple[bool, str]:
            return (unchanged(d), metric_title(d.metric).lower())

        quiet = sum(1 for d in detail.deltas if unchanged(d))
        for d in sorted(detail.deltas, key=order):
            if unchanged(d) and not self.show_unchanged:
                continue
            info = metric_info(d.metric)
            change = d.delta if d.before is not None else None
            if change is None:
                delta = Text("new", style="dim", justify="right")
            else:
                delta = Text(
                    fmt_delta(info, change),
                    style=color(delta_style(info, change)) or "dim",
                    justify="right",
                )
            table.add_row(
                plain(shorten(metric_title(d.metric), 44)),
                Text(info.format(d.before), justify="right"),
                Text(info.format(d.after), justify="right"),
                delta,
                key=d.metric,
            )
        restore_cursor(table, selected)
        moved = len(detail.deltas) - quiet
        hint = "u hides them" if self.show_unchanged else "u shows them"
        self.query_one("#deltas-title", Static).update(
            Content.assemble(
                ("Metrics at this commit", "bold"),
                (f"  {moved} changed · {quiet} unchanged ({hint}) · enter opens the chart", "dim"),
            )
        )

    def _fill_changes(self, detail: store.CommitDetail) -> None:
        color = self.health.color
        table = self.query_one("#findings", Table)
        selected = keep_cursor(table)
        set_columns(table, self._change_columns(flex_width(table, sum(FIXED), 4)))
        self._changes = sorted(detail.changes, key=change_order)
        width = flex_width(table, sum(FIXED), 4)
        last_path = None
        rows: list[Row] = []
        for i, row in enumerate(self._changes):
            if row.path != last_path:
                rows.append((f"f{i}", ["", "", plain(shorten(row.path, width), "bold"), ""]))
                last_path = row.path
            sign = "+" if row.delta > 0 else "−"
            rows.append(
                (
                    str(i),
                    [
                        Text(sign, style=color("bad" if row.delta > 0 else "good")),
                        Text(str(row.line), style=color("accent"), justify="right"),
                        plain(shorten(row.text.strip(), width)),
                        plain(shorten(row.rule, FIXED[1]), "dim"),
                    ],
                )
            )
        fill(table, rows, selected, 1 if self._changes else 0)
        added = sum(1 for r in self._changes if r.delta > 0)
        removed = len(self._changes) - added
        files = len({r.path for r in self._changes})
        self.query_one("#changes-title", Static).update(
            Content.assemble(
                ("Findings changed", "bold"),
                (
                    f"  +{added} −{removed} in {files} file{'s' if files != 1 else ''}"
                    " · e opens the line · enter shows the file's findings",
                    "dim",
                ),
            )
            if self._changes
            else Content.assemble(("Findings changed", "bold"), ("  none at this commit", "dim"))
        )

    def selected_change(self) -> store.FindingChangeRow | None:
        key = keep_cursor(self.query_one("#findings", Table))
        if key is None or not str(key).isdigit():
            return None
        return self._changes[int(key)]

    def on_row_table_row_selected(self, event: Table.RowSelected) -> None:
        key = event.row_key.value
        if key is None:
            return
        if event.data_table.id == "deltas":
            self.post_message(MetricSelected(str(key)))
            return
        row = self.selected_change()
        if row is None and str(key).startswith("f"):
            row = self._changes[int(str(key)[1:])]
        if row is not None:
            self.post_message(FindingsRequested(row.rule, row.path))

    def action_toggle_unchanged(self) -> None:
        self.show_unchanged = not self.show_unchanged
        if self.data is not None:
            self._fill_deltas(self.data)

    def action_edit(self) -> None:
        row = self.selected_change()
        if row is None:
            self.notify("Select a finding in the lower table first (tab).")
            return
        if row.delta < 0:
            self.notify("This finding was removed; opening where it was.", markup=False)
        self.health.open_in_editor(row.path, row.line)
