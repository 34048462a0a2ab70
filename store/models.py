"""Core tables: repositories, commits, snapshots, metric values, findings, the facts cache, problems.

One database holds one repository's history (the default database lives in that repository's git
directory). Times are UTC epoch seconds plus the UTC offset git recorded, in seconds east of UTC.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel


class Meta(SQLModel, table=True):
    """Key/value facts about the database itself, e.g. `schema_version`."""

    __tablename__ = "meta"
    key: str = Field(primary_key=True)
    value: str


class Repository(SQLModel, table=True):
    __tablename__ = "repository"
    id: int | None = Field(default=None, primary_key=True)
    root: str = Field(unique=True)
    name: str
    branch: str | None = None
    last_collect_at: float | None = None
    head: str | None = None


class Commit(SQLModel, table=True):
    __tablename__ = "commit"
    __table_args__ = (
        UniqueConstraint("repository_id", "sha"),
        Index("ix_commit_seq", "repository_id", "seq"),
    )
    id: int | None = Field(default=None, primary_key=True)
    repository_id: int = Field(foreign_key="repository.id")
    sha: str = Field(index=True)
    parents: str = ""  # space-separated shas
    author_name: str = ""
    author_email: str = ""
    authored_at: int = 0
    author_offset: int = 0
    committed_at: int = Field(default=0, index=True)
    committer_offset: int = 0
    subject: str = ""
    issue_refs: str = ""  # space-separated, e.g. "#12 #40"
    is_merge: bool = False
    seq: int | None = None  # position on the branch's first-parent line, oldest = 0
    reachable: bool = True  # False once a rewrite dropped it from the branch (kept, never deleted)
    shallow: bool = False  # the shallow-clone boundary: history before it is not available


class Snapshot(SQLModel, table=True):
    """All metric values of one kind at one commit: `code` from the rules, `tests` from reports."""

    __tablename__ = "snapshot"
    __table_args__ = (UniqueConstraint("commit_id", "kind", "ruleset"),)
    id: int | None = Field(default=None, primary_key=True)
    commit_id: int = Field(foreign_key="commit.id", index=True)
    kind: str = "code"
    ruleset: str = ""
    created_at: float = 0.0
    stale: bool = False
    base: str | None = None  # the commit its finding changes are counted against (None: from empty)


class MetricValue(SQLModel, table=True):
    __tablename__ = "metric_value"
    __table_args__ = (Index("ix_metric_value_metric", "metric", "snapshot_id"),)
    snapshot_id: int = Field(foreign_key="snapshot.id", primary_key=True, ondelete="CASCADE")
    metric: str = Field(primary_key=True)
    value: float


class FindingChange(SQLModel, table=True):
    """A finding that a commit added (+1) or removed (-1): who moved a metric, down to the line."""

    __tablename__ = "finding_change"
    id: int | None = Field(default=None, primary_key=True)
    snapshot_id: int = Field(foreign_key="snapshot.id", index=True, ondelete="CASCADE")
    rule: str = Field(index=True)
    path: str
    line: int
    text: str = ""
    message: str = ""
    delta: int = 1


class CurrentFinding(SQLModel, table=True):
    """The findings of the newest snapshot on the branch (older snapshots keep only their changes)."""

    __tablename__ = "current_finding"
    __table_args__ = (Index("ix_current_finding_rule_path", "rule", "path"),)
    id: int | None = Field(default=None, primary_key=True)
    snapshot_id: int = Field(foreign_key="snapshot.id", index=True, ondelete="CASCADE")
    rule: str
    path: str
    line: int
    col: int = 0
    text: str = ""
    message: str = ""
    detail: str = ""


class BlobFacts(SQLModel, table=True):
    """What the rules extracted from one blob, so an unchanged file is never scanned twice."""

    __tablename__ = "blob_facts"
    engine_key: str = Field(primary_key=True)
    kind: str = Field(primary_key=True)
    blob: str = Field(primary_key=True)
    facts: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class Problem(SQLModel, table=True):
    """A recorded warning about bad input (a broken report, a file that does not parse...)."""

    __tablename__ = "problem"
    id: int | None = Field(default=None, primary_key=True)
    at: float
    source: str  # "report", "file", "config", "git"
    subject: str  # the file or object it is about
    message: str


class EvaluatorState(SQLModel, table=True):
    """The rule evaluator as it stood at one commit, so a collect starts from there instead of
    re-evaluating the whole tree. A cache: `format` names the code that wrote it; any other
    format is ignored and replaced."""

    __tablename__ = "evaluator_state"
    ruleset: str = Field(primary_key=True)
    sha: str
    format: str
    created_at: float = 0.0
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
