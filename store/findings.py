"""Findings: the per-blob facts cache, the current findings of the tip, and recorded problems."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlmodel import Session

from store import collector
from store.db import dbapi
from store.models import Commit, CurrentFinding, FindingChange, Problem, Snapshot
from store.readmodels import FileCount, FindingChangeRow, FindingRow, ProblemRow


def cached_facts(
    session: Session, *, engine_key: str, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], bytes]:
    """Cached facts for (kind, blob) pairs computed by the same rule engine."""
    return collector.cached_facts(dbapi(session), engine_key=engine_key, keys=keys)


def cached_fact_keys(session: Session, *, engine_key: str) -> set[tuple[str, str]]:
    """Every (kind, blob) with cached facts for this rule engine: one cheap query per walk."""
    return collector.cached_fact_keys(dbapi(session), engine_key=engine_key)


def store_facts(
    session: Session, *, engine_key: str, items: Iterable[tuple[str, str, bytes]]
) -> int:
    """Add facts for blobs not cached yet (call inside a write session); returns rows added."""
    return collector.store_facts(dbapi(session), engine_key=engine_key, items=items)


def current_findings(
    session: Session, *, rule: str | None = None, path: str | None = None, limit: int | None = None
) -> tuple[FindingRow, ...]:
    q = select(CurrentFinding)
    if rule is not None:
        q = q.where(CurrentFinding.rule == rule)
    if path is not None:
        q = q.where(CurrentFinding.path == path)
    q = q.order_by(CurrentFinding.path, CurrentFinding.line, CurrentFinding.col)
    if limit is not None:
        q = q.limit(limit)
    return tuple(
        FindingRow(
            rule=f.rule,
            path=f.path,
            line=f.line,
            col=f.col,
            text=f.text,
            message=f.message,
            detail=f.detail,
        )
        for f in session.execute(q).scalars()
    )


def finding_files(session: Session, *, rule: str) -> tuple[FileCount, ...]:
    """Files with current findings of a rule, most findings first."""
    n = func.count().label("n")
    rows = session.execute(
        select(CurrentFinding.path, n)
        .where(CurrentFinding.rule == rule)
        .group_by(CurrentFinding.path)
        .order_by(n.desc(), CurrentFinding.path)
    )
    return tuple(FileCount(path=p, count=c) for p, c in rows)


def finding_paths(session: Session, *, query: str = "", limit: int = 50) -> tuple[str, ...]:
    """Paths with current findings, filtered by a substring (for the command palette)."""
    q = select(CurrentFinding.path).distinct().order_by(CurrentFinding.path)
    if query:
        q = q.where(CurrentFinding.path.contains(query))
    return tuple(p for (p,) in session.execute(q.limit(limit)))


def finding_changes(
    session: Session, *, sha: str, rule: str | None = None
) -> tuple[FindingChangeRow, ...]:
    q = (
        select(FindingChange)
        .join(Snapshot, Snapshot.id == FindingChange.snapshot_id)
        .join(Commit, Commit.id == Snapshot.commit_id)
        .where(Commit.sha == sha, Snapshot.stale.is_(False))
    )
    if rule is not None:
        q = q.where(FindingChange.rule == rule)
    q = q.order_by(FindingChange.rule, FindingChange.path, FindingChange.line)
    return tuple(
        FindingChangeRow(
            rule=c.rule, path=c.path, line=c.line, text=c.text, message=c.message, delta=c.delta
        )
        for c in session.execute(q).scalars()
    )


def record_problem(session: Session, *, source: str, subject: str, message: str, at: float) -> None:
    session.add(Problem(at=at, source=source, subject=subject, message=message))


def recent_problems(session: Session, *, limit: int = 50) -> tuple[ProblemRow, ...]:
    rows = session.execute(
        select(Problem).order_by(Problem.at.desc(), Problem.id.desc()).limit(limit)
    )
    return tuple(
        ProblemRow(at=p.at, source=p.source, subject=p.subject, message=p.message)
        for p in rows.scalars()
    )
