"""What every data screen shares: loading in a worker, reloading on new data, going back."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

from textual.binding import Binding
from textual.geometry import Size
from textual.screen import Screen

from healthtui.tui.messages import SnapshotsChanged
from healthtui.tui.widgets.rowtable import RowTable

if TYPE_CHECKING:
    from healthtui.tui.app import HealthApp

T = TypeVar("T")
SCROLLBAR = 2


class Table(RowTable):
    """A row table whose Enter is shown in the footer."""

    BINDINGS = [Binding("enter", "select_cursor", "Open")]


class DataScreen(Screen[None], Generic[T]):
    """A screen whose content comes from one store read (`fetch`, run in a thread) shown by `show`.

    A screen switch paints first and reads after: with data read before (cached per database
    generation under `cache_key()`, or prefetched) the first frame shows it, otherwise the read
    starts once the empty screen is on the terminal, so it never slows that frame down (the
    screen the app starts with reads at once: there is no screen before it to keep showing). It
    reloads when it becomes current after the database changed, or at once when the app says
    new snapshots arrived; `show` must keep the user's selection.
    """

    BINDINGS = [Binding("escape", "back", "Back")]

    def __init__(self) -> None:
        super().__init__()
        self.loaded_generation = -1
        self.requested_generation = -1
        self.data: T | None = None
        self._shown_size: object = None
        self._completed = False

    @property
    def health(self) -> HealthApp:
        return self.app  # type: ignore[return-value]

    def cache_key(self) -> Hashable | None:
        """Where this screen's data is cached in the app (None: not cached)."""
        return None

    def fetch(self) -> T:
        """Read everything the screen shows. Runs in a worker thread: store queries only."""
        raise NotImplementedError

    def show(self, data: T) -> None:
        """Put freshly read data on screen (runs on the event loop)."""
        raise NotImplementedError

    def reload(self) -> None:
        self.requested_generation = self.health.generation
        self.run_worker(self._reload, group="load", exclusive=True, exit_on_error=False)

    async def _reload(self) -> None:
        generation = self.health.generation
        key = self.cache_key()
        cached = self.health.cached(key, generation)
        if cached is not None:
            data = cached
        else:
            self.reading(True)
            try:
                data = await asyncio.to_thread(self.fetch)
            except Exception as exc:  # a store error must not take the dashboard down
                self.reading(False)
                self.report_error(exc)
                return
            self.reading(False)
            self.health.remember(key, generation, data)
        self._present(data, generation)

    def reading(self, on: bool) -> None:
        """Mark the title while a read is under way (on the title alone: a class on the screen
        would restyle every widget in it)."""
        self.query(".screen-title").set_class(on, "-loading")

    def report_error(self, exc: BaseException) -> None:
        self.notify(
            str(exc) or type(exc).__name__,
            title="Could not read the database",
            severity="error",
            markup=False,
        )

    def _present(self, data: T, generation: int) -> None:
        self.loaded_generation = generation
        self.data = data
        self._completed = False
        with self.app.batch_update():
            self.show(data)
        self._shown_size = self.size
        self.loaded(data)
        self.call_after_refresh(self.check_complete)

    def loaded(self, data: T) -> None:
        """Called after `show` with fresh data (e.g. to start slower follow-up reads)."""

    @property
    def complete(self) -> bool:
        """Everything the screen shows is read and on screen, charts drawn."""
        return (
            self.data is not None
            and bool(getattr(self.data, "complete", True))
            and all(getattr(chart, "current", True) for chart in self.query("TrendChart"))
        )

    def check_complete(self) -> None:
        """Call `completed` the first time the screen's data is all on screen."""
        if not self._completed and self.is_mounted and self.complete:
            self._completed = True
            self.completed()

    def completed(self) -> None:
        """Everything read is on screen (after the refresh that drew the last of it)."""

    def on_trend_chart_drawn(self, _message: object) -> None:
        self.check_complete()

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)
        generation = self.health.generation
        cached = self.health.cached(self.cache_key(), generation)
        self.requested_generation = generation
        if cached is not None:  # read before (or prefetched): on screen with the first paint
            self._present(cached, generation)
        elif len(self.app.screen_stack) <= 1:  # the app starting: nothing on screen to keep
            self.reload()
        else:
            self.reading(True)
            self.call_after_refresh(self._read_after_first_frame, generation)

    def _read_after_first_frame(self, generation: int) -> None:
        """Start the first read, unless the screen is gone or new data started another."""
        if (
            self.is_mounted
            and self.health.generation == generation
            and self.loaded_generation != generation
        ):
            self.reload()

    def _screen_resized(self, size: Size) -> None:
        """Textual lays a pushed screen out as it resumes and again when the screen's first
        Resize arrives, at the same size: the second layout (and a full repaint) is skipped."""
        if size != self._compositor.size or not self._compositor.layers:
            super()._screen_resized(size)

    def _theme_changed(self, _theme: object) -> None:
        if self.data is not None and self.is_mounted:
            self.show(self.data)

    def on_resize(self) -> None:
        self.call_after_refresh(self._fit)  # once the widgets have their new sizes

    def _fit(self) -> None:
        """Show the data again at a new size (table columns are sized to the table)."""
        if self.data is not None and self.is_mounted and self.size != self._shown_size:
            self._shown_size = self.size
            self.show(self.data)

    def on_screen_resume(self) -> None:
        if self.health.generation not in (self.loaded_generation, self.requested_generation):
            self.reload()

    def on_snapshots_changed(self, _message: SnapshotsChanged) -> None:
        self.reload()

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":
            return len(self.app.screen_stack) > 1
        return True


def flex_width(table: RowTable, fixed: int, columns: int, minimum: int = 16) -> int:
    """Cells left for a table's one flexible column when its other columns take `fixed` cells
    (`columns` counts every column, for the padding around each)."""
    width = table.size.width or table.app.size.width
    return max(width - fixed - columns * 2 * table.cell_padding - SCROLLBAR, minimum)


class Col(NamedTuple):
    """A table column: its key, header, width in cells, and header alignment."""

    key: str
    label: str
    width: int
    justify: str = "left"


def set_columns(table: RowTable, columns: Sequence[tuple[Any, ...]]) -> None:
    """Empty `table` for refilling, with these columns (`Col` fields). Widths are given, never
    measured from the rows, so a table draws at once and the same every time."""
    wanted = [Col(*c) for c in columns]
    current = [Col(str(c.key.value), c.label, c.width, c.justify) for c in table.ordered_columns]
    if current == wanted:
        table.clear()
        return
    table.clear(columns=True)
    for c in wanted:
        table.add_column(c.label, key=c.key, width=c.width, justify=c.justify)


Row = tuple[Any, Any]  # (key, cells or a function making them)


def fill(table: RowTable, rows: list[Row], selected: Any = None, fallback: int = 0) -> None:
    """Add `rows` to an emptied `table` and put the cursor back on `selected` (else on row
    `fallback`). Cells given as functions are made when their row is first drawn."""
    table.add_rows(rows)
    restore_cursor(table, selected, fallback)


def keep_cursor(table: RowTable) -> Any:
    """The key of the selected row, to select it again after the table is refilled."""
    if table.row_count == 0:
        return None
    try:
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
    except Exception:
        return None


def restore_cursor(table: RowTable, key: Any, fallback: int = 0) -> None:
    """Put the cursor back on the row with `key`, else on row `fallback` (clamped)."""
    if table.row_count == 0:
        return
    row = fallback
    if key is not None:
        try:
            row = table.get_row_index(key)
        except Exception:
            row = fallback
    table.move_cursor(row=max(min(row, table.row_count - 1), 0), animate=False, scroll=True)
