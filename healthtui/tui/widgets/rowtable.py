"""A fast row table: fixed-width columns, a row cursor, a pinned header, drawn line by line.

Textual's DataTable renders every cell through Rich's layout machinery; a screen of it costs about
as much as the rest of a screen switch. This table joins a row's cells into one line of text and
caches it, so a full screen of rows draws in a few milliseconds. It offers the part of the
DataTable API the dashboard uses (the same method names, and `RowHighlighted`, `RowSelected` and
`HeaderSelected` messages).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.coordinate import Coordinate
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip


@dataclass(frozen=True)
class Key:
    """A row or column key (`.value` is what the caller gave)."""

    value: Any


@dataclass(frozen=True)
class CellKey:
    row_key: Key
    column_key: Key


@dataclass
class Column:
    key: Key
    label: str
    width: int
    justify: str = "left"  # of the header label: "right" over right-aligned numbers

    def get_render_width(self, table: RowTable) -> int:
        return self.width + 2 * table.cell_padding


class RowTable(ScrollView, can_focus=True):
    """Rows of cells (str or rich Text, one line each) under a header; one row is the cursor."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Select", show=False),
        Binding("up", "cursor_up", "Up", show=False),
        Binding("down", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Last", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "row-table--header",
        "row-table--cursor",
        "row-table--even-row",
    }
    DEFAULT_CSS = """
    RowTable {
        background: $surface;
        color: $foreground;
        height: auto;
        max-height: 100%;
        & > .row-table--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        & > .row-table--even-row {
            background: $surface-lighten-1 50%;
        }
        & > .row-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus {
            background-tint: $foreground 5%;
            & > .row-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
        }
        &:dark > .row-table--even-row {
            background: $surface-darken-1 40%;
        }
    }
    """

    class RowHighlighted(Message):
        """The cursor moved to a row (or the rows under it changed)."""

        def __init__(self, table: RowTable, cursor_row: int, row_key: Key) -> None:
            super().__init__()
            self.data_table = table
            self.cursor_row = cursor_row
            self.row_key = row_key

        @property
        def control(self) -> RowTable:
            return self.data_table

    class RowSelected(RowHighlighted):
        """Enter or a click on a row."""

    class HeaderSelected(Message):
        """A click on a column's header."""

        def __init__(self, table: RowTable, column_key: Key, column_index: int) -> None:
            super().__init__()
            self.data_table = table
            self.column_key = column_key
            self.column_index = column_index

        @property
        def control(self) -> RowTable:
            return self.data_table

    def __init__(
        self,
        *,
        id: str | None = None,
        classes: str | None = None,
        zebra_stripes: bool = True,
        cell_padding: int = 1,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.zebra_stripes = zebra_stripes
        self.cell_padding = cell_padding
        self.columns: dict[Key, Column] = {}
        self._rows: list[list[Any]] = []
        self._keys: list[Any] = []
        self._index: dict[Any, int] = {}
        self._cursor = 0
        self._lines: dict[tuple[Any, ...], Strip] = {}
        self._paint_styles: tuple[Any, ...] | None = None

    # ---- the DataTable-like API ----

    @property
    def ordered_columns(self) -> list[Column]:
        return list(self.columns.values())

    @property
    def row_count(self) -> int:
        return len(self._rows)

    @property
    def rows(self) -> dict[Any, int]:
        """Row key -> row index."""
        return self._index

    @property
    def cursor_row(self) -> int:
        return self._cursor

    @property
    def cursor_coordinate(self) -> Coordinate:
        return Coordinate(self._cursor, 0)

    def add_column(
        self, label: str, *, key: str | None = None, width: int = 10, justify: str = "left"
    ) -> Key:
        column_key = Key(key if key is not None else label)
        self.columns[column_key] = Column(column_key, label, width, justify)
        self._changed()
        return column_key

    def add_row(self, *cells: Any, key: Any = None) -> Key:
        row_key = key if key is not None else len(self._rows)
        if row_key in self._index:
            raise ValueError(f"duplicate row key {row_key!r}")
        self._index[row_key] = len(self._rows)
        self._rows.append(list(cells))
        self._keys.append(row_key)
        self._changed()
        return Key(row_key)

    def add_rows(
        self, rows: Iterable[tuple[Any, Iterable[Any] | Callable[[], Iterable[Any]]]]
    ) -> None:
        """Add (key, cells) rows at once (one size update and refresh for all of them). Cells
        may come as a function making them: called when the row is first drawn or read, so a
        long table costs only the rows anyone looks at."""
        for row_key, cells in rows:
            if row_key in self._index:
                raise ValueError(f"duplicate row key {row_key!r}")
            self._index[row_key] = len(self._rows)
            self._rows.append(cells if callable(cells) else list(cells))
            self._keys.append(row_key)
        self._changed()

    def row_made(self, key: Any) -> bool:
        """Whether the row's cells exist yet (rows added as functions are made when drawn)."""
        return not callable(self._rows[self._index[getattr(key, "value", key)]])

    def _cells(self, row: int) -> list[Any]:
        cells = self._rows[row]
        if callable(cells):
            cells = self._rows[row] = list(cells())
        return cells

    def clear(self, columns: bool = False) -> RowTable:
        self._rows.clear()
        self._keys.clear()
        self._index.clear()
        self._cursor = 0
        if columns:
            self.columns.clear()
        self._changed()
        self.scroll_to(y=0, animate=False, immediate=True)
        return self

    def get_row(self, key: Any) -> list[Any]:
        return list(self._cells(self._index[getattr(key, "value", key)]))

    def get_row_at(self, index: int) -> list[Any]:
        return list(self._cells(index))

    def get_row_index(self, key: Any) -> int:
        return self._index[getattr(key, "value", key)]

    def coordinate_to_cell_key(self, coordinate: Coordinate) -> CellKey:
        row, column = coordinate
        columns = self.ordered_columns
        column_key = columns[column].key if 0 <= column < len(columns) else Key(None)
        return CellKey(Key(self._keys[row]), column_key)

    def update_cell(self, row_key: Any, column_key: Any, value: Any) -> None:
        row = self._index[getattr(row_key, "value", row_key)]
        wanted = getattr(column_key, "value", column_key)
        for i, column in enumerate(self.ordered_columns):
            if column.key.value == wanted:
                self._cells(row)[i] = value
                self._lines = {k: v for k, v in self._lines.items() if k[0] != row}
                self.refresh()
                return
        raise KeyError(column_key)

    def move_cursor(self, *, row: int, animate: bool = False, scroll: bool = True) -> None:
        """Put the cursor on `row` (clamped) and say so, even when it was there already."""
        if not self._rows:
            return
        self._cursor = max(min(row, len(self._rows) - 1), 0)
        if scroll:
            self._scroll_to_cursor()
        self.refresh()
        self.post_message(self.RowHighlighted(self, self._cursor, Key(self._keys[self._cursor])))

    # ---- drawing ----

    def _changed(self) -> None:
        self._lines.clear()
        width = sum(c.width + 2 * self.cell_padding for c in self.columns.values())
        self.virtual_size = Size(width, len(self._rows) + 1)
        self.refresh()

    def _visible_rows(self) -> int:
        return max(self.scrollable_content_region.height - 1, 1)

    def _scroll_to_cursor(self) -> None:
        top = int(self.scroll_y)
        visible = self._visible_rows()
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False, immediate=True)
        elif self._cursor >= top + visible:
            self.scroll_to(y=self._cursor - visible + 1, animate=False, immediate=True)

    def _text(self, cells: Iterable[Any]) -> Text:
        pad = " " * self.cell_padding
        line = Text(no_wrap=True, end="")
        for column, cell in zip(self.ordered_columns, cells, strict=False):
            text = cell if isinstance(cell, Text) else Text(str(cell))
            width = column.width
            if text.cell_len > width:
                text = text.copy()
                text.truncate(width, overflow="ellipsis")
            gap = width - text.cell_len
            if text.justify == "right":
                line.append(pad + " " * gap)
                line.append_text(text)
                line.append(pad)
            else:
                line.append(pad)
                line.append_text(text)
                line.append(" " * gap + pad)
        return line

    def _strip(self, text: Text, style: Style, width: int, over: Style | None = None) -> Strip:
        """`text` on `style`; `over` (the cursor) wins over the cells' own colours."""
        return self._finish(list(text.render(self.app.console)), text.cell_len, style, width, over)

    def _finish(
        self, segments: list[Segment], length: int, style: Style, width: int, over: Style | None
    ) -> Strip:
        strip = Strip(Segment.apply_style(segments, style, over), length)
        fill = style + over if over is not None else style
        return strip.crop_extend(int(self.scroll_x), int(self.scroll_x) + width, fill)

    def _row_strip(
        self, cells: list[Any], style: Style, width: int, over: Style | None = None
    ) -> Strip:
        """A row as `_strip(_text(cells))` draws it, the same segments made directly for cells
        of one style each (a row in a third of the time); other rows take the long way."""
        segments = self._segments(cells)
        if segments is None:
            return self._strip(self._text(cells), style, width, over)
        return self._finish(segments, self._row_width(), style, width, over)

    def _row_width(self) -> int:
        return sum(c.width + 2 * self.cell_padding for c in self.columns.values())

    def _segments(self, cells: list[Any]) -> list[Segment] | None:
        """What `Text.render` gives for the row's line: unstyled text in runs between styled
        cells, each styled cell (even an empty one) a run of its own. None when a cell has
        spans of its own."""
        console = self.app.console
        pad = " " * self.cell_padding
        runs: list[Segment] = []
        plain: list[str] = []
        styled = False
        for column, cell in zip(self.ordered_columns, cells, strict=False):
            if isinstance(cell, Text):
                if cell.spans:
                    return None
                text, cell_style, justify = cell.plain, cell.style, cell.justify
            else:
                text, cell_style, justify = str(cell), "", None
            width = column.width
            size = cell_len(text)
            if size > width:
                text = set_cell_size(text, width - 1) + "…"
                size = cell_len(text)
            gap = " " * (width - size)
            before, after = (pad + gap, pad) if justify == "right" else (pad, gap + pad)
            if not cell_style:
                plain += (before, text, after)
                continue
            styled = True
            plain.append(before)
            if "".join(plain):
                runs.append(Segment("".join(plain), Style.null()))
            plain = [after]
            if text:
                runs.append(Segment(text, console.get_style(cell_style, default=Style.null())))
        rest = "".join(plain)
        if not styled:
            return [Segment(rest)]
        if rest:
            runs.append(Segment(rest, Style.null()))
        return runs

    def render_lines(self, crop: Region) -> list[Strip]:
        """Look up the styles once per paint, not once per line (each lookup walks the DOM)."""
        self._paint_styles = (
            self.scrollable_content_region.width,
            self.rich_style,
            self.get_component_rich_style("row-table--header"),
            self.get_component_rich_style("row-table--even-row"),
            self.get_component_rich_style("row-table--cursor"),
        )
        try:
            return super().render_lines(crop)
        finally:
            self._paint_styles = None

    def render_line(self, y: int) -> Strip:
        styles = self._paint_styles
        if styles is None:
            styles = (
                self.scrollable_content_region.width,
                self.rich_style,
                self.get_component_rich_style("row-table--header"),
                self.get_component_rich_style("row-table--even-row"),
                self.get_component_rich_style("row-table--cursor"),
            )
        width, base, header, even, cursor = styles
        if y == 0:
            style = base + header
            key: tuple[Any, ...] = ("header", width, int(self.scroll_x), style)
            if key not in self._lines:
                labels = [Text(c.label, justify=c.justify) for c in self.ordered_columns]
                self._lines[key] = self._strip(self._text(labels), style, width)
            return self._lines[key]
        row = int(self.scroll_y) + y - 1
        if row >= len(self._rows):
            return Strip.blank(width, base)
        style = base
        if self.zebra_stripes and row % 2:
            style += even
        over = cursor if row == self._cursor else None
        key = (row, width, int(self.scroll_x), style, over)
        line = self._lines.get(key)
        if line is None:
            line = self._row_strip(self._cells(row), style, width, over)
            self._lines[key] = line
        return line

    def on_focus(self) -> None:
        self.refresh()  # the cursor's colours follow focus; lines are cached by their styles

    def on_blur(self) -> None:
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._lines.clear()

    # ---- keys and mouse ----

    def action_cursor_up(self) -> None:
        self.move_cursor(row=self._cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(row=self._cursor + 1)

    def action_page_up(self) -> None:
        self.move_cursor(row=self._cursor - self._visible_rows())

    def action_page_down(self) -> None:
        self.move_cursor(row=self._cursor + self._visible_rows())

    def action_first(self) -> None:
        self.move_cursor(row=0)

    def action_last(self) -> None:
        self.move_cursor(row=len(self._rows) - 1)

    def action_select_cursor(self) -> None:
        if self._rows:
            self.post_message(self.RowSelected(self, self._cursor, Key(self._keys[self._cursor])))

    def on_click(self, event: events.Click) -> None:
        if event.y == 0:
            x = event.x + int(self.scroll_x)
            for i, column in enumerate(self.ordered_columns):
                x -= column.get_render_width(self)
                if x < 0:
                    self.post_message(self.HeaderSelected(self, column.key, i))
                    return
            return
        row = int(self.scroll_y) + event.y - 1
        if 0 <= row < len(self._rows):
            self.move_cursor(row=row)
            self.action_select_cursor()

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return self.virtual_size.width

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._rows) + 1

    def region_of_row(self, row: int) -> Region:
        return Region(0, row + 1, self.virtual_size.width, 1)
