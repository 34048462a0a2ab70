"""Records of standup exports, so `healthtui export --since last` knows what was shown last time."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Field, Session, SQLModel

from store.models import Commit, CurrentFinding, Snapshot


class Export(SQLModel, table=True):
    """One standup export: when, in which format, up to which commit and from which starting point."""

    __tablename__ = "export_record"
    id: int | None = Field(default=None, primary_key=True)
    at: float = Field(index=True)
    format: str
    head: str | None = None
    since: str = ""


@dataclass(frozen=True, slots=True)
class ExportRecord:
    at: float  # UTC epoch seconds, the export's generated-at time
    format: str
    head: str | None  # the newest commit whose numbers the export showed
    since: str  # the --since spec it was made with


def record_export(
    session: Session, *, at: float, fmt: str, head: str | None, since: str
) -> ExportRecord:
    """Remember an export (call inside `write_session`)."""
    session.add(Export(at=at, format=fmt, head=head, since=since))
    session.flush()
    return ExportRecord(at=at, format=fmt, head=head, since=since)


def last_export(session: Session, *, before: float | None = None) -> ExportRecord | None:
    """The newest recorded export (optionally the newest strictly before a time)."""
    q = select(Export)
    if before is not None:
        q = q.where(Export.at < before)
    row = session.execute(q.order_by(Export.at.desc(), Export.id.desc()).limit(1)).scalars().first()
    if row is None:
        return None
    return ExportRecord(at=row.at, format=row.format, head=row.head, since=row.since)


def current_findings_commit(session: Session) -> str | None:
    """The commit whose snapshot holds the current findings (normally the branch tip)."""
    row = session.execute(
        select(Commit.sha)
        .join(Snapshot, Snapshot.commit_id == Commit.id)
        .join(CurrentFinding, CurrentFinding.snapshot_id == Snapshot.id)
        .limit(1)
    ).first()
    return row[0] if row else None
