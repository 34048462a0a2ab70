"""Helpers for driving the app with Pilot: wait for reads, use the palette, read what is shown."""

from __future__ import annotations

import asyncio
from typing import Any

from textual.command import CommandList, CommandPalette
from textual.widgets import Input, Static

from healthtui.tui.widgets.rowtable import RowTable


async def settle(pilot: Any, rounds: int = 3) -> None:
    """Let every pending worker (reads, follow-up reads) finish and the screen repaint."""
    app = pilot.app
    for _ in range(rounds):
        await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.pause()


async def wait_for(pilot: Any, condition, timeout: float = 5.0) -> bool:
    """Pause until `condition()` holds (True) or `timeout` seconds pass (False)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if condition():
            return True
        await pilot.pause(0.05)
    return bool(condition())


async def palette(pilot: Any, query: str, pick: int = 0) -> list[str]:
    """Open the command palette, type `query`, run hit number `pick`; return the hits' text."""
    app = pilot.app
    await pilot.press("ctrl+p")
    await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
    app.screen.query_one(Input).value = query  # one search, as if pasted
    commands = app.screen.query_one(CommandList)
    await wait_for(pilot, lambda: commands.option_count > pick)
    await pilot.pause(0.3)  # let slower providers (commit and file search) answer too
    hits = [str(commands.get_option_at_index(i).prompt) for i in range(commands.option_count)]
    for _ in range(pick):  # the best hit is highlighted already
        await pilot.press("down")
    await pilot.press("enter")
    await pilot.pause()
    if isinstance(app.screen, CommandPalette):
        await pilot.press("enter")
    await settle(pilot)
    return hits


def text_of(widget: Static) -> str:
    """The plain text a Static shows."""
    visual = widget.visual
    return str(getattr(visual, "plain", visual))


def cell_text(cell: Any) -> str:
    return str(getattr(cell, "plain", cell))


def row_text(table: RowTable, key: Any) -> list[str]:
    """The plain text of each cell of a row."""
    return [cell_text(cell) for cell in table.get_row(key)]


def column_text(table: RowTable, column: int) -> list[str]:
    return [cell_text(table.get_row_at(i)[column]) for i in range(table.row_count)]


def row_keys(table: RowTable) -> list[Any]:
    return [table.coordinate_to_cell_key((i, 0)).row_key.value for i in range(table.row_count)]


def selected_key(table: RowTable) -> Any:
    return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
