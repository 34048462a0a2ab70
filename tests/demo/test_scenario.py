"""The demo history has the shape the story promises, seen through the real rules and collector.

The default demo (with its pytest reports) is built once for the module and backfilled once;
each test reads the metric series or scans one revision.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest

import store
from healthtui.collect.gitrepo import GitRepo
from healthtui.collect.history import backfill
from healthtui.collect.scanning import scan_revision
from healthtui.config import config_from_text, load_config
from healthtui.demo import Demo, build_demo
from healthtui.demo.scenario import MIN_COMMITS
from healthtui.demo.sources import HEALTHTUI_TOML
from healthtui.rules import Evaluation, RuleEngine

END = datetime(2026, 3, 4, 16, 45, tzinfo=UTC)
COMMITS = 60


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    return build_demo(tmp_path_factory.mktemp("demo"), end=END)


@pytest.fixture(scope="module")
def repo(demo: Demo) -> GitRepo:
    return GitRepo.open(demo.repo)


@pytest.fixture(scope="module")
def rules(demo: Demo) -> RuleEngine:
    config = load_config(demo.repo)
    return RuleEngine(config.rules, config.suites)


@pytest.fixture(scope="module")
def series(demo: Demo, repo: GitRepo, tmp_path_factory: pytest.TempPathFactory):
    """metric id -> its values along main's first-parent line, oldest first (from a backfill)."""
    engine = store.open_engine(tmp_path_factory.mktemp("db") / "demo.db")
    result = backfill(repo, engine, load_config(demo.repo))
    assert result.written == COMMITS
    cache: dict[str, list[float]] = {}

    def values(metric: str) -> list[float]:
        if metric not in cache:
            with store.read_session(engine) as session:
                points = {p.sha: p.value for p in store.metric_series(session, metric=metric)}
            cache[metric] = [points[sha] for sha in demo.commits]
        return cache[metric]

    yield values
    engine.dispose()


@pytest.fixture(scope="module")
def subjects(demo: Demo) -> list[str]:
    return [git(demo.repo, "log", "-1", "--format=%s", sha).strip() for sha in demo.commits]


def scan(repo: GitRepo, rules: RuleEngine, rev: str) -> Evaluation:
    return scan_revision(repo, rev, rules)


def findings(evaluation: Evaluation, rule: str) -> list:
    return [f for fs in evaluation.findings.values() for f in fs if f.rule == rule]


def steps(values: list[float]) -> list[float]:
    return [b - a for a, b in pairwise(values)]


def index_of(subjects: list[str], prefix: str) -> int:
    return next(i for i, s in enumerate(subjects) if s.startswith(prefix))


# --- the git history ------------------------------------------------------------------------


def test_first_parent_line_has_merges_of_real_branches(demo: Demo):
    line = git(demo.repo, "rev-list", "--first-parent", "--reverse", "main").split()
    assert tuple(line) == demo.commits and len(line) == COMMITS
    merges = [
        sha for sha in line if len(git(demo.repo, "rev-list", "--parents", "-n1", sha).split()) == 3
    ]
    assert len(merges) >= 3
    on_line = set(line)
    for merge in merges:
        second = git(demo.repo, "rev-parse", f"{merge}^2").strip()
        assert second not in on_line
        assert git(demo.repo, "log", "-1", "--format=%s", merge).startswith("Merge ")
        # the merge brings the branch's files: its first-parent diff is not empty
        assert git(demo.repo, "diff-tree", "-r", "--name-only", f"{merge}^1", merge).strip()
    assert int(git(demo.repo, "rev-list", "--count", "main")) > COMMITS


def test_authors_and_dates_span_weeks_and_end_just_before_end(demo: Demo):
    log = git(demo.repo, "log", "--first-parent", "--reverse", "--format=%an|%ai|%ct")
    rows = [line.split("|") for line in log.splitlines()]
    assert len({name for name, _, _ in rows}) >= 4
    assert len({date.rsplit(" ", 1)[1] for _, date, _ in rows}) >= 3  # several UTC offsets
    times = [int(ct) for _, _, ct in rows]
    assert times == sorted(times) and len(set(times)) == len(times)
    first, last = (datetime.fromtimestamp(t, UTC) for t in (times[0], times[-1]))
    assert last - first >= timedelta(weeks=5)
    assert END - timedelta(hours=11) <= last <= END - timedelta(minutes=20)
    every = [int(t) for t in git(demo.repo, "log", "--all", "--format=%ct").split()]
    assert max(every) <= END.timestamp()
    assert sum(1 for t in times if END.timestamp() - t <= 7 * 86400) >= 5  # a busy last week


def test_history_ends_near_now_unless_an_end_is_given(tmp_path: Path):
    before = datetime.now(UTC)
    built = build_demo(tmp_path, commits=MIN_COMMITS, files=0, reports=False)
    last = datetime.fromtimestamp(int(git(built.repo, "log", "-1", "--format=%ct")), UTC)
    assert before - timedelta(hours=11) <= last <= before


def test_fixed_end_and_seed_give_the_same_history(tmp_path: Path):
    def make(name: str, **options) -> tuple[str, ...]:
        args = {"commits": 12, "files": 30, "reports": False, "end": END} | options
        return build_demo(tmp_path / name, **args).commits

    first = make("a")
    assert make("b") == first
    assert make("c", seed=1) != first
    assert make("d", files=31) != first
    assert make("e", end=END + timedelta(days=1)) != first


def test_arguments_are_checked(tmp_path: Path):
    with pytest.raises(ValueError, match="at least"):
        build_demo(tmp_path / "x", commits=MIN_COMMITS - 1)
    build_demo(tmp_path / "y", commits=MIN_COMMITS, files=0, reports=False, end=END)
    with pytest.raises(FileExistsError):
        build_demo(tmp_path / "y", commits=MIN_COMMITS, files=0, reports=False, end=END)


def test_demo_config_declares_the_migration(demo: Demo):
    config = load_config(demo.repo)
    assert config.rules.deprecated_modules == ("acme_service.legacy.websocket_core",)
    assert "get_manager" in config.rules.known_sync
    assert "WebSocketManager" in config.rules.ssot_classes
    assert [r.id for r in config.rules.regex] == ["todo_comments"]
    golden = next(s for s in config.suites if s.name == "golden_path")
    assert golden.paths == ("tests/integration/golden_path/**",)


# --- the migration, through the rules --------------------------------------------------------


def test_await_misuse_appears_with_the_refactor_spikes_and_burns_down(series, subjects, demo):
    values = series("await_misuse")
    refactor = index_of(subjects, "Make get_manager() synchronous")
    assert set(values[:refactor]) == {0.0}
    assert values[refactor] > 0
    jumps = steps(values)
    spike = max(range(refactor, len(jumps)), key=jumps.__getitem__) + 1
    assert jumps[spike - 1] >= 20
    assert subjects[spike].startswith("Merge")
    peak = max(values)
    after = steps(values[values.index(peak) :])
    assert sum(1 for d in after if d < 0) >= 5
    assert 0 < values[-1] <= peak / 2


def test_await_misuse_findings_are_awaits_of_get_manager(repo, rules, demo):
    found = findings(scan(repo, rules, demo.commits[-1]), "await_misuse")
    assert found
    assert all("await" in f.text and ("get_manager()" in f.text or "gm()" in f.text) for f in found)


def test_async_cleanup_goes_to_a_sync_add_cleanup_until_fixed(series, repo, rules, demo):
    values = series("async_callback")
    assert values[0] > 0 and values[-1] == 0
    found = findings(scan(repo, rules, demo.commits[0]), "async_callback")
    paths = {f.path: f.text for f in found}
    assert "add_cleanup(close_connections)" in paths["acme_service/websocket/connections.py"]
    assert "acme_service/app.py" in paths  # atexit.register(flush_metrics)


def test_deprecated_imports_grow_then_migrate_away(series, repo, rules, demo):
    values = series("deprecated_imports")
    peak = max(values)
    at_peak = values.index(peak)
    assert values[0] < peak
    assert sum(1 for d in steps(values[at_peak:]) if d < 0) >= 3
    assert values[-1] <= peak / 3
    found = findings(scan(repo, rules, demo.commits[at_peak]), "deprecated_imports")
    assert len({f.path for f in found}) >= 5
    assert all("legacy" in f.text for f in found)


def test_duplicate_websocket_manager_definitions_are_consolidated(series, repo, rules, demo):
    values = series("duplicate_classes")
    assert max(values) == 2 and values[-1] == 0
    peak = values.index(2)
    assert all(d <= 0 for d in steps(values[peak:]))
    assert sorted(set(values[peak:]), reverse=True) == [2, 1, 0]
    found = findings(scan(repo, rules, demo.commits[peak]), "duplicate_classes")
    assert {f.path for f in found} == {
        "acme_service/websocket/manager.py",
        "acme_service/legacy/websocket_core.py",
        "acme_service/agents/bridge.py",
    }
    assert all(f.text.startswith("class WebSocketManager") for f in found)


def test_markers_are_used_before_they_are_registered(series, subjects, repo, rules, demo):
    values = series("unregistered_markers")
    first_use = next(i for i, v in enumerate(values) if v > 0)
    registered = index_of(subjects, "Register the scalability marker")
    assert first_use < registered and values[-1] == 0
    assert values[registered] < values[registered - 1]
    found = findings(scan(repo, rules, demo.commits[first_use]), "unregistered_markers")
    assert any(
        f.path == "tests/integration/test_scalability.py" and "scalability" in f.text for f in found
    )


def test_golden_path_suite_arrives_with_a_merge(series, subjects, repo, demo):
    values = series("suite.golden_path.expected")
    arrives = next(i for i, v in enumerate(values) if v > 0)
    assert values[0] == 0 and values[-1] >= 20
    assert subjects[arrives].startswith("Merge")
    paths = [e.path for e in repo.list_tree(demo.commits[-1])]
    suite = [p for p in paths if p.startswith("tests/integration/golden_path/test_")]
    assert len(suite) >= 6


def test_a_syntax_error_comes_and_goes_and_latin1_is_not_one(series, repo, rules, demo):
    values = series("unparseable_files")
    broken = next(i for i, v in enumerate(values) if v > 0)
    assert values[-1] == 0
    found = findings(scan(repo, rules, demo.commits[broken]), "unparseable_files")
    assert [f.path for f in found] == ["scripts/export_stats.py"]
    latin1 = (demo.repo / "acme_service/i18n/legacy_charset.py").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        latin1.decode("utf-8")
    assert latin1.decode("latin-1").count("Déconnecté") == 1


def test_filler_never_duplicates_a_class_name(tmp_path: Path):
    built = build_demo(tmp_path, commits=MIN_COMMITS, files=2500, reports=False, end=END, bare=True)
    classes = git(built.repo, "grep", "-h", "-o", "-E", "^class [A-Za-z0-9_]+", "main")
    names = Counter(classes.split())
    names.pop("class")
    assert len(names) > 2500
    assert [n for n, c in names.items() if c > 1] == []
    config = config_from_text(HEALTHTUI_TOML, "healthtui.toml")
    tip = scan_revision(GitRepo.open(built.repo), "main", RuleEngine(config.rules, config.suites))
    assert tip.metrics["duplicate_classes"] == 0
    assert findings(tip, "duplicate_classes") == []


# --- the pytest reports -----------------------------------------------------------------------


def load(report) -> dict:
    return json.loads(report.path.read_text(encoding="utf-8"))


def test_reports_come_from_real_pytest_runs_on_first_parent_commits(demo: Demo):
    assert len(demo.reports) == 9
    line = list(demo.commits)
    first_runs = [r for r in demo.reports if r.run == 1]
    assert first_runs[-1].commit == line[-1]
    created = []
    for report in demo.reports:
        data = load(report)
        assert {"created", "duration", "exitcode", "root", "summary", "collectors", "tests"} <= set(
            data
        )
        assert data["environment"]["commit"] == report.commit
        assert report.commit in line
        commit_time = int(git(demo.repo, "log", "-1", "--format=%ct", report.commit))
        assert commit_time < data["created"] <= END.timestamp()
        if report.run == 1:
            created.append((line.index(report.commit), data["created"]))
    assert [c for _, c in sorted(created)] == sorted(c for _, c in created)


def test_a_report_has_a_collection_error_from_an_unregistered_marker(demo: Demo):
    errors = [
        c
        for report in demo.reports
        for c in load(report)["collectors"]
        if c["outcome"] == "failed" and c["nodeid"] == "tests/integration/test_scalability.py"
    ]
    assert errors
    assert "'scalability' not found in `markers` configuration option" in errors[0]["longrepr"]


def test_the_tip_report_has_failures_and_passes(demo: Demo):
    tip = next(r for r in demo.reports if r.commit == demo.commits[-1])
    summary = load(tip)["summary"]
    assert summary["failed"] > 0 and summary["passed"] > summary["failed"]


def test_one_commit_ran_twice_and_a_test_flipped(demo: Demo):
    runs = Counter(r.commit for r in demo.reports)
    (twice,) = [sha for sha, n in runs.items() if n == 2]
    outcomes = [
        {t["nodeid"]: t["outcome"] for t in load(r)["tests"]}
        for r in demo.reports
        if r.commit == twice
    ]
    flipped = {n for n in outcomes[0] if outcomes[0][n] != outcomes[1].get(n)}
    assert flipped == {
        "tests/integration/golden_path/test_reconnect_flow.py"
        "::test_backoff_with_jitter_stays_under_budget"
    }


def test_never_awaited_coroutine_warning_until_the_cleanup_is_fixed(demo: Demo):
    def warned(report) -> bool:
        return any(
            "coroutine 'close_connections' was never awaited" in w["message"]
            for w in load(report).get("warnings", [])
        )

    ordered = sorted(
        (r for r in demo.reports if r.run == 1), key=lambda r: demo.commits.index(r.commit)
    )
    assert warned(ordered[0])
    assert not warned(ordered[-1])
