"""The healthtui store: SQLModel tables on SQLite and the only code that writes SQL.

Public functions are keyword-only after the session and return frozen read models. Names load on
first use, so a collector that only needs `store.db` and `store.collector` never imports
SQLAlchemy.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOME = {
    "ChangeInput": "store.collector",
    "FindingInput": "store.collector",
    "commit_ids": "store.commits",
    "commits_by_sha": "store.commits",
    "ensure_repository": "store.commits",
    "find_commits": "store.commits",
    "get_commit": "store.commits",
    "last_snapshotted_on_line": "store.commits",
    "recent_commits": "store.commits",
    "repository_info": "store.commits",
    "snapshotted_shas": "store.commits",
    "sync_branch_line": "store.commits",
    "touch_collect": "store.commits",
    "tracked_shas": "store.commits",
    "upsert_commits": "store.commits",
    "Database": "store.db",
    "SCHEMA_VERSION": "store.db",
    "ChangeWatcher": "store.engine",
    "open_engine": "store.engine",
    "read_session": "store.engine",
    "translate_errors": "store.engine",
    "write_session": "store.engine",
    "StoreError": "store.errors",
    "cached_fact_keys": "store.findings",
    "cached_facts": "store.findings",
    "current_findings": "store.findings",
    "finding_changes": "store.findings",
    "finding_files": "store.findings",
    "finding_paths": "store.findings",
    "recent_problems": "store.findings",
    "record_problem": "store.findings",
    "store_facts": "store.findings",
    "CommitDetail": "store.readmodels",
    "CommitInfo": "store.readmodels",
    "FileCount": "store.readmodels",
    "FindingChangeRow": "store.readmodels",
    "FindingRow": "store.readmodels",
    "MetricDelta": "store.readmodels",
    "Point": "store.readmodels",
    "ProblemRow": "store.readmodels",
    "RepositoryInfo": "store.readmodels",
    "SnapshotRef": "store.readmodels",
    "commit_detail": "store.snapshots",
    "latest_point": "store.snapshots",
    "latest_points": "store.snapshots",
    "mark_stale": "store.snapshots",
    "metric_changes": "store.snapshots",
    "metric_ids": "store.snapshots",
    "metric_series": "store.snapshots",
    "record_snapshot": "store.snapshots",
    "replace_current_findings": "store.snapshots",
    "snapshot_kinds": "store.snapshots",
    "snapshot_refs": "store.snapshots",
    "snapshot_values": "store.snapshots",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        try:  # a submodule reached as an attribute, e.g. `store.testruns`
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME))


__all__ = sorted(_HOME)
