"""Snapshots: one transaction each, series queries, deltas, reader and writer at once under WAL."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

import store
from store.models import MetricValue, Snapshot


def _commit(i: int, *, seq: int | None = None, subject: str = "") -> store.CommitInfo:
    return store.CommitInfo(
        sha=f"{i:040x}",
        parents=(f"{i - 1:040x}",) if i else (),
        author_name="Ada",
        author_email="ada@example.com",
        authored_at=1_700_000_000 + i * 3600,
        author_offset=3600,
        committed_at=1_700_000_000 + i * 3600,
        committer_offset=3600,
        subject=subject or f"change {i}",
        seq=i if seq is None else seq,
    )


def _fill(engine, values: list[float], metric: str = "await_misuse") -> dict[str, int]:
    with store.write_session(engine) as s:
        rid = store.ensure_repository(s, root="/r", name="r", branch="main")
        ids = store.upsert_commits(
            s, repository_id=rid, commits=[_commit(i) for i in range(len(values))]
        )
        for i, v in enumerate(values):
            store.record_snapshot(s, commit_id=ids[f"{i:040x}"], metrics={metric: v}, ruleset="k")
    return ids


def test_series_are_ordered_and_filtered_by_time(engine):
    _fill(engine, [5, 7, 7, 3])
    with store.read_session(engine) as s:
        series = store.metric_series(s, metric="await_misuse")
        assert [p.value for p in series] == [5, 7, 7, 3]
        since = store.metric_series(s, metric="await_misuse", since=1_700_000_000 + 3600)
        assert [p.value for p in since] == [7, 7, 3]
        assert [p.value for p in store.metric_series(s, metric="await_misuse", limit=2)] == [7, 3]
        until = store.metric_series(s, metric="await_misuse", until=1_700_000_000 + 3600)
        assert [p.value for p in until] == [5, 7]


def test_metric_changes_name_the_commits_that_moved_it(engine):
    _fill(engine, [5, 7, 7, 3])
    with store.read_session(engine) as s:
        moved = store.metric_changes(s, metric="await_misuse")
        assert [(m.commit.subject, m.delta) for m in moved] == [
            ("change 3", -4),
            ("change 1", 2),
            ("change 0", 5),
        ]
        biggest = store.metric_changes(s, metric="await_misuse", by_size=True, limit=1)
        assert biggest[0].commit.subject == "change 0"


def test_a_failed_snapshot_write_leaves_nothing(engine):
    ids = _fill(engine, [1])
    with pytest.raises(RuntimeError), store.write_session(engine) as s:
        store.record_snapshot(s, commit_id=ids[f"{0:040x}"], metrics={"x": 1}, ruleset="other")
        raise RuntimeError("crash mid-snapshot")
    with store.read_session(engine) as s:
        assert s.execute(select(func.count()).select_from(Snapshot)).scalar_one() == 1
        assert s.execute(select(func.count()).select_from(MetricValue)).scalar_one() == 1


def test_rewriting_a_snapshot_replaces_it_and_other_rulesets_become_stale(engine):
    ids = _fill(engine, [1])
    cid = ids[f"{0:040x}"]
    with store.write_session(engine) as s:
        store.record_snapshot(s, commit_id=cid, metrics={"await_misuse": 9}, ruleset="new")
        store.record_snapshot(s, commit_id=cid, metrics={"await_misuse": 4}, ruleset="new")
    with store.read_session(engine) as s:
        assert [p.value for p in store.metric_series(s, metric="await_misuse")] == [4]
        assert store.repository_info(s).stale_snapshots == 1


def test_commit_detail_gives_every_metric_delta_and_finding_changes(engine):
    ids = _fill(engine, [2, 5])
    with store.write_session(engine) as s:
        store.record_snapshot(
            s,
            commit_id=ids[f"{1:040x}"],
            metrics={"await_misuse": 5, "deprecated_imports": 1},
            ruleset="k",
            changes=[store.ChangeInput("await_misuse", "a.py", 3, "await f()", "m", 1)],
        )
    with store.read_session(engine) as s:
        detail = store.commit_detail(s, sha=f"{1:040x}")
    deltas = {d.metric: (d.before, d.after) for d in detail.deltas}
    assert deltas == {"await_misuse": (2, 5), "deprecated_imports": (None, 1)}
    assert detail.changes[0].path == "a.py" and detail.changes[0].delta == 1


def test_find_commits_by_sha_prefix_and_subject_words(engine):
    with store.write_session(engine) as s:
        rid = store.ensure_repository(s, root="/r", name="r", branch="main")
        store.upsert_commits(
            s,
            repository_id=rid,
            commits=[_commit(1, subject="Make get_manager sync"), _commit(2, subject="Fix tests")],
        )
    with store.read_session(engine) as s:
        assert [c.subject for c in store.find_commits(s, query="manager sync")] == [
            "Make get_manager sync"
        ]
        assert [c.subject for c in store.find_commits(s, query=f"{2:040x}")] == ["Fix tests"]


def test_rewritten_branch_marks_dropped_commits_unreachable_but_keeps_them(engine):
    _fill(engine, [1, 2, 3])
    with store.write_session(engine) as s:
        dropped = store.sync_branch_line(s, repository_id=1, line=[f"{0:040x}", f"{1:040x}"])
    assert dropped == 1
    with store.read_session(engine) as s:
        assert [p.value for p in store.metric_series(s, metric="await_misuse")] == [1, 2]
        assert store.repository_info(s).commits == 3


def test_a_reader_sees_a_consistent_view_while_a_writer_commits(engine, db_path):
    _fill(engine, [1, 2])
    other = store.open_engine(db_path)
    started, release = threading.Event(), threading.Event()

    def writer():
        with store.write_session(other) as s:
            store.record_snapshot(s, commit_id=1, metrics={"await_misuse": 100}, ruleset="k2")
            started.set()
            release.wait(5)

    t = threading.Thread(target=writer)
    t.start()
    assert started.wait(5)
    with store.read_session(engine) as s:  # not blocked by the open write transaction
        assert [p.value for p in store.metric_series(s, metric="await_misuse")] == [1, 2]
    release.set()
    t.join()
    with store.read_session(engine) as s:
        assert [p.value for p in store.metric_series(s, metric="await_misuse")] == [100, 2]
    other.dispose()


def test_change_watcher_sees_commits_from_another_connection(engine, db_path):
    watcher = store.ChangeWatcher(engine)
    assert not watcher.changed()
    other = store.open_engine(db_path)
    _fill(other, [1])
    assert watcher.changed()
    assert not watcher.changed()
    watcher.close()
    other.dispose()
