"""Finished chart drawings kept by the app (no plotext here: the app imports it at start-up)."""

from __future__ import annotations

from collections import OrderedDict

from textual.strip import Strip


class Drawings:
    """The last few chart drawings by spec, size and theme, so a chart shown again (a metric
    opened a second time) is on screen with the first frame."""

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self._lines: OrderedDict[tuple[object, ...], list[Strip]] = OrderedDict()

    def get(self, key: tuple[object, ...]) -> list[Strip] | None:
        lines = self._lines.get(key)
        if lines is not None:
            self._lines.move_to_end(key)
        return lines

    def put(self, key: tuple[object, ...], lines: list[Strip]) -> None:
        self._lines[key] = lines
        self._lines.move_to_end(key)
        while len(self._lines) > self.size:
            self._lines.popitem(last=False)

    def clear(self) -> None:
        self._lines.clear()


def drawings_of(app: object) -> Drawings:
    """The app's `drawings` (a fresh, unshared cache for an app that keeps none)."""
    drawings = getattr(app, "drawings", None)
    if not isinstance(drawings, Drawings):
        drawings = Drawings(0)
    return drawings
