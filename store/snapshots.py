"""Snapshots and metric values: writing one commit's numbers, reading series and who moved them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import select, update
from sqlmodel import Session

from store import collector
from store.collector import ChangeInput, FindingInput, storable  # noqa: F401  (re-exported)
from store.commits import _info, commits_by_sha
from store.db import dbapi
from store.models import Commit, FindingChange, MetricValue, Snapshot
from store.readmodels import CommitDetail, FindingChangeRow, MetricDelta, Point, SnapshotRef


def record_snapshot(
    session: Session,
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
    when given, the current findings. Older snapshots of this commit and kind become stale.
    Call inside `write_session` so the whole snapshot lands in one transaction."""
    return collector.record_snapshot(
        dbapi(session),
        commit_id=commit_id,
        metrics=metrics,
        kind=kind,
        ruleset=ruleset,
        changes=changes,
        current=current,
        at=at,
        base=base,
    )


def replace_current_findings(
    session: Session, *, snapshot_id: int, findings: Iterable[FindingInput]
) -> None:
    collector.replace_current_findings(dbapi(session), snapshot_id=snapshot_id, findings=findings)


def mark_stale(session: Session, *, kind: str, keep_ruleset: str) -> int:
    """Mark snapshots computed with other rules stale (they stay until recomputed)."""
    result = session.execute(
        update(Snapshot)
        .where(Snapshot.kind == kind, Snapshot.ruleset != keep_ruleset, Snapshot.stale.is_(False))
        .values(stale=True)
    )
    return result.rowcount or 0


def _series_query(metric: str):
    return (
        select(Commit.sha, Commit.seq, Commit.committed_at, MetricValue.value)
        .join(Snapshot, Snapshot.id == MetricValue.snapshot_id)
        .join(Commit, Commit.id == Snapshot.commit_id)
        .where(
            MetricValue.metric == metric,
            Snapshot.stale.is_(False),
            Commit.reachable.is_(True),
        )
    )


def metric_series(
    session: Session,
    *,
    metric: str,
    since: int | None = None,
    until: int | None = None,
    limit: int | None = None,
) -> tuple[Point, ...]:
    """The metric's values over time, oldest first; `limit` keeps the newest N points.
    `since`/`until` are UTC epoch seconds compared with the committer time."""
    q = _series_query(metric)
    if since is not None:
        q = q.where(Commit.committed_at >= since)
    if until is not None:
        q = q.where(Commit.committed_at <= until)
    if limit is not None:
        q = q.order_by(Commit.committed_at.desc(), Commit.seq.desc()).limit(limit)
        rows = list(session.execute(q))[::-1]
    else:
        rows = session.execute(q.order_by(Commit.committed_at, Commit.seq))
    return tuple(Point(sha=r[0], seq=r[1], at=r[2], value=r[3]) for r in rows)


def snapshot_refs(
    session: Session,
    *,
    since: int | None = None,
    until: int | None = None,
    kind: str | None = None,
    newest: int | None = None,
) -> tuple[SnapshotRef, ...]:
    """Current snapshots of reachable commits, oldest first; `newest` keeps the newest N.
    Cheap (no metric values): pick a few, then read them with `snapshot_values`."""
    q = (
        select(Snapshot.id, Snapshot.kind, Commit.sha, Commit.seq, Commit.committed_at)
        .join(Commit, Commit.id == Snapshot.commit_id)
        .where(Snapshot.stale.is_(False), Commit.reachable.is_(True))
    )
    if since is not None:
        q = q.where(Commit.committed_at >= since)
    if until is not None:
        q = q.where(Commit.committed_at <= until)
    if kind is not None:
        q = q.where(Snapshot.kind == kind)
    if newest is not None:
        q = q.order_by(Commit.committed_at.desc(), Commit.seq.desc(), Snapshot.id.desc())
        rows = list(session.execute(q.limit(newest)))[::-1]
    else:
        rows = session.execute(q.order_by(Commit.committed_at, Commit.seq, Snapshot.id))
    return tuple(SnapshotRef(id=r[0], kind=r[1], sha=r[2], seq=r[3], at=r[4]) for r in rows)


def snapshot_kinds(session: Session) -> tuple[str, ...]:
    """The kinds of snapshot stored (`code`, `tests`...)."""
    rows = session.execute(
        select(Snapshot.kind).where(Snapshot.stale.is_(False)).distinct().order_by(Snapshot.kind)
    )
    return tuple(k for (k,) in rows)


def snapshot_values(
    session: Session, *, refs: Sequence[SnapshotRef]
) -> dict[str, tuple[Point, ...]]:
    """The metric values of these snapshots as one series per metric, oldest first."""
    by_id = {r.id: r for r in refs}
    ids = sorted(by_id)
    rows: list[tuple[int, str, float]] = []
    for i in range(0, len(ids), 500):
        rows.extend(
            session.connection().execute(
                select(MetricValue.snapshot_id, MetricValue.metric, MetricValue.value).where(
                    MetricValue.snapshot_id.in_(ids[i : i + 500])
                )
            )
        )
    out: dict[str, list[Point]] = {}
    for sid, metric, value in rows:
        r = by_id[sid]
        out.setdefault(metric, []).append(Point(sha=r.sha, seq=r.seq, at=r.at, value=value))
    return {
        m: tuple(sorted(points, key=lambda p: (p.at, -1 if p.seq is None else p.seq)))
        for m, points in out.items()
    }


def metric_ids(session: Session) -> tuple[str, ...]:
    rows = session.execute(
        select(MetricValue.metric)
        .join(Snapshot, Snapshot.id == MetricValue.snapshot_id)
        .where(Snapshot.stale.is_(False))
        .distinct()
        .order_by(MetricValue.metric)
    )
    return tuple(m for (m,) in rows)


def latest_point(session: Session, *, metric: str, at_or_before: int | None = None) -> Point | None:
    """The newest value of a metric (optionally the newest at or before a time)."""
    q = _series_query(metric)
    if at_or_before is not None:
        q = q.where(Commit.committed_at <= at_or_before)
    r = session.execute(q.order_by(Commit.committed_at.desc(), Commit.seq.desc()).limit(1)).first()
    return Point(sha=r[0], seq=r[1], at=r[2], value=r[3]) if r else None


def latest_points(session: Session, *, metrics: Sequence[str] | None = None) -> dict[str, Point]:
    names = metric_ids(session) if metrics is None else metrics
    out = {}
    for m in names:
        p = latest_point(session, metric=m)
        if p is not None:
            out[m] = p
    return out


def metric_changes(
    session: Session,
    *,
    metric: str,
    since: int | None = None,
    until: int | None = None,
    by_size: bool = False,
    limit: int | None = None,
) -> tuple[MetricDelta, ...]:
    """The commits that moved a metric, with before/after, newest first (or biggest first)."""
    series = metric_series(session, metric=metric, until=until)
    moved: list[tuple[Point, float | None]] = []
    prev: float | None = None
    for p in series:
        moved_here = (prev is None and p.value != 0) or (prev is not None and p.value != prev)
        if moved_here and (since is None or p.at >= since):
            moved.append((p, prev))
        prev = p.value
    if by_size:
        moved.sort(key=lambda pv: abs(pv[0].value - (pv[1] or 0.0)), reverse=True)
    else:
        moved.reverse()
    if limit is not None:
        moved = moved[:limit]
    commits = commits_by_sha(session, shas=[p.sha for p, _ in moved])
    return tuple(
        MetricDelta(metric=metric, commit=commits[p.sha], before=b, after=p.value) for p, b in moved
    )


def commit_detail(session: Session, *, sha: str) -> CommitDetail | None:
    """Every metric's delta at one commit and the findings it added or removed."""
    c = session.exec(select(Commit).where(Commit.sha.startswith(sha)).limit(2)).scalars().all()
    if len(c) != 1:
        return None
    commit = c[0]
    info = _info(commit)
    values = session.execute(
        select(MetricValue.metric, MetricValue.value, Snapshot.id)
        .join(Snapshot, Snapshot.id == MetricValue.snapshot_id)
        .where(Snapshot.commit_id == commit.id, Snapshot.stale.is_(False))
    ).all()
    deltas = []
    for metric, value, _sid in values:
        before = session.execute(
            _series_query(metric)
            .where(
                (Commit.committed_at < commit.committed_at)
                | ((Commit.committed_at == commit.committed_at) & (Commit.seq < (commit.seq or 0)))
            )
            .order_by(Commit.committed_at.desc(), Commit.seq.desc())
            .limit(1)
        ).first()
        deltas.append(
            MetricDelta(
                metric=metric, commit=info, before=before[3] if before else None, after=value
            )
        )
    deltas.sort(key=lambda d: (-abs(d.delta), d.metric))
    snap_ids = sorted({sid for *_, sid in values})
    changes = session.execute(
        select(FindingChange)
        .where(FindingChange.snapshot_id.in_(snap_ids))
        .order_by(FindingChange.rule, FindingChange.path, FindingChange.line)
    ).scalars()
    rows = tuple(
        FindingChangeRow(
            rule=ch.rule,
            path=ch.path,
            line=ch.line,
            text=ch.text,
            message=ch.message,
            delta=ch.delta,
        )
        for ch in changes
    )
    return CommitDetail(commit=info, deltas=tuple(deltas), changes=rows)
