"""The standup summary as one frozen read model, built from store queries; renderers only format it.

Everything here is a function of the database, the config, the `--since` point and the injected
`now`, and every list is sorted with stable keys, so the same inputs give the same document.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlmodel import Session

import store
from healthtui import metrics as metric_catalogue
from healthtui.config import Config
from healthtui.errors import HealthError, RepoError
from healthtui.export import burndown
from healthtui.export.burndown import Burndown
from healthtui.export.tests_section import TestsSection, tests_section
from healthtui.spans import HOUR, parse_span
from store.exports import current_findings_commit, last_export
from store.readmodels import CommitInfo, FindingRow, Point

DEFAULT_WINDOW = 24 * HOUR
MOVES_PER_METRIC = 3
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2})?)?([+-]\d{2}:?\d{2}|Z)?$")


@dataclass(frozen=True, slots=True)
class SincePoint:
    """Where "what changed" starts: a time and, when known, the commit whose numbers were shown."""

    spec: str  # as given: "last", "v1.2", "2026-11-20", "3d"
    kind: str  # "export", "default", "revision", "date", "duration"
    at: int  # UTC epoch seconds
    commit: str | None  # the baseline commit (a revision, or the head of the previous export)
    label: str  # words for the reader: "the last export (2026-11-20 09:00 UTC)"
    short: str = ""  # the same, short enough for every metric line: "the last export"


@dataclass(frozen=True)
class MetricSummary:
    """One metric: where it is, where it was at the since point, its target and its trend."""

    id: str
    title: str
    unit: str
    lower_is_better: bool
    series: tuple[Point, ...]  # oldest first, every stored point
    baseline: Point | None
    target: float | None
    burndown: Burndown | None
    shown: bool  # part of the human summary (headline or has a target); JSON lists every metric
    detail: str = ""  # e.g. "223 passed of 359 expected"

    @property
    def current(self) -> Point | None:
        return self.series[-1] if self.series else None

    @property
    def delta(self) -> float | None:
        if self.current is None or self.baseline is None:
            return None
        return self.current.value - self.baseline.value

    @property
    def regressed(self) -> bool:
        d = self.delta
        return d is not None and (d > 0 if self.lower_is_better else d < 0)

    @property
    def improved(self) -> bool:
        d = self.delta
        return d is not None and (d < 0 if self.lower_is_better else d > 0)

    @property
    def met(self) -> bool | None:
        if self.target is None or self.current is None:
            return None
        return burndown.is_met(
            self.current.value, self.target, lower_is_better=self.lower_is_better
        )

    @property
    def verdict(self) -> str | None:
        met = self.met
        return None if met is None else ("MET" if met else "NOT MET")

    def format(self, value: float | None) -> str:
        return metric_catalogue.info(self.id).format(value)

    def format_delta(self, delta: float | None = None) -> str:
        d = self.delta if delta is None else delta
        if d is None:
            return "new"
        if d == 0:
            return "±0"
        sign = "+" if d > 0 else "−"
        if self.unit == "ratio":
            return f"{sign}{abs(d) * 100:.1f} pts"
        return f"{sign}{metric_catalogue.info(self.id).format(abs(d))}"

    @property
    def target_text(self) -> str:
        if self.target is None:
            return ""
        return "zero" if self.target == 0 else self.format(self.target)

    @property
    def burndown_text(self) -> str:
        if self.burndown is None or self.target is None:
            return ""
        return burndown.describe(self.burndown, target_text=self.target_text)

    def format_amount(self, value: float) -> str:
        """The value with its unit: "12 sites", "1 file", "62.0%"."""
        text = self.format(value)
        if self.unit == "ratio":
            return text
        unit = self.unit[:-1] if value == 1 and self.unit.endswith("s") else self.unit
        return f"{text} {unit}"

    def sentence(self, since: str, *, verdict: bool = True) -> str:
        """ "Golden path pass rate: 62.0% (223 passed of 359 expected), −3.0 pts since the last
        export, target 90.0%: NOT MET" — the plain-words line every format shows."""
        if self.current is None:
            return f"{self.title}: no data yet"
        parts = [f"{self.title}: {self.format_amount(self.current.value)}"]
        if self.detail:
            parts[0] += f" ({self.detail})"
        if self.delta is not None:
            parts.append(f"{self.format_delta()} since {since}")
        else:
            parts.append(f"no value {since}" if since.endswith("ago") else f"no value at {since}")
        text = ", ".join(parts)
        if self.target is not None:
            text += f", target {self.format(self.target)}"
            if verdict:
                text += f": {self.verdict}"
        return text


@dataclass(frozen=True, slots=True)
class Move:
    """One commit moving one metric."""

    metric: str
    title: str
    commit: CommitInfo
    before: float
    after: float
    worse: bool

    @property
    def delta(self) -> float:
        return self.after - self.before


@dataclass(frozen=True)
class FileFindings:
    path: str
    findings: tuple[FindingRow, ...]


@dataclass(frozen=True)
class StandupSummary:
    generated_at: float
    repository: str
    branch: str | None
    head: CommitInfo | None
    since: SincePoint
    metrics: tuple[MetricSummary, ...]  # shown ones first: regressions, then the rest
    moves: tuple[Move, ...]
    tests: TestsSection
    findings: tuple[FileFindings, ...] = field(default=())
    findings_commit: str | None = None  # the snapshot the findings belong to

    @property
    def shown(self) -> tuple[MetricSummary, ...]:
        return tuple(m for m in self.metrics if m.shown)

    @property
    def regressions(self) -> tuple[MetricSummary, ...]:
        return tuple(m for m in self.shown if m.regressed)

    def metric(self, metric_id: str) -> MetricSummary:
        return next(m for m in self.metrics if m.id == metric_id)


def utc_text(epoch: float, *, seconds: bool = False) -> str:
    fmt = "%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC"
    return datetime.fromtimestamp(epoch, UTC).strftime(fmt)


def resolve_since(spec: str, *, session: Session, repo, now: float) -> SincePoint:
    """Turn `--since` (last, a revision, a date or a duration like 3d/24h) into a SincePoint."""
    text = spec.strip()
    if not text:
        raise HealthError(
            "--since: give `last`, a revision, a date (2026-11-20) or a span (3d, 24h, 2w)"
        )
    if text == "last":
        prev = last_export(session)
        if prev is None:
            at = int(now) - DEFAULT_WINDOW
            label = f"24 h ago ({utc_text(at)}; no earlier export)"
            return SincePoint(spec, "default", at, None, label, "24 h ago")
        label = f"the last export ({utc_text(prev.at)})"
        return SincePoint(spec, "export", int(prev.at), prev.head, label, "the last export")
    span = parse_span(text)
    if span is not None:
        at = _dated(spec, int(now) - span[0])
        ago = f"{span[1]} ago"
        return SincePoint(spec, "duration", at, None, f"{ago} ({utc_text(at)})", ago)
    if _DATE.match(text):
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise HealthError(f"--since {spec!r}: not a valid date") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)  # dates without an offset are UTC
        at = _dated(spec, int(when.timestamp()))
        return SincePoint(spec, "date", at, None, utc_text(at), utc_text(at))
    return _since_revision(spec, text, session=session, repo=repo)


def _dated(spec: str, at: int) -> int:
    """`at` if a calendar date can show it (years 1 to 9999), else a one-line error."""
    try:
        utc_text(at)
    except (ValueError, OverflowError, OSError):
        raise HealthError(f"--since {spec!r}: out of range (years 1 to 9999)") from None
    return at


def _since_revision(spec: str, text: str, *, session: Session, repo) -> SincePoint:
    info: CommitInfo | None = None
    if repo is not None:
        try:
            sha = repo.resolve(text)
        except RepoError as exc:
            raise HealthError(
                f"--since {spec!r}: not `last`, a date, a span (3d, 24h) or a revision ({exc})"
            ) from None
        info = store.get_commit(session, sha=sha) or repo.commit_info(sha)
    else:
        info = store.get_commit(session, sha=text.lower())
        if info is None:
            raise HealthError(
                f"--since {spec!r}: not `last`, a date, a span (3d, 24h) or a stored commit"
            )
    name = info.short if text.lower().startswith(info.short) else f"{text} ({info.short})"
    return SincePoint(spec, "revision", info.committed_at, info.sha, name, name)


def baseline_index(series: Sequence[Point], since: SincePoint) -> int | None:
    """Index of the point the delta is measured from: the since commit's own point if it has one,
    else the newest point at or before the since time; None when the metric started after it."""
    if since.commit is not None:
        for i, p in enumerate(series):
            if p.sha == since.commit:
                return i
    found = None
    for i, p in enumerate(series):
        if p.at <= since.at:
            found = i
    return found


def shown_metric_ids(config: Config, stored: Sequence[str]) -> list[str]:
    """The headline metrics, then every stored metric with a target, in a fixed order."""
    ids = list(metric_catalogue.HEADLINE)
    targeted = sorted(
        m
        for m in stored
        if config.target_for(m) is not None
        and m not in ids
        and (not m.startswith("suite.") or m.endswith(".pass_rate"))
    )
    return ids + targeted


def _suite_detail(session: Session, metric: str, current: Point | None) -> str:
    """For a suite pass rate: "223 passed of 359 expected", from the same commit's suite metrics."""
    if current is None or not metric.startswith("suite."):
        return ""
    suite = metric.split(".")[1]
    values = {}
    for what in ("passed", "failed", "errors", "expected"):
        p = store.latest_point(session, metric=metric_catalogue.suite_metric(suite, what))
        if p is not None and p.sha == current.sha:
            values[what] = p.value
    if "passed" not in values:
        return ""
    passed = f"{values['passed']:,.0f} passed"
    if "expected" in values:
        return f"{passed} of {values['expected']:,.0f} expected"
    ran = sum(values.get(k, 0.0) for k in ("passed", "failed", "errors"))
    return f"{passed} of {ran:,.0f} run"


def _metric_summary(
    session: Session, config: Config, metric: str, since: SincePoint, shown: bool
) -> MetricSummary:
    info = metric_catalogue.info(metric)
    series = store.metric_series(session, metric=metric)
    idx = baseline_index(series, since)
    target = config.target_for(metric)
    bd = None
    if target is not None and series:
        bd = burndown.estimate(series, target=target, lower_is_better=info.lower_is_better)
    return MetricSummary(
        id=metric,
        title=info.title,
        unit=info.unit,
        lower_is_better=info.lower_is_better,
        series=series,
        baseline=series[idx] if idx is not None else None,
        target=target,
        burndown=bd,
        shown=shown,
        detail=_suite_detail(session, metric, series[-1] if series else None) if shown else "",
    )


def _moves(session: Session, summaries: Sequence[MetricSummary], since: SincePoint) -> list[Move]:
    """The biggest moves of each shown metric after its baseline point, per metric biggest first."""
    picked: list[tuple[MetricSummary, Point, Point]] = []
    for m in summaries:
        if not m.shown or not m.series:
            continue
        idx = baseline_index(m.series, since)
        start = (
            idx
            if idx is not None
            else next((i for i, p in enumerate(m.series) if p.at > since.at), len(m.series))
        )
        pairs = [
            (m.series[i - 1], m.series[i])
            for i in range(start + 1, len(m.series))
            if m.series[i].value != m.series[i - 1].value
        ]
        pairs.sort(key=lambda ab: (-round(abs(ab[1].value - ab[0].value), 9), -ab[1].at, ab[1].sha))
        picked.extend((m, a, b) for a, b in pairs[:MOVES_PER_METRIC])
    commits = store.commits_by_sha(session, shas=sorted({b.sha for _, _, b in picked}))
    out = []
    for m, a, b in picked:
        worse = (b.value > a.value) if m.lower_is_better else (b.value < a.value)
        out.append(
            Move(
                metric=m.id,
                title=m.title,
                commit=commits[b.sha],
                before=a.value,
                after=b.value,
                worse=worse,
            )
        )
    return out


def _head(session: Session, summaries: Sequence[MetricSummary]) -> CommitInfo | None:
    info = store.repository_info(session)
    if info is not None and info.head:
        commit = store.get_commit(session, sha=info.head)
        if commit is not None:
            return commit
    newest = max(
        (m.current for m in summaries if m.current is not None),
        key=lambda p: (p.at, p.seq if p.seq is not None else -1, p.sha),
        default=None,
    )
    return store.get_commit(session, sha=newest.sha) if newest else None


def _findings(session: Session) -> tuple[FileFindings, ...]:
    by_path: dict[str, list[FindingRow]] = {}
    for f in store.current_findings(session):
        by_path.setdefault(f.path, []).append(f)
    return tuple(
        FileFindings(
            path=p, findings=tuple(sorted(rows, key=lambda f: (f.line, f.col, f.rule, f.text)))
        )
        for p, rows in sorted(by_path.items())
    )


def build_summary(
    session: Session, *, config: Config, since: SincePoint, now: float
) -> StandupSummary:
    """Read everything the standup shows in one session (one consistent view of the database)."""
    stored = store.metric_ids(session)
    shown_ids = shown_metric_ids(config, stored)
    rest = sorted(m for m in stored if m not in shown_ids)
    shown = [_metric_summary(session, config, m, since, True) for m in shown_ids]
    shown.sort(key=lambda m: not m.regressed)  # stable: regressions first, each group in order
    others = [_metric_summary(session, config, m, since, False) for m in rest]
    summaries = tuple(shown + others)
    repo = store.repository_info(session)
    return StandupSummary(
        generated_at=now,
        repository=repo.name if repo else "",
        branch=repo.branch if repo else None,
        head=_head(session, summaries),
        since=since,
        metrics=summaries,
        moves=tuple(_moves(session, summaries, since)),
        tests=tests_section(session, config=config, since=since),
        findings=_findings(session),
        findings_commit=current_findings_commit(session),
    )
