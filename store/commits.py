"""Repositories and commits: metadata, first-parent order, reachability after a rewrite."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import and_, func, or_, select, update
from sqlmodel import Session

from store.models import Commit, Repository, Snapshot
from store.readmodels import CommitInfo, RepositoryInfo


def ensure_repository(session: Session, *, root: str, name: str, branch: str | None) -> int:
    """The database's repository row (one repository per database), created or updated."""
    repo = session.exec(select(Repository).order_by(Repository.id)).scalars().first()
    if repo is None:
        repo = Repository(root=root, name=name, branch=branch)
        session.add(repo)
    else:
        repo.root, repo.name, repo.branch = root, name, branch
    session.flush()
    assert repo.id is not None
    return repo.id


def touch_collect(session: Session, *, repository_id: int, head: str | None, at: float) -> None:
    session.execute(
        update(Repository)
        .where(Repository.id == repository_id)
        .values(last_collect_at=at, head=head)
    )


def commit_ids(session: Session, *, shas: Iterable[str]) -> dict[str, int]:
    wanted = list(shas)
    found: dict[str, int] = {}
    for i in range(0, len(wanted), 500):
        rows = session.execute(
            select(Commit.sha, Commit.id).where(Commit.sha.in_(wanted[i : i + 500]))
        )
        found.update({sha: cid for sha, cid in rows})
    return found


def upsert_commits(
    session: Session, *, repository_id: int, commits: Sequence[CommitInfo]
) -> dict[str, int]:
    """Insert commits not stored yet (metadata never changes for a sha); return sha -> id."""
    known = commit_ids(session, shas=[c.sha for c in commits])
    rows = [
        {
            "repository_id": repository_id,
            "sha": c.sha,
            "parents": " ".join(c.parents),
            "author_name": c.author_name,
            "author_email": c.author_email,
            "authored_at": c.authored_at,
            "author_offset": c.author_offset,
            "committed_at": c.committed_at,
            "committer_offset": c.committer_offset,
            "subject": c.subject,
            "issue_refs": " ".join(c.issue_refs),
            "is_merge": c.is_merge,
            "seq": c.seq,
            "reachable": True,
        }
        for c in commits
        if c.sha not in known
    ]
    if rows:
        session.execute(Commit.__table__.insert(), rows)
        known.update(commit_ids(session, shas=[r["sha"] for r in rows]))
    return known


def sync_branch_line(
    session: Session, *, repository_id: int, line: Sequence[str], shallow: str | None = None
) -> int:
    """Set first-parent positions from `line` (oldest first); commits no longer on it stay stored
    but are marked unreachable. Returns how many stored commits became unreachable."""
    position = {sha: i for i, sha in enumerate(line)}
    rows = session.execute(
        select(Commit.id, Commit.sha, Commit.seq, Commit.reachable, Commit.shallow).where(
            Commit.repository_id == repository_id
        )
    ).all()
    dropped = 0
    for cid, sha, seq, reachable, was_shallow in rows:
        new_seq = position.get(sha)
        on_line = new_seq is not None
        new_reachable = on_line or (seq is None and reachable)  # off-line report commits stay
        if seq is not None and not on_line:
            new_reachable = False
            dropped += reachable
        is_shallow = sha == shallow
        if (new_seq, new_reachable, is_shallow) != (seq, reachable, was_shallow):
            session.execute(
                update(Commit)
                .where(Commit.id == cid)
                .values(seq=new_seq, reachable=new_reachable, shallow=is_shallow)
            )
    return dropped


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
    rows = session.execute(
        select(Commit.sha, Snapshot.base)
        .join(Snapshot, Snapshot.commit_id == Commit.id)
        .where(Snapshot.kind == kind, Snapshot.ruleset == ruleset, Snapshot.stale.is_(False))
    )
    return {sha: base for sha, base in rows}


def tracked_shas(session: Session, *, kind: str) -> set[str]:
    """Shas with any snapshot of this kind, fresh or stale: the commits a collect keeps current."""
    rows = session.execute(
        select(Commit.sha)
        .join(Snapshot, Snapshot.commit_id == Commit.id)
        .where(Snapshot.kind == kind)
    )
    return {sha for (sha,) in rows}


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
    repo = session.exec(select(Repository).order_by(Repository.id)).scalars().first()
    if repo is None:
        return None
    commits = session.execute(select(func.count()).select_from(Commit)).scalar_one()
    snaps = session.execute(select(func.count()).select_from(Snapshot)).scalar_one()
    stale = session.execute(
        select(func.count()).select_from(Snapshot).where(Snapshot.stale.is_(True))
    ).scalar_one()
    return RepositoryInfo(
        root=repo.root,
        name=repo.name,
        branch=repo.branch,
        head=repo.head,
        last_collect_at=repo.last_collect_at,
        commits=commits,
        snapshots=snaps,
        stale_snapshots=stale,
    )
