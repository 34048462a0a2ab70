"""`--since`: last (recorded exports, else 24 h), revisions, dates and spans."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

import store
from healthtui.collect.gitrepo import GitRepo
from healthtui.config import Config
from healthtui.demo.builder import RepoBuilder
from healthtui.errors import HealthError
from healthtui.export import load_summary, run_export
from store.exports import last_export

DAY = 86_400


def _doc(engine, **kw) -> dict:
    return json.loads(run_export(engine=engine, config=Config(), fmt="json", **kw))


def _metric(doc: dict, metric: str) -> dict:
    return next(m for m in doc["metrics"] if m["id"] == metric)


def test_first_export_looks_back_24_hours_then_each_export_starts_at_the_last(engine, history):
    db, Commit = history, history.Commit
    db.add([Commit(code={"await_misuse": v}) for v in (10, 9, 8)])
    now = db.times[-1] + 3600

    first = _doc(engine, now=now)
    assert first["since"]["kind"] == "default"
    assert first["since"]["at"] == datetime.fromtimestamp(now - DAY, UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    # 24 h back holds the commit before the tip
    assert _metric(first, "await_misuse")["delta"] == -1
    with store.read_session(engine) as s:
        rec = last_export(s)
    assert rec is not None
    assert (rec.at, rec.format, rec.head, rec.since) == (now, "json", db.shas[-1], "last")

    # nothing changed since: delta 0 against the recorded head
    again = _doc(engine, now=now + 60)
    assert again["since"]["kind"] == "export"
    assert again["since"]["commit"] == db.shas[-1]
    assert _metric(again, "await_misuse")["delta"] == 0
    assert again["moves"] == []

    # two more commits land; the next export measures from the last export's head
    db.add([Commit(code={"await_misuse": 12}), Commit(code={"await_misuse": 11})])
    third = _doc(engine, now=db.times[-1] + 60)
    m = _metric(third, "await_misuse")
    assert m["baseline"]["commit"] == db.shas[2]
    assert (m["baseline"]["value"], m["current"]["value"], m["delta"]) == (8, 11, 3)
    assert m["regressed"] is True
    assert [(mv["commit"]["sha"], mv["delta"]) for mv in third["moves"]] == [
        (db.shas[3], 4),
        (db.shas[4], -1),
    ]


def test_unrecorded_export_leaves_the_bookkeeping_alone(engine, history):
    db, Commit = history, history.Commit
    db.add([Commit(code={"await_misuse": 3})])
    run_export(engine=engine, config=Config(), now=db.times[-1], record=False)
    with store.read_session(engine) as s:
        assert last_export(s) is None
    run_export(engine=engine, config=Config(), fmt="txt", since="2d", now=db.times[-1] + 5)
    with store.read_session(engine) as s:
        rec = last_export(s)
    assert rec is not None and rec.format == "txt" and rec.since == "2d"


@pytest.mark.parametrize(
    ("spec", "back"),
    [("24h", DAY), ("3d", 3 * DAY), ("2w", 14 * DAY), ("90m", 90 * 60)],
)
def test_spans_count_back_from_now(engine, history, spec, back):
    db, Commit = history, history.Commit
    db.add([Commit(code={"await_misuse": 1})])
    now = db.times[-1] + 1000
    summary = load_summary(engine=engine, config=Config(), since=spec, now=now)
    assert summary.since.kind == "duration"
    assert summary.since.at == now - back


def test_dates_are_utc_unless_an_offset_is_given(engine, history):
    db, Commit = history, history.Commit
    db.add([Commit(code={"await_misuse": v}) for v in (5, 4, 3, 2)])
    cases = {
        "2026-09-22": datetime(2026, 9, 22, tzinfo=UTC),
        "2026-09-22T09:30": datetime(2026, 9, 22, 9, 30, tzinfo=UTC),
        "2026-09-22T09:30+02:00": datetime(2026, 9, 22, 7, 30, tzinfo=UTC),
    }
    for spec, when in cases.items():
        summary = load_summary(engine=engine, config=Config(), since=spec, now=db.times[-1])
        assert summary.since.kind == "date"
        assert summary.since.at == int(when.timestamp())
    # commits are at 2026-09-21 14:13 + n days: on 2026-09-23 00:00 the newest is the second
    s = load_summary(engine=engine, config=Config(), since="2026-09-23", now=db.times[-1])
    m = s.metric("await_misuse")
    assert m.baseline is not None and m.baseline.sha == db.shas[1]
    assert m.delta == -2


def test_bad_since_is_a_one_line_error(engine, history):
    db, Commit = history, history.Commit
    db.add([Commit(code={"await_misuse": 1})])
    far = ("99999999999d", "9" * 25 + "w", "9999-12-31T23:59-05:00", "0001-01-01T00:00+05:00")
    for bad in ("yesterday-ish", "2026-13-45", "", *far):
        with pytest.raises(HealthError) as info:
            run_export(engine=engine, config=Config(), since=bad, now=db.times[-1])
        assert "\n" not in str(info.value)
        assert "--since" in str(info.value)
    with store.read_session(engine) as s:
        assert last_export(s) is None  # a failed export is not recorded


def test_since_a_stored_commit_prefix_without_a_repository(engine, history):
    db, Commit = history, history.Commit
    db.add([Commit(code={"await_misuse": v}) for v in (7, 5, 6, 2)])
    s = load_summary(engine=engine, config=Config(), since=db.shas[1][:10], now=db.times[-1])
    assert s.since.kind == "revision"
    assert s.since.commit == db.shas[1]
    m = s.metric("await_misuse")
    assert (m.baseline.value, m.current.value, m.delta) == (5, 2, -3)


def test_since_a_tag_or_branch_of_a_real_repository(tmp_path, engine):
    builder = RepoBuilder(tmp_path / "repo")
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    shas = [
        builder.commit(
            {"app.py": f"x = {i}\n"}, message=f"step {i}", when=start + timedelta(days=i)
        )
        for i in range(5)
    ]
    subprocess.run(
        ["git", "-C", str(tmp_path / "repo"), "tag", "v1", shas[1]], check=True, capture_output=True
    )
    builder.create_branch("old", shas[2])
    repo = GitRepo.open(tmp_path / "repo")
    line = repo.first_parent_line("main")
    with store.write_session(engine) as s:
        rid = store.ensure_repository(s, root=str(repo.root), name=repo.name, branch="main")
        ids = store.upsert_commits(s, repository_id=rid, commits=line)
        for i, c in enumerate(line):
            store.record_snapshot(s, commit_id=ids[c.sha], metrics={"await_misuse": 20 - 3 * i})
        store.touch_collect(s, repository_id=rid, head=line[-1].sha, at=0)

    for spec, base in (("v1", shas[1]), ("old", shas[2]), ("HEAD~1", shas[3])):
        s = load_summary(engine=engine, config=Config(), since=spec, repo=repo, now=2e9)
        assert s.since.commit == base
        assert s.metric("await_misuse").baseline.sha == base
    s = load_summary(engine=engine, config=Config(), since="v1", repo=repo, now=2e9)
    assert s.metric("await_misuse").delta == -9
    assert s.since.label == f"v1 ({shas[1][:8]})"
    with pytest.raises(HealthError, match="no-such-ref"):
        load_summary(engine=engine, config=Config(), since="no-such-ref", repo=repo, now=2e9)
    repo.close()
