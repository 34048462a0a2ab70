"""Small inline SVG line charts for the HTML export: numbers in, markup out, no scripts."""

from __future__ import annotations

import html
from collections.abc import Sequence

from store.readmodels import Point

MAX_POINTS = 120


def _fmt(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def line_chart(
    points: Sequence[Point],
    *,
    target: float | None = None,
    label: str = "",
    width: int = 220,
    height: int = 44,
    worse: bool = False,
) -> str:
    """A sparkline of the newest MAX_POINTS values, evenly spaced, with a dashed target line."""
    pts = list(points)[-MAX_POINTS:]
    aria = html.escape(label, quote=True)
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{aria}">'
    )
    if not pts:
        return head + "</svg>"
    values = [p.value for p in pts]
    lo = min([*values, target] if target is not None else values)
    hi = max([*values, target] if target is not None else values)
    if hi == lo:
        hi, lo = hi + 1, lo - 1
    pad = 3.0

    def y(v: float) -> float:
        return pad + (hi - v) / (hi - lo) * (height - 2 * pad)

    step = (width - 2 * pad) / max(len(pts) - 1, 1)
    coords = " ".join(f"{_fmt(pad + i * step)},{_fmt(y(v))}" for i, v in enumerate(values))
    parts = [head]
    if target is not None:
        ty = _fmt(y(target))
        parts.append(
            f'<line class="target" x1="{_fmt(pad)}" y1="{ty}" x2="{_fmt(width - pad)}" y2="{ty}" '
            'stroke="#6a737d" stroke-dasharray="3 3" stroke-width="1"/>'
        )
    colour = "#cf222e" if worse else "#0969da"
    if len(pts) == 1:
        cx, cy = coords.split(",")
        parts.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{colour}"/>')
    else:
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{coords}"/>'
        )
    parts.append("</svg>")
    return "".join(parts)
