"""Small helpers for the words every surface (CLI, dashboard, export) prints."""

from __future__ import annotations


def counted(n: int, noun: str) -> str:
    """`1 site`, `3 sites`."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def utf8_text(text: str) -> str:
    """Text that encodes as UTF-8: bytes that were not UTF-8 (a path's surrogate escapes) become
    `\\xff`, as in JSON for tools that insist on valid Unicode."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
