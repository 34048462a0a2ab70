"""The row table the screens are built on: columns, cursor, keys, mouse, lines as drawn."""

from __future__ import annotations

import pytest
from rich.style import Style
from rich.text import Text
from textual.app import App, ComposeResult

from healthtui.tui.widgets.rowtable import RowTable


class TableApp(App[None]):
    def __init__(self, rows: int) -> None:
        super().__init__()
        self.rows = rows
        self.events: list[tuple[str, object]] = []

    def compose(self) -> ComposeResult:
        yield RowTable(id="t")

    def on_mount(self) -> None:
        table = self.query_one(RowTable)
        table.add_column("Name", key="name", width=8)
        table.add_column("Count", key="count", width=5, justify="right")
        for i in range(self.rows):
            table.add_row(f"row{i}", Text(str(i), justify="right"), key=f"k{i}")
        table.focus()

    def on_row_table_row_highlighted(self, event: RowTable.RowHighlighted) -> None:
        if not isinstance(event, RowTable.RowSelected):
            self.events.append(("highlighted", event.row_key.value))

    def on_row_table_row_selected(self, event: RowTable.RowSelected) -> None:
        self.events.append(("selected", event.row_key.value))

    def on_row_table_header_selected(self, event: RowTable.HeaderSelected) -> None:
        self.events.append(("header", event.column_key.value))


def line(table: RowTable, y: int) -> str:
    return "".join(segment.text for segment in table.render_line(y)._segments)


async def test_keys_move_the_cursor_and_keep_it_in_view():
    app = TableApp(100)
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(RowTable)
        assert table.row_count == 100 and table.cursor_row == 0
        await pilot.press("down", "down")
        assert table.cursor_row == 2 and ("highlighted", "k2") in app.events
        await pilot.press("end")
        await pilot.pause()
        assert table.cursor_row == 99
        assert table.scroll_y == table.max_scroll_y > 0
        assert line(table, table.size.height - 1).startswith(" row99")
        await pilot.press("home", "pagedown")
        assert table.cursor_row == table.size.height - 1
        await pilot.press("enter")
        await pilot.pause()
        assert app.events[-1] == ("selected", f"k{table.cursor_row}")


async def test_lines_align_truncate_and_keep_the_header_on_top():
    app = TableApp(3)
    async with app.run_test(size=(40, 8)) as pilot:
        table = app.query_one(RowTable)
        table.add_row("a much too long name", "7", key="long")
        table.update_cell("k1", "count", Text("42", justify="right"))
        await pilot.pause()
        assert line(table, 0).rstrip() == " Name      Count"
        assert line(table, 1).rstrip() == " row0          0"
        assert line(table, 2).rstrip() == " row1         42"
        assert line(table, 4).rstrip() == " a much …  7"
        assert table.get_row("long")[0] == "a much too long name"
        assert table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value == "k0"
        with pytest.raises(ValueError, match="duplicate"):
            table.add_row("x", key="k0")


async def test_clicks_select_rows_and_headers():
    app = TableApp(5)
    async with app.run_test(size=(40, 10)) as pilot:
        table = app.query_one(RowTable)
        await pilot.click(RowTable, offset=(2, 3))
        await pilot.pause()
        assert table.cursor_row == 2 and app.events[-1] == ("selected", "k2")
        await pilot.click(RowTable, offset=(12, 0))
        await pilot.pause()
        assert app.events[-1] == ("header", "count")
        table.clear()
        assert table.row_count == 0 and line(table, 1).strip() == ""


class LazyApp(App[None]):
    """A table of 1,000 rows given as functions, recording which rows were made."""

    def __init__(self) -> None:
        super().__init__()
        self.made: list[int] = []

    def compose(self) -> ComposeResult:
        yield RowTable(id="t")

    def on_mount(self) -> None:
        table = self.query_one(RowTable)
        table.add_column("Name", key="name", width=8)

        def cells(i: int) -> list[str]:
            self.made.append(i)
            return [f"row{i}"]

        table.add_rows((f"k{i}", lambda i=i: cells(i)) for i in range(1000))
        table.focus()


async def test_rows_given_as_functions_are_made_when_drawn_or_read():
    app = LazyApp()
    async with app.run_test(size=(40, 12)) as pilot:
        await pilot.pause()
        table = app.query_one(RowTable)
        assert table.row_count == 1000
        assert sorted(set(app.made)) == list(range(table.size.height - 1))  # those on screen
        assert table.row_made("k0") and not table.row_made("k999")
        assert table.get_row("k999") == ["row999"] and table.row_made("k999")
        await pilot.press("end")
        await pilot.pause()
        assert line(table, table.size.height - 1).startswith(" row999")
        assert len(set(app.made)) < 40
        table.update_cell("k500", "name", "changed")
        assert table.get_row_at(500) == ["changed"]
        with pytest.raises(ValueError):
            table.add_rows([("k1", ["again"])])


async def test_rows_drawn_directly_match_rows_drawn_through_rich_text():
    app = TableApp(0)
    async with app.run_test(size=(60, 12)):
        table = app.query_one(RowTable)
        base, cursor = Style(bgcolor="#202020"), Style(bgcolor="blue", bold=True)
        spanned = Text("ab")
        spanned.stylize("red", 0, 1)
        rows = [
            ["plain", "7"],
            [Text("styled", style="green"), Text("42", style="red", justify="right")],
            [Text("far too long to fit", style="bold"), Text("123456789", justify="right")],
            [Text("", style="green"), Text("", style="red")],  # empty styled cells still split
            ["宽字符的名字", Text("表", justify="right")],
            [Text("x", style="green"), Text("y", style="green")],
            [spanned, "z"],  # spans of its own: the long way
            [Text("", end=""), ""],
        ]
        for cells in rows:
            for over in (None, cursor):
                direct = table._row_strip(cells, base, 30, over)
                through_text = table._strip(table._text(cells), base, 30, over)
                assert list(direct) == list(through_text), cells
        assert table._segments([spanned, "z"]) is None
