"""What the history collector writes and reads, as plain SQL on a DB-API connection.

These run once per commit of a backfill, so they skip the ORM and SQLAlchemy altogether; the
Session-based functions of the same names in `store.commits`, `store.findings` and
`store.snapshots` call these on their session's connection, so there is one implementation.
Every function runs inside the caller's transaction (`Database.write()` or `write_session`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from store.records import CommitInfo, RepositoryInfo

_CHUNK = 500  # ids per `IN (...)`: well under SQLite's bound-parameter limit


def storable(text: str) -> str:
    """Text SQLite can hold: bytes that were not UTF-8 (surrogate escapes) become `\\xff`."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return text


@dataclass(frozen=True, slots=True)
class FindingInput:
    """A finding as the collector hands it to the store (duck-compatible with rules.Finding)."""

    rule: str
    path: str
    line: int
    col: int = 0
    text: str = ""
    message: str = ""
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ChangeInput:
    rule: str
    path: str
    line: int
    text: str
    message: str
    delta: int


def _marks(n: int) -> str:
    return ",".join("?" * n)


# ---- repository and commits ----


def ensure_repository(con: sqlite3.Connection, *, root: str, name: str, branch: str | None) -> int:
    """The database's repository row (one repository per database), created or updated."""
    row = con.execute("SELECT id FROM repository ORDER BY id LIMIT 1").fetchone()
    if row is None:
        cur = con.execute(
            "INSERT INTO repository (root, name, branch) VALUES (?, ?, ?)", (root, name, branch)
        )
        return int(cur.lastrowid)
    con.execute(
        "UPDATE repository SET root = ?, name = ?, branch = ? WHERE id = ?",
        (root, name, branch, row[0]),
    )
    return int(row[0])


def touch_collect(
    con: sqlite3.Connection, *, repository_id: int, head: str | None, at: float
) -> None:
    con.execute(
        "UPDATE repository SET last_collect_at = ?, head = ? WHERE id = ?",
        (at, head, repository_id),
    )


def repository_info(con: sqlite3.Connection) -> RepositoryInfo | None:
    row = con.execute(
        "SELECT root, name, branch, head, last_collect_at FROM repository ORDER BY id LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    (commits,) = con.execute('SELECT count(*) FROM "commit"').fetchone()
    snaps, stale, code = con.execute(
        "SELECT count(*), coalesce(sum(stale), 0), "
        "coalesce(sum(kind = 'code' AND stale = 0), 0) FROM snapshot"
    ).fetchone()
    return RepositoryInfo(
        root=row[0],
        name=row[1],
        branch=row[2],
        head=row[3],
        last_collect_at=row[4],
        commits=commits,
        snapshots=snaps,
        stale_snapshots=int(stale),
        code_snapshots=int(code),
    )


def commit_ids(con: sqlite3.Connection, *, shas: Iterable[str]) -> dict[str, int]:
    wanted = list(shas)
    found: dict[str, int] = {}
    for i in range(0, len(wanted), _CHUNK):
        part = wanted[i : i + _CHUNK]
        rows = con.execute(f'SELECT sha, id FROM "commit" WHERE sha IN ({_marks(len(part))})', part)
        found.update(rows)
    return found


def upsert_commits(
    con: sqlite3.Connection, *, repository_id: int, commits: Sequence[CommitInfo]
) -> dict[str, int]:
    """Insert commits not stored yet (metadata never changes for a sha); return sha -> id."""
    known = commit_ids(con, shas=[c.sha for c in commits])
    rows = [
        (
            repository_id,
            c.sha,
            " ".join(c.parents),
            c.author_name,
            c.author_email,
            c.authored_at,
            c.author_offset,
            c.committed_at,
            c.committer_offset,
            c.subject,
            " ".join(c.issue_refs),
            c.is_merge,
            c.seq,
        )
        for c in commits
        if c.sha not in known
    ]
    if rows:
        con.executemany(
            'INSERT INTO "commit" (repository_id, sha, parents, author_name, author_email, '
            "authored_at, author_offset, committed_at, committer_offset, subject, issue_refs, "
            "is_merge, seq, reachable, shallow) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,1,0)",
            rows,
        )
        known.update(commit_ids(con, shas=[r[1] for r in rows]))
    return known


def sync_branch_line(
    con: sqlite3.Connection, *, repository_id: int, line: Sequence[str], shallow: str | None = None
) -> int:
    """Set first-parent positions from `line` (oldest first); commits no longer on it stay stored
    but are marked unreachable. Returns how many stored commits became unreachable."""
    position = {sha: i for i, sha in enumerate(line)}
    rows = con.execute(
        'SELECT id, sha, seq, reachable, shallow FROM "commit" WHERE repository_id = ?',
        (repository_id,),
    )
    dropped = 0
    updates = []
    for cid, sha, seq, reachable, was_shallow in rows.fetchall():
        reachable, was_shallow = bool(reachable), bool(was_shallow)
        new_seq = position.get(sha)
        on_line = new_seq is not None
        new_reachable = on_line or (seq is None and reachable)  # off-line report commits stay
        if seq is not None and not on_line:
            new_reachable = False
            dropped += reachable
        is_shallow = sha == shallow
        if (new_seq, new_reachable, is_shallow) != (seq, reachable, was_shallow):
            updates.append((new_seq, new_reachable, is_shallow, cid))
    if updates:
        con.executemany(
            'UPDATE "commit" SET seq = ?, reachable = ?, shallow = ? WHERE id = ?', updates
        )
    return dropped


def snapshotted_shas(con: sqlite3.Connection, *, kind: str, ruleset: str) -> dict[str, str | None]:
    """Shas that already have a current snapshot of this kind and ruleset, with each one's base."""
    rows = con.execute(
        'SELECT c.sha, s.base FROM "commit" c JOIN snapshot s ON s.commit_id = c.id '
        "WHERE s.kind = ? AND s.ruleset = ? AND s.stale = 0",
        (kind, ruleset),
    )
    return dict(rows)


def tracked_shas(con: sqlite3.Connection, *, kind: str) -> set[str]:
    """Shas with any snapshot of this kind, fresh or stale: the commits a collect keeps current."""
    rows = con.execute(
        'SELECT c.sha FROM "commit" c JOIN snapshot s ON s.commit_id = c.id WHERE s.kind = ?',
        (kind,),
    )
    return {sha for (sha,) in rows}


# ---- the facts cache ----


def _cached_rows(
    con: sqlite3.Connection, *, engine_key: str, keys: Iterable[tuple[str, str]], column: str
):
    """Yield (kind, blob, value) for the cached (kind, blob) pairs among `keys`: one indexed
    `blob IN` query per kind and 500 blobs."""
    by_kind: dict[str, list[str]] = {}
    for kind, blob in keys:
        by_kind.setdefault(kind, []).append(blob)
    for kind, blobs in by_kind.items():
        for i in range(0, len(blobs), _CHUNK):
            part = blobs[i : i + _CHUNK]
            rows = con.execute(
                f"SELECT blob, {column} FROM blob_facts WHERE engine_key = ? AND kind = ? "
                f"AND blob IN ({_marks(len(part))})",
                (engine_key, kind, *part),
            )
            for blob, value in rows:
                yield kind, blob, value


def cached_facts(
    con: sqlite3.Connection, *, engine_key: str, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], bytes]:
    """Cached facts for (kind, blob) pairs computed by the same rule engine."""
    rows = _cached_rows(con, engine_key=engine_key, keys=keys, column="facts")
    return {(kind, blob): facts for kind, blob, facts in rows}


def cached_fact_keys(con: sqlite3.Connection, *, engine_key: str) -> set[tuple[str, str]]:
    """Every (kind, blob) with cached facts for this rule engine: one cheap query per walk."""
    rows = con.execute("SELECT kind, blob FROM blob_facts WHERE engine_key = ?", (engine_key,))
    return set(rows)


def store_facts(
    con: sqlite3.Connection, *, engine_key: str, items: Iterable[tuple[str, str, bytes]]
) -> int:
    """Add facts for blobs not cached yet; returns rows added."""
    pending = {(k, b): f for k, b, f in items}
    rows = [(engine_key, k, b, f) for (k, b), f in pending.items()]
    if not rows:
        return 0
    before = con.total_changes
    con.executemany(
        "INSERT OR IGNORE INTO blob_facts (engine_key, kind, blob, facts) VALUES (?, ?, ?, ?)",
        rows,
    )
    return con.total_changes - before


# ---- snapshots ----


def record_snapshot(
    con: sqlite3.Connection,
    *,
    commit_id: int,
    metrics: Mapping[str, float],
    kind: str = "code",
    ruleset: str = "",
    changes: Iterable[ChangeInput] = (),
    current: Iterable[FindingInput] | None = None,
    at: float = 0.0,
    base: str | None = None,
) -> int:
    """Store one commit's metric values (replacing the same kind+ruleset), its finding changes and,
    when given, the current findings. Older snapshots of this commit and kind become stale."""
    old = con.execute(
        "SELECT id FROM snapshot WHERE commit_id = ? AND kind = ? AND ruleset = ?",
        (commit_id, kind, ruleset),
    ).fetchone()
    if old is not None:
        delete_snapshot(con, old[0])
    con.execute(
        "UPDATE snapshot SET stale = 1 WHERE commit_id = ? AND kind = ? AND stale = 0",
        (commit_id, kind),
    )
    sid = con.execute(
        "INSERT INTO snapshot (commit_id, kind, ruleset, created_at, stale, base) "
        "VALUES (?, ?, ?, ?, 0, ?)",
        (commit_id, kind, ruleset, at, base),
    ).lastrowid
    if metrics:
        con.executemany(
            "INSERT INTO metric_value (snapshot_id, metric, value) VALUES (?, ?, ?)",
            [(sid, m, float(v)) for m, v in metrics.items()],
        )
    rows = [
        (sid, c.rule, storable(c.path), c.line, storable(c.text), storable(c.message), c.delta)
        for c in changes
    ]
    if rows:
        con.executemany(
            "INSERT INTO finding_change (snapshot_id, rule, path, line, text, message, delta) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    if current is not None:
        replace_current_findings(con, snapshot_id=sid, findings=current)
    return int(sid)


def replace_current_findings(
    con: sqlite3.Connection, *, snapshot_id: int, findings: Iterable[FindingInput]
) -> None:
    con.execute("DELETE FROM current_finding")
    con.executemany(
        "INSERT INTO current_finding (snapshot_id, rule, path, line, col, text, message, detail) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            (
                snapshot_id,
                f.rule,
                storable(f.path),
                f.line,
                f.col,
                storable(f.text),
                storable(f.message),
                f.detail,
            )
            for f in findings
        ),
    )


def delete_snapshot(con: sqlite3.Connection, snapshot_id: int) -> None:
    for table in ("metric_value", "finding_change", "current_finding"):
        con.execute(f"DELETE FROM {table} WHERE snapshot_id = ?", (snapshot_id,))
    con.execute("DELETE FROM snapshot WHERE id = ?", (snapshot_id,))


# ---- evaluator checkpoints ----


def load_evaluator_state(
    con: sqlite3.Connection, *, ruleset: str, fmt: str
) -> tuple[str, bytes] | None:
    """The (sha, data) of the evaluator checkpoint for this ruleset, if one in `fmt` exists."""
    row = con.execute(
        "SELECT sha, data FROM evaluator_state WHERE ruleset = ? AND format = ?", (ruleset, fmt)
    ).fetchone()
    return (row[0], row[1]) if row else None


def save_evaluator_state(
    con: sqlite3.Connection, *, ruleset: str, fmt: str, sha: str, data: bytes, at: float
) -> None:
    con.execute(
        "INSERT OR REPLACE INTO evaluator_state (ruleset, sha, format, created_at, data) "
        "VALUES (?, ?, ?, ?, ?)",
        (ruleset, sha, fmt, at, data),
    )
