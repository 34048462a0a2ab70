"""The records the collector reads and writes on every run, apart from the other read models so
that a `collect` does not pay for importing them all."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CommitInfo:
    sha: str
    parents: tuple[str, ...]
    author_name: str
    author_email: str
    authored_at: int
    author_offset: int
    committed_at: int
    committer_offset: int
    subject: str
    issue_refs: tuple[str, ...] = ()
    is_merge: bool = False
    seq: int | None = None
    reachable: bool = True

    @property
    def short(self) -> str:
        return self.sha[:8]


@dataclass(frozen=True)
class RepositoryInfo:
    root: str
    name: str
    branch: str | None
    head: str | None
    last_collect_at: float | None
    commits: int = 0
    snapshots: int = 0  # of code and of test runs, stale ones included
    stale_snapshots: int = 0
    code_snapshots: int = 0  # current snapshots of the code: the commits measured
