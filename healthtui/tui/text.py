"""Safe text and number formatting for the TUI.

Strings from the repository (subjects, paths, source lines) may contain markup such as `[bold]` or
terminal escapes; they are always shown as plain text, never parsed as markup.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from rich.text import Text

from healthtui.metrics import MetricInfo
from healthtui.metrics import info as metric_info

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _picture(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # the Unicode "control pictures" block: ␛, ␀ ...
    if code == 0x7F:
        return "\u2421"
    return "\ufffd"


def clean(value: object) -> str:
    """A repository string made safe to draw: control characters become visible symbols."""
    text = str(value).replace("\t", "    ").replace("\n", "⏎").replace("\r", "")
    return _CONTROL.sub(_picture, text)


def plain(value: object, style: str = "") -> Text:
    """Literal text (never markup) with an optional style."""
    return Text(clean(value), style=style, end="")


def shorten(value: str, width: int) -> str:
    return value if len(value) <= width else value[: max(width - 1, 0)] + "…"


def shorten_path(path: str, width: int) -> str:
    """Keep the end of a path (the file name) when it does not fit: `…/orders/service.py`."""
    return path if len(path) <= width else "…" + path[-max(width - 1, 1) :]


def fmt_value(info: MetricInfo, value: float | None) -> str:
    return info.format(value)


def fmt_delta(info: MetricInfo, delta: float | None) -> str:
    """A signed change: `+3`, `−2`, `+4.5 pp` for ratios; `±0` when unchanged."""
    if delta is None:
        return "–"
    if delta == 0:
        return "±0"
    sign = "+" if delta > 0 else "−"
    size = abs(delta)
    if info.unit == "ratio":
        return f"{sign}{size * 100:.1f} pp"
    return f"{sign}{size:,.0f}" if float(size).is_integer() else f"{sign}{size:,.2f}"


def delta_style(info: MetricInfo, delta: float | None) -> str:
    """`good`, `bad` or `` for a change of a metric, by the metric's better direction."""
    if not delta:
        return ""
    better = delta < 0 if info.lower_is_better else delta > 0
    return "good" if better else "bad"


def commit_time(epoch: int, offset: int = 0) -> str:
    """A commit's time as its committer saw it: `2026-01-05 09:00`."""
    tz = timezone(timedelta(seconds=offset)) if offset else UTC
    return datetime.fromtimestamp(epoch, tz).strftime("%Y-%m-%d %H:%M")


def day(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%b %d")


def age(seconds: float) -> str:
    """`just now`, `5 min ago`, `3 h ago`, `2 d ago`."""
    seconds = max(seconds, 0)
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400 * 2:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} d ago"


def metric_title(metric: str) -> str:
    """The metric's title, naming the detail count when the catalogue gives it its rule's title
    (`deprecated_imports.candidates` -> `Deprecated imports (candidates)`)."""
    title = metric_info(metric).title
    base, dot, detail = metric.partition(".")
    if dot and base not in ("suite", "tests") and title == metric_info(base).title:
        return f"{title} ({detail.replace('_', ' ')})"
    return title
