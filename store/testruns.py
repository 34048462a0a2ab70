"""Test runs ingested from pytest-json-report files and their per-test results (schema version 2).

One `TestRun` per report (unique by content hash), linked to a commit and saying how the link was
made (`option`, `metadata`, `head`). Its tests are stored per test file (`TestFileResult`): each
test's outcome, stages, markers and suites packed in one JSON list, with the file's code
`fingerprint` (the test file plus the code that is not another test file, at the run's commit).
Failed and errored tests also get a `TestFailure` row with the crash location and a normalized
failure `signature`. Packing keeps a run of thousands of tests to a few hundred rows: ingesting a
report must cost about as much as reading it. Queries for single tests decode only the file rows
that name them.

Flaky means: the same test, under the same fingerprint (no code change that could matter to it),
both passed and failed. That covers two runs on one commit and flips across commits that left the
test's code alone.

Suite counts are stored per run. `errors` there are the tests' own errors; the readers add the
statically expected tests of suite files whose collection failed (`expected_missing`) and tests that
were collected but never ran because collection errors interrupted the session (`not_run`), so a
collection error can never make a pass rate look better.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import (
    Index,
    delete,
    func,
    insert,
    select,
    tuple_,
    update,
)
from sqlmodel import Field, Session, SQLModel

from store.models import Commit
from store.snapshots import storable

PASSED = "passed"
FAILING = ("failed", "error")


class TestRun(SQLModel, table=True):
    """One ingested report."""

    __test__ = False
    __tablename__ = "test_run"
    __table_args__ = (Index("ix_test_run_commit_created", "commit_id", "created_at"),)
    id: int | None = Field(default=None, primary_key=True)
    commit_id: int = Field(foreign_key="commit.id")
    content_hash: str = Field(unique=True)
    link_source: str  # "option" | "metadata" | "head"
    path: str
    root: str = ""
    created_at: float = Field(index=True)  # the report's `created`
    ingested_at: float = 0.0
    duration: float = 0.0
    exitcode: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    xfailed: int = 0
    xpassed: int = 0
    total: int = 0
    collected: int = 0
    deselected: int = 0
    collection_errors: int = 0


class TestFileResult(SQLModel, table=True):
    """The tests of one test file in one run, packed: a run of thousands of tests is a few hundred
    rows, so ingesting a report costs about as much as reading it. `tests` is a JSON list with
    one entry per test (see `ENTRY`); failed and errored tests also get a `TestFailure` row."""

    __test__ = False
    __tablename__ = "test_file_result"
    __table_args__ = (Index("ix_test_file_result_file", "file", "fingerprint"),)
    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="test_run.id", index=True, ondelete="CASCADE")
    file: str  # the test file as the node ids name it (relative to the report's root)
    path: str = ""  # the same file, repository-relative
    fingerprint: str = ""
    tests: str = "[]"


# One test in `TestFileResult.tests`; durations in whole microseconds, keywords and suites
# space-separated. The node id is `file::name` (just `file` when the name is empty).
ENTRY = (
    "name",
    "outcome",
    "duration_us",
    "setup_outcome",
    "setup_us",
    "call_outcome",
    "call_us",
    "teardown_outcome",
    "teardown_us",
    "keywords",
    "suites",
)


class TestFailure(SQLModel, table=True):
    """A failed or errored test of one run: where it crashed and its normalized signature."""

    __test__ = False
    __tablename__ = "test_failure"
    __table_args__ = (Index("ix_test_failure_nodeid", "nodeid", "fingerprint"),)
    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="test_run.id", index=True, ondelete="CASCADE")
    nodeid: str
    path: str = ""  # the test file, repository-relative
    outcome: str = "failed"
    stage: str = ""  # "setup", "call" or "teardown"
    duration: float = 0.0
    suites: str = ""  # " a b " (padded so `LIKE '% a %'` finds one)
    message: str = ""
    crash_path: str = ""
    crash_line: int | None = None
    signature: str = Field(index=True)
    fingerprint: str = ""


class TestSignature(SQLModel, table=True):
    """What a failure signature stands for: exception type, normalized message, crash frame."""

    __test__ = False
    __tablename__ = "test_signature"
    signature: str = Field(primary_key=True)
    exception: str = ""
    message: str = ""
    crash: str = ""


class TestCollectionError(SQLModel, table=True):
    __test__ = False
    __tablename__ = "test_collection_error"
    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="test_run.id", index=True, ondelete="CASCADE")
    nodeid: str
    kind: str  # "marker" | "import" | "syntax" | "other"
    cause: str = ""
    message: str = ""


class TestWarning(SQLModel, table=True):
    """Warnings of one run, identical ones counted together."""

    __test__ = False
    __tablename__ = "test_warning"
    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="test_run.id", index=True, ondelete="CASCADE")
    category: str
    message: str
    path: str = ""
    line: int | None = None
    coroutine: str = ""  # for "coroutine '...' was never awaited"
    module: str = ""
    count: int = 1


class TestSuiteResult(SQLModel, table=True):
    """One suite's counts in one run, with the suite's target at ingest time."""

    __test__ = False
    __tablename__ = "test_suite_result"
    run_id: int = Field(foreign_key="test_run.id", primary_key=True, ondelete="CASCADE")
    suite: str = Field(primary_key=True)
    passed: int = 0
    failed: int = 0
    errors: int = 0  # the tests' own errors
    skipped: int = 0
    xfailed: int = 0
    xpassed: int = 0
    not_run: int = 0
    expected_missing: int = 0
    target: float | None = None


# ---- inputs ----


@dataclass(frozen=True, slots=True)
class TestRunInput:
    __test__ = False
    commit_id: int
    content_hash: str
    link_source: str
    path: str
    root: str
    created_at: float
    ingested_at: float
    duration: float
    exitcode: int
    passed: int
    failed: int
    errors: int
    skipped: int
    xfailed: int
    xpassed: int
    total: int
    collected: int
    deselected: int
    collection_errors: int


class TestResultInput(NamedTuple):
    """One test of a run (a named tuple: runs have thousands of them, and they are built fast)."""

    nodeid: str
    path: str
    outcome: str
    duration: float = 0.0
    setup_outcome: str = ""
    setup_duration: float = 0.0
    call_outcome: str = ""
    call_duration: float = 0.0
    teardown_outcome: str = ""
    teardown_duration: float = 0.0
    keywords: tuple[str, ...] = ()
    suites: tuple[str, ...] = ()
    message: str = ""
    crash_path: str = ""
    crash_line: int | None = None
    signature: str | None = None
    fingerprint: str = ""


TestResultInput.__test__ = False  # type: ignore[attr-defined]


class TestFileInput(NamedTuple):
    """The tests of one test file in one run, each already laid out as an `ENTRY` tuple
    (durations in whole microseconds, keywords and suites space-separated): how an ingest hands
    over thousands of tests without a record per test. Text is escaped by the store."""

    file: str  # as the node ids name it
    path: str  # repository-relative
    fingerprint: str
    tests: list[tuple]


TestFileInput.__test__ = False  # type: ignore[attr-defined]


class TestFailureInput(NamedTuple):
    """A failed or errored test, next to its entry in a `TestFileInput`."""

    nodeid: str
    path: str
    outcome: str
    stage: str  # the first stage that failed, "" when none did
    duration: float
    suites: tuple[str, ...]
    message: str
    crash_path: str
    crash_line: int | None
    signature: str
    fingerprint: str


TestFailureInput.__test__ = False  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class SignatureInput:
    signature: str
    exception: str
    message: str
    crash: str


@dataclass(frozen=True, slots=True)
class CollectionErrorInput:
    nodeid: str
    kind: str
    cause: str
    message: str


@dataclass(frozen=True, slots=True)
class WarningInput:
    category: str
    message: str
    path: str = ""
    line: int | None = None
    coroutine: str = ""
    module: str = ""
    count: int = 1


@dataclass(frozen=True, slots=True)
class SuiteCountsInput:
    suite: str
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    xfailed: int = 0
    xpassed: int = 0
    not_run: int = 0
    expected_missing: int = 0
    target: float | None = None


# ---- read models ----


@dataclass(frozen=True, slots=True)
class TestRunInfo:
    __test__ = False
    id: int
    created_at: float
    duration: float
    exitcode: int
    sha: str
    link_source: str  # "option" | "metadata" | "head"
    path: str
    passed: int
    failed: int
    errors: int
    skipped: int
    xfailed: int
    xpassed: int
    total: int
    collection_errors: int
    ingested_at: float = 0.0
    collected: int = 0
    subject: str = ""


@dataclass(frozen=True, slots=True)
class TestResultRow:
    __test__ = False
    nodeid: str
    outcome: str
    duration: float
    message: str
    crash_path: str
    crash_line: int | None
    signature: str | None
    suites: tuple[str, ...]
    when: str = ""  # the stage that failed: "setup", "call" or "teardown"


@dataclass(frozen=True, slots=True)
class TestOutcome:
    """One test of a run, as stored: outcome, stages, markers and suites."""

    __test__ = False
    nodeid: str
    outcome: str
    duration: float
    setup_outcome: str
    setup_duration: float
    call_outcome: str
    call_duration: float
    teardown_outcome: str
    teardown_duration: float
    keywords: tuple[str, ...]
    suites: tuple[str, ...]
    path: str = ""


@dataclass(frozen=True, slots=True)
class FailureCluster:
    signature: str
    exception: str
    message: str
    crash: str
    count: int  # failing tests with this signature in the newest run that had it
    tests: tuple[str, ...]
    first_sha: str
    last_sha: str
    runs: int = 0  # runs it was seen in
    current: bool = False  # seen in the newest run


@dataclass(frozen=True, slots=True)
class CollectionErrorRow:
    nodeid: str
    kind: str  # "marker" | "import" | "syntax" | "other"
    cause: str  # marker name, missing module, or ""
    message: str


@dataclass(frozen=True, slots=True)
class FlakyTest:
    nodeid: str
    passes: int
    failures: int
    last_sha: str


@dataclass(frozen=True, slots=True)
class TestOutcomePoint:
    __test__ = False
    run_id: int
    sha: str
    at: float  # the run's time (the report's `created`)
    outcome: str


@dataclass(frozen=True, slots=True)
class SuiteSummary:
    """One suite in one run. `errors` includes `expected_missing` and `not_run`.

    pass_rate = passed / (passed + failed + errors)        (missing and unrun tests as errors)
    pass_rate_collected = passed / (passed + failed + the tests' own errors)   (what pytest saw)
    pass_rate_expected = passed / expected    (expected = collected + expected_missing; skipped
                                               and xfailed tests count against it)
    pass_rate_excl_flaky: pass_rate with known-flaky tests left out of both sides.
    Rates are None when their denominator is zero."""

    suite: str
    passed: int
    failed: int
    errors: int
    skipped: int
    xfailed: int
    collected: int
    expected: int
    pass_rate: float | None
    pass_rate_expected: float | None
    pass_rate_excl_flaky: float | None
    target: float | None
    xpassed: int = 0
    expected_missing: int = 0
    not_run: int = 0
    flaky: int = 0
    run_id: int = 0
    pass_rate_collected: float | None = None


@dataclass(frozen=True, slots=True)
class RuntimeWarningRow:
    category: str
    message: str
    path: str
    line: int | None
    coroutine: str
    module: str
    count: int


@dataclass(frozen=True)
class CommitTestStats:
    """What a commit's `tests` snapshot is computed from: its newest run, plus flaky tests over all
    of its runs."""

    commit_id: int
    run: TestRunInfo
    suites: tuple[SuiteSummary, ...]
    collection_errors: tuple[CollectionErrorRow, ...]
    never_awaited: int  # distinct coroutine sites
    flaky: tuple[str, ...]  # node ids flaky on this commit
    failure_signatures: int = 0  # distinct failure signatures in the run
    deprecation_modules: int = 0  # distinct modules the run's deprecation warnings came from
    flaky_passed: int = 0  # tests of the run known to be flaky (anywhere) that passed
    flaky_failing: int = 0  # ... that failed or errored
    not_run: int = 0  # collected but never run (a session cut short by collection errors)


# ---- writes ----


def has_test_run(session: Session, *, content_hash: str) -> bool:
    return (
        session.execute(select(TestRun.id).where(TestRun.content_hash == content_hash)).first()
        is not None
    )


def has_same_run(session: Session, *, created_at: float, root: str, duration: float) -> bool:
    """Whether a run of this `created` time, root and duration is stored: the same pytest session
    in other bytes (re-indented, keys reordered), since `created` is its start to the microsecond."""
    query = select(TestRun.id).where(
        TestRun.created_at == created_at, TestRun.root == _text(root), TestRun.duration == duration
    )
    return session.execute(query).first() is not None


_FILE_COLUMNS = ("run_id", "file", "path", "fingerprint", "tests")
_FAILURE_COLUMNS = (
    "run_id",
    "nodeid",
    "path",
    "outcome",
    "stage",
    "duration",
    "suites",
    "message",
    "crash_path",
    "crash_line",
    "signature",
    "fingerprint",
)
_SIGNATURE_COLUMNS = ("signature", "exception", "message", "crash")
_ERROR_COLUMNS = ("run_id", "nodeid", "kind", "cause", "message")
_WARNING_COLUMNS = ("run_id", "category", "message", "path", "line", "coroutine", "module", "count")
_SUITE_COLUMNS = (
    "run_id",
    "suite",
    "passed",
    "failed",
    "errors",
    "skipped",
    "xfailed",
    "xpassed",
    "not_run",
    "expected_missing",
    "target",
)
_encode = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode


def _failed_stage(r: TestResultInput) -> str:
    for stage, outcome in (
        ("setup", r.setup_outcome),
        ("call", r.call_outcome),
        ("teardown", r.teardown_outcome),
    ):
        if outcome == "failed":
            return stage
    return ""


def _text(value: str) -> str:
    return value if value.isascii() else storable(value)


# (dialect class, paramstyle, table, columns) -> (SQL, how to reorder a row's values, positional)
_INSERTS: dict[tuple, tuple[str, list[int] | None, bool]] = {}


def _insert_many(
    session: Session, table: type[SQLModel], columns: Sequence[str], rows: list[tuple]
) -> None:
    """executemany straight through the DB-API cursor, with a statement compiled once per dialect
    (not once per engine): for runs of thousands of tests the ORM's per-row parameter handling
    costs more than the database's insert itself, and a fresh engine would compile again."""
    if not rows:
        return
    conn = session.connection()
    dialect = conn.dialect
    key = (type(dialect), dialect.paramstyle, table.__tablename__, tuple(columns))
    found = _INSERTS.get(key)
    if found is None:
        compiled = insert(table).inline().compile(dialect=dialect, column_keys=list(columns))
        names = list(compiled.positiontup or ()) if compiled.positional else list(compiled.params)
        if set(names) != set(columns):
            raise ValueError(f"{table.__tablename__}: columns {sorted(names)} != {sorted(columns)}")
        order = [columns.index(name) for name in names] if compiled.positional else None
        if order == list(range(len(columns))):
            order = None
        found = _INSERTS[key] = (str(compiled), order, compiled.positional)
    sql, order, positional = found
    if order is not None:
        rows = [tuple(row[i] for i in order) for row in rows]
    elif not positional:
        rows = [dict(zip(columns, row, strict=True)) for row in rows]
    conn.exec_driver_sql(sql, rows)


def _pack_results(
    results: Iterable[TestResultInput],
) -> tuple[list[TestFileInput], list[TestFailureInput]]:
    """Per-test records as `record_test_run` stores them: entries per test file, and failures."""
    files: dict[tuple[str, str, str], list[tuple]] = {}
    failures: list[TestFailureInput] = []
    join = " ".join
    last: tuple[str, str, str] | None = None
    entries: list[tuple] = []
    for r in results:
        (nodeid, path, outcome, duration, so, sd, co, cd, do, dd, kws, groups, *failure, fp) = r
        file, _, name = nodeid.partition("::")
        if last is None or file != last[0] or fp != last[2] or path != last[1]:
            last = (file, path, fp)
            entries = files.setdefault(last, [])
        entries.append(
            (
                name,
                outcome,
                int(duration * 1e6),
                so,
                int(sd * 1e6),
                co,
                int(cd * 1e6),
                do,
                int(dd * 1e6),
                join(kws) if kws else "",
                join(groups),
            )
        )
        message, crash_path, crash_line, signature = failure
        if outcome in FAILING or signature is not None:
            failures.append(
                TestFailureInput(
                    nodeid,
                    path,
                    outcome,
                    _failed_stage(r),
                    duration,
                    groups,
                    message,
                    crash_path,
                    crash_line,
                    signature or "",
                    fp,
                )
            )
    packed = [TestFileInput(file, path, fp, e) for (file, path, fp), e in files.items()]
    return packed, failures


def _escaped(entry: tuple) -> tuple:
    name, *middle, keywords, suites = entry
    return (storable(name), *middle, storable(keywords), storable(suites))


def _file_rows(run_id: int, files: Iterable[TestFileInput]) -> list[tuple]:
    rows = []
    for file, path, fingerprint, tests in files:
        text = _encode(tests)
        # surrogate escapes (or characters beyond the BMP) show as `\ud...` in ASCII JSON
        if "\\ud" in text:
            text = _encode([_escaped(e) for e in tests])
        rows.append((run_id, _text(file), _text(path), fingerprint, text))
    return rows


def _failure_rows(run_id: int, failures: Iterable[TestFailureInput]) -> list[tuple]:
    padded: dict[tuple[str, ...], str] = {(): ""}
    rows = []
    for nodeid, path, outcome, stage, duration, suites, *rest in failures:
        message, crash_path, crash_line, signature, fingerprint = rest
        member_of = padded.get(suites)
        if member_of is None:
            member_of = padded[suites] = _text(f" {' '.join(suites)} ")
        rows.append(
            (
                run_id,
                _text(nodeid),
                _text(path),
                outcome,
                stage,
                duration,
                member_of,
                _text(message),
                _text(crash_path),
                crash_line,
                signature,
                fingerprint,
            )
        )
    return rows


def record_test_run(
    session: Session,
    *,
    run: TestRunInput,
    results: Iterable[TestResultInput] = (),
    files: Iterable[TestFileInput] = (),
    failures: Iterable[TestFailureInput] = (),
    signatures: Iterable[SignatureInput] = (),
    collection_errors: Iterable[CollectionErrorInput] = (),
    warnings: Iterable[WarningInput] = (),
    suites: Iterable[SuiteCountsInput] = (),
) -> int:
    """Store one run and everything in it; returns the run id. Its tests come either one record
    each (`results`) or packed per file (`files`, with `failures`). Call inside `write_session`
    (and check `has_test_run` first: the content hash is unique). Text that is not valid UTF-8
    (surrogate escapes from odd paths) is stored escaped."""
    fields = {name: getattr(run, name) for name in TestRunInput.__slots__}
    fields["path"], fields["root"] = _text(run.path), _text(run.root)
    _insert_many(session, TestRun, TestRunInput.__slots__, [tuple(fields.values())])
    run_id = session.execute(
        select(TestRun.id).where(TestRun.content_hash == run.content_hash)
    ).scalar_one()
    packed, failed = _pack_results(results)
    if packed or failed:
        files, failures = [*files, *packed], [*failures, *failed]
    _insert_many(session, TestFileResult, _FILE_COLUMNS, _file_rows(run_id, files))
    _insert_many(session, TestFailure, _FAILURE_COLUMNS, _failure_rows(run_id, failures))
    sigs = {s.signature: s for s in signatures}
    if sigs:
        known = set()
        keys = list(sigs)
        for i in range(0, len(keys), 500):
            known.update(
                session.execute(
                    select(TestSignature.signature).where(
                        TestSignature.signature.in_(keys[i : i + 500])
                    )
                ).scalars()
            )
        new = [
            (s.signature, _text(s.exception), _text(s.message), _text(s.crash))
            for k, s in sigs.items()
            if k not in known
        ]
        _insert_many(session, TestSignature, _SIGNATURE_COLUMNS, new)
    rows = [
        (run_id, _text(c.nodeid), c.kind, _text(c.cause), _text(c.message))
        for c in collection_errors
    ]
    _insert_many(session, TestCollectionError, _ERROR_COLUMNS, rows)
    rows = [
        (
            run_id,
            _text(w.category),
            _text(w.message),
            _text(w.path),
            w.line,
            _text(w.coroutine),
            _text(w.module),
            w.count,
        )
        for w in warnings
    ]
    _insert_many(session, TestWarning, _WARNING_COLUMNS, rows)
    rows = [
        (
            run_id,
            s.suite,
            s.passed,
            s.failed,
            s.errors,
            s.skipped,
            s.xfailed,
            s.xpassed,
            s.not_run,
            s.expected_missing,
            s.target,
        )
        for s in suites
    ]
    _insert_many(session, TestSuiteResult, _SUITE_COLUMNS, rows)
    return run_id


def delete_test_run(session: Session, *, run_id: int) -> None:
    """Remove one run and its rows (signatures are shared and stay)."""
    for model in (TestFileResult, TestFailure, TestCollectionError, TestWarning, TestSuiteResult):
        session.execute(delete(model).where(model.run_id == run_id))
    session.execute(delete(TestRun).where(TestRun.id == run_id))


def set_run_commit(session: Session, *, run_id: int, commit_id: int, link_source: str) -> None:
    session.execute(
        update(TestRun)
        .where(TestRun.id == run_id)
        .values(commit_id=commit_id, link_source=link_source)
    )


# ---- queries ----

_NEWEST = (TestRun.created_at.desc(), TestRun.id.desc())


def _run_info(run: TestRun, sha: str, subject: str) -> TestRunInfo:
    return TestRunInfo(
        id=run.id or 0,
        created_at=run.created_at,
        duration=run.duration,
        exitcode=run.exitcode,
        sha=sha,
        link_source=run.link_source,
        path=run.path,
        passed=run.passed,
        failed=run.failed,
        errors=run.errors,
        skipped=run.skipped,
        xfailed=run.xfailed,
        xpassed=run.xpassed,
        total=run.total,
        collection_errors=run.collection_errors,
        ingested_at=run.ingested_at,
        collected=run.collected,
        subject=subject,
    )


def _runs_query():
    return select(TestRun, Commit.sha, Commit.subject).join(Commit, Commit.id == TestRun.commit_id)


def test_runs(session: Session, *, limit: int = 50) -> tuple[TestRunInfo, ...]:
    """Ingested runs, newest first (by the report's own time)."""
    rows = session.execute(_runs_query().order_by(*_NEWEST).limit(limit)).all()
    return tuple(_run_info(run, sha, subject) for run, sha, subject in rows)


test_runs.__test__ = False  # type: ignore[attr-defined]


def test_run(session: Session, *, run_id: int) -> TestRunInfo | None:
    row = session.execute(_runs_query().where(TestRun.id == run_id)).first()
    return _run_info(*row) if row else None


test_run.__test__ = False  # type: ignore[attr-defined]


def newest_run_id(session: Session, *, commit_id: int | None = None) -> int | None:
    q = select(TestRun.id)
    if commit_id is not None:
        q = q.where(TestRun.commit_id == commit_id)
    return session.execute(q.order_by(*_NEWEST).limit(1)).scalar_one_or_none()


def _resolve_run(session: Session, run_id: int | None) -> int | None:
    return newest_run_id(session) if run_id is None else run_id


def _suites_of(padded: str) -> tuple[str, ...]:
    return tuple(padded.split())


def latest_failures(
    session: Session, *, run_id: int | None = None, suite: str | None = None, limit: int = 200
) -> tuple[TestResultRow, ...]:
    """Failed and errored tests of a run (default: the newest run), in node id order."""
    rid = _resolve_run(session, run_id)
    if rid is None:
        return ()
    q = select(TestFailure).where(TestFailure.run_id == rid, TestFailure.outcome.in_(FAILING))
    if suite is not None:
        q = q.where(TestFailure.suites.contains(f" {suite} ", autoescape=True))
    q = q.order_by(TestFailure.nodeid).limit(limit)
    return tuple(
        TestResultRow(
            nodeid=f.nodeid,
            outcome=f.outcome,
            duration=f.duration,
            message=f.message,
            crash_path=f.crash_path,
            crash_line=f.crash_line,
            signature=f.signature or None,
            suites=_suites_of(f.suites),
            when=f.stage,
        )
        for f in session.execute(q).scalars()
    )


def failure_clusters(
    session: Session, *, limit: int = 50, run_id: int | None = None
) -> tuple[FailureCluster, ...]:
    """Failures grouped by signature over all runs: those in the newest run (or `run_id`) first,
    biggest first, then older ones by when they were last seen. Read as one row per signature
    and run; node ids only of the runs shown."""
    current_run = _resolve_run(session, run_id)
    seen = session.execute(
        select(TestFailure.signature, TestFailure.run_id)
        .where(TestFailure.signature != "")
        .group_by(TestFailure.signature, TestFailure.run_id)
    ).all()
    if not seen:
        return ()
    created = dict(session.execute(select(TestRun.id, TestRun.created_at)).all())
    per_sig: dict[str, list] = {}  # signature -> [runs, first (created, id), last (created, id)]
    for sig, rid in seen:
        at = (created[rid], rid)
        c = per_sig.get(sig)
        if c is None:
            per_sig[sig] = [{rid}, at, at]
            continue
        c[0].add(rid)
        if at < c[1]:
            c[1] = at
        if at > c[2]:
            c[2] = at
    current_counts: dict[str, int] = {}
    if current_run is not None:
        current_counts = dict(
            session.execute(
                select(TestFailure.signature, func.count(TestFailure.nodeid.distinct()))
                .where(TestFailure.run_id == current_run, TestFailure.signature != "")
                .group_by(TestFailure.signature)
            ).all()
        )

    def order(sig: str) -> tuple:
        current = sig in current_counts
        return (not current, -current_counts[sig] if current else 0, -per_sig[sig][2][0], sig)

    chosen = sorted(per_sig, key=order)[:limit]
    shown = {sig: current_run if sig in current_counts else per_sig[sig][2][1] for sig in chosen}
    tests: dict[str, set[str]] = defaultdict(set)
    by_run: dict[int, list[str]] = defaultdict(list)
    for sig, rid in shown.items():
        by_run[rid].append(sig)
    for rid, sigs in by_run.items():
        for chunk in _chunks(sigs, 500):
            rows = session.execute(
                select(TestFailure.signature, TestFailure.nodeid).where(
                    TestFailure.run_id == rid, TestFailure.signature.in_(chunk)
                )
            )
            for sig, nodeid in rows:
                tests[sig].add(nodeid)
    ends = sorted({per_sig[sig][i][1] for sig in chosen for i in (1, 2)})
    shas: dict[int, str] = {}
    for chunk in _chunks(ends, 500):
        shas.update(
            session.execute(
                select(TestRun.id, Commit.sha)
                .join(Commit, Commit.id == TestRun.commit_id)
                .where(TestRun.id.in_(chunk))
            ).all()
        )
    meta: dict[str, TestSignature] = {}
    for chunk in _chunks(chosen, 500):
        for m in session.execute(
            select(TestSignature).where(TestSignature.signature.in_(chunk))
        ).scalars():
            meta[m.signature] = m
    out = []
    for sig in chosen:
        runs, first, last = per_sig[sig]
        names = tuple(sorted(tests[sig]))
        m = meta.get(sig)
        out.append(
            FailureCluster(
                signature=sig,
                exception=m.exception if m else "",
                message=m.message if m else "",
                crash=m.crash if m else "",
                count=len(names),
                tests=names,
                first_sha=shas.get(first[1], ""),
                last_sha=shas.get(last[1], ""),
                runs=len(runs),
                current=sig in current_counts,
            )
        )
    return tuple(out)


def collection_errors(
    session: Session, *, run_id: int | None = None
) -> tuple[CollectionErrorRow, ...]:
    """Collection errors of a run (default: the newest run)."""
    rid = _resolve_run(session, run_id)
    if rid is None:
        return ()
    rows = session.execute(
        select(TestCollectionError)
        .where(TestCollectionError.run_id == rid)
        .order_by(TestCollectionError.nodeid, TestCollectionError.id)
    ).scalars()
    return tuple(
        CollectionErrorRow(nodeid=c.nodeid, kind=c.kind, cause=c.cause, message=c.message)
        for c in rows
    )


def _chunks(items: Sequence, size: int) -> list[Sequence]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _nodeid(file: str, name: str) -> str:
    return f"{file}::{name}" if name else file


def _file_of(nodeid: str) -> str:
    return nodeid.partition("::")[0]


def _tests_in(text: str, file: str, wanted: set[str] | None) -> Iterator[tuple[str, list]]:
    """(node id, entry) of a packed file row; with `wanted`, only those node ids (a row naming
    none of them is skipped without decoding it)."""
    if wanted is not None:
        names = [_encode(n.partition("::")[2]) for n in wanted if _file_of(n) == file]
        if not any(name in text for name in names):
            return
    for entry in json.loads(text):
        nodeid = _nodeid(file, entry[0])
        if wanted is None or nodeid in wanted:
            yield nodeid, entry


def _by_file(nodeids: Iterable[str]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for n in nodeids:
        out[_file_of(n)].add(n)
    return out


def _rows_of_files(
    session: Session,
    keys: Iterable[tuple[str, str]],
    *columns,
    where: Sequence = (),
    with_run: bool = False,
) -> Iterator[tuple]:
    """Rows of `columns` of the file rows of these (file, fingerprint) pairs, each starting with
    the file and fingerprint (`with_run`: joined with their run and its commit). Looked up
    through the (file, fingerprint) index, a chunk of files and fingerprints at a time."""
    ordered = sorted(set(keys))
    for chunk in _chunks(ordered, 300):
        wanted = set(chunk)
        files = sorted({f for f, _ in chunk})
        fingerprints = sorted({fp for _, fp in chunk})
        q = select(TestFileResult.file, TestFileResult.fingerprint, *columns).where(
            TestFileResult.file.in_(files), TestFileResult.fingerprint.in_(fingerprints), *where
        )
        if with_run:
            q = q.join(TestRun, TestRun.id == TestFileResult.run_id).join(
                Commit, Commit.id == TestRun.commit_id
            )
        for row in session.execute(q):
            if (row[0], row[1]) in wanted:
                yield row


_SCAN_OVER = 500  # more fingerprints than this: one pass over the failures instead of lookups


def flaky_pairs(
    session: Session, *, nodeids: Iterable[str] | None = None, exclude_run: int | None = None
) -> set[tuple[str, str]]:
    """(node id, fingerprint) pairs that both passed and failed (only of `nodeids`, and not
    counting the run `exclude_run`, when given). A test can only have passed under code that ran
    more often than the test failed on it: so first the (file, fingerprint) pairs that ran more
    than once, then the failures under those fingerprints, and only the file rows that can hold
    a pass are decoded."""
    wanted_files: list[str] | None = None
    if nodeids is not None:
        nodeids = sorted(set(nodeids))
        wanted_files = sorted({_file_of(n) for n in nodeids})
        if not nodeids:
            return set()
    counts = (
        select(TestFileResult.file, TestFileResult.fingerprint, func.count())
        .group_by(TestFileResult.file, TestFileResult.fingerprint)
        .having(func.count() > 1)
    )
    if exclude_run is not None:
        counts = counts.where(TestFileResult.run_id != exclude_run)
    runs: dict[tuple[str, str], int] = {}
    for chunk in [None] if wanted_files is None else _chunks(wanted_files, 500):
        q = counts if chunk is None else counts.where(TestFileResult.file.in_(chunk))
        runs.update(((file, fingerprint), n) for file, fingerprint, n in session.execute(q))
    if not runs:
        return set()
    failures = (
        select(TestFailure.nodeid, TestFailure.fingerprint, func.count())
        .where(TestFailure.outcome.in_(FAILING))
        .group_by(TestFailure.nodeid, TestFailure.fingerprint)
    )
    if exclude_run is not None:
        failures = failures.where(TestFailure.run_id != exclude_run)
    fingerprints = sorted({fp for _, fp in runs})
    if nodeids is not None:
        queries = [failures.where(TestFailure.nodeid.in_(c)) for c in _chunks(nodeids, 500)]
    elif len(fingerprints) > _SCAN_OVER:
        queries = [failures]
    else:
        queries = [failures.where(TestFailure.fingerprint.in_(fingerprints))]
    candidates: dict[tuple[str, str], set[str]] = defaultdict(set)
    for q in queries:
        for nodeid, fingerprint, n in session.execute(q):
            key = (_file_of(nodeid), fingerprint)
            if runs.get(key, 0) > n:
                candidates[key].add(nodeid)
    out: set[tuple[str, str]] = set()
    where = () if exclude_run is None else (TestFileResult.run_id != exclude_run,)
    for file, fingerprint, text in _rows_of_files(
        session, candidates, TestFileResult.tests, where=where
    ):
        for nodeid, entry in _tests_in(text, file, candidates[(file, fingerprint)]):
            if entry[1] == PASSED:
                out.add((nodeid, fingerprint))
    return out


def flaky_nodeids(session: Session) -> frozenset[str]:
    """Every test known to be flaky."""
    return frozenset(n for n, _ in flaky_pairs(session))


def flaky_tests(
    session: Session, *, limit: int = 100, pairs: set[tuple[str, str]] | None = None
) -> tuple[FlakyTest, ...]:
    """Tests that passed and failed under the same code, most recently flipping first. `pairs`:
    the current `flaky_pairs`, when the caller has them already."""
    if pairs is None:
        pairs = flaky_pairs(session)
    if not pairs:
        return ()
    wanted: dict[tuple[str, str], set[str]] = defaultdict(set)
    for nodeid, fingerprint in pairs:
        wanted[(_file_of(nodeid), fingerprint)].add(nodeid)
    stats: dict[str, list] = {}
    columns = (TestFileResult.tests, TestRun.created_at, TestRun.id, Commit.sha)
    rows = _rows_of_files(session, wanted, *columns, with_run=True)
    for file, fingerprint, text, created, rid, sha in rows:
        for nodeid, entry in _tests_in(text, file, wanted[(file, fingerprint)]):
            s = stats.setdefault(nodeid, [0, 0, (-1.0, -1), ""])
            if entry[1] == PASSED:
                s[0] += 1
            elif entry[1] in FAILING:
                s[1] += 1
            if (created, rid) > s[2]:
                s[2], s[3] = (created, rid), sha
    ordered = sorted(stats.items(), key=lambda kv: (-kv[1][2][0], -kv[1][2][1], kv[0]))
    return tuple(
        FlakyTest(nodeid=n, passes=s[0], failures=s[1], last_sha=s[3]) for n, s in ordered[:limit]
    )


def test_history(session: Session, *, nodeid: str, limit: int = 30) -> tuple[TestOutcomePoint, ...]:
    """One test's outcome in its last `limit` runs, oldest first."""
    file = _file_of(nodeid)
    rows = session.execute(
        select(TestFileResult.tests, TestRun.id, Commit.sha, TestRun.created_at)
        .join(TestRun, TestRun.id == TestFileResult.run_id)
        .join(Commit, Commit.id == TestRun.commit_id)
        .where(TestFileResult.file == file)
        .order_by(*_NEWEST)
        .execution_options(yield_per=200)
    )
    points: list[TestOutcomePoint] = []
    for text, rid, sha, at in rows:
        for _, entry in _tests_in(text, file, {nodeid}):
            points.append(TestOutcomePoint(run_id=rid, sha=sha, at=at, outcome=entry[1]))
        if len(points) >= limit:
            break
    return tuple(reversed(points[:limit]))


test_history.__test__ = False  # type: ignore[attr-defined]


def run_results(session: Session, *, run_id: int) -> tuple[TestOutcome, ...]:
    """Every test of one run, in the order the report listed them."""
    rows = session.execute(
        select(TestFileResult.file, TestFileResult.path, TestFileResult.tests)
        .where(TestFileResult.run_id == run_id)
        .order_by(TestFileResult.id)
    )
    return tuple(
        TestOutcome(
            nodeid=nodeid,
            outcome=e[1],
            duration=e[2] / 1e6,
            setup_outcome=e[3],
            setup_duration=e[4] / 1e6,
            call_outcome=e[5],
            call_duration=e[6] / 1e6,
            teardown_outcome=e[7],
            teardown_duration=e[8] / 1e6,
            keywords=tuple(e[9].split()),
            suites=tuple(e[10].split()),
            path=path,
        )
        for file, path, text in rows
        for nodeid, e in _tests_in(text, file, None)
    )


def _flaky_in_run(
    session: Session, run_id: int, flaky: frozenset[str]
) -> tuple[int, int, dict[str, list[int]]]:
    """How many known-flaky tests of a run passed and failed: overall and per suite."""
    passed = failing = 0
    per_suite: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    if not flaky:
        return passed, failing, per_suite
    by_file = _by_file(flaky)
    files = sorted(by_file)
    for i in range(0, len(files), 400):
        rows = session.execute(
            select(TestFileResult.file, TestFileResult.tests).where(
                TestFileResult.run_id == run_id, TestFileResult.file.in_(files[i : i + 400])
            )
        )
        for file, text in rows:
            for _, entry in _tests_in(text, file, by_file[file]):
                if entry[1] == PASSED:
                    which = 0
                    passed += 1
                elif entry[1] in FAILING:
                    which = 1
                    failing += 1
                else:
                    continue
                for suite in entry[10].split():
                    per_suite[suite][which] += 1
    return passed, failing, per_suite


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def _summaries(
    session: Session,
    *,
    run_id: int,
    flaky: frozenset[str],
    suite: str | None = None,
    flaky_counts: dict[str, list[int]] | None = None,
) -> tuple[SuiteSummary, ...]:
    q = select(TestSuiteResult).where(TestSuiteResult.run_id == run_id)
    if suite is not None:
        q = q.where(TestSuiteResult.suite == suite)
    rows = list(session.execute(q.order_by(TestSuiteResult.suite)).scalars())
    if flaky_counts is None:
        flaky_counts = _flaky_in_run(session, run_id, flaky)[2] if rows else {}
    out = []
    for row in rows:
        flaky_passed, flaky_failing = flaky_counts.get(row.suite, (0, 0))
        errors = row.errors + row.expected_missing + row.not_run
        ran = row.passed + row.failed + row.errors + row.skipped + row.xfailed + row.xpassed
        collected = ran + row.not_run
        expected = collected + row.expected_missing
        denominator = row.passed + row.failed + errors
        n_flaky = flaky_passed + flaky_failing
        out.append(
            SuiteSummary(
                suite=row.suite,
                passed=row.passed,
                failed=row.failed,
                errors=errors,
                skipped=row.skipped,
                xfailed=row.xfailed,
                collected=collected,
                expected=expected,
                pass_rate=_rate(row.passed, denominator),
                pass_rate_collected=_rate(row.passed, row.passed + row.failed + row.errors),
                pass_rate_expected=_rate(row.passed, expected),
                pass_rate_excl_flaky=_rate(row.passed - flaky_passed, denominator - n_flaky),
                target=row.target,
                xpassed=row.xpassed,
                expected_missing=row.expected_missing,
                not_run=row.not_run,
                flaky=n_flaky,
                run_id=run_id,
            )
        )
    return tuple(out)


def _known_flaky(session: Session, pairs: set[tuple[str, str]] | None) -> frozenset[str]:
    if pairs is None:
        return flaky_nodeids(session)
    return frozenset(n for n, _ in pairs)


def suite_summary(
    session: Session,
    *,
    suite: str,
    run_id: int | None = None,
    pairs: set[tuple[str, str]] | None = None,
) -> SuiteSummary | None:
    """One suite's counts and pass rates in a run (default: the newest run that has the suite).
    `pairs`: the current `flaky_pairs`, when the caller has them already."""
    if run_id is None:
        run_id = session.execute(
            select(TestRun.id)
            .join(TestSuiteResult, TestSuiteResult.run_id == TestRun.id)
            .where(TestSuiteResult.suite == suite)
            .order_by(*_NEWEST)
            .limit(1)
        ).scalar_one_or_none()
        if run_id is None:
            return None
    found = _summaries(session, run_id=run_id, flaky=_known_flaky(session, pairs), suite=suite)
    return found[0] if found else None


def suite_summaries(
    session: Session, *, run_id: int | None = None, pairs: set[tuple[str, str]] | None = None
) -> tuple[SuiteSummary, ...]:
    """Every suite of a run (default: the newest run)."""
    rid = _resolve_run(session, run_id)
    if rid is None:
        return ()
    return _summaries(session, run_id=rid, flaky=_known_flaky(session, pairs))


_DEPRECATIONS = ("DeprecationWarning", "PendingDeprecationWarning")


def runtime_warnings(
    session: Session, *, run_id: int | None = None
) -> tuple[RuntimeWarningRow, ...]:
    """A run's warnings (default: the newest run), most frequent first: never-awaited coroutines one
    row per coroutine and site, deprecations one row per module (message and site of the first),
    anything else one row per category and message."""
    rid = _resolve_run(session, run_id)
    if rid is None:
        return ()
    rows = session.execute(
        select(TestWarning).where(TestWarning.run_id == rid).order_by(TestWarning.id)
    ).scalars()
    grouped: dict[tuple, list] = {}
    for w in rows:
        if w.coroutine:
            key: tuple = ("coro", w.coroutine, w.path, w.line)
        elif w.category in _DEPRECATIONS:
            key = ("dep", w.category, w.module)
        else:
            key = ("other", w.category, w.message)
        g = grouped.get(key)
        if g is None:
            grouped[key] = [w, w.count]
        else:
            g[1] += w.count
    out = [
        RuntimeWarningRow(
            category=w.category,
            message=w.message,
            path=w.path,
            line=w.line,
            coroutine=w.coroutine,
            module=w.module,
            count=count,
        )
        for w, count in grouped.values()
    ]
    out.sort(key=lambda r: (-r.count, r.category, r.module, r.message))
    return tuple(out)


def commit_test_stats(
    session: Session, *, commit_id: int, pairs: set[tuple[str, str]] | None = None
) -> CommitTestStats | None:
    """The inputs of a commit's `tests` snapshot, or None when no run is linked to it. `pairs`:
    the current `flaky_pairs`, when the caller has them already."""
    rid = newest_run_id(session, commit_id=commit_id)
    if rid is None:
        return None
    run = test_run(session, run_id=rid)
    assert run is not None
    if pairs is None:
        pairs = flaky_pairs(session)
    known_flaky = frozenset(n for n, _ in pairs)
    flaky_here: set[str] = set()
    if pairs:
        wanted: dict[tuple[str, str], set[str]] = defaultdict(set)
        for nodeid, fingerprint in pairs:
            wanted[(_file_of(nodeid), fingerprint)].add(nodeid)
        keys = sorted(wanted)
        for i in range(0, len(keys), 400):
            rows = session.execute(
                select(TestFileResult.file, TestFileResult.fingerprint, TestFileResult.tests)
                .join(TestRun, TestRun.id == TestFileResult.run_id)
                .where(
                    TestRun.commit_id == commit_id,
                    tuple_(TestFileResult.file, TestFileResult.fingerprint).in_(keys[i : i + 400]),
                )
            )
            for file, fingerprint, text in rows:
                flaky_here.update(n for n, _ in _tests_in(text, file, wanted[(file, fingerprint)]))
    flaky_passed, flaky_failing, per_suite = _flaky_in_run(session, rid, known_flaky)
    never_awaited = session.execute(
        select(func.count()).select_from(
            select(TestWarning.coroutine, TestWarning.path, TestWarning.line)
            .where(TestWarning.run_id == rid, TestWarning.coroutine != "")
            .distinct()
            .subquery()
        )
    ).scalar_one()
    deprecation_modules = session.execute(
        select(func.count(TestWarning.module.distinct())).where(
            TestWarning.run_id == rid, TestWarning.category.in_(_DEPRECATIONS)
        )
    ).scalar_one()
    signatures = session.execute(
        select(func.count(TestFailure.signature.distinct())).where(
            TestFailure.run_id == rid, TestFailure.signature != ""
        )
    ).scalar_one()
    deselected = session.execute(select(TestRun.deselected).where(TestRun.id == rid)).scalar_one()
    return CommitTestStats(
        commit_id=commit_id,
        run=run,
        suites=_summaries(session, run_id=rid, flaky=known_flaky, flaky_counts=per_suite),
        collection_errors=collection_errors(session, run_id=rid),
        never_awaited=never_awaited,
        flaky=tuple(sorted(flaky_here)),
        failure_signatures=signatures,
        deprecation_modules=deprecation_modules,
        flaky_passed=flaky_passed,
        flaky_failing=flaky_failing,
        not_run=max(run.collected - deselected - run.total, 0),
    )


def commits_with_tests(session: Session, *, nodeids: Iterable[str]) -> set[int]:
    """Commits with a run of any of `nodeids`."""
    by_file = _by_file(nodeids)
    files = sorted(by_file)
    out: set[int] = set()
    for i in range(0, len(files), 400):
        rows = session.execute(
            select(TestRun.commit_id, TestFileResult.file, TestFileResult.tests)
            .join(TestRun, TestRun.id == TestFileResult.run_id)
            .where(TestFileResult.file.in_(files[i : i + 400]))
        )
        for commit_id, file, text in rows:
            if commit_id not in out and any(True for _ in _tests_in(text, file, by_file[file])):
                out.add(commit_id)
    return out
