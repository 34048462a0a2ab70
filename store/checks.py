"""Queries for `healthtui check`: one commit's stored snapshot values."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from store.models import Commit, MetricValue, Snapshot


def snapshot_metrics(
    session: Session, *, sha: str, kind: str, ruleset: str
) -> dict[str, float] | None:
    """The metric values of the current (not stale) snapshot of `kind` and `ruleset` at the commit
    `sha` (full sha); None when there is no such snapshot."""
    sid = session.execute(
        select(Snapshot.id)
        .join(Commit, Commit.id == Snapshot.commit_id)
        .where(
            Commit.sha == sha,
            Snapshot.kind == kind,
            Snapshot.ruleset == ruleset,
            Snapshot.stale.is_(False),
        )
        .limit(1)
    ).scalar_one_or_none()
    if sid is None:
        return None
    rows = session.execute(
        select(MetricValue.metric, MetricValue.value).where(MetricValue.snapshot_id == sid)
    )
    return {metric: value for metric, value in rows}
