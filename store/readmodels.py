"""Frozen read models: what store queries hand to the TUI and export (never live ORM rows)."""

from __future__ import annotations

from dataclasses import dataclass, field

from store.records import CommitInfo, RepositoryInfo


@dataclass(frozen=True, slots=True)
class Point:
    """One value of a metric at one commit."""

    sha: str
    seq: int | None
    at: int  # committer time, UTC epoch seconds
    value: float


@dataclass(frozen=True, slots=True)
class SnapshotRef:
    """One current snapshot: its kind and the commit it describes (to pick a few and read them)."""

    id: int
    kind: str
    sha: str
    seq: int | None
    at: int  # committer time, UTC epoch seconds


@dataclass(frozen=True, slots=True)
class MetricDelta:
    """How much one commit moved one metric (against the previous point of the series)."""

    metric: str
    commit: CommitInfo
    before: float | None
    after: float

    @property
    def delta(self) -> float:
        return self.after - (self.before or 0.0)


@dataclass(frozen=True, slots=True)
class FindingRow:
    rule: str
    path: str
    line: int
    col: int
    text: str
    message: str = ""
    detail: str = ""


@dataclass(frozen=True, slots=True)
class FindingChangeRow:
    rule: str
    path: str
    line: int
    text: str
    message: str
    delta: int  # +1 added, -1 removed


@dataclass(frozen=True, slots=True)
class FileCount:
    path: str
    count: int


@dataclass(frozen=True)
class CommitDetail:
    commit: CommitInfo
    deltas: tuple[MetricDelta, ...]
    changes: tuple[FindingChangeRow, ...]


@dataclass(frozen=True, slots=True)
class ProblemRow:
    at: float
    source: str
    subject: str
    message: str


@dataclass(frozen=True)
class Overview:
    """Everything the overview screen needs in one read."""

    repository: RepositoryInfo | None
    latest: dict[str, Point] = field(default_factory=dict)
