"""Helpers for driving the app with Pilot: wait for reads, read what a widget shows."""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable, Static


async def settle(pilot: Any, rounds: int = 3) -> None:
    """Let every pending worker (reads, follow-up reads) finish and the screen repaint."""
    app = pilot.app
    for _ in range(rounds):
        await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.pause()


def text_of(widget: Static) -> str:
    """The plain text a Static shows."""
    visual = widget.visual
    return str(getattr(visual, "plain", visual))


def row_text(table: DataTable[Any], key: Any) -> list[str]:
    """The plain text of each cell of a row."""
    return [str(getattr(cell, "plain", cell)) for cell in table.get_row(key)]


def column_text(table: DataTable[Any], column: int) -> list[str]:
    return [
        str(getattr(table.get_row_at(i)[column], "plain", table.get_row_at(i)[column]))
        for i in range(table.row_count)
    ]


def selected_key(table: DataTable[Any]) -> Any:
    return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
