"""Spans of time as people type them on the command line: `30m`, `24h`, `3d`, `2w`, `1y`."""

from __future__ import annotations

import re

HOUR = 3600
_SPAN = re.compile(r"^\s*(\d+)\s*(m|min|h|d|w|y)\s*$")
_UNITS = {"m": 60, "min": 60, "h": HOUR, "d": 24 * HOUR, "w": 7 * 24 * HOUR, "y": 365 * 24 * HOUR}
_WORDS = {"m": "min", "min": "min", "h": "h", "d": "d", "w": "w", "y": "y"}


def parse_span(text: str) -> tuple[int, str] | None:
    """(seconds, `3 d`) for a span like `3d`, else None."""
    m = _SPAN.match(text)
    if m is None:
        return None
    amount, unit = int(m.group(1)), m.group(2)
    return amount * _UNITS[unit], f"{amount} {_WORDS[unit]}"
