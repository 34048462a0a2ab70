"""What each screen shows, read through store queries in one call (always run in a worker thread).

Nothing here knows Textual: loaders take the engine and return frozen view models, so they are easy to
test and to time.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import store
from healthtui import metrics as m
from healthtui.config import Config
from healthtui.metrics import MetricInfo
from healthtui.tui.owners import CodeOwners
from store import testruns as tr

DAY = 86400
WEEK = 7 * DAY
SPARK_WINDOW = 30 * DAY
SPARK_POINTS = 60
MAX_TABLE_ROWS = 500
TESTS_KEY = ("tests",)  # where the app caches the Tests screen's read
COMMITS_UPFRONT = 80  # commit details read with a metric's series (newest and biggest moves)

# Listed on the overview below the cards even when no collector has produced them yet.
OTHER_METRICS = (
    m.ASYNC_CALLBACK,
    m.DUPLICATE_CLASSES,
    m.UNREGISTERED_MARKERS,
    m.COLLECTION_ERRORS,
    m.FLAKY_TESTS,
    m.UNPARSEABLE_FILES,
)
# Metrics from test reports, not from rules over the code (they have no findings).
TEST_METRICS = {m.MARKER_ERRORS, m.COLLECTION_ERRORS, m.FLAKY_TESTS, m.NEVER_AWAITED}
NOT_RULES = TEST_METRICS | {m.UNPARSEABLE_FILES, "skipped_files"}

STATUS_MET = "met"
STATUS_IMPROVING = "improving"
STATUS_REGRESSED = "regressed"
STATUS_STEADY = "steady"
STATUS_NODATA = "nodata"


def meets(info: MetricInfo, value: float, target: float) -> bool:
    return value <= target if info.lower_is_better else value >= target


def status_of(
    info: MetricInfo, value: float | None, target: float | None, ref: float | None
) -> str:
    """met (at or past the target), else improving / regressed against `ref`, else steady."""
    if value is None:
        return STATUS_NODATA
    if target is not None and meets(info, value, target):
        return STATUS_MET
    if ref is None or value == ref:
        return STATUS_STEADY
    better = value < ref if info.lower_is_better else value > ref
    return STATUS_IMPROVING if better else STATUS_REGRESSED


@dataclass(frozen=True)
class MetricSummary:
    """One metric's card or table row: now, the change, the trend, the target."""

    id: str
    info: MetricInfo
    value: float | None = None
    at: int | None = None
    sha: str | None = None
    previous: float | None = None
    week_ago: float | None = None
    target: float | None = None
    spark: tuple[float, ...] = ()
    status: str = STATUS_NODATA

    @property
    def delta_previous(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous

    @property
    def delta_week(self) -> float | None:
        if self.value is None or self.week_ago is None:
            return None
        return self.value - self.week_ago


@dataclass(frozen=True)
class OverviewData:
    repository: store.RepositoryInfo | None
    headline: tuple[MetricSummary, ...]
    others: tuple[MetricSummary, ...]

    @property
    def empty(self) -> bool:
        """No snapshot stored yet: the first-run screen explains what to run."""
        return self.repository is None or self.repository.snapshots == 0


def is_table_metric(metric: str) -> bool:
    """Whether the overview table lists a stored metric: rule totals, test counts, pass rates.
    Detail counts (`await_misuse.files`, `suite.x.expected`) are one palette search away."""
    if metric in m.HEADLINE:
        return False
    if metric.startswith("suite."):
        return metric.endswith(".pass_rate")
    return "." not in metric or metric.startswith("tests.")


def other_metrics(ids: tuple[str, ...] | list[str], config: Config) -> list[str]:
    """The overview table's metrics: the usual ones, each regex rule, and anything else stored."""
    wanted = list(OTHER_METRICS) + [r.id for r in config.rules.regex]
    wanted += sorted(x for x in ids if is_table_metric(x) and x not in wanted)
    return wanted


def sample(refs: tuple[store.SnapshotRef, ...], points: int) -> list[store.SnapshotRef]:
    """At most `points` snapshots spread evenly over `refs` (the last of each slice), in order."""
    n = len(refs)
    if n <= points:
        return list(refs)
    size = n / points
    return [refs[min(int((b + 1) * size), n) - 1] for b in range(points)]


def _picked_refs(s: Any, newest_at: int, week_at: float) -> list[store.SnapshotRef]:
    """The snapshots the overview reads: per kind a sample of the last 30 days, the newest two
    (for the change since the previous snapshot) and the newest a week before `week_at`."""
    start = newest_at - SPARK_WINDOW
    window = store.snapshot_refs(s, since=start)
    picked: dict[int, store.SnapshotRef] = {}
    for kind in store.snapshot_kinds(s):
        refs = tuple(r for r in window if r.kind == kind)
        if len(refs) < 2:
            older = store.snapshot_refs(s, kind=kind, until=start - 1, newest=2 - len(refs))
            refs = older + refs
        if not refs:
            continue
        chosen = [*sample(refs, SPARK_POINTS), *refs[-2:]]
        before = [r for r in refs if r.at <= week_at]
        if before:
            chosen.append(before[-1])
        elif week_at < refs[0].at:
            chosen.extend(store.snapshot_refs(s, kind=kind, until=int(week_at), newest=1))
        picked.update((r.id, r) for r in chosen)
    return list(picked.values())


def _summary(
    metric: str,
    series: tuple[store.Point, ...],
    config: Config,
    week_at: float,
    spark_from: int,
) -> MetricSummary:
    info = m.info(metric)
    target = config.target_for(metric)
    if not series:
        return MetricSummary(id=metric, info=info, target=target)
    last = series[-1]
    previous = series[-2].value if len(series) >= 2 else None
    week = [p for p in series if p.at <= week_at]
    week_ago = week[-1].value if week else None
    ref = week_ago if week_ago is not None else previous
    spark = tuple(p.value for p in series if p.at >= spark_from) or (last.value,)
    return MetricSummary(
        id=metric,
        info=info,
        value=last.value,
        at=last.at,
        sha=last.sha,
        previous=previous,
        week_ago=week_ago,
        target=target,
        spark=spark,
        status=status_of(info, last.value, target, ref),
    )


XY = tuple[tuple[float, ...], tuple[float, ...]]


def xy(points: tuple[store.Point, ...]) -> XY:
    """A series as chart coordinates: commit times and values (made off the event loop)."""
    return tuple(float(p.at) for p in points), tuple(p.value for p in points)


def load_overview(engine: Any, config: Config, now: float) -> OverviewData:
    """The four headline metrics and the table below, from a sample of recent snapshots."""
    with store.read_session(engine) as s:
        repo = store.repository_info(s)
        newest = store.recent_commits(s, limit=1)
        if repo is None or repo.snapshots == 0 or not newest:
            return OverviewData(repository=repo, headline=(), others=())
        newest_at = newest[0].committed_at
        week_at = now - WEEK
        values = store.snapshot_values(s, refs=_picked_refs(s, newest_at, week_at))
    spark_from = newest_at - SPARK_WINDOW

    def summary(metric: str) -> MetricSummary:
        return _summary(metric, values.get(metric, ()), config, week_at, spark_from)

    headline = tuple(summary(x) for x in m.HEADLINE)
    others = tuple(summary(x) for x in other_metrics(list(values), config))
    return OverviewData(repository=repo, headline=headline, others=others)


def load_repository(engine: Any) -> tuple[store.RepositoryInfo | None, bool]:
    """The repository row and whether any snapshot is stored (the first-run check)."""
    with store.read_session(engine) as s:
        repo = store.repository_info(s)
    return repo, bool(repo and repo.snapshots)


@dataclass(frozen=True)
class Move:
    """A commit that changed a metric."""

    point: store.Point
    before: float | None
    commit: store.CommitInfo | None  # None until read (see `load_commits`)

    @property
    def delta(self) -> float:
        return self.point.value - (self.before or 0.0)


@dataclass(frozen=True)
class MetricData:
    """A metric's whole series and its moves, with what drawing it needs made in the worker:
    times and values as floats, and each commit's position in the series."""

    metric: str
    info: MetricInfo
    target: float | None
    points: tuple[store.Point, ...]
    moves: tuple[Move, ...]  # oldest first
    times: tuple[float, ...] = ()
    values: tuple[float, ...] = ()
    position: dict[str, int] = field(default_factory=dict, compare=False)
    move_times: tuple[int, ...] = ()

    def start_of(self, start: float | None) -> int:
        """The index of the first point at or after `start` (0 for no start)."""
        return 0 if start is None else bisect_left(self.times, start)

    def since(self, start: float | None) -> tuple[tuple[store.Point, ...], tuple[Move, ...]]:
        if start is None:
            return self.points, self.moves
        first_move = bisect_left(self.move_times, start)
        return self.points[self.start_of(start) :], self.moves[first_move:]


def moves_of(points: tuple[store.Point, ...]) -> list[tuple[store.Point, float | None]]:
    """The points where the value changed, with the value before (None for a first non-zero)."""
    out: list[tuple[store.Point, float | None]] = []
    prev: float | None = None
    for p in points:
        if (prev is None and p.value != 0) or (prev is not None and p.value != prev):
            out.append((p, prev))
        prev = p.value
    return out


def load_metric(engine: Any, config: Config, metric: str) -> MetricData:
    """The metric's whole series and its moves; commit details only for the newest and the biggest
    moves (a noisy metric moves thousands of times; the rest are read when shown)."""
    with store.read_session(engine) as s:
        points = store.metric_series(s, metric=metric)
        raw = moves_of(points)
        biggest = sorted(raw, key=lambda pb: abs(pb[0].value - (pb[1] or 0.0)), reverse=True)
        wanted = {p.sha for p, _ in raw[-COMMITS_UPFRONT:]} | {
            p.sha for p, _ in biggest[:COMMITS_UPFRONT]
        }
        commits = store.commits_by_sha(s, shas=sorted(wanted))
    moves = tuple(Move(point=p, before=b, commit=commits.get(p.sha)) for p, b in raw)
    times, values = xy(points)
    return MetricData(
        metric=metric,
        info=m.info(metric),
        target=config.target_for(metric),
        points=points,
        moves=moves,
        times=times,
        values=values,
        position={p.sha: i for i, p in enumerate(points)},
        move_times=tuple(mv.point.at for mv in moves),
    )


def load_commits(engine: Any, shas: list[str]) -> dict[str, store.CommitInfo]:
    with store.read_session(engine) as s:
        return store.commits_by_sha(s, shas=shas)


def _order(at: int, seq: int | None) -> tuple[int, int]:
    return (at, -1 if seq is None else seq)


def load_commit(engine: Any, sha: str) -> store.CommitDetail | None:
    """Every metric's value at a commit against the previous snapshot of its kind, and the
    findings the commit added or removed (None when no stored commit matches `sha`)."""
    with store.read_session(engine) as s:
        c = store.get_commit(s, sha=sha)
        if c is None:
            return None
        here = tuple(
            r
            for r in store.snapshot_refs(s, since=c.committed_at, until=c.committed_at)
            if r.sha == c.sha
        )
        mine = _order(c.committed_at, c.seq)
        before: list[store.SnapshotRef] = []
        for kind in sorted({r.kind for r in here}):
            older = [
                r
                for r in store.snapshot_refs(s, kind=kind, until=c.committed_at, newest=8)
                if r.sha != c.sha and _order(r.at, r.seq) < mine
            ]
            if not older:
                older = list(store.snapshot_refs(s, kind=kind, until=c.committed_at - 1, newest=1))
            before.extend(older[-1:])
        after = store.snapshot_values(s, refs=here)
        prior = store.snapshot_values(s, refs=before)
        changes = store.finding_changes(s, sha=c.sha)
    deltas = []
    for metric, points in after.items():
        old = prior.get(metric)
        deltas.append(
            store.MetricDelta(
                metric=metric,
                commit=c,
                before=old[-1].value if old else None,
                after=points[-1].value,
            )
        )
    deltas.sort(key=lambda d: (-abs(d.delta) if d.before is not None else 0, d.metric))
    return store.CommitDetail(commit=c, deltas=tuple(deltas), changes=changes)


@dataclass(frozen=True)
class RuleCount:
    rule: str
    sites: int
    files: int


@dataclass(frozen=True)
class FindingsData:
    rules: tuple[RuleCount, ...]
    rule: str | None
    findings: tuple[store.FindingRow, ...] = ()
    owners: CodeOwners | None = None


def rule_of(metric: str) -> str | None:
    """The rule behind a code metric (`await_misuse.files` -> `await_misuse`); None for metrics
    from test reports."""
    base = metric.split(".", 1)[0]
    if base in ("suite", "tests") or base in NOT_RULES:
        return None
    return base


def load_findings(
    engine: Any, config: Config, rule: str | None, repo_root: Path | None, path: str | None = None
) -> FindingsData:
    """Rules with current findings and the findings of `rule` (with no rule: of the rule with most
    findings in `path`, else of the rule with most findings)."""
    with store.read_session(engine) as s:
        newest = store.snapshot_refs(s, kind="code", newest=1)
        ids = store.snapshot_values(s, refs=newest) if newest else {}
        candidates = {rule_of(x) for x in ids} | {r.id for r in config.rules.regex}
        candidates.discard(None)
        if rule:
            candidates.add(rule)
        rules = []
        for r in sorted(c for c in candidates if c):
            files = store.finding_files(s, rule=r)
            if files:
                rules.append(RuleCount(r, sum(f.count for f in files), len(files)))
        if path is not None and rule is None:
            in_file = store.current_findings(s, path=path)
            if in_file:
                counts: dict[str, int] = {}
                for f in in_file:
                    counts[f.rule] = counts.get(f.rule, 0) + 1
                rule = max(sorted(counts), key=counts.__getitem__)
        if rule is None and rules:
            rule = max(rules, key=lambda r: r.sites).rule
        findings = store.current_findings(s, rule=rule) if rule else ()
    return FindingsData(
        rules=tuple(rules), rule=rule, findings=findings, owners=CodeOwners.load(repo_root)
    )


@dataclass(frozen=True)
class Group:
    key: str
    count: int
    files: int


def group_key(path: str, by: str, owners: CodeOwners | None) -> str:
    if by == "directory":
        return path.rsplit("/", 1)[0] + "/" if "/" in path else "./"
    if by == "owner" and owners is not None:
        return owners.owner(path)
    return path


def group_findings(
    findings: tuple[store.FindingRow, ...], by: str, owners: CodeOwners | None
) -> tuple[Group, ...]:
    """Findings grouped by file, directory or owner; most findings first, then by name."""
    counts: dict[str, int] = {}
    files: dict[str, set[str]] = {}
    for f in findings:
        key = group_key(f.path, by, owners)
        counts[key] = counts.get(key, 0) + 1
        files.setdefault(key, set()).add(f.path)
    return tuple(
        Group(k, counts[k], len(files[k])) for k in sorted(counts, key=lambda k: (-counts[k], k))
    )


def main_suite(config: Config) -> str:
    """The suite the Tests screen leads with: golden_path when configured, else the first."""
    names = [x.name for x in config.suites]
    return "golden_path" if "golden_path" in names or not names else names[0]


@dataclass(frozen=True)
class TestsData:
    """The Tests screen, read in three parts: the newest runs and their rows (`load_tests`,
    quick), the pass-rate series (`read_pass_rates`) and the counts over all runs: suite summary,
    failure clusters and flaky tests (`count_tests`). `runs` is empty until test reports are
    stored."""

    __test__ = False
    suite: str
    runs: tuple[tr.TestRunInfo, ...] = ()
    target: float | None = None
    failures: tuple[tr.TestResultRow, ...] = ()
    collection_errors: tuple[tr.CollectionErrorRow, ...] = ()
    warnings: tuple[tr.RuntimeWarningRow, ...] = ()
    pass_rate: tuple[store.Point, ...] | None = None  # None until read
    pass_rate_excl_flaky: tuple[store.Point, ...] | None = None
    rate_xy: tuple[XY, XY] = (((), ()), ((), ()))  # both series as chart coordinates
    counted: bool = False  # summary, clusters and flaky are read
    summary: tr.SuiteSummary | None = None
    clusters: tuple[tr.FailureCluster, ...] = ()
    flaky: tuple[tr.FlakyTest, ...] = ()

    @property
    def available(self) -> bool:
        return bool(self.runs)

    @property
    def rates_read(self) -> bool:
        return self.pass_rate is not None

    @property
    def complete(self) -> bool:
        return self.counted and self.rates_read


def load_tests(engine: Any, config: Config) -> TestsData:
    """The quick part of the Tests screen: runs, the newest run's failures, collection errors
    and warnings."""
    suite = main_suite(config)
    with store.read_session(engine) as s:
        return TestsData(
            suite=suite,
            runs=tr.test_runs(s, limit=50),
            target=config.target_for(m.suite_metric(suite)),
            failures=tr.latest_failures(s, limit=MAX_TABLE_ROWS),
            collection_errors=tr.collection_errors(s),
            warnings=tr.runtime_warnings(s),
        )


def read_pass_rates(engine: Any, suite: str, raw: MetricData | None = None) -> dict[str, Any]:
    """The suite's pass rate over time, raw and without flaky tests (`TestsData` fields). `raw`:
    the pass-rate metric as read for its own screen, when it was (then only the other is read)."""
    with store.read_session(engine) as s:
        raw_points = raw.points if raw else store.metric_series(s, metric=m.suite_metric(suite))
        excl = store.metric_series(s, metric=m.suite_metric(suite, "pass_rate_excl_flaky"))
    raw_xy = (raw.times, raw.values) if raw else xy(raw_points)
    return {
        "pass_rate": raw_points,
        "pass_rate_excl_flaky": excl,
        "rate_xy": (raw_xy, xy(excl)),
    }


def count_tests(engine: Any, suite: str) -> dict[str, Any]:
    """The counts over all runs (`TestsData` fields): the suite summary, failure clusters and
    flaky tests, with the flaky tests worked out once for both."""
    with store.read_session(engine) as s:
        pairs = tr.flaky_pairs(s)
        return {
            "counted": True,
            "summary": tr.suite_summary(s, suite=suite, pairs=pairs),
            "clusters": tr.failure_clusters(s, limit=100),
            "flaky": tr.flaky_tests(s, limit=MAX_TABLE_ROWS, pairs=pairs),
        }


def complete_tests(engine: Any, partial: TestsData) -> TestsData:
    """`partial` with whatever it lacks read."""
    fields: dict[str, Any] = {}
    if not partial.rates_read:
        fields |= read_pass_rates(engine, partial.suite)
    if not partial.counted:
        fields |= count_tests(engine, partial.suite) if partial.available else {"counted": True}
    return replace(partial, **fields)


def load_test_history(
    engine: Any, nodeid: str, limit: int = 200
) -> tuple[tr.TestOutcomePoint, ...]:
    with store.read_session(engine) as s:
        return tr.test_history(s, nodeid=nodeid, limit=limit)


def find_commits(engine: Any, query: str, limit: int = 20) -> tuple[store.CommitInfo, ...]:
    with store.read_session(engine) as s:
        return store.find_commits(s, query=query, limit=limit)


def finding_paths(engine: Any, query: str, limit: int = 30) -> tuple[str, ...]:
    with store.read_session(engine) as s:
        return store.finding_paths(s, query=query, limit=limit)


def metric_ids(engine: Any) -> tuple[str, ...]:
    with store.read_session(engine) as s:
        return store.metric_ids(s)
