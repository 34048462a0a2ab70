"""A metric-over-time chart (plotext), downsampled to its width so a year of hourly data draws fast."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime

from rich.style import Style
from rich.text import Text
from textual.color import Color
from textual.geometry import Region, Size
from textual.message import Message
from textual.strip import Strip
from textual_plotext import PlotextPlot

from healthtui.tui.downsample import min_max
from healthtui.tui.text import clean
from healthtui.tui.widgets.drawings import drawings_of


@dataclass(frozen=True)
class Line:
    label: str
    xs: tuple[float, ...]
    ys: tuple[float, ...]
    color: str = "primary"  # a theme variable


@dataclass(frozen=True)
class Mark:
    """A jump worth seeing: ▲ or ▼ at a point, green when it was good news, red when not."""

    x: float
    y: float
    up: bool
    good: bool


@dataclass(frozen=True)
class ChartSpec:
    lines: tuple[Line, ...] = ()
    target: float | None = None
    marks: tuple[Mark, ...] = ()
    cursor: float | None = None
    ratio: bool = False
    by_commit: bool = False
    commit_labels: tuple[str, ...] = ()  # x label of each index when by_commit
    empty: str = "no data"

    def __hash__(self) -> int:
        """Hashed once: a spec carries a whole series, and drawings are looked up by it."""
        cached = self.__dict__.get("_hash")
        if cached is None:
            cached = hash(tuple(getattr(self, f.name) for f in fields(self)))
            object.__setattr__(self, "_hash", cached)
        return cached


def _colors_of(spec: ChartSpec) -> set[str]:
    """The theme variables a drawing of `spec` uses."""
    return {line.color for line in spec.lines} | {"success", "error", "accent", "foreground"}


def nice_ticks(lo: float, hi: float, most: int = 6) -> list[float]:
    """Round tick values (1, 2, 2.5 or 5 times a power of ten) covering [lo, hi]."""
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / max(most - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(k * power for k in (1, 2, 2.5, 5, 10) if k * power >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    value = first
    while value <= hi + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    return ticks or [lo]


def _time_label(x: float, span: float) -> str:
    when = datetime.fromtimestamp(x, UTC)
    if span < 2 * 86400:
        return when.strftime("%H:%M")
    if span > 400 * 86400:
        return when.strftime("%b %Y")
    return when.strftime("%b %d")


def _spread(lo: float, hi: float, n: int) -> list[float]:
    if hi <= lo or n < 2:
        return [lo]
    return [lo + (hi - lo) * i / (n - 1) for i in range(n)]


def value_label(value: float, ratio: bool, step: float) -> str:
    if ratio:
        return f"{value * 100:.0f}%" if step >= 0.01 else f"{value * 100:.1f}%"
    if step >= 1 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.1f}"


class TrendChart(PlotextPlot):
    """Draws a `ChartSpec`; redraws on resize and theme change.

    plotext takes tens of milliseconds for a chart, so it draws in a worker thread: a new screen
    paints at once (with the previous drawing, or an empty frame) and the chart follows. A chart
    drawn before at the same spec, size and theme comes from the app's `drawings` at once.
    """

    class Drawn(Message):
        """The chart for the current spec, size and theme is on screen."""

    class _Ready(Message):
        """A drawing finished in the worker thread (posted from there)."""

        def __init__(self, key: tuple[object, ...], lines: list[Strip]) -> None:
            super().__init__()
            self.key = key
            self.lines = lines

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.spec: ChartSpec | None = None  # None until the screen has read what to draw
        self._drawn: tuple[object, list[Strip]] | None = None
        self._drawing: object = None
        self._lock = threading.Lock()
        self.draws = 0  # drawings made by plotext (not taken from the app's drawings)
        self._paint: tuple[Style, tuple[object, ...]] | None = None

    @property
    def current(self) -> bool:
        """Whether what is shown is the drawing of the current spec, size and theme (or the
        chart has no room to show anything)."""
        if not self.size.area:
            return True
        return self.spec is not None and self._drawn is not None and self._drawn[0] == self._key()

    def _key(self) -> tuple[object, ...]:
        return (self.size, self.spec, self.app.theme)

    def render_lines(self, crop: Region) -> list[Strip]:
        """Look the style and the key up once per paint, not once per line (a style lookup walks
        the DOM, a key compares a whole series)."""
        self._paint = (self.rich_style, self._key())
        try:
            return super().render_lines(crop)
        finally:
            self._paint = None

    def render_line(self, y: int) -> Strip:
        """A line of the drawing for the current key when ready; until then of the previous one
        (or blank), while a worker draws the new one. Lines come ready-made from the worker."""
        style, key = self._paint or (self.rich_style, self._key())
        drawn = self._drawn
        if (drawn is None or drawn[0] != key) and self.spec is not None and self.size.area:
            kept = drawings_of(self.app).get(key)
            if kept is not None:  # drawn before (a screen opened again): no need to wait
                drawn = self._drawn = (key, kept)
                self.call_after_refresh(self.post_message, self.Drawn())
            elif self._drawing != key:
                self._drawing = key
                self.call_after_refresh(self._start, key)
        width = self.size.width
        if drawn is None or y >= len(drawn[1]):
            return Strip.blank(width, style)
        return drawn[1][y].crop_extend(0, width, style)

    def _start(self, key: tuple[object, ...]) -> None:
        """Draw in a worker once the screen around the chart is painted."""
        if self._drawing == key and key == self._key():
            self.run_worker(self._job(key), thread=True, group="draw", exit_on_error=False)
        elif self._drawing == key:
            self._drawing = None
            self.refresh()

    def _job(self, key: tuple[object, ...]) -> Callable[[], None]:
        """A function drawing the figure for `key` off the event loop, down to the lines of
        segments the screen shows (theme colours and the plotext theme are looked up here, on
        the loop)."""
        spec, size = self.spec, self.size
        assert spec is not None
        colors = {name: self._rgb(name) for name in _colors_of(spec)}
        theme = self._get_plotext_theme_name(self.app.theme)
        console = self.app.console

        def draw() -> None:
            with self._lock:
                if self._drawing != key:
                    return  # a newer drawing was asked for meanwhile
                plt = self.plt
                self._draw_spec(spec, size, colors)
                plt.plotsize(size.width, size.height)
                plt._set_size(size.width, size.height)
                plt.theme(theme)
                text = Text.from_ansi(plt.build(), end="")
            lines = [
                Strip(line.render(console), line.cell_len)
                for line in text.split("\n", allow_blank=True)
            ]
            self.post_message(self._Ready(key, lines))

        return draw

    def on_trend_chart__ready(self, message: _Ready) -> None:
        message.stop()
        self._drawn = (message.key, message.lines)
        self.draws += 1
        drawings_of(self.app).put(message.key, message.lines)
        if self._drawing == message.key:
            self._drawing = None
        self.refresh()
        if message.key == self._key():
            self.call_after_refresh(self.post_message, self.Drawn())

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.refresh())

    def show(self, spec: ChartSpec) -> None:
        self.spec = spec
        self.refresh()

    def on_resize(self) -> None:
        self.refresh()

    def _rgb(self, variable: str) -> tuple[int, int, int]:
        value = self.app.theme_variables.get(variable) or self.app.theme_variables["foreground"]
        return Color.parse(value).rgb

    def _draw_spec(
        self, spec: ChartSpec, size: Size, colors: dict[str, tuple[int, int, int]]
    ) -> None:
        """Build the plotext figure for `spec` at `size` (runs in a worker thread)."""
        plt = self.plt
        plt.clear_figure()
        plt.xfrequency(0)
        ys_all = [y for line in spec.lines for y in line.ys]
        if not ys_all:
            plt.title(clean(spec.empty))
            plt.xticks([], [])
            plt.yticks([], [])
            return
        width = max(size.width - 10, 20)
        xs_all = [x for line in spec.lines for x in line.xs]
        for line in spec.lines:
            if not line.xs:
                continue
            xs, ys = min_max(line.xs, line.ys, width)
            label = clean(line.label) if len(spec.lines) > 1 else None
            plt.plot(xs, ys, marker="braille", color=colors[line.color], label=label)
        lo, hi = min(ys_all), max(ys_all)
        x_lo, x_hi = min(xs_all), max(xs_all)
        if x_hi == x_lo:
            x_lo, x_hi = x_lo - 1, x_hi + 1
        if spec.target is not None:
            lo, hi = min(lo, spec.target), max(hi, spec.target)
            # drawn like the data (braille), so a value on target sits on the target line
            plt.plot([x_lo, x_hi], [spec.target] * 2, marker="braille", color=colors["success"])
        if spec.cursor is not None:
            plt.vline(spec.cursor, color=colors["accent"])
        for mark in spec.marks:
            plt.scatter(
                [mark.x],
                [mark.y],
                marker="▲" if mark.up else "▼",
                color=colors["success" if mark.good else "error"],
            )
        pad = (hi - lo) * 0.08 or (abs(hi) * 0.1 or 1.0)
        lo_y, hi_y = lo - pad, hi + pad
        plt.ylim(lo_y, hi_y)
        yt = nice_ticks(lo_y, hi_y, max(min(size.height // 3, 6), 3))
        if lo >= 0:
            yt = [v for v in yt if v >= 0] or [0.0]
        step = yt[1] - yt[0] if len(yt) > 1 else 1.0
        plt.yticks(yt, [value_label(v, spec.ratio, step) for v in yt])
        plt.xlim(x_lo, x_hi)
        count = max(min(size.width // 16, 7), 2)
        xt = _spread(x_lo, x_hi, count)
        if spec.by_commit:
            labels = spec.commit_labels
            idx = sorted({min(max(round(x), 0), len(labels) - 1) for x in xt}) if labels else []
            plt.xticks(idx, [clean(labels[i]) for i in idx])
        else:
            plt.xticks(xt, [_time_label(x, x_hi - x_lo) for x in xt])
