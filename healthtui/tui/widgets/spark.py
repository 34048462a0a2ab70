"""A bar sparkline drawn with block characters over several rows (cheap: one text render)."""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from healthtui.tui.downsample import stretch

EIGHTHS = " ▁▂▃▄▅▆▇█"


def bars(values: tuple[float, ...], width: int, height: int) -> str:
    """`values` as `height` rows of bars, one column per bucket; the lowest value keeps a sliver."""
    if not values or width <= 0 or height <= 0:
        return ""
    vals = stretch(values, width)
    lo, hi = min(vals), max(vals)
    steps = height * 8
    levels = [
        steps // 2 if hi == lo else 1 + round((v - lo) / (hi - lo) * (steps - 1)) for v in vals
    ]
    rows = []
    for row in range(height):
        floor = (height - 1 - row) * 8
        rows.append("".join(EIGHTHS[min(max(level - floor, 0), 8)] for level in levels))
    return "\n".join(rows)


class BarSpark(Widget):
    """Shows `values` as bars filling the widget; colour it with CSS `color`."""

    DEFAULT_CSS = """
    BarSpark {
        color: $primary;
    }
    """

    values: reactive[tuple[float, ...]] = reactive(())

    def render(self) -> Content:
        return Content(bars(self.values, self.size.width, self.size.height))
