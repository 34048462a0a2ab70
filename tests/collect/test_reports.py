"""Report ingest on reports made by really running pytest with pytest-json-report.

One small suite, three commits, five runs (made once for the module):
  c1  R1  everything passes that can; R2  the flaky golden-path test fails (same commit)
  c2  R3  docs and another test file changed; `test_flip` fails (a flip without a code change)
  c3  R4  the app bug fixed, run without --continue-on-collection-errors (interrupted)
      R5  the same commit run in full
Every run has an unregistered marker under --strict-markers, a missing module and a syntax error
at collection, failures (two sharing a signature), a never-awaited coroutine, deprecations.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import threading
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

import store
from healthtui.cli import main
from healthtui.collect import reports
from healthtui.collect.gitrepo import GitRepo
from healthtui.collect.reports import (
    COMMIT_KEYS,
    classify_collection_error,
    ingest_reports,
    normalize_message,
    parse_report,
    run_tests,
)
from healthtui.config import Config, Suite
from healthtui.demo.builder import RepoBuilder
from healthtui.errors import RepoError, ReportError
from store import testruns as tr

PYTEST_INI = """\
[pytest]
addopts = --strict-markers
markers =
    golden_path: the path every user takes
    slow: takes a while
"""

CONFTEST = """\
def pytest_configure(config):
    try:
        from pytest_metadata.plugin import metadata_key
    except ImportError:
        return
    config._metadata = config.stash.get(metadata_key, {})
"""

SHOP = """\
import asyncio


def total(prices):
    return sum(prices) + {bug}


class PaymentError(Exception):
    pass


def charge(amount, scratch):
    raise PaymentError(f"card declined for {{amount}} cents at {{hex(id(scratch))}} ({{scratch}})")


async def notify(order):
    await asyncio.sleep(0)


def place(order):
    notify(order)
    return order
"""
NOTIFY_LINE = 21  # `notify(order)` in SHOP: where the coroutine is dropped

LEGACY = """\
import warnings


def old_total(prices):
    warnings.warn("old_total is deprecated; use app.shop.total", DeprecationWarning, stacklevel=1)
    return sum(prices)
"""

CHECKOUT = """\
import pytest

from app import shop


def test_place_order():
    assert shop.place("o-1") == "o-1"


def test_total():
    assert shop.total([1, 2]) == 3


@pytest.mark.parametrize("amount", [100, 250])
def test_charge(amount, tmp_path):
    shop.charge(amount, tmp_path)


@pytest.mark.skip(reason="gift cards are not live yet")
def test_gift_cards():
    pass
"""

REFUNDS = """\
import pytest


@pytest.mark.refunds
def test_refund():
    pass


@pytest.mark.parametrize("n", [1, 2, 3])
def test_partial_refund(n):
    pass
"""

FLAKY = """\
import os

import pytest


@pytest.mark.golden_path
def test_sometimes():
    assert os.environ.get("HEALTHTUI_FLAKY") != "1"


def test_flip():
    assert os.environ.get("HEALTHTUI_FLIP") != "1"
"""

LEGACY_TESTS = """\
from app import legacy


def test_old_total():
    assert legacy.old_total([1]) == 1


def test_old_total_again():
    assert legacy.old_total([2]) == 2
"""

MISC = """\
import pytest


@pytest.mark.skip(reason="not yet")
def test_later():
    pass


@pytest.mark.xfail(reason="known bug")
def test_known_bug():
    assert False


@pytest.mark.slow
def test_slow_but_fine():
    pass
"""

FILES = {
    "pytest.ini": PYTEST_INI,
    "conftest.py": CONFTEST,
    "README.md": "# shop\n",
    "app/__init__.py": "",
    "app/shop.py": SHOP.format(bug=1),
    "app/legacy.py": LEGACY,
    "tests/__init__.py": "",
    "tests/golden_path/__init__.py": "",
    "tests/golden_path/test_checkout.py": CHECKOUT,
    "tests/golden_path/test_refunds.py": REFUNDS,
    "tests/test_flaky.py": FLAKY,
    "tests/test_imports.py": "import payments_sdk\n\n\ndef test_sdk():\n    pass\n",
    "tests/test_syntax.py": "def test_broken(:\n    pass\n",
    "tests/test_legacy.py": LEGACY_TESTS,
    "tests/test_misc.py": MISC,
}

CHECKOUT_IDS = "tests/golden_path/test_checkout.py::"
SOMETIMES = "tests/test_flaky.py::test_sometimes"
FLIP = "tests/test_flaky.py::test_flip"
TOTAL = CHECKOUT_IDS + "test_total"


def pytest_env(**extra: str) -> dict[str, str]:
    """The child pytest's environment: only pytest-json-report and pytest-metadata load, and no
    CI variable of the outer run can name a commit."""
    commit_vars = {k.upper() for k in COMMIT_KEYS}
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PYTEST_") and k.upper() not in commit_vars and k != "PYTHONPATH"
    }
    env.update(PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", PYTHONDONTWRITEBYTECODE="1", **extra)
    return env


def run_pytest(repo: Path, out: Path, *, commit: str | None, cont: bool = True, **env: str) -> Path:
    command = [sys.executable, "-m", "pytest", "-p", "pytest_jsonreport.plugin"]
    command += ["-p", "pytest_metadata.plugin", "--json-report", f"--json-report-file={out}"]
    command += ["-q", "-p", "no:cacheprovider", f"--basetemp={out.parent / (out.stem + '-tmp')}"]
    if cont:
        command.append("--continue-on-collection-errors")
    if commit:
        command += ["--metadata", "commit", commit]
    proc = subprocess.run(
        command, cwd=repo, env=pytest_env(**env), capture_output=True, text=True, timeout=120
    )
    assert out.is_file(), proc.stdout + proc.stderr
    return out


@dataclass(frozen=True)
class Suite5:
    repo: Path
    commits: tuple[str, str, str]
    reports: dict[str, Path]  # "R1".."R5"


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Suite5:
    base = tmp_path_factory.mktemp("reports")
    repo = base / "shop"
    b = RepoBuilder(repo)
    c1 = b.commit(FILES, message="shop with tests")
    reports = {
        "R1": run_pytest(repo, base / "r1.json", commit=c1),
        "R2": run_pytest(repo, base / "r2.json", commit=c1, HEALTHTUI_FLAKY="1"),
    }
    c2 = b.commit(
        {"README.md": "# shop\n\nNow with docs.\n", "tests/test_legacy.py": LEGACY_TESTS + "\n"},
        message="docs",
    )
    reports["R3"] = run_pytest(repo, base / "r3.json", commit=None, HEALTHTUI_FLIP="1")
    c3 = b.commit({"app/shop.py": SHOP.format(bug=0)}, message="fix total")
    reports["R4"] = run_pytest(repo, base / "r4.json", commit=c3, cont=False)
    reports["R5"] = run_pytest(repo, base / "r5.json", commit=c3)
    return Suite5(repo=repo, commits=(c1, c2, c3), reports=reports)


def config() -> Config:
    return Config()


def ingest_all(engine, suite: Suite5):
    """R3 carries no commit in its metadata: it is linked with the option."""
    repo = GitRepo.open(suite.repo)
    r = suite.reports
    first = ingest_reports(engine, config(), [r["R1"], r["R2"]], repo=repo)
    second = ingest_reports(engine, config(), [r["R3"]], repo=repo, commit=suite.commits[1])
    third = ingest_reports(engine, config(), [r["R4"], r["R5"]], repo=repo)
    return first, second, third


@pytest.fixture(scope="module")
def ingested(suite: Suite5, tmp_path_factory: pytest.TempPathFactory):
    engine = store.open_engine(tmp_path_factory.mktemp("db") / "health.db")
    results = ingest_all(engine, suite)
    yield engine, results
    engine.dispose()


def run_ids(engine) -> dict[str, int]:
    with store.read_session(engine) as s:
        runs = {Path(run.path).stem.upper(): run.id for run in tr.test_runs(s)}
    return runs


def metrics_at(engine, sha: str) -> dict[str, float]:
    with store.read_session(engine) as s:
        detail = store.commit_detail(s, sha=sha)
    assert detail is not None
    return {d.metric: d.after for d in detail.deltas}


# ---- ingest ---------------------------------------------------------------------------------


def test_every_run_is_stored_and_linked(suite: Suite5, ingested):
    engine, (first, second, third) = ingested
    c1, c2, c3 = suite.commits
    assert [(r.sha, r.link_source, r.tests) for r in first.ingested] == [
        (c1, "metadata", 12),
        (c1, "metadata", 12),
    ]
    assert [(r.sha, r.link_source) for r in second.ingested] == [(c2, "option")]
    assert [(r.sha, r.link_source, r.tests) for r in third.ingested] == [
        (c3, "metadata", 0),
        (c3, "metadata", 12),
    ]
    assert not (first.errors or second.errors or third.errors)
    with store.read_session(engine) as s:
        runs = {Path(run.path).stem: run for run in tr.test_runs(s)}
    r1 = runs["r1"]
    assert (r1.passed, r1.failed, r1.errors, r1.skipped, r1.xfailed, r1.total) == (
        6,
        3,
        0,
        2,
        1,
        12,
    )
    assert (r1.exitcode, r1.collection_errors, r1.collected) == (1, 3, 12)
    assert (runs["r4"].exitcode, runs["r4"].total, runs["r4"].collected) == (2, 0, 12)


def test_reingesting_the_same_bytes_is_a_no_op(suite: Suite5, engine, tmp_path):
    repo = GitRepo.open(suite.repo)
    first = ingest_reports(engine, config(), [suite.reports["R1"]], repo=repo)
    again = ingest_reports(engine, config(), [suite.reports["R1"]], repo=repo)
    copy = tmp_path / "copy-of-r1.json"
    copy.write_bytes(suite.reports["R1"].read_bytes())
    third = ingest_reports(engine, config(), [copy], repo=repo)
    pretty = tmp_path / "r1-pretty.json"  # the same session written out again (e.g. by jq)
    pretty.write_text(json.dumps(json.loads(suite.reports["R1"].read_text()), indent=2))
    fourth = ingest_reports(engine, config(), [pretty], repo=repo)
    assert len(first.ingested) == 1
    assert (again.ingested, again.duplicates, again.errors) == ((), (suite.reports["R1"],), ())
    assert third.duplicates == (copy,)
    assert (fourth.ingested, fourth.duplicates) == ((), (pretty,))
    with store.read_session(engine) as s:
        assert len(tr.test_runs(s)) == 1


def test_without_commit_metadata_the_report_links_to_head(suite: Suite5, engine, tmp_path):
    data = json.loads(suite.reports["R1"].read_text())
    data["environment"] = {"Python": "3.11"}
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps(data))
    result = ingest_reports(engine, config(), [plain], repo=GitRepo.open(suite.repo))
    assert [(r.sha, r.link_source) for r in result.ingested] == [(suite.commits[2], "head")]


def test_ci_variables_name_the_commit(suite: Suite5, engine, tmp_path):
    data = json.loads(suite.reports["R1"].read_text())
    data["environment"] = {"GIT_COMMIT": suite.commits[1][:12], "BUILD_NUMBER": "7"}
    ci = tmp_path / "ci.json"
    ci.write_text(json.dumps(data))
    result = ingest_reports(engine, config(), [ci], repo=GitRepo.open(suite.repo))
    assert [(r.sha, r.link_source) for r in result.ingested] == [(suite.commits[1], "metadata")]


def test_a_bad_commit_option_stops_before_reading_anything(suite: Suite5, engine):
    with pytest.raises(RepoError, match="no such revision"):
        ingest_reports(
            engine, config(), [suite.reports["R1"]], repo=GitRepo.open(suite.repo), commit="nope"
        )
    with store.read_session(engine) as s:
        assert tr.test_runs(s) == ()


def test_per_test_rows_keep_stages_markers_suites_and_crash(suite: Suite5, ingested):
    engine, _ = ingested
    ids = run_ids(engine)
    with store.read_session(engine) as s:
        failures = {f.nodeid: f for f in tr.latest_failures(s, run_id=ids["R1"])}
        history = tr.test_history(s, nodeid=SOMETIMES)
        rows = {r.nodeid: r for r in tr.run_results(s, run_id=ids["R1"])}
    assert sorted(failures) == [
        CHECKOUT_IDS + "test_charge[100]",
        CHECKOUT_IDS + "test_charge[250]",
        TOTAL,
    ]
    total = failures[TOTAL]
    assert (total.outcome, total.when, total.crash_path, total.suites) == (
        "failed",
        "call",
        "tests/golden_path/test_checkout.py",
        ("golden_path",),
    )
    assert total.crash_line == 11
    assert total.message == "AssertionError: assert 4 == 3"
    charge = failures[CHECKOUT_IDS + "test_charge[100]"]
    assert (charge.crash_path, charge.crash_line) == ("app/shop.py", 13)
    assert charge.message.startswith("app.shop.PaymentError: card declined for 100 cents at 0x")
    sometimes = rows[SOMETIMES]
    assert (sometimes.keywords, sometimes.suites) == (("golden_path",), ("golden_path",))
    assert (sometimes.setup_outcome, sometimes.call_outcome, sometimes.teardown_outcome) == (
        "passed",
        "passed",
        "passed",
    )
    assert sometimes.duration == pytest.approx(
        sometimes.setup_duration + sometimes.call_duration + sometimes.teardown_duration,
        abs=3e-6,
    )
    assert sometimes.path == "tests/test_flaky.py"
    assert rows["tests/test_misc.py::test_slow_but_fine"].keywords == ("slow",)
    assert rows["tests/test_misc.py::test_later"].setup_outcome == "skipped"
    assert rows["tests/test_misc.py::test_later"].call_outcome == ""
    assert rows[CHECKOUT_IDS + "test_charge[100]"].keywords == ("parametrize", "100")
    assert rows["tests/test_legacy.py::test_old_total"].suites == ()
    assert list(rows)[:2] == [CHECKOUT_IDS + "test_place_order", TOTAL]
    assert [(p.sha, p.outcome) for p in history] == [
        (suite.commits[0], "passed"),
        (suite.commits[0], "failed"),
        (suite.commits[1], "passed"),
        (suite.commits[2], "passed"),
    ]


# ---- metrics --------------------------------------------------------------------------------


def test_metrics_of_the_first_commit_come_from_its_newest_run(suite: Suite5, ingested):
    engine, _ = ingested
    got = metrics_at(engine, suite.commits[0])
    # R2: golden path = checkout (place passes; total, charge x2 fail; gift cards skipped) and
    # test_sometimes (marked, fails in R2); test_refunds.py did not collect: its 4 expected tests
    # count as errors.
    expected = {
        "tests.total": 12,
        "tests.passed": 5,
        "tests.failed": 4,
        "tests.skipped": 2,
        "tests.xfailed": 1,
        "tests.pass_rate": 5 / 9,
        "tests.pass_rate_excl_flaky": 4 / 7,
        "suite.golden_path.passed": 1,
        "suite.golden_path.failed": 4,
        "suite.golden_path.errors": 4,
        "suite.golden_path.skipped": 1,
        "suite.golden_path.xfailed": 0,
        "suite.golden_path.collected": 6,
        "suite.golden_path.expected_missing": 4,
        "suite.golden_path.flaky": 1,
        "suite.golden_path.pass_rate": 1 / 9,
        "suite.golden_path.pass_rate_collected": 1 / 5,
        "suite.golden_path.pass_rate_expected": 1 / 10,
        "suite.golden_path.pass_rate_excl_flaky": 1 / 8,
        "collection_errors": 3,
        "marker_errors": 1,
        "collection_errors.import": 1,
        "collection_errors.syntax": 1,
        "collection_errors.other": 0,
        "never_awaited": 1,
        "deprecation_warnings": 1,
        "failure_clusters": 3,
        "flaky_tests": 2,
    }
    assert got == pytest.approx(expected)


def test_the_first_run_alone(suite: Suite5, engine):
    ingest_reports(engine, config(), [suite.reports["R1"]], repo=GitRepo.open(suite.repo))
    got = metrics_at(engine, suite.commits[0])
    assert got["suite.golden_path.pass_rate"] == pytest.approx(2 / 9)
    assert got["suite.golden_path.pass_rate_collected"] == pytest.approx(2 / 5)
    assert got["suite.golden_path.pass_rate_expected"] == pytest.approx(2 / 10)
    assert got["suite.golden_path.pass_rate_excl_flaky"] == pytest.approx(2 / 9)
    assert got["tests.pass_rate"] == pytest.approx(6 / 9)
    assert (got["flaky_tests"], got["failure_clusters"]) == (0, 2)


def test_a_flip_without_a_code_change_is_flaky_and_a_fix_is_not(suite: Suite5, ingested):
    engine, _ = ingested
    with store.read_session(engine) as s:
        flaky = {f.nodeid: f for f in tr.flaky_tests(s)}
        known = tr.flaky_nodeids(s)
    assert sorted(flaky) == [FLIP, SOMETIMES]
    # counted under the code both outcomes were seen with (c1 and c2 share it; c3 does not)
    assert (flaky[SOMETIMES].passes, flaky[SOMETIMES].failures) == (2, 1)
    assert flaky[SOMETIMES].last_sha == suite.commits[1]
    assert (flaky[FLIP].passes, flaky[FLIP].failures) == (2, 1)
    assert TOTAL not in known  # failed on c1 and c2, passes after the fix in c3
    assert metrics_at(engine, suite.commits[1])["flaky_tests"] == 2


def test_an_interrupted_session_counts_unrun_tests_as_errors(suite: Suite5, ingested):
    engine, _ = ingested
    ids = run_ids(engine)
    with store.read_session(engine) as s:
        r4 = tr.suite_summary(s, suite="golden_path", run_id=ids["R4"])
        r5 = tr.suite_summary(s, suite="golden_path", run_id=ids["R5"])
    assert r4 is not None and r5 is not None
    # nothing ran: checkout's 5 tests and the marked test_sometimes were collected, not run
    assert (r4.passed, r4.not_run, r4.expected_missing, r4.errors) == (0, 6, 4, 10)
    assert (r4.pass_rate, r4.pass_rate_collected, r4.pass_rate_expected) == (0.0, None, 0.0)
    assert (r5.passed, r5.failed, r5.skipped, r5.errors) == (3, 2, 1, 4)
    assert r5.pass_rate == pytest.approx(3 / 9)
    got = metrics_at(engine, suite.commits[2])
    assert got["suite.golden_path.pass_rate"] == pytest.approx(3 / 9)
    assert got["tests.passed"] == 7


def test_collection_errors_are_classified(suite: Suite5, ingested):
    engine, _ = ingested
    with store.read_session(engine) as s:
        errors = tr.collection_errors(s, run_id=run_ids(engine)["R1"])
    assert [(e.nodeid, e.kind, e.cause, e.message) for e in errors] == [
        (
            "tests/golden_path/test_refunds.py",
            "marker",
            "refunds",
            "'refunds' not found in `markers` configuration option",
        ),
        (
            "tests/test_imports.py",
            "import",
            "payments_sdk",
            "ModuleNotFoundError: No module named 'payments_sdk'",
        ),
        ("tests/test_syntax.py", "syntax", "tests/test_syntax.py:1", "SyntaxError: invalid syntax"),
    ]


def test_failures_cluster_by_normalized_signature(suite: Suite5, ingested):
    engine, _ = ingested
    with store.read_session(engine) as s:
        clusters = tr.failure_clusters(s, run_id=run_ids(engine)["R1"])
    by_tests = {c.tests: c for c in clusters}
    charge = by_tests[(CHECKOUT_IDS + "test_charge[100]", CHECKOUT_IDS + "test_charge[250]")]
    assert charge.exception == "app.shop.PaymentError"
    assert charge.message == "card declined for N cents at <addr> (<tmp>)"
    assert charge.crash == (
        'app/shop.py: raise PaymentError(f"card declined for {amount} cents at '
        '{hex(id(scratch))} ({scratch})")'
    )
    assert (charge.count, charge.runs, charge.current) == (2, 4, True)
    assert (charge.first_sha, charge.last_sha) == (suite.commits[0], suite.commits[2])
    total = by_tests[(TOTAL,)]
    assert (total.exception, total.message) == ("AssertionError", "assert N == N")
    assert total.crash == "tests/golden_path/test_checkout.py: assert shop.total([N, N]) == N"
    assert (total.runs, total.last_sha) == (3, suite.commits[1])


def test_runtime_warnings_name_the_coroutine_and_group_deprecations(suite: Suite5, ingested):
    engine, _ = ingested
    with store.read_session(engine) as s:
        warnings = tr.runtime_warnings(s, run_id=run_ids(engine)["R1"])
    shown = [(w.category, w.coroutine, w.module, w.path, w.line, w.count) for w in warnings]
    assert shown == [
        ("DeprecationWarning", "", "app.legacy", "app/legacy.py", 5, 2),
        ("RuntimeWarning", "notify", "", "app/shop.py", NOTIFY_LINE, 1),
    ]


def test_suites_by_marker_and_path_come_from_config(suite: Suite5, engine):
    slow = Suite(name="slow_ones", markers=("slow",), target=0.5)
    misc = Suite(name="misc", paths=("tests/test_misc.py",))
    cfg = replace(Config(), suites=(slow, misc))
    ingest_reports(engine, cfg, [suite.reports["R1"]], repo=GitRepo.open(suite.repo))
    with store.read_session(engine) as s:
        summaries = {x.suite: x for x in tr.suite_summaries(s)}
    assert (summaries["slow_ones"].passed, summaries["slow_ones"].collected) == (1, 1)
    assert summaries["slow_ones"].target == 0.5
    assert (summaries["misc"].passed, summaries["misc"].skipped, summaries["misc"].xfailed) == (
        1,
        1,
        1,
    )


def test_a_report_rooted_in_a_subdirectory_maps_to_repository_paths(
    suite: Suite5, engine, tmp_path
):
    data = json.loads(suite.reports["R1"].read_text())
    data["root"] = str(suite.repo / "tests")

    def strip(nodeid: str) -> str:
        return nodeid.removeprefix("tests/")

    for t in data["tests"]:
        t["nodeid"] = strip(t["nodeid"])
    for c in data["collectors"]:
        c["nodeid"] = strip(c["nodeid"])
        for item in c["result"]:
            item["nodeid"] = strip(item["nodeid"])
    moved = tmp_path / "moved.json"
    moved.write_text(json.dumps(data))
    result = ingest_reports(engine, config(), [moved], repo=GitRepo.open(suite.repo))
    assert not result.errors
    with store.read_session(engine) as s:
        golden = tr.suite_summary(s, suite="golden_path")
        failures = tr.latest_failures(s)
    assert golden is not None
    assert (golden.passed, golden.failed, golden.expected_missing) == (2, 3, 4)
    assert {f.crash_path for f in failures} == {"tests/golden_path/test_checkout.py", "app/shop.py"}


# ---- bad reports ----------------------------------------------------------------------------


def bad_reports(suite: Suite5, where: Path) -> dict[str, tuple[Path, str]]:
    """Each kind of bad report, with the one-line reason it must get."""
    good = suite.reports["R1"].read_bytes()
    data = json.loads(good)

    def write(name: str, payload: bytes | str) -> Path:
        path = where / name
        path.write_bytes(payload if isinstance(payload, bytes) else payload.encode())
        return path

    wrong_type = json.loads(good)
    wrong_type["tests"][3]["call"]["duration"] = "fast"
    no_summary = {k: v for k, v in data.items() if k != "summary"}
    no_nodeid = json.loads(good)
    del no_nodeid["tests"][0]["nodeid"]
    partial = json.loads(good)
    partial["tests"] = partial["tests"][:-1]
    twice = json.loads(good)
    twice["tests"][1]["nodeid"] = twice["tests"][0]["nodeid"]
    endless = json.loads(good)
    endless["tests"][0]["call"]["duration"] = 1e305
    odd_keywords = json.loads(good)
    odd_keywords["tests"][0]["keywords"].insert(1, {"mark": "slow"})
    far_future, before_1970 = json.loads(good), json.loads(good)
    far_future["created"], before_1970["created"] = 1e300, -1e12
    huge = where / "huge.json"
    with huge.open("wb") as fh:
        fh.truncate(101 * 1024 * 1024)
    return {
        "truncated": (
            write("truncated.json", good[: len(good) // 2]),
            "invalid JSON at line 1 column",
        ),
        "invalid": (write("invalid.json", "{not json"), "invalid JSON at line 1 column 2"),
        "empty": (write("empty.json", ""), "empty file"),
        "array": (write("array.json", "[]"), "not a pytest-json-report file"),
        "wrong type": (
            write("wrong-type.json", json.dumps(wrong_type)),
            "tests[3].call.duration: expected a number, got a string",
        ),
        "missing key": (write("no-summary.json", json.dumps(no_summary)), "missing key 'summary'"),
        "missing nodeid": (
            write("no-nodeid.json", json.dumps(no_nodeid)),
            "tests[0]: missing key 'nodeid'",
        ),
        "partial": (
            write("partial.json", json.dumps(partial)),
            "summary.total is 12 but the report holds 11 tests",
        ),
        "node id twice": (
            write("twice.json", json.dumps(twice)),
            f"tests: node id {data['tests'][0]['nodeid']!r} appears more than once",
        ),
        "endless duration": (
            write("endless.json", json.dumps(endless)),
            "tests[0].call.duration: expected seconds, got 1e+305",
        ),
        "keywords not strings": (
            write("odd-keywords.json", json.dumps(odd_keywords)),
            "tests[0].keywords: expected a list of strings, got a list",
        ),
        "created past year 9999": (
            write("far-future.json", json.dumps(far_future)),
            "created: expected a time (seconds since 1970), got 1e+300",
        ),
        "created before 1970": (
            write("before-1970.json", json.dumps(before_1970)),
            "created: expected a time (seconds since 1970), got -1e+12",
        ),
        "huge": (huge, "too large (101.0 MiB; the limit is 100 MiB)"),
        "missing file": (where / "nowhere.json", "no such file"),
    }


def test_each_bad_report_gets_one_line_and_the_good_ones_go_in(suite: Suite5, engine, tmp_path):
    bad = bad_reports(suite, tmp_path)
    paths = [suite.reports["R1"], *(p for p, _ in bad.values()), suite.reports["R5"]]
    result = ingest_reports(engine, config(), paths, repo=GitRepo.open(suite.repo))
    assert [r.path for r in result.ingested] == [suite.reports["R1"], suite.reports["R5"]]
    reasons = dict(result.errors)
    assert set(reasons) == {p for p, _ in bad.values()}
    for kind, (path, reason) in bad.items():
        assert reason in reasons[path], (kind, reasons[path])
        assert "\n" not in reasons[path]
    assert "(the file is truncated)" in reasons[bad["truncated"][0]]
    with store.read_session(engine) as s:
        problems = store.recent_problems(s, limit=50)
        assert len(tr.test_runs(s)) == 2
    assert {(p.source, p.subject) for p in problems} == {
        ("report", str(p)) for p, _ in bad.values()
    }


def test_a_bad_report_leaves_nothing_half_written(suite: Suite5, engine, tmp_path):
    data = json.loads(suite.reports["R1"].read_text())
    data["tests"][-1]["teardown"] = ["not", "a", "stage"]
    late = tmp_path / "late.json"
    late.write_text(json.dumps(data))
    result = ingest_reports(engine, config(), [late], repo=GitRepo.open(suite.repo))
    assert result.errors == ((late, "tests[11].teardown: expected an object, got a list"),)
    with store.read_session(engine) as s:
        assert tr.test_runs(s) == ()
        assert store.metric_ids(s) == ()


def test_a_report_from_another_repository_is_refused(suite: Suite5, engine, tmp_path):
    other = RepoBuilder(tmp_path / "other")
    other.commit(
        {"src/main.py": "print('hi')\n", "tests/test_main.py": "def test_x():\n    pass\n"}
    )
    repo = GitRepo.open(tmp_path / "other")
    data = json.loads(suite.reports["R1"].read_text())
    data["environment"] = {}
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps(data))
    data["root"] = "/home/runner/work/shop/shop"
    ci = tmp_path / "ci.json"
    ci.write_text(json.dumps(data))
    result = ingest_reports(engine, config(), [suite.reports["R1"], plain, ci], repo=repo)
    reasons = dict(result.errors)
    assert reasons[suite.reports["R1"]] == (
        f"from a different repository: commit {suite.commits[0][:12]} (metadata commit) is not "
        f"in {tmp_path / 'other'}"
    )
    assert reasons[plain] == (
        f"from a different repository: its root {suite.repo} is in {suite.repo}, "
        f"not {tmp_path / 'other'}"
    )
    assert reasons[ci].startswith("from a different repository: none of its 7 test files (e.g. ")
    assert result.ingested == ()


def test_odd_bytes_in_paths_are_stored_escaped(suite: Suite5, engine, tmp_path):
    data = json.loads(suite.reports["R1"].read_text())
    data["tests"][0]["keywords"].insert(1, "caf\udce9")
    odd = tmp_path / "odd.json"
    odd.write_text(json.dumps(data))
    result = ingest_reports(engine, config(), [odd], repo=GitRepo.open(suite.repo))
    assert not result.errors
    with store.read_session(engine) as s:
        (run,) = tr.test_runs(s)
        first = tr.run_results(s, run_id=run.id)[0]
    assert (first.nodeid, first.keywords) == (data["tests"][0]["nodeid"], ("caf\\xe9",))


def stored_rows(engine) -> dict[str, list[tuple]]:
    """Every row of the test-run tables, read straight from the file (ingest times left out)."""
    tables = ("test_file_result", "test_failure", "test_signature", "test_collection_error")
    tables += ("test_warning", "test_suite_result")
    with contextlib.closing(sqlite3.connect(engine.url.database)) as con:
        rows = {t: con.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in tables}
        columns = [c[1] for c in con.execute("PRAGMA table_info(test_run)")]
        kept = ", ".join(c for c in columns if c != "ingested_at")
        rows["test_run"] = con.execute(f"SELECT {kept} FROM test_run ORDER BY id").fetchall()
    return rows


def test_tests_read_one_at_a_time_are_stored_the_same(suite: Suite5, tmp_path, monkeypatch):
    """Streamed tests (decoded one by one, each checked in full) and the whole array (read
    inline) make the same rows."""
    repo = GitRepo.open(suite.repo)
    paths = [suite.reports[name] for name in ("R1", "R2", "R4", "R5")]
    whole, streamed = (store.open_engine(tmp_path / f"{n}.db") for n in ("whole", "streamed"))
    try:
        assert not ingest_reports(whole, config(), paths, repo=repo).errors
        monkeypatch.setattr(reports, "STREAM_ABOVE", 0)
        assert not ingest_reports(streamed, config(), paths, repo=repo).errors
        expected = stored_rows(whole)
        assert len(expected["test_file_result"]) > 10 and len(expected["test_failure"]) > 5
        assert stored_rows(streamed) == expected
    finally:
        whole.dispose()
        streamed.dispose()


def test_whole_seconds_are_stored_like_fractional_ones(suite: Suite5, tmp_path):
    data = json.loads(suite.reports["R1"].read_text())
    for whole in (False, True):
        for t in data["tests"]:
            for stage in ("setup", "call", "teardown"):
                if stage in t:
                    t[stage]["duration"] = 2 if whole else 2.0
        (tmp_path / f"{whole}.json").write_text(json.dumps(data))
    repo = GitRepo.open(suite.repo)
    rows = []
    for whole in (False, True):
        engine = store.open_engine(tmp_path / f"{whole}.db")
        try:
            result = ingest_reports(engine, config(), [tmp_path / f"{whole}.json"], repo=repo)
            assert not result.errors
            rows.append(stored_rows(engine))
        finally:
            engine.dispose()
    fractional, whole_seconds = rows
    assert json.loads(fractional["test_file_result"][0][-1])[0][2:5] == [
        6_000_000,
        "passed",
        2_000_000,
    ]
    assert {k: v for k, v in whole_seconds.items() if k != "test_run"} == {
        k: v for k, v in fractional.items() if k != "test_run"
    }


def feed(pipe: Path, data: bytes) -> threading.Thread:
    """A named pipe at `pipe` that a writer thread fills with `data` once it is opened."""
    os.mkfifo(pipe)
    writer = threading.Thread(target=pipe.write_bytes, args=(data,), daemon=True)
    writer.start()
    return writer


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_report_can_come_through_a_pipe(suite: Suite5, engine, tmp_path):
    """A pipe has no size: it is read up to the limit, and one past the limit is refused."""
    data = suite.reports["R1"].read_bytes()
    repo = GitRepo.open(suite.repo)
    writer = feed(tmp_path / "report.pipe", data)
    result = ingest_reports(engine, config(), [tmp_path / "report.pipe"], repo=repo)
    writer.join(timeout=10)
    assert ([r.tests for r in result.ingested], result.errors) == ([12], ())
    limit = len(data) - 1
    writer = feed(tmp_path / "big.pipe", data)
    result = ingest_reports(engine, config(), [tmp_path / "big.pipe"], repo=repo, max_bytes=limit)
    writer.join(timeout=10)
    too_big = f"too large ({len(data) / 2**20:.1f} MiB; the limit is {limit / 2**20:g} MiB)"
    assert result.errors == ((tmp_path / "big.pipe", too_big),)


# ---- the parser -----------------------------------------------------------------------------


def test_streaming_and_whole_array_parsing_agree(suite: Suite5):
    for name in ("R1", "R4", "R5"):
        data = suite.reports[name].read_bytes()
        assert parse_report(data, stream_above=0) == parse_report(data)


def test_streaming_reports_errors_at_the_right_place(suite: Suite5):
    data = suite.reports["R1"].read_bytes()
    cut = data.index(b'"warnings"') - 100  # inside the last test
    with pytest.raises(ReportError, match=r"invalid JSON at line 1 column \d+.*truncated"):
        parse_report(data[:cut], stream_above=0)
    broken = json.loads(data)
    broken["tests"][5]["outcome"] = 3
    with pytest.raises(ReportError, match=r"tests\[5\]\.outcome: expected a string, got a number"):
        parse_report(json.dumps(broken).encode(), stream_above=0)


@pytest.mark.parametrize(
    ("longrepr", "expected"),
    [
        (
            "'slow' not found in `markers` configuration option",
            ("marker", "slow", "'slow' not found in `markers` configuration option"),
        ),
        (
            "ImportError while importing test module 'x.py'.\nE   ImportError: cannot import name "
            "'Session' from 'legacy.http' (/x/legacy/http.py)",
            (
                "import",
                "legacy.http.Session",
                "ImportError: cannot import name 'Session' from 'legacy.http'",
            ),
        ),
        (
            "tests/test_x.py:3: in <module>\n    raise RuntimeError('boom')\nE   RuntimeError: boom",
            ("other", "", "RuntimeError: boom"),
        ),
    ],
)
def test_collection_error_classification(longrepr: str, expected: tuple[str, str, str]):
    assert classify_collection_error(longrepr) == expected


def test_normalized_messages_drop_what_varies():
    assert normalize_message("timeout after 30.5s at 0xDEADbeef in /tmp/abc/x.txt, try 3") == (
        "timeout after Ns at <addr> in <tmp>, try N"
    )
    assert normalize_message("user_v2 has 3 items") == "user_v2 has N items"


# ---- the command line -----------------------------------------------------------------------


def test_collect_exits_2_after_ingesting_the_good_reports(suite: Suite5, tmp_path, capsys):
    db = tmp_path / "cli.db"
    bad = bad_reports(suite, tmp_path)
    args = ["--repo", str(suite.repo), "--db", str(db), "collect", "-q"]
    args += ["--report", str(suite.reports["R1"]), "--report", str(bad["wrong type"][0])]
    args += ["--report", str(bad["truncated"][0]), "--report", str(suite.reports["R5"])]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2
    assert err[0] == (
        f"healthtui: {bad['wrong type'][0]}: tests[3].call.duration: expected a number, "
        "got a string"
    )
    assert err[1].startswith(f"healthtui: {bad['truncated'][0]}: invalid JSON at line 1 column ")
    engine = store.open_engine(db)
    try:
        with store.read_session(engine) as s:
            assert len(tr.test_runs(s)) == 2
    finally:
        engine.dispose()


def test_collect_links_with_the_commit_option(suite: Suite5, tmp_path):
    db = tmp_path / "cli.db"
    data = json.loads(suite.reports["R3"].read_text())
    args = ["--repo", str(suite.repo), "--db", str(db), "collect", "-q", "--commit", "HEAD~1"]
    assert main([*args, "--report", str(suite.reports["R3"])]) == 0
    engine = store.open_engine(db)
    try:
        with store.read_session(engine) as s:
            (run,) = tr.test_runs(s)
    finally:
        engine.dispose()
    assert (run.sha, run.link_source, run.total) == (suite.commits[1], "option", len(data["tests"]))


def test_run_tests_runs_the_configured_command_and_ingests(
    suite: Suite5, engine, monkeypatch: pytest.MonkeyPatch
):
    for key, value in pytest_env().items():
        monkeypatch.setenv(key, value)
    for key in [k for k in os.environ if k.startswith("PYTEST_") or k.lower() in COMMIT_KEYS]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    command = (sys.executable, "-m", "pytest", "-p", "pytest_jsonreport.plugin", "-q")
    command += ("-p", "no:cacheprovider", "--continue-on-collection-errors", "tests/test_misc.py")
    cfg = replace(Config(), test_command=command)
    result = run_tests(engine, cfg, repo=GitRepo.open(suite.repo), timeout=60)
    assert not result.errors
    assert [(r.sha, r.link_source, r.tests, str(r.path)) for r in result.ingested] == [
        (suite.commits[2], "head", 3, "test_command")
    ]


def test_run_tests_reports_a_timeout_and_a_missing_command(suite: Suite5, engine):
    repo = GitRepo.open(suite.repo)
    slow = replace(Config(), test_command=(sys.executable, "-c", "import time; time.sleep(30)"))
    result = run_tests(engine, slow, repo=repo, timeout=0.5)
    assert result.errors == (
        ("test_command", "timed out after 0.5s (raise test_timeout in the config)"),
    )
    missing = replace(Config(), test_command=("healthtui-no-such-command",))
    assert run_tests(engine, missing, repo=repo).errors == (
        ("test_command", "healthtui-no-such-command: command not found"),
    )
    silent = replace(Config(), test_command=(sys.executable, "-c", "print('no plugin here')"))
    assert run_tests(engine, silent, repo=repo).errors == (
        ("test_command", "wrote no report (exit 0): no plugin here"),
    )
    with pytest.raises(ReportError, match="no test_command in the config"):
        run_tests(engine, Config(), repo=repo)
    with store.read_session(engine) as s:
        subjects = {p.subject for p in store.recent_problems(s)}
    assert subjects == {"test_command"}


def test_collect_ingests_config_globs_and_runs_the_tests(
    suite: Suite5, tmp_path, monkeypatch: pytest.MonkeyPatch
):
    """A second clone of the project: reports made in the first one still belong here."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(suite.repo), str(clone)], check=True)
    (clone / "ci-reports").mkdir()
    (clone / "ci-reports" / "r5.json").write_bytes(suite.reports["R5"].read_bytes())
    command = [sys.executable, "-m", "pytest", "-p", "pytest_jsonreport.plugin", "-q"]
    command += ["-p", "no:cacheprovider", "tests/test_misc.py"]
    (clone / "healthtui.toml").write_text(
        f'reports = ["ci-reports/*.json"]\ntest_command = {json.dumps(command)}\n'
    )
    for key in [k for k in os.environ if k.startswith("PYTEST_") or k.lower() in COMMIT_KEYS]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    db = tmp_path / "cli.db"
    assert main(["--repo", str(clone), "--db", str(db), "collect", "-q", "--run-tests"]) == 0
    engine = store.open_engine(db)
    try:
        with store.read_session(engine) as s:
            runs = sorted((r.path, r.link_source, r.sha, r.total) for r in tr.test_runs(s))
    finally:
        engine.dispose()
    assert runs == [
        (str(clone / "ci-reports" / "r5.json"), "metadata", suite.commits[2], 12),
        ("test_command", "head", suite.commits[2], 3),
    ]
