"""The history collector on real repositories: diff walk == full scan, attribution, resume, rewrites."""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

import store
from healthtui.collect import extraction
from healthtui.collect.gitrepo import GitRepo
from healthtui.collect.history import backfill, collect_commits, select_commits
from healthtui.collect.scanning import scan_revision
from healthtui.config import Config, RegexRule, RulesConfig
from healthtui.demo.builder import RepoBuilder
from healthtui.rules import RuleEngine
from healthtui.rules.engine import BUILTIN_RULES
from tests.dbdump import dump

CONFIG = Config(
    rules=RulesConfig(
        deprecated_modules=("app.legacy",),
        known_sync=("get_manager",),
        ssot_classes=("Manager",),
        regex=(RegexRule(id="todo", pattern=r"#\s*TODO"),),
    )
)

MANAGER_ASYNC = "async def get_manager():\n    return 1\n"
MANAGER_SYNC = "def get_manager():\n    return 1\n"


def handler(n: int, *, legacy: bool = True) -> str:
    lines = ["from app.manager import get_manager"]
    if legacy:
        lines.append("from app.legacy import thing")
    lines.append("")
    for i in range(n):
        lines += [f"async def handle_{i}():", "    m = await get_manager()", "    return m", ""]
    return "\n".join(lines) + "\n"


def build_history(path: Path) -> RepoBuilder:
    """A small migration: get_manager turns sync (every await becomes misuse), a spike, fixes."""
    b = RepoBuilder(path)
    b.commit(
        {
            "app/__init__.py": "",
            "app/legacy.py": "X = 1\n",
            "app/manager.py": MANAGER_ASYNC,
            "app/a.py": handler(2),
            "app/b.py": handler(1),
            "README.md": "# app\n",
        },
        message="Initial service",
    )
    b.commit({"app/manager.py": MANAGER_SYNC}, message="Make get_manager synchronous (#12)")
    b.commit(
        {"app/c.py": handler(3), "app/d.py": handler(2) + "# TODO: remove\n"},
        message="Add handlers",
        author=("Grace Hopper", "grace@example.com"),
    )
    b.create_branch("feature", b.tip())
    b.commit({"app/e.py": handler(1, legacy=False)}, message="feature work", branch="feature")
    b.commit({"app/a.py": handler(0)}, message="Fix awaits in a")
    b.commit({}, message="Merge feature", merge=["feature"])
    b.commit({"app/b.py": None, "app/f.py": "class Manager:\n    pass\n"}, message="Remove b")
    return b


@pytest.fixture
def history(tmp_path: Path) -> RepoBuilder:
    return build_history(tmp_path / "repo")


def _stored(engine, metric: str) -> dict[str, float]:
    with store.read_session(engine) as s:
        return {p.sha: p.value for p in store.metric_series(s, metric=metric)}


def test_diff_walk_agrees_with_a_full_scan_at_every_commit(history: RepoBuilder, engine):
    repo = GitRepo.open(history.path)
    result = backfill(repo, engine, CONFIG)
    line = repo.first_parent_line("main")
    assert result.written == len(line) == 6
    rules = RuleEngine(CONFIG.rules, CONFIG.suites)
    with store.read_session(engine) as s:
        metrics = store.metric_ids(s)
    assert {"await_misuse", "deprecated_imports", "todo"} <= set(metrics)
    for c in line:
        expected = scan_revision(repo, c.sha, rules).metrics
        for metric in metrics:
            assert _stored(engine, metric)[c.sha] == expected[metric], (c.subject, metric)


def test_diff_walk_agrees_with_a_full_scan_when_workers_extract(
    tmp_path: Path, engine, monkeypatch
):
    """Enough files that the start and the walk ahead are extracted by worker processes, side by
    side (small chunks: the read for the walk ahead is still under way when the start's begins),
    with blobs shared between the start and later commits."""
    monkeypatch.setattr(extraction, "CHUNK_ITEMS", 8)
    b = RepoBuilder(tmp_path / "many")
    files = {f"app/h{i}.py": f"# {i}\n" + handler(i % 3) for i in range(450)}
    with b.bulk():
        b.commit({"app/manager.py": MANAGER_ASYNC, "app/legacy.py": "", **files}, message="base")
        b.commit({"app/manager.py": MANAGER_SYNC}, message="sync")
        b.commit(
            {f"app/h{i}.py": f"# {i}\n" + handler(0, legacy=False) for i in range(450)},
            message="fix",
        )
        b.commit({f"app/h{i}.py": files[f"app/h{i + 1}.py"] for i in range(0, 40)}, message="back")
    repo = GitRepo.open(b.path)
    backfill(repo, engine, CONFIG)
    assert gc.isenabled()  # paused for the walk only
    rules = RuleEngine(CONFIG.rules, CONFIG.suites)
    for c in repo.first_parent_line("main"):
        expected = scan_revision(repo, c.sha, rules).metrics
        assert {m: _stored(engine, m)[c.sha] for m in expected} == expected, c.subject
    assert _stored(engine, "await_misuse")[b.tip()] > 0


def test_merges_count_on_the_first_parent_line_only(history: RepoBuilder, engine):
    repo = GitRepo.open(history.path)
    backfill(repo, engine, CONFIG)
    subjects = [c.subject for c in repo.first_parent_line("main")]
    assert "feature work" not in subjects
    with store.read_session(engine) as s:
        merge = next(c for c in store.recent_commits(s) if c.subject == "Merge feature")
        detail = store.commit_detail(s, sha=merge.sha)
    assert merge.is_merge
    added = [ch for ch in detail.changes if ch.rule == "await_misuse"]
    assert [(ch.path, ch.delta) for ch in added] == [("app/e.py", 1)]


def test_attribution_names_the_commits_that_added_and_removed_findings(history, engine):
    repo = GitRepo.open(history.path)
    backfill(repo, engine, CONFIG)
    series = _stored(engine, "await_misuse")
    assert list(series.values()) == [0, 3, 8, 6, 7, 6]
    with store.read_session(engine) as s:
        by_subject = {c.subject: c for c in store.recent_commits(s)}
        sync = store.commit_detail(s, sha=by_subject["Make get_manager synchronous (#12)"].sha)
        fix = store.commit_detail(s, sha=by_subject["Fix awaits in a"].sha)
        spike = store.commit_detail(s, sha=by_subject["Add handlers"].sha)
    # turning the def sync made existing awaits in other files misuse: attributed to that commit
    assert sorted((c.path, c.delta) for c in sync.changes if c.rule == "await_misuse") == [
        ("app/a.py", 1),
        ("app/a.py", 1),
        ("app/b.py", 1),
    ]
    assert sync.commit.issue_refs == ("#12",)
    assert {(c.path, c.delta) for c in fix.changes if c.rule == "await_misuse"} == {
        ("app/a.py", -1)
    }
    assert sum(c.delta for c in spike.changes if c.rule == "await_misuse") == 5
    assert all(
        c.text == "m = await get_manager()" for c in spike.changes if c.rule == "await_misuse"
    )
    assert {d.metric: d.delta for d in spike.deltas}["await_misuse"] == 5


def test_rerun_is_a_no_op_and_collect_picks_up_only_new_commits(history, engine):
    repo = GitRepo.open(history.path)
    backfill(repo, engine, CONFIG)
    again = backfill(repo, engine, CONFIG)
    assert again.written == 0
    assert collect_commits(repo, engine, CONFIG).written == 0
    history.commit({"app/g.py": handler(2)}, message="More handlers")
    history.commit({"app/g.py": handler(1)}, message="Fewer handlers")
    result = collect_commits(repo, engine, CONFIG)
    assert result.written == 2
    assert list(_stored(engine, "await_misuse").values())[-2:] == [8, 7]
    assert collect_commits(repo, engine, CONFIG).written == 0
    with store.read_session(engine) as s:
        current = store.current_findings(s, rule="await_misuse")
    assert len(current) == 7 and {f.path for f in current} == {
        "app/c.py",
        "app/d.py",
        "app/e.py",
        "app/g.py",
    }


def test_collect_on_an_empty_database_snapshots_the_tip_and_says_so(history, engine):
    result = collect_commits(GitRepo.open(history.path), engine, CONFIG)
    assert result.written == 1
    assert any("healthtui backfill" in note for note in result.notes)


def test_rewritten_history_keeps_old_snapshots_marked_unreachable(history, engine):
    repo = GitRepo.open(history.path)
    backfill(repo, engine, CONFIG)
    line = repo.first_parent_line("main")
    history.reset_branch("main", line[2].sha)
    history.commit({"app/h.py": handler(4)}, message="Rewritten future")
    result = collect_commits(repo, engine, CONFIG)
    assert result.unreachable == 3
    assert result.written == 1
    with store.read_session(engine) as s:
        info = store.repository_info(s)
        assert info.commits == 7  # six old first-parent commits kept, one new
        values = [p.value for p in store.metric_series(s, metric="await_misuse")]
    assert values == [0, 3, 8, 12]


def _line(times: list[int], offset: int, subjects: list[str]) -> list[store.CommitInfo]:
    """A first-parent line of commits made at `times` (epoch) in UTC offset `offset` (s)."""
    return [
        store.CommitInfo(
            sha=f"{i:040x}",
            parents=(),
            author_name="a",
            author_email="a",
            authored_at=0,
            author_offset=0,
            committed_at=at,
            committer_offset=offset,
            subject=subject,
            seq=i,
        )
        for i, (at, subject) in enumerate(zip(times, subjects, strict=True))
    ]


def test_every_and_dates_select_commits_in_their_own_offset():
    start = int(datetime(2026, 3, 1, 20, 0, tzinfo=timezone(timedelta(hours=-8))).timestamp())
    line = _line([start + i * 3 * 3600 for i in range(6)], -8 * 3600, [str(i) for i in range(6)])
    # 20:00, 23:00 on 1 March local; 02:00, 05:00, 08:00, 11:00 on 2 March local (UTC is 8 h later)
    assert [c.subject for c in select_commits(line, since="2026-03-02")] == ["2", "3", "4", "5"]
    assert [c.subject for c in select_commits(line, until="2026-03-01")] == ["0", "1"]
    assert [c.subject for c in select_commits(line, daily=True)] == ["1", "5"]
    assert [c.subject for c in select_commits(line, every=4)] == ["0", "4", "5"]
    # an aware bound compares instants: commit 2 is 10:00 UTC, commit 3 13:00 UTC
    aware = select_commits(line, since=datetime(2026, 3, 2, 12, 0, tzinfo=UTC).isoformat())
    assert [c.subject for c in aware] == ["3", "4", "5"]


def test_since_and_until_take_a_span_back_from_now():
    now, days = int(time.time()), (400, 100, 20, 2)
    line = _line([now - d * 86400 for d in days], 3600, [str(d) for d in days])
    assert [c.subject for c in select_commits(line, since="1y")] == ["100", "20", "2"]
    assert [c.subject for c in select_commits(line, since="4w")] == ["20", "2"]
    assert [c.subject for c in select_commits(line, since="90d", until="3d")] == ["20"]
    assert [c.subject for c in select_commits(line, since="200d", until="3d")] == ["100", "20"]


def test_a_sparse_backfill_then_a_full_one_does_not_double_count(history, engine):
    repo = GitRepo.open(history.path)
    backfill(repo, engine, CONFIG, every=3)
    backfill(repo, engine, CONFIG)
    with store.read_session(engine) as s:
        totals = {}
        for c in store.recent_commits(s):
            detail = store.commit_detail(s, sha=c.sha)
            if detail:
                totals[c.subject] = sum(
                    ch.delta for ch in detail.changes if ch.rule == "await_misuse"
                )
    assert sum(totals.values()) == 6  # the final count, each site attributed exactly once


def test_bare_repository_and_mirror(history, tmp_path: Path, engine):
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--mirror", str(history.path), str(bare)], check=True)
    repo = GitRepo.open(bare)
    assert repo.bare
    assert backfill(repo, engine, CONFIG).written == 6
    assert list(_stored(engine, "await_misuse").values()) == [0, 3, 8, 6, 7, 6]


def test_shallow_clone_stops_at_the_boundary_with_a_note(history, tmp_path: Path, engine):
    shallow = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "2", f"file://{history.path}", str(shallow)], check=True
    )
    result = backfill(GitRepo.open(shallow), engine, CONFIG)
    assert result.written == 2
    assert any("shallow" in n for n in result.notes)


def test_one_commit_repository_and_odd_paths(tmp_path: Path, engine):
    b = RepoBuilder(tmp_path / "one")
    odd = "pkg/we\u0301ird name/mod.py".encode() + b"\xff.py"
    b.commit({"app/manager.py": MANAGER_SYNC, odd: handler(2), "app/legacy.py": ""}, message="only")
    repo = GitRepo.open(b.path)
    assert backfill(repo, engine, CONFIG).written == 1
    with store.read_session(engine) as s:
        paths = {f.path for f in store.current_findings(s, rule="await_misuse")}
    # bytes that are not UTF-8 are stored escaped, so they display instead of breaking the store
    assert paths == {"pkg/we\u0301ird name/mod.py\\xff.py"}


def test_a_config_change_recomputes_reusing_the_facts_cache(history, engine):
    repo = GitRepo.open(history.path)
    backfill(repo, engine, CONFIG)
    changed = replace(CONFIG, rules=replace(CONFIG.rules, known_sync=("get_manager", "other")))
    result = backfill(repo, engine, changed)
    assert result.written == 6
    with store.read_session(engine) as s:
        assert store.repository_info(s).stale_snapshots == 6
    assert list(_stored(engine, "await_misuse").values()) == [0, 3, 8, 6, 7, 6]


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "healthtui", *args]


def test_killed_backfill_resumes_to_exactly_the_uninterrupted_result(tmp_path: Path):
    b = RepoBuilder(tmp_path / "big")
    with b.bulk():
        b.commit({"app/manager.py": MANAGER_SYNC, "app/legacy.py": ""}, message="base")
        for i in range(60):
            b.commit({f"app/m{i % 7}.py": handler(i % 5)}, message=f"step {i}")
    clean, killed = tmp_path / "clean.db", tmp_path / "killed.db"
    cfg = tmp_path / "healthtui.toml"
    cfg.write_text('[rules]\nknown_sync = ["get_manager"]\ndeprecated_modules = ["app.legacy"]\n')
    base = ["--repo", str(b.path), "--config", str(cfg)]
    subprocess.run(_cli(*base, "--db", str(clean), "backfill"), check=True, capture_output=True)
    proc = subprocess.Popen(_cli(*base, "--db", str(killed), "backfill"), stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            con = sqlite3.connect(killed, timeout=1)
            n = con.execute("SELECT count(*) FROM snapshot").fetchone()[0]
            con.close()
        except sqlite3.Error:
            n = 0
        if n >= 3 or proc.poll() is not None:
            break
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    out = subprocess.run(
        _cli(*base, "--db", str(killed), "backfill"), capture_output=True, text=True, check=True
    )
    assert "snapshots written" in out.stdout
    assert dump(killed) == dump(clean)


def _children(pid: int) -> set[int]:
    out: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):  # the thread ended meanwhile
            out.update(int(c) for c in task.read_text().split())
    return out


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc")
def test_a_killed_backfill_leaves_no_process_behind_holding_its_lock(tmp_path: Path):
    b = RepoBuilder(tmp_path / "big")
    with b.bulk():
        b.commit({f"app/m{i}.py": handler(i % 5) for i in range(400)}, message="base")
        for i in range(40):
            b.commit({f"app/m{i}.py": handler(i % 4)}, message=f"step {i}")
    db = tmp_path / "killed.db"
    args = _cli("--repo", str(b.path), "--db", str(db), "backfill")
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen: set[int] = set()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and proc.poll() is None:
        python = {c for c in _children(proc.pid) if b"python" in _cmdline(c)}
        seen |= python
        if len(python) >= 2:
            break
        time.sleep(0.002)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert len(seen) >= 2, "the backfill never started its worker processes"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_alive(p) for p in seen):
        time.sleep(0.05)
    assert not any(_alive(p) for p in seen)
    out = subprocess.run(args, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "snapshots written" in out.stdout


def test_a_second_collect_while_one_runs_exits_0_and_says_so(history, tmp_path: Path):
    from filelock import FileLock

    db = tmp_path / "c.db"
    store.open_engine(db).dispose()
    with FileLock(str(db) + ".lock"):
        out = subprocess.run(
            _cli("--repo", str(history.path), "--db", str(db), "collect"),
            capture_output=True,
            text=True,
        )
        assert out.returncode == 0
        assert "another healthtui backfill or collect is running" in out.stderr
        quiet = subprocess.run(
            _cli("--repo", str(history.path), "--db", str(db), "collect", "--quiet"),
            capture_output=True,
            text=True,
        )
        assert quiet.returncode == 0 and quiet.stdout == quiet.stderr == ""
        busy = subprocess.run(
            _cli("--repo", str(history.path), "--db", str(db), "backfill"),
            capture_output=True,
            text=True,
        )
        assert busy.returncode == 2 and "another healthtui" in busy.stderr


def test_overlapping_collects_never_double_count(history, tmp_path: Path):
    db = tmp_path / "o.db"
    args = _cli("--repo", str(history.path), "--db", str(db), "collect", "--quiet")
    subprocess.run(
        _cli("--repo", str(history.path), "--db", str(db), "backfill"),
        check=True,
        capture_output=True,
    )
    history.commit({"app/z.py": handler(3)}, message="new work")
    procs = [subprocess.Popen(args) for _ in range(3)]
    assert [p.wait() for p in procs] == [0, 0, 0]
    reference = tmp_path / "r.db"
    subprocess.run(
        _cli("--repo", str(history.path), "--db", str(reference), "backfill"),
        check=True,
        capture_output=True,
    )
    assert dump(db) == dump(reference)


REGEX_ONLY = Config(
    rules=RulesConfig(
        disable=tuple(BUILTIN_RULES),
        max_file_size=400,
        regex=(
            RegexRule(id="todo", pattern=r"#\s*TODO"),
            RegexRule(id="prints", pattern=r"^\s*print\(", include=("app/**",)),
        ),
    )
)


def test_a_regex_only_walk_reads_just_the_files_git_grep_picks_and_agrees_with_a_scan(
    tmp_path: Path, engine
):
    b = RepoBuilder(tmp_path / "repo")
    b.commit(
        {
            "app/a.py": "x = 1  # TODO: go\nprint('hi')\n",
            "app/b.py": "# TODOS are not findings? they are: TODO\n",
            "app/near.py": "y = 'TODO'  # the text, but no comment before it\n",
            "app/big.py": "# TODO\n" + "z = 1\n" * 100,  # over the size cap: skipped
            "app/blob.py": b"\x00\x01# TODO in a binary file\n",
            "tools/p.py": "print('not under app/')\n",
            "README.md": "no python here # TODO\n",
        },
        message="start",
    )
    b.commit({"app/a.py": "x = 1\n", "app/c.py": "   print(1)  # TODO\n"}, message="move")
    b.commit({"app/big.py": None, "app/near.py": "# TODO now\n"}, message="more")
    repo = GitRepo.open(b.path)
    assert repo.files_containing("HEAD~2", [b"TODO"]) >= {"app/a.py", "app/near.py"}
    assert repo.files_containing("HEAD~2", [b"no such text"]) == set()
    backfill(repo, engine, REGEX_ONLY)
    rules = RuleEngine(REGEX_ONLY.rules, REGEX_ONLY.suites)
    assert rules.regex_needles() is not None  # the git grep path is the one under test
    with store.read_session(engine) as s:
        metrics = store.metric_ids(s)
    assert {"todo", "prints", "skipped_files"} <= set(metrics)
    for c in repo.first_parent_line("main"):
        expected = scan_revision(repo, c.sha, rules).metrics
        assert {m: _stored(engine, m)[c.sha] for m in expected} == expected, c.subject
    assert list(_stored(engine, "skipped_files").values()) == [1, 1, 0]
    assert list(_stored(engine, "todo").values()) == [2, 2, 3]
    assert list(_stored(engine, "prints").values()) == [1, 1, 1]


def test_collect_recomputing_older_commits_keeps_the_tips_current_findings(history, engine):
    """After a config change, a backfill of the latest days makes the tip current; a collect
    that then recomputes the older commits must not replace the tip's findings with theirs."""
    repo = GitRepo.open(history.path)
    backfill(repo, engine, CONFIG)
    changed = replace(CONFIG, rules=replace(CONFIG.rules, known_sync=("get_manager", "other")))
    tip = history.tip()
    line = subprocess.run(
        ["git", "log", "--first-parent", "--format=%H %aI", "-2"],
        cwd=history.path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert backfill(repo, engine, changed, since=line[3]).written == 2
    with store.read_session(engine) as s:
        assert store.exports.current_findings_commit(s) == tip
    assert collect_commits(repo, engine, changed).written == 4
    with store.read_session(engine) as s:
        assert store.exports.current_findings_commit(s) == tip
        current = store.current_findings(s, rule="await_misuse")
    assert {f.path for f in current} == {"app/c.py", "app/d.py", "app/e.py"}


def _chain_problems(engine, repo: GitRepo, rules: RuleEngine) -> list[str]:
    """What breaks the stored chain: each snapshot on the line is based on the stored one before
    it (the first on its parent), and its finding changes add up to exactly the value moved."""
    line = repo.first_parent_line("main")
    con = sqlite3.connect(engine.url.database)
    try:
        stored = dict(
            con.execute(
                'SELECT c.sha, s.base FROM snapshot s JOIN "commit" c ON c.id = s.commit_id'
                " WHERE s.kind = 'code' AND s.stale = 0"
            ).fetchall()
        )
        deltas = dict(
            con.execute(
                "SELECT c.sha, sum(f.delta) FROM finding_change f JOIN snapshot s ON s.id = "
                'f.snapshot_id JOIN "commit" c ON c.id = s.commit_id WHERE f.rule = ? '
                "AND s.stale = 0 GROUP BY c.sha",
                ("await_misuse",),
            ).fetchall()
        )
    finally:
        con.close()
    chain = [c for c in line if c.sha in stored]
    problems = []
    for i, c in enumerate(chain):
        seq = c.seq or 0
        want = chain[i - 1].sha if i else (line[seq - 1].sha if seq else None)
        if stored[c.sha] != want:
            problems.append(f"{c.subject}: based on {stored[c.sha]}, not {want}")
    if chain:
        first = chain[0].seq or 0
        start = scan_revision(repo, line[first - 1].sha, rules).metrics if first else {}
        moved = _stored(engine, "await_misuse")[chain[-1].sha] - start.get("await_misuse", 0)
        if sum(deltas.values()) != moved:
            problems.append(f"changes add up to {sum(deltas.values())}, the value moved {moved}")
    return problems


@pytest.mark.parametrize(
    "runs",
    [
        [{}, {"every": 2}],
        [{}, {"daily": True}, {"every": 3}],
        [{"every": 2}, {"every": 3}, {}],
        [{"every": 3}, {"since": "LATE"}, {"every": 2}],
    ],
    ids=[
        "full-then-every-2",
        "full-daily-every-3",
        "every-2-every-3-full",
        "every-3-since-every-2",
    ],
)
def test_backfills_of_any_grain_in_any_order_keep_one_chain_of_changes(history, engine, runs):
    """A coarser backfill after a finer one rewrites nothing; each commit's changes are counted
    against the stored commit before it, so no change is ever attributed twice."""
    repo = GitRepo.open(history.path)
    rules = RuleEngine(CONFIG.rules, CONFIG.suites)
    late = repo.first_parent_line("main")[3]
    for i, options in enumerate(runs):
        if options.get("since") == "LATE":
            options = {"since": datetime.fromtimestamp(late.committed_at, UTC).isoformat()}
        result = backfill(repo, engine, CONFIG, **options)
        assert _chain_problems(engine, repo, rules) == [], (i, options)
        if i and not options.get("since") and runs[0] == {}:
            assert result.written == 0, (i, options)
