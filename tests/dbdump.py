"""Comparing databases the way a user would: the data shown, without ids and wall-clock stamps."""

from __future__ import annotations

import sqlite3
from pathlib import Path

QUERIES = (
    "SELECT c.sha, s.kind, s.ruleset, s.stale, s.base, m.metric, m.value FROM metric_value m"
    ' JOIN snapshot s ON s.id = m.snapshot_id JOIN "commit" c ON c.id = s.commit_id',
    "SELECT c.sha, f.rule, f.path, f.line, f.text, f.delta FROM finding_change f"
    ' JOIN snapshot s ON s.id = f.snapshot_id JOIN "commit" c ON c.id = s.commit_id',
    "SELECT rule, path, line, col, text FROM current_finding",
    'SELECT sha, seq, reachable FROM "commit"',
)


def dump(path: Path) -> list:
    """Every stored metric value, finding change, current finding and commit, sorted; the file
    must pass SQLite's integrity check."""
    con = sqlite3.connect(path)
    try:
        rows = [sorted(con.execute(q).fetchall()) for q in QUERIES]
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        con.close()
    return rows
