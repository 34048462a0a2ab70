"""Messages the screens and widgets send up to the app: what the user picked or what changed."""

from __future__ import annotations

from textual.message import Message


class MetricSelected(Message):
    """Open the metric screen for `metric`."""

    def __init__(self, metric: str) -> None:
        super().__init__()
        self.metric = metric


class CommitSelected(Message):
    """Open the commit screen for `sha`."""

    def __init__(self, sha: str) -> None:
        super().__init__()
        self.sha = sha


class FindingsRequested(Message):
    """Open the findings screen for a rule, optionally at a file."""

    def __init__(self, rule: str | None, path: str | None = None) -> None:
        super().__init__()
        self.rule = rule
        self.path = path


class SnapshotsChanged(Message):
    """Another process wrote to the database: reload what is on screen, keeping the selection."""
