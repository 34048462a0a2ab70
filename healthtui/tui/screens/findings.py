"""A rule's current findings: files (or directories, or owners) by count, then the sites themselves."""

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
from healthtui.tui.screens.base import (
    DataScreen,
    Row,
    Table,
    fill,
    flex_width,
    keep_cursor,
    set_columns,
)
from healthtui.tui.text import clean, plain, shorten, shorten_path
from healthtui.tui.widgets.keybar import KeyBar
from healthtui.wording import counted

GROUPINGS = ("file", "directory", "owner")
RULE = Binding.Group("Rule", compact=True)


class FindingsScreen(DataScreen[data.FindingsData]):
    BINDINGS = [
        Binding("e", "edit", "Edit"),
        Binding("b", "cycle_grouping", "Group"),
        Binding("n", "next_rule(1)", "Next rule", group=RULE),
        Binding("p", "next_rule(-1)", "Previous rule", group=RULE),
        Binding("tab", "app.focus_next", "Switch"),
    ]

    def __init__(self, rule: str | None = None, path: str | None = None) -> None:
        super().__init__()
        self.rule = rule
        self.path = path
        self._select_path = path
        self.grouping = "file"
        self._sites: list[store.FindingRow] = []
        self._group_rows: dict[str, list[store.FindingRow]] = {}
        self._sites_of: tuple[object, object] = (None, None)  # the group the sites are of

    def compose(self) -> ComposeResult:
        # the screen is a grid (no containers to draw): the titles, then two panes side by side
        yield Static(id="findings-title", classes="screen-title")
        yield Static(id="rules-line", classes="meta")
        yield Static(id="groups-title", classes="section-title")
        yield Static(id="sites-title", classes="section-title")
        yield Table(id="groups")
        yield Table(id="sites", zebra_stripes=False)
        yield KeyBar()

    def on_mount(self) -> None:
        groups = self.query_one("#groups", Table)
        set_columns(groups, group_columns(flex_width(groups, 10, 3, minimum=12)))
        sites = self.query_one("#sites", Table)
        set_columns(sites, site_columns(flex_width(sites, 6, 2)))
        self.query_one("#findings-title", Static).update(Content.from_markup("[b]Findings[/b]"))
        groups.focus()

    def cache_key(self) -> Hashable:
        return ("findings", self.rule, self.path)

    def context_rule(self) -> str | None:
        return self.rule

    def fetch(self) -> data.FindingsData:
        return data.load_findings(
            self.health.engine, self.health.config, self.rule, self.health.repo_root, self.path
        )

    def show(self, findings: data.FindingsData) -> None:
        self.rule = findings.rule
        if self.grouping == "owner" and findings.owners is None:
            self.grouping = "file"
        self._render_title()
        path, self._select_path = self._select_path, None
        self._fill_groups(select_path=path)

    def _render_title(self) -> None:
        d = self.data
        assert d is not None
        if d.rule is None:
            self.query_one("#findings-title", Static).update(
                Content.from_markup("[b]Findings[/b]  [dim]no current findings stored[/]")
            )
            self.query_one("#rules-line", Static).update(
                Content(
                    "No rule has findings at the newest snapshot. `healthtui collect` records "
                    "the findings of the newest commit."
                )
            )
            return
        title = metric_info(d.rule).title
        self.query_one("#findings-title", Static).update(
            Content.assemble(
                ("Findings · ", "bold"),
                (clean(title), "bold"),
                "  ",
                (clean(d.rule), "dim"),
                f"   {counted(len(d.findings), 'site')} in "
                f"{counted(len({f.path for f in d.findings}), 'file')}",
            )
        )
        parts: list[Content | tuple[str, str] | str] = []
        for rc in d.rules:
            style = "reverse bold" if rc.rule == d.rule else ""
            parts += [(f" {clean(rc.rule)} {rc.sites} ", style), " "]
        self.query_one("#rules-line", Static).update(Content.assemble(*parts))

    def _fill_groups(self, select_path: str | None = None) -> None:
        d = self.data
        assert d is not None
        table = self.query_one("#groups", Table)
        selected = keep_cursor(table)
        fallback = table.cursor_row
        width = flex_width(table, 10, 3, minimum=12)
        set_columns(table, group_columns(width))
        self._group_rows = {}
        for f in d.findings:
            key = data.group_key(f.path, self.grouping, d.owners)
            self._group_rows.setdefault(key, []).append(f)
        groups = data.group_findings(d.findings, self.grouping, d.owners)
        rows: list[Row] = [
            (
                g.key,
                [
                    plain(shorten_path(g.key, width)),
                    Text(f"{g.count:,}", justify="right"),
                    Text(f"{g.files:,}", justify="right"),
                ],
            )
            for g in groups
        ]
        if select_path is not None:
            selected = data.group_key(select_path, self.grouping, d.owners)
            if selected not in self._group_rows:
                self.notify(
                    f"No current {d.rule} findings in {select_path}",
                    severity="information",
                    markup=False,
                )
        fill(table, rows, selected, fallback)
        owners = f" · owners from {d.owners.source}" if d.owners is not None else ""
        self.query_one("#groups-title", Static).update(
            Content.assemble(
                (f"By {self.grouping}", "bold"),
                (f"  {len(groups)} · b regroups{owners}", "dim"),
            )
        )
        self._fill_sites(select_path=select_path)

    def _fill_sites(self, select_path: str | None = None) -> None:
        key = keep_cursor(self.query_one("#groups", Table))
        self._sites_of = (key, self._group_rows)
        rows = self._group_rows.get(str(key), []) if key is not None else []
        sites = self.query_one("#sites", Table)
        selected = keep_cursor(sites)
        width = flex_width(sites, 6, 2)
        set_columns(sites, site_columns(width))
        self._sites = sorted(rows, key=lambda f: (f.path, f.line, f.col))
        multi_file = len({f.path for f in self._sites}) > 1
        last_path = None
        lines: list[Row] = []
        for i, f in enumerate(self._sites):
            if multi_file and f.path != last_path:
                lines.append((f"f{i}", ["", plain(shorten_path(f.path, width), "bold")]))
                last_path = f.path
            lines.append(
                (
                    str(i),
                    [
                        Text(str(f.line), style=self.health.color("accent"), justify="right"),
                        plain(shorten(f.text.strip(), width)),
                    ],
                )
            )
        first_site = 1 if multi_file and self._sites else 0
        fill(sites, lines, selected if select_path is None else None, first_site)
        label = clean(str(key)) if key is not None else "nothing selected"
        self.query_one("#sites-title", Static).update(
            Content.assemble(
                ("Sites", "bold"),
                "  ",
                shorten_path(label, max(sites.size.width - 32, 16)),
                ("  · e opens the line", "dim"),
            )
        )

    def on_row_table_row_highlighted(self, event: Table.RowHighlighted) -> None:
        if event.data_table.id != "groups":
            return
        shown_key, shown_rows = self._sites_of
        if event.row_key.value != shown_key or shown_rows is not self._group_rows:
            self._fill_sites()

    def on_row_table_row_selected(self, event: Table.RowSelected) -> None:
        if event.data_table.id == "groups":
            self.query_one("#sites", Table).focus()
        else:
            self.action_edit()

    def selected_site(self) -> store.FindingRow | None:
        key = keep_cursor(self.query_one("#sites", Table))
        if key is None or not self._sites:
            return None
        key = str(key)
        return self._sites[int(key.removeprefix("f"))]

    def action_edit(self) -> None:
        site = self.selected_site()
        if site is None:
            self.notify("No finding selected.")
            return
        self.health.open_in_editor(site.path, site.line)

    def action_cycle_grouping(self) -> None:
        if self.data is None:
            return
        options = [g for g in GROUPINGS if g != "owner" or self.data.owners is not None]
        self.grouping = options[(options.index(self.grouping) + 1) % len(options)]
        self._fill_groups()

    def action_next_rule(self, step: int) -> None:
        if self.data is None or not self.data.rules:
            return
        names = [r.rule for r in self.data.rules]
        i = names.index(self.rule) if self.rule in names else -1
        self.rule = names[(i + step) % len(names)]
        self.path = None
        self.reload()


def group_columns(width: int) -> list[tuple[str, str, int]]:
    return [
        ("group", "Group", width),
        ("count", "Sites", 5, "right"),
        ("files", "Files", 5, "right"),
    ]


def site_columns(width: int) -> list[tuple[str, str, int]]:
    return [("line", "Line", 6, "right"), ("text", "Source", width)]
