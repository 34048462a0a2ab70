"""The Tests screen's reads over all runs (flaky tests, failure clusters) agree with a brute-force
reading of every stored test, on randomly generated runs: several files, code fingerprints that
change now and then, tests that flip, runs on the same commit, signatures shared across tests."""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from dataclasses import dataclass

import pytest

import store
from store import testruns as tr

FILES = ("tests/a/test_one.py", "tests/a/test_two.py", "tests/b/test_three.py", "test_top.py")
SIGNATURES = ("sig-timeout", "sig-key", "sig-assert", "sig-[odd]%_")


@dataclass(frozen=True)
class Stored:
    """One generated test of one run, as the reference sees it."""

    run_id: int
    created_at: float
    sha: str
    nodeid: str
    fingerprint: str
    outcome: str
    signature: str


def _generate(engine, seed: int) -> list[Stored]:
    """Write 5-40 runs over a handful of commits; return every test as stored."""
    rng = random.Random(seed)
    n_runs = rng.randint(5, 40)
    tests = {f: [f"{f}::test_{k}" for k in range(rng.randint(1, 6))] for f in FILES}
    tests["test_top.py"].append("test_top.py")  # a node id that is only a file
    versions = dict.fromkeys(FILES, 0)
    shas = [hashlib.sha1(f"{seed}-{i}".encode()).hexdigest() for i in range(n_runs // 2 + 1)]
    stored: list[Stored] = []
    with store.write_session(engine) as s:
        repo = store.ensure_repository(s, root="/r", name="r", branch="main")
        infos = [
            store.CommitInfo(
                sha=sha,
                parents=(),
                author_name="a",
                author_email="a@x",
                authored_at=1_700_000_000 + i,
                author_offset=0,
                committed_at=1_700_000_000 + i,
                committer_offset=0,
                subject=f"c{i}",
                seq=i,
            )
            for i, sha in enumerate(shas)
        ]
        ids = store.upsert_commits(s, repository_id=repo, commits=infos)
        for r in range(n_runs):
            for f in FILES:
                if rng.random() < 0.25:
                    versions[f] += 1
            sha = shas[min(r // 2, len(shas) - 1)]
            created = 1_700_000_000 + rng.choice([r * 10, r * 10, (r - 1) * 10])  # ties too
            results = []
            for f in FILES:
                for nodeid in tests[f]:
                    outcome = rng.choice(["passed"] * 5 + ["failed", "error", "skipped"])
                    failing = outcome in ("failed", "error")
                    signature = rng.choice(SIGNATURES) if failing and rng.random() < 0.8 else None
                    results.append(
                        tr.TestResultInput(
                            nodeid=nodeid,
                            path=f"pkg/{f}",
                            outcome=outcome,
                            message="boom" if failing else "",
                            signature=signature,
                            fingerprint=f"{f}@{versions[f]}",
                            suites=("core",) if f.startswith("tests/a/") else (),
                        )
                    )
            core = [x for x in results if x.suites]
            run_id = tr.record_test_run(
                s,
                run=tr.TestRunInput(
                    commit_id=ids[sha],
                    content_hash=f"{seed}-{r}",
                    link_source="option",
                    path=f"r{r}.json",
                    root="/r",
                    created_at=float(created),
                    ingested_at=float(created),
                    duration=1.0,
                    exitcode=1,
                    passed=sum(x.outcome == "passed" for x in results),
                    failed=0,
                    errors=0,
                    skipped=0,
                    xfailed=0,
                    xpassed=0,
                    total=len(results),
                    collected=len(results),
                    deselected=0,
                    collection_errors=0,
                ),
                results=results,
                signatures=[tr.SignatureInput(x, "E", x, "f.py:1") for x in SIGNATURES],
                suites=[
                    tr.SuiteCountsInput(
                        suite="core",
                        passed=sum(x.outcome == "passed" for x in core),
                        failed=sum(x.outcome == "failed" for x in core),
                        errors=sum(x.outcome == "error" for x in core),
                        skipped=sum(x.outcome == "skipped" for x in core),
                    )
                ],
            )
            stored += [
                Stored(
                    run_id,
                    float(created),
                    sha,
                    x.nodeid,
                    x.fingerprint,
                    x.outcome,
                    x.signature or "",
                )
                for x in results
            ]
    return stored


def _flaky_pairs(stored, nodeids=None, exclude_run=None) -> set[tuple[str, str]]:
    outcomes: dict[tuple[str, str], set[str]] = defaultdict(set)
    for t in stored:
        if t.run_id != exclude_run and (nodeids is None or t.nodeid in nodeids):
            outcomes[(t.nodeid, t.fingerprint)].add(t.outcome)
    return {k for k, seen in outcomes.items() if "passed" in seen and seen & {"failed", "error"}}


def _clusters(stored, current_run: int) -> list[tr.FailureCluster]:
    by_sig: dict[str, list[Stored]] = defaultdict(list)
    for t in stored:
        if t.signature:
            by_sig[t.signature].append(t)
    out = []
    for sig, seen in by_sig.items():
        first = min(seen, key=lambda t: (t.created_at, t.run_id))
        last = max(seen, key=lambda t: (t.created_at, t.run_id))
        runs = {t.run_id for t in seen}
        shown = current_run if current_run in runs else last.run_id
        tests = tuple(sorted({t.nodeid for t in seen if t.run_id == shown}))
        out.append(
            tr.FailureCluster(
                signature=sig,
                exception="E",
                message=sig,
                crash="f.py:1",
                count=len(tests),
                tests=tests,
                first_sha=first.sha,
                last_sha=last.sha,
                runs=len(runs),
                current=current_run in runs,
            )
        )
    last_seen = {
        sig: max((t.created_at, t.run_id) for t in seen)[0] for sig, seen in by_sig.items()
    }
    out.sort(
        key=lambda c: (
            not c.current,
            -c.count if c.current else 0,
            -last_seen[c.signature],
            c.signature,
        )
    )
    return out


def _flaky_tests(stored, pairs) -> list[tr.FlakyTest]:
    stats: dict[str, list] = {}
    for t in stored:
        if (t.nodeid, t.fingerprint) in pairs:
            s = stats.setdefault(t.nodeid, [0, 0, (-1.0, -1), ""])
            s[0] += t.outcome == "passed"
            s[1] += t.outcome in ("failed", "error")
            if (t.created_at, t.run_id) > s[2]:
                s[2], s[3] = (t.created_at, t.run_id), t.sha
    ordered = sorted(stats.items(), key=lambda kv: (-kv[1][2][0], -kv[1][2][1], kv[0]))
    return [tr.FlakyTest(n, s[0], s[1], s[3]) for n, s in ordered]


def _newest_run(stored) -> int:
    return max((t.created_at, t.run_id) for t in stored)[1]


@pytest.mark.parametrize("seed", range(6))
def test_flaky_reads_agree_with_every_stored_test(engine, seed):
    stored = _generate(engine, seed)
    pairs = _flaky_pairs(stored)
    some = sorted({t.nodeid for t in stored})[::3]
    runs = sorted({t.run_id for t in stored})
    with store.read_session(engine) as s:
        assert tr.flaky_pairs(s) == pairs
        assert tr.flaky_pairs(s, nodeids=some) == _flaky_pairs(stored, nodeids=set(some))
        assert tr.flaky_pairs(s, nodeids=[]) == set()
        for run in (runs[0], runs[-1]):
            assert tr.flaky_pairs(s, exclude_run=run) == _flaky_pairs(stored, exclude_run=run)
            assert tr.flaky_pairs(s, nodeids=some, exclude_run=run) == _flaky_pairs(
                stored, nodeids=set(some), exclude_run=run
            )
        assert list(tr.flaky_tests(s, limit=1000)) == _flaky_tests(stored, pairs)
        assert tr.flaky_tests(s, limit=1000, pairs=pairs) == tr.flaky_tests(s, limit=1000)
        assert tr.flaky_tests(s, limit=2) == tr.flaky_tests(s, limit=1000)[:2]
        assert tr.flaky_nodeids(s) == {n for n, _ in pairs}


@pytest.mark.parametrize("seed", range(6))
def test_failure_clusters_agree_with_every_stored_test(engine, seed):
    stored = _generate(engine, seed)
    runs = sorted({t.run_id for t in stored})
    with store.read_session(engine) as s:
        assert list(tr.failure_clusters(s, limit=100)) == _clusters(stored, _newest_run(stored))
        for run in (runs[0], runs[len(runs) // 2]):
            assert list(tr.failure_clusters(s, limit=100, run_id=run)) == _clusters(stored, run)
        assert tr.failure_clusters(s, limit=2) == tr.failure_clusters(s, limit=100)[:2]


@pytest.mark.parametrize("seed", range(3))
def test_summaries_count_the_flaky_pairs_they_are_given(engine, seed):
    stored = _generate(engine, seed)
    pairs = _flaky_pairs(stored)
    known = {n for n, _ in pairs}
    newest = _newest_run(stored)
    in_core = [
        t
        for t in stored
        if t.run_id == newest and t.nodeid.startswith("tests/a/") and t.nodeid in known
    ]
    flaky = sum(t.outcome in ("passed", "failed", "error") for t in in_core)
    with store.read_session(engine) as s:
        given = tr.suite_summary(s, suite="core", pairs=pairs)
        assert given == tr.suite_summary(s, suite="core") and given is not None
        assert given.flaky == flaky
        assert tr.suite_summaries(s, pairs=pairs) == (given,)
        assert tr.suite_summary(s, suite="core", pairs=set()).flaky == 0
