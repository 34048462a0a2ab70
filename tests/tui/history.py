"""A realistic, deterministic history written through the store's own write functions.

Used by the TUI tests (60 commits, findings with lines, test runs) and the TUI benchmark (a year of
hourly snapshots and 1,000 runs). Everything derives from the arguments, so two builds give
identical databases.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import store
from store import testruns as tr

START = 1_767_603_600  # 2026-01-05 09:00 UTC
AUTHORS = (
    ("Ada Lovelace", "ada@example.com"),
    ("Grace Hopper", "grace@example.com"),
    ("Linus Pauling", "linus@example.com"),
    ("Edsger Dijkstra", "edsger@example.com"),
)
SUBJECTS = (
    "Migrate payments client to async",
    "Replace legacy.http imports with httpx",
    "Register golden_path marker",
    "Fix flaky checkout test",
    "Refactor order service",
    "Bump dependencies",
    "Add retry to webhook sender",
    "Split settings module",
)
HOSTILE = "[bold]Revert[/] \x1b[31mred\x1b[0m <script>alert(1)</script> [link=http://x]click[/link]"
HOSTILE_PATH = "app/api/[routes]/<script>.py"
HOSTILE_TEST = "tests/unit/test_orders.py::test_total[[bold]x[/bold]]"
FILES = (
    "app/payments/client.py",
    "app/payments/webhooks.py",
    "app/orders/service.py",
    "app/orders/models.py",
    HOSTILE_PATH,
    "app/api/views.py",
    "lib/legacy/http.py",
    "tests/golden_path/test_checkout.py",
    "tests/unit/test_orders.py",
    "tests/unit/test_payments.py",
)
CODE_RULES = (
    "await_misuse",
    "deprecated_imports",
    "async_callback",
    "duplicate_classes",
    "todo_comments",
)
GOLDEN = tuple(f"tests/golden_path/test_checkout.py::test_step_{i:02d}" for i in range(12))
UNIT = (*(f"tests/unit/test_payments.py::test_case_{i:03d}" for i in range(18)), HOSTILE_TEST)
FLAKY = "tests/golden_path/test_checkout.py::test_step_03"


def sha_of(i: int, salt: str = "") -> str:
    return hashlib.sha1(f"healthtui-tui-{salt}{i}".encode()).hexdigest()


def curve(
    i: int, n: int, start: float, end: float, spike_at: float = -1, spike: float = 0
) -> float:
    """A value drifting from start to end, with an optional spike that decays over a few commits."""
    t = i / max(n - 1, 1)
    value = start + (end - start) * t
    if spike_at >= 0:
        k = i - int(spike_at * n)
        width = max(n // 12, 2)
        if 0 <= k < width:
            value += spike * (1 - k / width)
    return value


def code_metrics(i: int, n: int) -> dict[str, float]:
    await_misuse = round(curve(i, n, 42, 7, spike_at=0.5, spike=14))
    deprecated = round(curve(i, n, 30, 12))
    callbacks = round(curve(i, n, 9, 2))
    markers = round(curve(i, n, 6, 1))
    return {
        "await_misuse": await_misuse,
        "await_misuse.files": (await_misuse + 2) // 3,
        "deprecated_imports": deprecated,
        "deprecated_imports.files": (deprecated + 1) // 2,
        "deprecated_imports.candidates": 3,
        "async_callback": callbacks,
        "async_callback.files": (callbacks + 1) // 2,
        "duplicate_classes": round(curve(i, n, 4, 4)),
        "duplicate_classes.files": 2,
        "unregistered_markers": markers,
        "unregistered_markers.sites": markers * 3,
        "unregistered_markers.files": markers,
        "unregistered_markers.failing_files": markers,
        "unregistered_markers.strict": 0,
        "unparseable_files": 1.0 if 20 <= i * 60 // n < 24 else 0.0,
        "skipped_files": 0,
        "suite.golden_path.expected": len(GOLDEN),
        "todo_comments": round(curve(i, n, 12, 15)),
        "todo_comments.files": 5,
    }


def test_metrics(i: int, n: int) -> dict[str, float]:
    rate = min(curve(i, n, 0.72, 0.93, spike_at=0.75, spike=-0.2), 1.0)
    return {
        "marker_errors": round(curve(i, n, 8, 2, spike_at=0.8, spike=5)),
        "collection_errors": round(curve(i, n, 5, 1)),
        "flaky_tests": round(curve(i, n, 2, 4)),
        "never_awaited": round(curve(i, n, 6, 3)),
        "suite.golden_path.pass_rate": round(rate, 4),
        "suite.golden_path.pass_rate_expected": round(rate - 0.02, 4),
        "suite.golden_path.pass_rate_excl_flaky": round(min(rate + 0.03, 1.0), 4),
        "tests.total": 240.0 + i * 2,
        "tests.failed": round(curve(i, n, 30, 8)),
    }


@dataclass
class History:
    path: Path
    shas: list[str]
    times: list[int]
    now: float
    runs: int = 0
    tip_findings: dict[str, list[store.FindingInput]] = field(default_factory=dict)


def _finding(rule: str, rng: random.Random, serial: int) -> store.FindingInput:
    path = FILES[rng.randrange(len(FILES))]
    line = 10 + (serial * 7) % 400
    texts = {
        "await_misuse": f"await self.client.send_sync(payload_{serial})",
        "deprecated_imports": "from legacy.http import Session  # [red]old[/]",
        "async_callback": f"loop.call_soon(self.on_done_{serial})",
        "duplicate_classes": f"class OrderModel{serial % 3}:",
        "todo_comments": f"# TODO \x1b[31m remove shim {serial}",
    }
    return store.FindingInput(
        rule=rule, path=path, line=line, col=4, text=texts[rule], message=f"{rule} here"
    )


def _results(i: int, n: int, extra: int) -> Iterator[tuple[tr.TestResultInput, str]]:
    """The tests of the run at commit `i`: golden-path failures that shrink over time, one flaky
    golden-path test, and `extra` generated unit tests. Yields (result, suite counts key)."""
    failing = max(round(curve(i, n, 5, 1)), 0)
    for k, nodeid in enumerate(GOLDEN):
        fails = i % 2 == 1 if nodeid == FLAKY else k < failing
        sig = None
        message = ""
        if fails:
            sig = "sig-flaky" if nodeid == FLAKY else f"sig-golden-{k % 2}"
            message = (
                "AssertionError: checkout total [bold]0[/bold] != 42"
                if nodeid != FLAKY
                else "TimeoutError: gateway did not answer in 5s"
            )
        yield (
            tr.TestResultInput(
                nodeid=nodeid,
                path="tests/golden_path/test_checkout.py",
                outcome="failed" if fails else "passed",
                duration=0.5,
                call_outcome="failed" if fails else "passed",
                keywords=("golden_path",),
                suites=("golden_path",),
                message=message,
                crash_path="tests/golden_path/test_checkout.py" if fails else "",
                crash_line=40 + k if fails else None,
                signature=sig,
                fingerprint="fp-golden" if nodeid == FLAKY else f"fp-golden-{failing}",
            ),
            "golden_path",
        )
    units = list(UNIT) + [f"tests/unit/test_gen.py::test_{j:04d}" for j in range(extra)]
    for j, nodeid in enumerate(units):
        fails = (j + i) % 17 == 0
        yield (
            tr.TestResultInput(
                nodeid=nodeid,
                path=nodeid.split("::", 1)[0],
                outcome="failed" if fails else "passed",
                duration=0.01,
                call_outcome="failed" if fails else "passed",
                message="KeyError: 'currency'" if fails else "",
                crash_path="app/orders/service.py" if fails else "",
                crash_line=88 if fails else None,
                signature="sig-keyerror" if fails else None,
                fingerprint=f"fp-unit-{i}",
            ),
            "",
        )


SIGNATURES = (
    tr.SignatureInput("sig-flaky", "TimeoutError", "gateway did not answer in <n>s", "gw.py:12"),
    tr.SignatureInput(
        "sig-golden-0", "AssertionError", "checkout total [bold]0[/bold] != <n>", "checkout.py:40"
    ),
    tr.SignatureInput("sig-golden-1", "AssertionError", "order not paid", "checkout.py:41"),
    tr.SignatureInput("sig-keyerror", "KeyError", "'currency'", "app/orders/service.py:88"),
)


def record_run(
    s, *, commit_id: int, i: int, n: int, at: float, serial: int, extra: int = 0
) -> dict[str, float]:
    """One test run at commit `i` (with its collection errors, warnings and suite counts);
    returns the metrics of its `tests` snapshot, as report ingest computes them."""
    results = list(_results(i, n, extra))
    golden = [r for r, suite in results if suite == "golden_path"]
    g_passed = sum(r.outcome == "passed" for r in golden)
    passed = sum(r.outcome == "passed" for r, _ in results)
    failed = len(results) - passed
    marker_errors = max(round(curve(i, n, 3, 1)), 0)
    errors = [
        tr.CollectionErrorInput(
            nodeid=f"tests/unit/test_markers_{k}.py",
            kind="marker",
            cause=f"slow_{k}",
            message=f"'slow_{k}' not found in `markers` configuration option",
        )
        for k in range(marker_errors)
    ] + [
        tr.CollectionErrorInput(
            nodeid="tests/integration/test_legacy.py",
            kind="import",
            cause="legacy.http",
            message="ModuleNotFoundError: No module named 'legacy.http'",
        )
    ]
    run = tr.TestRunInput(
        commit_id=commit_id,
        content_hash=hashlib.sha1(f"run-{serial}".encode()).hexdigest(),
        link_source="metadata",
        path=f"reports/run-{serial}.json",
        root="/srv/shop",
        created_at=at,
        ingested_at=at + 5,
        duration=12.5,
        exitcode=1 if failed else 0,
        passed=passed,
        failed=failed,
        errors=0,
        skipped=0,
        xfailed=0,
        xpassed=0,
        total=len(results),
        collected=len(results),
        deselected=0,
        collection_errors=len(errors),
    )
    tr.record_test_run(
        s,
        run=run,
        results=[r for r, _ in results],
        signatures=SIGNATURES,
        collection_errors=errors,
        warnings=[
            tr.WarningInput(
                category="RuntimeWarning",
                message="coroutine 'Client.send' was never awaited",
                path="app/payments/client.py",
                line=77,
                coroutine="Client.send",
                count=3,
            ),
            tr.WarningInput(
                category="DeprecationWarning",
                message="legacy.http is deprecated; use httpx",
                module="legacy.http",
                count=2,
            ),
        ],
        suites=[
            tr.SuiteCountsInput(
                suite="golden_path",
                passed=g_passed,
                failed=len(golden) - g_passed,
                expected_missing=1 if marker_errors else 0,
                target=0.9,
            )
        ],
    )
    missing = 1 if marker_errors else 0
    denominator = len(golden) + missing
    flaky_passed = sum(r.nodeid == FLAKY and r.outcome == "passed" for r in golden)
    return {
        "marker_errors": marker_errors,
        "collection_errors": len(errors),
        "flaky_tests": 1,
        "never_awaited": 1,
        "suite.golden_path.pass_rate": round(g_passed / denominator, 4),
        "suite.golden_path.pass_rate_expected": round(g_passed / denominator, 4),
        "suite.golden_path.pass_rate_excl_flaky": round(
            (g_passed - flaky_passed) / (denominator - 1), 4
        ),
        "tests.total": len(results),
        "tests.failed": failed,
    }


def build_history(
    path: Path,
    *,
    commits: int = 60,
    step: int = 8 * 3600,
    tests_every: int = 3,
    runs: int | None = None,
    extra_tests: int = 0,
    findings: bool = True,
    kinds: tuple[str, ...] = ("code", "tests"),
    collected_after: int = 2 * 3600,
    tests_snapshot_every_commit: bool = False,
) -> History:
    """Write `commits` commits `step` seconds apart with code snapshots, and test runs plus test
    snapshots every `tests_every` commits (or `runs` runs spread evenly), into a new database."""
    engine = store.open_engine(path)
    rng = random.Random(7)
    shas = [sha_of(i) for i in range(commits)]
    times = [START + i * step for i in range(commits)]
    live: dict[str, list[store.FindingInput]] = {r: [] for r in CODE_RULES}
    if runs is None:
        run_at = {i for i in range(commits) if i % tests_every == 0} | {commits - 1}
    else:
        run_at = {round(k * (commits - 1) / max(runs - 1, 1)) for k in range(runs)}
    if "tests" not in kinds:
        run_at = set()
    serial = 0
    written_runs = 0
    try:
        with store.write_session(engine) as s:
            rid = store.ensure_repository(s, root="/srv/shop", name="shop", branch="main")
            infos = []
            for i, sha in enumerate(shas):
                author = AUTHORS[i % len(AUTHORS)]
                subject = HOSTILE if i == commits - 5 else SUBJECTS[i % len(SUBJECTS)]
                infos.append(
                    store.CommitInfo(
                        sha=sha,
                        parents=(shas[i - 1],) if i else (),
                        author_name=author[0],
                        author_email=author[1],
                        authored_at=times[i],
                        author_offset=3600,
                        committed_at=times[i],
                        committer_offset=3600,
                        subject=f"{subject} (#{100 + i})",
                        issue_refs=(f"#{100 + i}",),
                        seq=i,
                    )
                )
            ids = store.upsert_commits(s, repository_id=rid, commits=infos)
            for i, sha in enumerate(shas):
                values = code_metrics(i, commits)
                changes: list[store.ChangeInput] = []
                if findings:
                    for rule in CODE_RULES:
                        target = int(values[rule])
                        while len(live[rule]) < target:
                            f = _finding(rule, rng, serial)
                            serial += 1
                            live[rule].append(f)
                            changes.append(
                                store.ChangeInput(rule, f.path, f.line, f.text, f.message, 1)
                            )
                        while len(live[rule]) > target:
                            f = live[rule].pop(rng.randrange(len(live[rule])))
                            changes.append(
                                store.ChangeInput(rule, f.path, f.line, f.text, f.message, -1)
                            )
                last = i == commits - 1
                if "code" in kinds:
                    store.record_snapshot(
                        s,
                        commit_id=ids[sha],
                        metrics=values,
                        changes=changes,
                        current=[f for r in CODE_RULES for f in live[r]] if last else None,
                        at=times[i] + 60,
                    )
                tests = test_metrics(i, commits)
                if i in run_at:
                    tests = record_run(
                        s,
                        commit_id=ids[sha],
                        i=i,
                        n=commits,
                        at=times[i] + 90,
                        serial=written_runs,
                        extra=extra_tests,
                    )
                    written_runs += 1
                if i in run_at or (tests_snapshot_every_commit and "tests" in kinds):
                    store.record_snapshot(
                        s,
                        commit_id=ids[sha],
                        metrics=tests,
                        kind="tests",
                        at=times[i] + 120,
                    )
            store.touch_collect(
                s, repository_id=rid, head=shas[-1], at=times[-1] + collected_after // 2
            )
    finally:
        engine.dispose()
    return History(
        path=path,
        shas=shas,
        times=times,
        now=times[-1] + collected_after,
        runs=written_runs,
        tip_findings={r: list(v) for r, v in live.items()},
    )


def add_commit(engine, history: History, metrics: dict[str, float], subject: str) -> str:
    """Append one commit with a code snapshot through `engine` (as a cron `collect` would)."""
    i = len(history.shas)
    sha = sha_of(i, "live")
    at = history.times[-1] + 3600
    with store.write_session(engine) as s:
        rid = store.ensure_repository(s, root="/srv/shop", name="shop", branch="main")
        info = store.CommitInfo(
            sha=sha,
            parents=(history.shas[-1],),
            author_name="Cron",
            author_email="cron@example.com",
            authored_at=at,
            author_offset=0,
            committed_at=at,
            committer_offset=0,
            subject=subject,
            seq=i,
        )
        ids = store.upsert_commits(s, repository_id=rid, commits=[info])
        store.record_snapshot(s, commit_id=ids[sha], metrics=metrics, at=at + 30)
        store.touch_collect(s, repository_id=rid, head=sha, at=at + 60)
    history.shas.append(sha)
    history.times.append(at)
    return sha
