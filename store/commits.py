"""Repositories and commits: metadata, first-parent order, reachability after a rewrite."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import and_, or_, select
from sqlmodel import Session

from store import collector
from store.db import dbapi
from store.models import Commit, Snapshot
from store.readmodels import CommitInfo, RepositoryInfo


def ensure_repository(session: Session, *, root: str, name: str, branch: str | None) -> int:
    """The database's repository row (one repository per database), created or updated."""
    return collector.ensure_repository(dbapi(session), root=root, name=name, branch=branch)


def touch_collect(session: Session, *, repository_id: int, head: str | None, at: float) -> None:
    collector.touch_collect(dbapi(session), repository_id=repository_id, head=head, at=at)


def commit_ids(session: Session, *, shas: Iterable[str]) -> dict[str, int]:
    return collector.commit_ids(dbapi(session), shas=shas)


def upsert_commits(
    session: Session, *, repository_id: int, commits: Sequence[CommitInfo]
) -> dict[str, int]:
    """Insert commits not stored yet (metadata never changes for a sha); return sha -> id."""
    return collector.upsert_commits(dbapi(session), repository_id=repository_id, commits=commits)


def sync_branch_line(
    session: Session, *, repository_id: int, line: Sequence[str], shallow: str | None = None
) -> int:
    """Set first-parent positions from `line` (oldest first); commits no longer on it stay stored
    but are marked unreachable. Returns how many stored commits became unreachable."""
    return collector.sync_branch_line(
        dbapi(session), repository_id=repository_id, line=line, shallow=shallow
    )


def _info(c: Commit) -> CommitInfo:
    return CommitInfo(
        sha=c.sha,
        parents=tuple(c.parents.split()),
        author_name=c.author_name,
        author_email=c.author_email,
        authored_at=c.authored_at,
        author_offset=c.author_offset,
        committed_at=c.committed_at,
        committer_offset=c.committer_offset,
        subject=c.subject,
        issue_refs=tuple(c.issue_refs.split()),
        is_merge=c.is_merge,
        seq=c.seq,
        reachable=c.reachable,
    )


def get_commit(session: Session, *, sha: str) -> CommitInfo | None:
    """A stored commit by full sha or unique prefix."""
    rows = session.exec(select(Commit).where(Commit.sha.startswith(sha)).limit(2)).scalars().all()
    return _info(rows[0]) if len(rows) == 1 else None


def commits_by_sha(session: Session, *, shas: Iterable[str]) -> dict[str, CommitInfo]:
    wanted = list(shas)
    out: dict[str, CommitInfo] = {}
    for i in range(0, len(wanted), 500):
        for c in session.exec(select(Commit).where(Commit.sha.in_(wanted[i : i + 500]))).scalars():
            out[c.sha] = _info(c)
    return out


def snapshotted_shas(session: Session, *, kind: str, ruleset: str) -> dict[str, str | None]:
    """Shas that already have a current snapshot of this kind and ruleset, with each one's base."""
    return collector.snapshotted_shas(dbapi(session), kind=kind, ruleset=ruleset)


def tracked_shas(session: Session, *, kind: str) -> set[str]:
    """Shas with any snapshot of this kind, fresh or stale: the commits a collect keeps current."""
    return collector.tracked_shas(dbapi(session), kind=kind)


def last_snapshotted_on_line(session: Session, *, kind: str, ruleset: str) -> CommitInfo | None:
    """The newest first-parent commit with a current snapshot: where an incremental collect resumes."""
    c = (
        session.exec(
            select(Commit)
            .join(Snapshot, Snapshot.commit_id == Commit.id)
            .where(
                Snapshot.kind == kind,
                Snapshot.ruleset == ruleset,
                Snapshot.stale.is_(False),
                Commit.reachable.is_(True),
                Commit.seq.is_not(None),
            )
            .order_by(Commit.seq.desc())
            .limit(1)
        )
        .scalars()
        .first()
    )
    return _info(c) if c else None


def find_commits(session: Session, *, query: str, limit: int = 20) -> tuple[CommitInfo, ...]:
    """Commits whose sha starts with `query` or whose subject contains all of its words."""
    words = query.split()
    if not words:
        return ()
    subject_has_all = and_(*(Commit.subject.ilike(f"%{w}%") for w in words))
    cond = or_(Commit.sha.startswith(query.strip().lower()), subject_has_all)
    rows = session.exec(
        select(Commit).where(cond).order_by(Commit.committed_at.desc()).limit(limit)
    ).scalars()
    return tuple(_info(c) for c in rows)


def recent_commits(session: Session, *, limit: int = 50) -> tuple[CommitInfo, ...]:
    rows = session.exec(
        select(Commit)
        .where(Commit.reachable.is_(True))
        .order_by(Commit.committed_at.desc(), Commit.seq.desc())
        .limit(limit)
    ).scalars()
    return tuple(_info(c) for c in rows)


def repository_info(session: Session) -> RepositoryInfo | None:
    return collector.repository_info(dbapi(session))
