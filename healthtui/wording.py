"""Small helpers for the words every surface (CLI, dashboard, export) prints."""

from __future__ import annotations


def counted(n: int, noun: str) -> str:
    """`1 site`, `3 sites`."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"
