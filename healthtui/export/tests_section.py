"""The test part of the standup: golden-path tests newly failing and fixed, new collection errors,
flaky tests; read from the ingested test runs.

"Newly" compares the newest run with a baseline run: the newest run of the `--since` commit, else
the newest run made at or before the since time, else (every run is newer) the oldest run of the
window. With one run only there is nothing to compare, and the renderers say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session

from healthtui.config import Config
from store import testruns

FLAKY_SHOWN = 20
MESSAGE_CHARS = 200
_MANY = 100_000


@dataclass(frozen=True, slots=True)
class TestChange:
    __test__ = False
    nodeid: str
    message: str = ""  # why it fails now (newly failing only)


@dataclass(frozen=True, slots=True)
class CollectionErrorItem:
    nodeid: str  # the file or module that failed to collect
    cause: str


@dataclass(frozen=True, slots=True)
class FlakyItem:
    nodeid: str
    detail: str = ""


@dataclass(frozen=True)
class TestsSection:
    __test__ = False
    available: bool  # False: no test reports ingested yet
    suite: str = "golden_path"
    run_label: str = ""  # the newest run
    baseline_label: str = ""  # the run it is compared with ("" when there is none)
    newly_failing: tuple[TestChange, ...] = ()
    newly_fixed: tuple[TestChange, ...] = ()
    collection_errors: tuple[CollectionErrorItem, ...] = ()  # new since the baseline run
    flaky: tuple[FlakyItem, ...] = ()
    flaky_total: int = 0  # how many flaky tests are known (the list shows the first few)


def suite_name(config: Config) -> str:
    """The golden path if configured, else the first suite."""
    if config.suite("golden_path") is not None or not config.suites:
        return "golden_path"
    return config.suites[0].name


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _counts(passed: int, failed: int, errors: int) -> list[str]:
    counts = [f"{passed} passed", f"{failed} failed"]
    if errors:
        counts.append(f"{errors} error{'s' if errors != 1 else ''}")
    return counts


def run_label(run: testruns.TestRunInfo, suite: testruns.SuiteSummary | None = None) -> str:
    """ "1a2b3c4d at 2026-11-20 09:00 UTC (golden path: 40 passed, 4 failed; all tests: 223
    passed, 12 failed, 1 error)": the suite's own counts first, so they match its pass rate."""
    counts = _counts(run.passed, run.failed, run.errors)
    if run.collection_errors:
        n = run.collection_errors
        counts.append(f"{n} collection error{'s' if n != 1 else ''}")
    text = ", ".join(counts)
    if suite is not None:
        name = suite.suite.replace("_", " ")
        text = f"{name}: {', '.join(_counts(suite.passed, suite.failed, suite.errors))}; "
        text += f"all tests: {', '.join(counts)}"
    return f"{run.sha[:8]} at {_when(run.created_at)} ({text})"


def _label(session: Session, run: testruns.TestRunInfo, suite: str) -> str:
    return run_label(run, testruns.suite_summary(session, suite=suite, run_id=run.id))


def first_line(text: str, limit: int = MESSAGE_CHARS) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def baseline_run(runs: tuple[testruns.TestRunInfo, ...], since) -> testruns.TestRunInfo | None:
    """The run the newest one (runs[0], newest first) is compared with; None with a single run."""
    if len(runs) < 2:
        return None
    older = runs[1:]
    if since.commit is not None:
        same = next((r for r in older if r.sha == since.commit), None)
        if same is not None:
            return same
    before = next((r for r in older if r.created_at <= since.at), None)
    return before if before is not None else older[-1]


def collection_cause(error: testruns.CollectionErrorRow) -> str:
    """ "import error: No module named 'legacy'" — the kind, the cause, the first message line."""
    head = f"{error.kind} error" if error.kind and error.kind != "other" else "error"
    detail = first_line(error.message)
    if error.cause and error.cause not in detail:
        head += f" ({error.cause})"
    return f"{head}: {detail}" if detail else head


def tests_section(session: Session, *, config: Config, since) -> TestsSection:
    """What changed in the tests between the baseline run and the newest run."""
    suite = suite_name(config)
    runs = testruns.test_runs(session, limit=_MANY)
    if not runs:
        return TestsSection(available=False, suite=suite)
    newest = runs[0]
    base = baseline_run(runs, since)
    flaky = testruns.flaky_tests(session, limit=_MANY)
    flaky_items = tuple(
        FlakyItem(
            nodeid=f.nodeid,
            detail=f"{f.passes} passed, {f.failures} failed under the same code; "
            f"last at {f.last_sha[:8]}",
        )
        for f in flaky[:FLAKY_SHOWN]
    )
    failing_now = {
        r.nodeid: r
        for r in testruns.latest_failures(session, run_id=newest.id, suite=suite, limit=_MANY)
    }
    errors_now = testruns.collection_errors(session, run_id=newest.id)
    if base is None or base.id == newest.id:
        return TestsSection(
            available=True,
            suite=suite,
            run_label=_label(session, newest, suite),
            baseline_label="",
            flaky=flaky_items,
            flaky_total=len(flaky),
        )
    failing_before = {
        r.nodeid
        for r in testruns.latest_failures(session, run_id=base.id, suite=suite, limit=_MANY)
    }
    newly_failing = tuple(
        TestChange(nodeid=n, message=first_line(failing_now[n].message))
        for n in sorted(failing_now)
        if n not in failing_before
    )
    newly_fixed = tuple(
        TestChange(nodeid=n)
        for n in sorted(failing_before - set(failing_now))
        if _outcome_in(session, n, newest.id) == testruns.PASSED
    )
    errors_before = {
        (e.nodeid, e.kind, e.cause) for e in testruns.collection_errors(session, run_id=base.id)
    }
    new_errors = tuple(
        CollectionErrorItem(nodeid=e.nodeid, cause=collection_cause(e))
        for e in errors_now
        if (e.nodeid, e.kind, e.cause) not in errors_before
    )
    return TestsSection(
        available=True,
        suite=suite,
        run_label=_label(session, newest, suite),
        baseline_label=_label(session, base, suite),
        newly_failing=newly_failing,
        newly_fixed=newly_fixed,
        collection_errors=new_errors,
        flaky=flaky_items,
        flaky_total=len(flaky),
    )


def _outcome_in(session: Session, nodeid: str, run_id: int) -> str | None:
    """The test's outcome in `run_id`, the newest run (None: the test is not in it)."""
    newest = testruns.test_history(session, nodeid=nodeid, limit=1)
    return newest[-1].outcome if newest and newest[-1].run_id == run_id else None
