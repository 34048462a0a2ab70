"""`healthtui check`, the ratchet, on real repositories: exit codes, exactly what is printed, the base."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import store
from healthtui.cli import main
from healthtui.collect.gitrepo import GitRepo
from healthtui.collect.history import backfill, collect_commits
from healthtui.collect.scanning import scan_revision, scan_worktree
from healthtui.config import load_config
from healthtui.demo.builder import RepoBuilder
from healthtui.ratchet import FactsCache, evaluate_commit, evaluate_worktree, new_findings
from healthtui.rules import Finding, RuleEngine
from store.checks import snapshot_metrics
from store.commits import commit_ids

CONFIG = """\
[rules]
known_sync = ["get_manager"]
deprecated_modules = ["app.legacy"]
"""
MANAGER = "def get_manager():\n    return 1\n"
HANDLER = (
    "from app.manager import get_manager\n\n\nasync def handle():\n    return await get_manager()\n"
)
FIXED = "from app.manager import get_manager\n\n\nasync def handle():\n    return get_manager()\n"
MISUSE_MESSAGE = "await_misuse await on sync function app.manager.get_manager"


def handler(name: str) -> str:
    return HANDLER.replace("handle", name)


@pytest.fixture
def repo(tmp_path: Path) -> RepoBuilder:
    """main: one await misuse in app/a.py; the work tree is clean."""
    b = RepoBuilder(tmp_path / "repo")
    b.commit(
        {
            "healthtui.toml": CONFIG,
            "app/__init__.py": "",
            "app/manager.py": MANAGER,
            "app/legacy.py": "X = 1\n",
            "app/a.py": HANDLER,
        },
        message="Initial service",
    )
    return b


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "health.db"


def check(b: RepoBuilder, db: Path, capsys, *args: str) -> tuple[int, str, str]:
    code = main(["--repo", str(b.path), "--db", str(db), "check", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def write(b: RepoBuilder, path: str, text: str) -> None:
    target = b.path / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)


def test_a_new_violation_fails_and_prints_exactly_the_added_finding(repo, db, capsys):
    write(repo, "app/b.py", handler("handle_b"))
    code, out, err = check(repo, db, capsys)
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == f"app/b.py:5: {MISUSE_MESSAGE}"
    assert not any(line.startswith("app/a.py") for line in lines)  # old findings are not news
    assert "worse: await_misuse 1 -> 2 (+1)" in lines
    assert lines[-1].startswith("check failed against ")
    assert "(merge-base with main)" in lines[-1]
    assert err == ""


def test_a_fixed_violation_passes_with_a_one_line_cheer(repo, db, capsys):
    write(repo, "app/a.py", FIXED)
    code, out, err = check(repo, db, capsys)
    assert code == 0
    assert out.splitlines() == [
        f"improved since {repo.tip()[:10]}: await_misuse 1 -> 0. Nice work!"
    ]
    assert err == ""


def test_no_change_passes_silently(repo, db, capsys):
    assert check(repo, db, capsys) == (0, "", "")
    assert check(repo, db, capsys) == (0, "", "")  # the second run comes from the cached snapshot


def test_shifted_lines_and_a_renamed_file_are_not_new(repo, db, capsys):
    write(repo, "app/a.py", '"""Handlers."""\n\nimport os\n\n' + HANDLER + "\n\nX = os.sep\n")
    assert check(repo, db, capsys) == (0, "", "")
    (repo.path / "app/a.py").rename(repo.path / "app/handlers.py")
    assert check(repo, db, capsys) == (0, "", "")


def test_a_moved_finding_plus_a_genuinely_new_one_reports_only_the_new_one(repo, db, capsys):
    body = "\n\n".join(["# header"] * 3) + "\n" + HANDLER + "\n\nasync def more():\n"
    write(repo, "app/a.py", body + "    x = await get_manager()\n    return x\n")
    code, out, _ = check(repo, db, capsys)
    assert code == 1
    assert [line for line in out.splitlines() if line.startswith("app/")] == [
        f"app/a.py:14: {MISUSE_MESSAGE}"
    ]


def test_ignored_files_do_not_count_untracked_ones_do(repo, db, capsys):
    write(repo, ".gitignore", "generated/\n")
    write(repo, "generated/copy.py", handler("copy"))
    assert check(repo, db, capsys) == (0, "", "")
    write(repo, "scratch.py", handler("scratch"))
    code, out, _ = check(repo, db, capsys)
    assert code == 1
    assert out.splitlines()[0] == f"scratch.py:5: {MISUSE_MESSAGE}"


def test_a_new_duplicate_class_candidate_is_informational_and_passes(repo, db, capsys):
    """Names defined in 3+ modules that are not configured SSOT classes are only candidates."""
    for name in ("c1", "c2", "c3"):
        write(repo, f"app/{name}.py", "class Widget:\n    pass\n")
    assert check(repo, db, capsys) == (0, "", "")
    code, out, _ = check(repo, db, capsys, "--metric", "duplicate_classes.candidates")
    assert code == 1  # named explicitly, it is ratcheted like any metric
    assert out.splitlines()[0] == "worse: duplicate_classes.candidates 0 -> 1 (+1)"
    code, out, _ = check(repo, db, capsys, "--metric", "*.candidates", "--format", "json")
    assert [(m["id"], m["title"], m["unit"]) for m in json.loads(out)["metrics"]] == [
        ("deprecated_imports.candidates", "Deprecated imports (candidates)", "names"),
        ("duplicate_classes.candidates", "Duplicate classes (candidates)", "names"),
    ]


def test_a_limit_breach_fails_even_without_a_regression(repo, db, capsys):
    write(repo, "healthtui.toml", CONFIG + "\n[limits]\nawait_misuse = { max = 0 }\n")
    code, out, _ = check(repo, db, capsys)
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "limit broken: await_misuse is 1 in this tree, max 0"
    assert lines[-1].endswith(": 1 limit broken")
    write(repo, "app/a.py", FIXED)
    code, out, _ = check(repo, db, capsys)
    assert code == 0
    assert out.startswith("improved since")


def _store_tests_snapshot(db: Path, repo: RepoBuilder, metrics: dict[str, float]) -> None:
    engine = store.open_engine(db)
    info = GitRepo.open(repo.path).commit_info(repo.tip())
    with store.write_session(engine) as s:
        rid = store.ensure_repository(s, root=str(repo.path), name="repo", branch="main")
        ids = store.upsert_commits(s, repository_id=rid, commits=[info])
        store.record_snapshot(s, commit_id=ids[info.sha], metrics=metrics, kind="tests")
    engine.dispose()


def test_a_test_derived_limit_takes_the_latest_test_run(repo, db, capsys):
    limits = '\n[limits]\n"suite.golden_path.pass_rate" = { min = 0.9 }\n'
    write(repo, "healthtui.toml", CONFIG + limits)
    code, out, err = check(repo, db, capsys)
    assert (code, out) == (0, "")
    assert err == "note: limit on suite.golden_path.pass_rate: no value stored yet, not checked\n"
    _store_tests_snapshot(
        db, repo, {"suite.golden_path.pass_rate": 0.62, "suite.golden_path.passed": 62.0}
    )
    code, out, _ = check(repo, db, capsys)
    assert code == 1
    assert out.splitlines()[0] == (
        "limit broken: suite.golden_path.pass_rate is 62.0% in the latest test run, min 90.0%"
    )
    code, out, _ = check(repo, db, capsys, "--metric", "await_misuse")
    assert (code, out) == (0, "")  # limits of metrics not selected are not checked
    code, out, err = check(repo, db, capsys, "--metric", "suite.golden_path.passed")
    assert (code, out) == (0, "")
    assert err == (
        "note: suite.golden_path.passed is not measured on the tree (test runs give it); "
        "only a limit on it is checked\n"
    )


def test_metric_filter_checks_and_prints_only_the_selected_metrics(repo, db, capsys):
    write(repo, "app/b.py", "from app.legacy import X\n" + handler("handle_b"))
    code, out, _ = check(repo, db, capsys, "--metric", "deprecated_imports")
    assert code == 1
    assert out.splitlines() == [
        "app/b.py:1: deprecated_imports import of deprecated module app.legacy",
        "worse: deprecated_imports 0 -> 1 (+1)",
        out.splitlines()[-1],
    ]
    assert check(repo, db, capsys, "--metric", "async_callback") == (0, "", "")
    code, out, _ = check(repo, db, capsys, "--metric", "await_misuse*", "--format", "json")
    assert code == 1
    assert [m["id"] for m in json.loads(out)["metrics"]] == ["await_misuse", "await_misuse.files"]


def test_an_unknown_metric_is_a_usage_error(repo, db, capsys):
    code, out, err = check(repo, db, capsys, "--metric", "no_such_metric")
    assert code == 2
    assert out == ""
    assert err.startswith("healthtui: error: --metric no_such_metric: no such metric (known: ")
    assert err.count("\n") == 1


def test_json_output_parses_and_carries_the_documented_fields(repo, db, capsys):
    write(repo, "app/b.py", handler("handle_b"))
    code, out, _ = check(repo, db, capsys, "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert data["schema"] == "healthtui-check/1"
    assert (data["passed"], data["exit_code"]) == (False, 1)
    assert data["against"] == {
        "sha": repo.tip(),
        "rev": None,
        "how": "merge-base",
        "branch": "main",
        "snapshot": "recorded",
    }
    assert data["current"] == {"worktree": True, "rev": None, "sha": None}
    misuse = next(m for m in data["metrics"] if m["id"] == "await_misuse")
    assert misuse == {
        "id": "await_misuse",
        "title": "Await misuse",
        "unit": "sites",
        "base": 1.0,
        "current": 2.0,
        "delta": 1.0,
        "lower_is_better": True,
        "status": "worse",
    }
    assert [(f["path"], f["line"], f["rule"]) for f in data["added"]] == [
        ("app/b.py", 5, "await_misuse")
    ]
    assert data["removed"] == [] and data["limits"] == [] and data["notes"] == []
    assert {"skipped_files", "unregistered_markers.strict"}.isdisjoint(
        m["id"] for m in data["metrics"]
    )


def test_against_an_explicit_revision_and_checking_a_revision(repo, db, capsys):
    first = repo.tip()
    repo.commit({"app/c.py": handler("handle_c")}, message="Add c")
    assert check(repo, db, capsys) == (0, "", "")  # the merge-base with main is HEAD itself
    code, out, _ = check(repo, db, capsys, "--against", first[:8])
    assert code == 1
    assert out.splitlines()[0] == f"app/c.py:5: {MISUSE_MESSAGE}"
    assert out.splitlines()[-1].startswith(f"check failed against {first[:10]} ({first[:8]})")
    code, out, _ = check(repo, db, capsys, "--rev", "HEAD~1", "--against", "HEAD")
    assert code == 0
    assert out.startswith("improved since")
    data = json.loads(check(repo, db, capsys, "--rev", "HEAD", "--format", "json")[1])
    assert data["current"] == {"worktree": False, "rev": "HEAD", "sha": repo.tip()}


def test_default_base_is_the_merge_base_with_the_configured_branch(repo, db, capsys):
    base = repo.tip()
    repo.create_branch("feature", base)
    repo.commit({"app/c.py": handler("handle_c")}, message="feature", branch="feature")
    repo.commit({"README.md": "main moved on\n"}, message="main work")
    subprocess.run(["git", "checkout", "-q", "feature"], cwd=repo.path, check=True)
    code, out, _ = check(repo, db, capsys)
    assert code == 0  # no branch configured: the current one, whose merge-base is HEAD
    write(repo, "healthtui.toml", 'branch = "main"\n' + CONFIG)
    code, out, _ = check(repo, db, capsys, "--format", "json")
    data = json.loads(out)
    assert code == 1
    assert (data["against"]["sha"], data["against"]["how"]) == (base, "merge-base")
    assert [f["path"] for f in data["added"]] == ["app/c.py"]
    repo.commit({"app/z.py": "Z = 1\n"}, message="unrelated", branch="orphan")
    subprocess.run(["git", "checkout", "-q", "-f", "orphan"], cwd=repo.path, check=True)
    write(repo, "healthtui.toml", 'branch = "main"\n' + CONFIG)
    code, out, err = check(repo, db, capsys)
    assert (code, out) == (2, "")
    assert err == (
        f"healthtui: error: {repo.branches()['orphan'][:10]} and main have no common ancestor; "
        "name a base with --against REV\n"
    )


def test_a_database_without_the_base_snapshot_computes_and_records_it(repo, db, capsys):
    engine = store.open_engine(db)
    rules = RuleEngine(load_config(repo.path).rules, load_config(repo.path).suites)
    with store.read_session(engine) as s:
        assert store.snapshotted_shas(s, kind="code", ruleset=rules.key) == {}
    write(repo, "app/b.py", handler("handle_b"))
    first = json.loads(check(repo, db, capsys, "--format", "json")[1])
    assert first["against"]["snapshot"] == "recorded"
    with store.read_session(engine) as s:
        assert set(store.snapshotted_shas(s, kind="code", ruleset=rules.key)) == {repo.tip()}
        point = store.latest_point(s, metric="await_misuse")
        facts = store.cached_facts(s, engine_key=rules.key, keys=[("python", "0" * 40)])
    assert (point.sha, point.value) == (repo.tip(), 1.0)
    assert facts == {}
    second = json.loads(check(repo, db, capsys, "--format", "json")[1])
    assert second["against"]["snapshot"] == "stored"
    assert second["added"] == first["added"] and second["metrics"] == first["metrics"]
    # the cached snapshot is where `collect` picks up, and it recounts its finding changes
    repo.commit({"app/c.py": handler("handle_c")}, message="Add c")
    result = collect_commits(GitRepo.open(repo.path), engine, load_config(repo.path))
    assert result.written == 2
    with store.read_session(engine) as s:
        assert [p.value for p in store.metric_series(s, metric="await_misuse")] == [1.0, 2.0]
    engine.dispose()


def test_the_tree_is_compared_with_the_stored_snapshot_of_the_base(repo, db, capsys):
    assert check(repo, db, capsys) == (0, "", "")  # records the base's snapshot
    engine = store.open_engine(db)
    config = load_config(repo.path)
    rules = RuleEngine(config.rules, config.suites)
    with store.read_session(engine) as s:
        stored = snapshot_metrics(s, sha=repo.tip(), kind="code", ruleset=rules.key)
        cid = commit_ids(s, shas=[repo.tip()])[repo.tip()]
    assert stored is not None and stored["await_misuse"] == 1
    with store.write_session(engine) as s:
        store.record_snapshot(
            s,
            commit_id=cid,
            metrics={**stored, "await_misuse": 5.0},
            kind="code",
            ruleset=rules.key,
        )
    engine.dispose()
    code, out, _ = check(repo, db, capsys)
    assert code == 0
    assert out == f"improved since {repo.tip()[:10]}: await_misuse 5 -> 1. Nice work!\n"


def test_a_base_newer_than_the_stored_history_is_not_recorded(repo, db, capsys):
    engine = store.open_engine(db)
    backfill(GitRepo.open(repo.path), engine, load_config(repo.path))
    repo.commit({"app/c.py": handler("handle_c")}, message="Add c")
    data = json.loads(check(repo, db, capsys, "--format", "json")[1])
    assert data["against"] == {
        "sha": repo.tip(),
        "rev": None,
        "how": "merge-base",
        "branch": "main",
        "snapshot": "computed",  # recording it would hide the commits in between from collect
    }
    repo.commit({"app/d.py": handler("handle_d")}, message="Add d")
    assert collect_commits(GitRepo.open(repo.path), engine, load_config(repo.path)).written == 2
    with store.read_session(engine) as s:
        assert [p.value for p in store.metric_series(s, metric="await_misuse")] == [1, 2, 3]
    engine.dispose()


def test_after_a_backfill_the_base_snapshot_is_used_and_the_work_tree_is_not_reparsed(
    repo, db, capsys
):
    engine = store.open_engine(db)
    config = load_config(repo.path)
    backfill(GitRepo.open(repo.path), engine, config)
    data = json.loads(check(repo, db, capsys, "--format", "json")[1])
    assert data["against"]["snapshot"] == "stored"
    rules = RuleEngine(config.rules, config.suites)
    cache = FactsCache(engine, rules)
    evaluate_worktree(GitRepo.open(repo.path), rules, cache)
    assert cache.pending == {}  # every file's facts came from the cache the backfill filled
    write(repo, "app/b.py", handler("handle_b"))
    evaluate_worktree(GitRepo.open(repo.path), rules, cache)
    assert [kind for kind, _ in cache.pending] == ["python"]
    engine.dispose()


def test_cached_evaluations_agree_with_a_full_scan(repo, engine, tmp_path):
    repo.commit(
        {"app/b.py": "from app.legacy import X\n" + handler("b"), "tests/test_x.py": "X = 1\n"},
        message="more",
    )
    write(repo, "app/c.py", handler("c"))
    gitrepo = GitRepo.open(repo.path)
    config = load_config(repo.path)
    rules = RuleEngine(config.rules, config.suites)
    cache = FactsCache(engine, rules)
    for sha in (repo.tip(), gitrepo.resolve("HEAD~1")):
        expected = scan_revision(gitrepo, sha, rules)
        got = evaluate_commit(gitrepo, rules, cache, sha)
        assert (got.metrics, got.findings) == (expected.metrics, expected.findings)
    expected = scan_worktree(repo.path, rules)
    got = evaluate_worktree(gitrepo, rules, cache)
    assert (got.metrics, got.findings) == (expected.metrics, expected.findings)
    assert got.metrics["await_misuse"] == 3


def test_a_read_only_database_still_checks_with_a_note(repo, db, capsys):
    assert check(repo, db, capsys) == (0, "", "")
    if os.geteuid() == 0:
        if subprocess.run(["chattr", "+i", str(db)], capture_output=True).returncode != 0:
            pytest.skip("running as root on a filesystem without immutable files")
    else:
        db.chmod(0o444)
    try:
        write(repo, "app/b.py", handler("handle_b"))
        code, out, err = check(repo, db, capsys)
    finally:
        subprocess.run(["chattr", "-i", str(db)], capture_output=True)
        db.chmod(0o644)
    assert code == 1
    assert out.splitlines()[0] == f"app/b.py:5: {MISUSE_MESSAGE}"
    assert err.startswith("note: nothing cached (")
    assert err.endswith(
        "the database is read-only (check the file's and directory's "
        "permissions)); the check ran, the next one redoes the work\n"
    )


def test_usage_errors_exit_2_with_one_line(repo, db, capsys, tmp_path):
    code, out, err = check(repo, db, capsys, "--against", "no-such-branch")
    assert (code, out) == (2, "")
    assert err == f"healthtui: error: 'no-such-branch': no such revision in {repo.path}\n"
    code, _, err = check(repo, db, capsys, "--rev", "nope")
    assert code == 2 and "'nope': no such revision" in err
    elsewhere = tmp_path / "plain"
    elsewhere.mkdir()
    code = main(["--repo", str(elsewhere), "--db", str(db), "check"])
    assert code == 2
    assert capsys.readouterr().err == f"healthtui: error: {elsewhere}: not a git repository\n"
    write(repo, "healthtui.toml", 'branch = "trunk"\n' + CONFIG)
    code, _, err = check(repo, db, capsys)
    assert code == 2
    assert err == (
        f"healthtui: error: branch 'trunk' not found in {repo.path} "
        "(fetch it, or use --against REV)\n"
    )


def test_a_bare_repository_needs_rev(tmp_path, db, capsys):
    b = RepoBuilder(tmp_path / "bare.git", bare=True)
    b.commit({"app/__init__.py": "", "app/a.py": "X = 1\n"}, message="one")
    b.commit({"app/b.py": "class A:\n    pass\n"}, message="two")
    code = main(["--repo", str(b.path), "--db", str(db), "check"])
    assert code == 2
    assert "a bare repository has no work tree; use --rev REV" in capsys.readouterr().err
    code = main(["--repo", str(b.path), "--db", str(db), "check", "--rev", "main"])
    assert (code, capsys.readouterr().out) == (0, "")


def test_a_subprocess_run_exits_1_and_prints_nothing_on_stderr(repo, db):
    write(repo, "app/b.py", handler("handle_b"))
    out = subprocess.run(
        [sys.executable, "-m", "healthtui", "--db", str(db), "check"],
        cwd=repo.path / "app",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1
    assert out.stdout.splitlines()[0] == f"app/b.py:5: {MISUSE_MESSAGE}"
    assert out.stderr == ""


def test_repository_text_cannot_smuggle_terminal_escapes(repo, db, capsys):
    write(repo, "app/b\x1b[2J\x1b]0;owned\x07.py", handler("handle_b"))
    code, out, _ = check(repo, db, capsys, "--metric", "await_misuse")
    assert code == 1
    assert out.splitlines()[0] == f"app/b.py:5: {MISUSE_MESSAGE}"
    code, out, _ = check(repo, db, capsys, "--metric", "await_misuse", "--format", "json")
    assert "\x1b" not in out  # JSON escapes it; tools still get the real name
    assert json.loads(out)["added"][0]["path"] == "app/b\x1b[2J\x1b]0;owned\x07.py"


def test_new_findings_matches_multisets_not_line_numbers():
    def f(path: str, line: int, text: str, rule: str = "r") -> Finding:
        return Finding(path, line, 1, rule, text)

    base = [f("a.py", 1, "x = await g()"), f("a.py", 9, "x = await g()"), f("b.py", 3, "y()")]
    current = [
        f("a.py", 4, "x  =  await g()"),  # shifted, whitespace differs
        f("a.py", 7, "x = await g()"),
        f("a.py", 8, "x = await g()"),  # a third copy: new
        f("c.py", 3, "y()"),  # b.py renamed to c.py
        f("c.py", 5, "y()", rule="other"),  # same text, other rule: new
    ]
    added, removed = new_findings(base, current)
    assert [(x.path, x.line, x.rule) for x in added] == [("a.py", 8, "r"), ("c.py", 5, "other")]
    assert removed == ()
