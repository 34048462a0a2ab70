"""`healthtui check`: the ratchet for CI and pre-commit (the betterer idea, without a baseline file).

The current tree (the work tree, or `--rev`) is compared with the snapshot of a base commit: `--against
REV`, else the merge-base of HEAD (or `--rev`) with the configured branch. The check fails (exit 1) when
a selected metric got worse than the base, or when one breaks an absolute limit from config
(`[limits]`; test-derived metrics take the latest stored test run). Only what is new is printed: the
added findings as `path:line: rule message`, and the improved metrics as a one-line cheer.

Findings are matched between base and current as multisets of (path, rule, source text), then the
leftovers by (rule, source text) across files, so moved lines and renamed files are not "new". They
are listed when a selected metric moved (when none did, the base's findings are not even evaluated:
its stored snapshot is enough).

Both sides reuse the facts cache that `backfill` and `collect` fill: only files whose bytes are not
cached are parsed. The work tree is the files git sees (tracked and untracked, minus ignored ones),
so build output and virtualenvs never count. A base without a snapshot is evaluated on the fly and
recorded as one when it lies on the branch's first-parent line within the stored history (a newer
one would leave a gap that `collect` skips), so the next check, the dashboard and `collect` reuse it.

`--format json` prints one object (`schema` "healthtui-check/1"):

- `passed` (bool), `exit_code` (0 or 1), `notes` (list of strings: skipped limits, cache problems)
- `against`: `sha`, `rev` (what was given, or null), `how` ("explicit", "merge-base" or "HEAD"),
  `branch` (or null), `snapshot` ("stored": a snapshot existed; "recorded": computed and stored now;
  "computed": computed and not stored)
- `current`: `worktree` (bool), `rev` and `sha` (null for the work tree)
- `metrics`: the selected metrics, each `id`, `title`, `unit`, `base`, `current`, `delta`,
  `lower_is_better`, `status` ("worse", "better" or "same")
- `limits`: each `metric`, `value` (null: no value stored), `min`, `max`, `source` ("tree" or
  "tests"), `broken` (bool)
- `added`, `removed`: findings, each `path`, `line`, `col`, `rule`, `message`, `detail`, `text`
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import stat
import subprocess
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

import store
from healthtui.collect.extraction import dump
from healthtui.collect.gitrepo import GitRepo
from healthtui.collect.scanning import extract_many
from healthtui.config import Config
from healthtui.errors import HealthError, RepoError
from healthtui.export.escape import clean
from healthtui.metrics import info
from healthtui.rules import Evaluation, Finding, RuleEngine
from healthtui.rules.base import Facts
from healthtui.wording import utf8_text
from store.checks import snapshot_metrics

SCHEMA = "healthtui-check/1"
_BATCH_BYTES = 32 * 1024 * 1024
_EPSILON = 1e-9

# Metrics the rules report that are not problems to ratchet by default (a count of files over the
# size cap, candidate modules, whether strict markers is on, how many tests a suite has).
_INFORMATIONAL = ("skipped_files", "*.candidates", "*.strict", "suite.*")
_HIGHER_IS_BETTER = ("*.strict",)

Key = tuple[str, str]  # (kind, blob sha)


@dataclass(frozen=True)
class CheckOutcome:
    """What the CLI prints (stdout), any notes for stderr, and the exit code."""

    output: str
    exit_code: int
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class MetricComparison:
    metric: str
    base: float
    current: float
    lower_is_better: bool

    @property
    def delta(self) -> float:
        return self.current - self.base

    @property
    def status(self) -> str:
        if abs(self.delta) <= _EPSILON:
            return "same"
        return "worse" if (self.delta > 0) == self.lower_is_better else "better"


@dataclass(frozen=True)
class LimitResult:
    metric: str
    value: float | None
    min: float | None
    max: float | None
    source: str  # "tree" or "tests"

    @property
    def broken(self) -> bool:
        if self.value is None:
            return False
        too_high = self.max is not None and self.value > self.max + _EPSILON
        too_low = self.min is not None and self.value < self.min - _EPSILON
        return too_high or too_low


@dataclass(frozen=True)
class Base:
    sha: str
    rev: str | None
    how: str  # "explicit", "merge-base", "HEAD"
    branch: str | None


@dataclass(frozen=True)
class CheckReport:
    """The comparison of one current tree with one base commit."""

    base: Base
    snapshot: str  # "stored", "recorded", "computed"
    current_rev: str | None
    current_sha: str | None
    metrics: tuple[MetricComparison, ...]
    limits: tuple[LimitResult, ...]
    added: tuple[Finding, ...]
    removed: tuple[Finding, ...]
    notes: tuple[str, ...] = ()

    @property
    def worse(self) -> tuple[MetricComparison, ...]:
        return tuple(m for m in self.metrics if m.status == "worse")

    @property
    def better(self) -> tuple[MetricComparison, ...]:
        return tuple(m for m in self.metrics if m.status == "better")

    @property
    def broken(self) -> tuple[LimitResult, ...]:
        return tuple(limit for limit in self.limits if limit.broken)

    @property
    def passed(self) -> bool:
        return not self.worse and not self.broken


def run_check(
    *,
    repo: GitRepo,
    engine: Engine,
    config: Config,
    against: str | None = None,
    rev: str | None = None,
    metrics: Sequence[str] = (),
    fmt: str = "text",
) -> CheckOutcome:
    """Compare, then render for people (`text`) or tools (`json`); exit 1 when the check failed."""
    report = compare(
        repo=repo, engine=engine, config=config, against=against, rev=rev, metrics=metrics
    )
    output = render_json(report) if fmt == "json" else render_text(report)
    notes = () if fmt == "json" else report.notes
    return CheckOutcome(output=output, exit_code=0 if report.passed else 1, notes=notes)


def compare(
    *,
    repo: GitRepo,
    engine: Engine,
    config: Config,
    against: str | None = None,
    rev: str | None = None,
    metrics: Sequence[str] = (),
) -> CheckReport:
    """Compare the selected metrics of the current tree with the base's snapshot. The base's
    findings are evaluated (from cached facts) only when a selected metric moved, so an unchanged
    tree costs one evaluation of the current tree."""
    rules = RuleEngine(config.rules, config.suites)
    if rev is None and repo.bare:
        raise RepoError(f"{repo.root}: a bare repository has no work tree; use --rev REV")
    head = repo.resolve(rev if rev is not None else "HEAD")
    base = resolve_base(repo, engine, config, against=against, head=head)
    cache = FactsCache(engine, rules)
    with store.read_session(engine) as s:
        stored = snapshot_metrics(s, sha=base.sha, kind="code", ruleset=rules.key)
    base_eval = None if stored is not None else evaluate_commit(repo, rules, cache, base.sha)
    if rev is not None:
        current = evaluate_commit(repo, rules, cache, head)
    else:
        current = evaluate_worktree(repo, rules, cache)
    selected = select_metrics(metrics, current.metrics, engine, config)
    if stored is not None:
        base_metrics = stored
    else:
        assert base_eval is not None
        base_metrics = dict(base_eval.metrics)
    comparisons = tuple(
        MetricComparison(
            metric=m,
            base=base_metrics.get(m, 0.0),
            current=current.metrics[m],
            lower_is_better=_lower_is_better(m),
        )
        for m in selected
        if m in current.metrics
    )
    moved = [c.metric for c in comparisons if c.status != "same"]
    if base_eval is None and moved:
        base_eval = evaluate_commit(repo, rules, cache, base.sha)
    snapshot, notes = _save(repo, engine, rules, cache, base, None if stored else base_eval)
    limits, limit_notes = check_limits(config, selected, current.metrics, engine, explicit=metrics)
    limited = {limit.metric for limit in config.limits}
    limit_notes += [
        f"{m} is not measured on the tree (test runs give it); only a limit on it is checked"
        for m in selected
        if m not in current.metrics and m not in limited
    ]
    added: tuple[Finding, ...] = ()
    removed: tuple[Finding, ...] = ()
    if base_eval is not None and moved:
        added, removed = new_findings(_findings(base_eval, selected), _findings(current, selected))
    return CheckReport(
        base=base,
        snapshot="stored" if stored is not None else snapshot,
        current_rev=rev,
        current_sha=head if rev is not None else None,
        metrics=comparisons,
        limits=limits,
        added=added,
        removed=removed,
        notes=tuple(notes + limit_notes),
    )


def _matches(metric: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(metric, p) for p in patterns)


def _lower_is_better(metric: str) -> bool:
    return False if _matches(metric, _HIGHER_IS_BETTER) else info(metric).lower_is_better


def select_metrics(
    wanted: Sequence[str], code: Iterable[str], engine: Engine, config: Config
) -> tuple[str, ...]:
    """The metric ids to check: `wanted` (ids or globs) or every code metric that is a problem count.
    An id that names no known metric is a usage error."""
    code_ids = sorted(code)
    if not wanted:
        return tuple(m for m in code_ids if not _matches(m, _INFORMATIONAL))
    with store.read_session(engine) as s:
        stored = store.metric_ids(s)
    known = dict.fromkeys([*code_ids, *stored, *(limit.metric for limit in config.limits)])
    chosen: dict[str, None] = {}
    for pattern in wanted:
        hits = [m for m in known if fnmatch.fnmatchcase(m, pattern)]
        if not hits:
            raise HealthError(f"--metric {pattern}: no such metric (known: {', '.join(known)})")
        chosen.update(dict.fromkeys(hits))
    return tuple(chosen)


def check_limits(
    config: Config,
    selected: Sequence[str],
    values: Mapping[str, float],
    engine: Engine,
    *,
    explicit: Sequence[str],
) -> tuple[tuple[LimitResult, ...], list[str]]:
    """The configured limits of the selected metrics (all limits when none were named): code
    metrics take the current tree's value, the others the latest stored test run's."""
    chosen = set(selected)
    results, notes = [], []
    for limit in config.limits:
        if explicit and limit.metric not in chosen:
            continue
        if limit.metric in values:
            value, source = values[limit.metric], "tree"
        else:
            with store.read_session(engine) as s:
                point = store.latest_point(s, metric=limit.metric)
            value, source = (point.value if point else None), "tests"
            if point is None:
                notes.append(f"limit on {limit.metric}: no value stored yet, not checked")
        results.append(
            LimitResult(
                metric=limit.metric, value=value, min=limit.min, max=limit.max, source=source
            )
        )
    return tuple(results), notes


def _findings(evaluation: Evaluation, selected: Sequence[str]) -> list[Finding]:
    rules = {m.split(".", 1)[0] for m in selected}
    return [f for fs in evaluation.findings.values() for f in fs if f.rule in rules]


def _norm(text: str) -> str:
    return " ".join(text.split())


def new_findings(
    base: Iterable[Finding], current: Iterable[Finding]
) -> tuple[tuple[Finding, ...], tuple[Finding, ...]]:
    """(added, removed) findings, ignoring line numbers: matched as (path, rule, text) multisets,
    then leftovers as (rule, text) across files (a file renamed or code moved is not new)."""
    added, removed = sorted(current), sorted(base)
    for key in (lambda f: (f.path, f.rule, _norm(f.text)), lambda f: (f.rule, _norm(f.text))):
        common = Counter(map(key, added)) & Counter(map(key, removed))
        added = _drop(added, key, common)
        removed = _drop(removed, key, common)
    return tuple(added), tuple(removed)


def _drop(findings: list[Finding], key, counts: Counter) -> list[Finding]:
    left = Counter(counts)
    out = []
    for f in findings:
        k = key(f)
        if left[k] > 0:
            left[k] -= 1
        else:
            out.append(f)
    return out


def resolve_base(
    repo: GitRepo, engine: Engine, config: Config, *, against: str | None, head: str
) -> Base:
    """`--against` resolved, else the merge-base of `head` with the configured branch (config
    `branch`, else the branch the database tracks, else the current branch)."""
    branch = tracked_branch(repo, engine, config)
    if against is not None:
        return Base(sha=repo.resolve(against), rev=against, how="explicit", branch=branch)
    if branch is None:
        return Base(sha=head, rev=None, how="HEAD", branch=None)
    tip = _resolve_branch(repo, branch)
    merge_base = repo.merge_base(head, tip)
    if merge_base is None:
        raise RepoError(
            f"{head[:10]} and {branch} have no common ancestor; name a base with --against REV"
        )
    return Base(sha=merge_base, rev=None, how="merge-base", branch=branch)


def tracked_branch(repo: GitRepo, engine: Engine, config: Config) -> str | None:
    if config.branch:
        return config.branch
    with store.read_session(engine) as s:
        stored = store.repository_info(s)
    if stored is not None and stored.branch:
        return stored.branch
    return repo.branch_name()


def _resolve_branch(repo: GitRepo, branch: str) -> str:
    try:
        return repo.resolve(branch)
    except RepoError:
        try:
            return repo.resolve(f"refs/remotes/origin/{branch}")
        except RepoError:
            raise RepoError(
                f"branch {branch!r} not found in {repo.root} (fetch it, or use --against REV)"
            ) from None


class FactsCache:
    """Facts per (kind, blob) from memory, the database's facts cache, or by extracting; what was
    extracted here is kept in `pending` to be stored afterwards."""

    def __init__(self, engine: Engine, rules: RuleEngine):
        self.engine, self.rules = engine, rules
        self.memory: dict[Key, Facts] = {}
        self.pending: dict[Key, bytes] = {}

    def missing(self, keys: Iterable[Key]) -> list[Key]:
        """The keys neither in memory nor in the database (those found are loaded)."""
        todo = [k for k in dict.fromkeys(keys) if k not in self.memory]
        if todo:
            with store.read_session(self.engine) as s:
                found = store.cached_facts(s, engine_key=self.rules.key, keys=todo)
            for k, raw in found.items():
                self.memory[k] = json.loads(raw)
        return [k for k in todo if k not in self.memory]

    def extract(self, items: Sequence[tuple[Key, bytes]]) -> None:
        if not items:
            return
        batch = [(kind, data) for (kind, _), data in items]
        for (key, _), facts in zip(items, extract_many(self.rules, batch), strict=True):
            self.memory[key] = facts
            self.pending[key] = dump(facts)


def _extract_in_batches(cache: FactsCache, stream: Iterable[tuple[Key, bytes]]) -> None:
    batch: list[tuple[Key, bytes]] = []
    size = 0
    for key, data in stream:
        batch.append((key, data))
        size += len(data)
        if size >= _BATCH_BYTES:
            cache.extract(batch)
            batch, size = [], 0
    cache.extract(batch)


def evaluate_commit(repo: GitRepo, rules: RuleEngine, cache: FactsCache, sha: str) -> Evaluation:
    """The rules on the tree of `sha`, read from git objects; cached facts are not re-extracted."""
    entries = []
    for e in repo.list_tree(sha):
        kind = rules.kind(e.path)
        if kind is not None:
            entries.append((e.path, (kind, e.blob)))
    missing = cache.missing(key for _, key in entries)
    if missing:
        kinds: dict[str, list[str]] = {}
        for kind, blob in missing:
            kinds.setdefault(blob, []).append(kind)
        for blob, size in repo.blob_sizes(kinds).items():
            if size > rules.rules.max_file_size:
                for kind in kinds.pop(blob):
                    cache.memory[(kind, blob)] = rules.skipped_facts()

        def stream():
            for blob, data in repo.read_blobs(list(kinds)):
                for kind in kinds[blob]:
                    yield (kind, blob), data

        _extract_in_batches(cache, stream())
    evaluator = rules.evaluator()
    for path, key in entries:
        evaluator.update(path, cache.memory[key])
    return evaluator.result()


def blob_sha(data: bytes) -> str:
    """The git blob id of `data` (so work-tree files share the facts cached for committed ones)."""
    return hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest()


def worktree_paths(root: Path) -> list[str]:
    """The files git sees in the work tree: tracked and untracked, without ignored ones."""
    try:
        out = subprocess.run(
            ["git", "-C", os.fspath(root), "ls-files", "-z", "-c", "-o", "--exclude-standard"],
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        reason = detail.decode("utf-8", "replace").strip() or str(exc)
        raise RepoError(f"{root}: cannot list the work tree: {reason}") from None
    paths = (p.decode("utf-8", "surrogateescape") for p in out.split(b"\x00") if p)
    return list(dict.fromkeys(paths))


def _read(path: str) -> bytes | OSError:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        return exc


def evaluate_worktree(repo: GitRepo, rules: RuleEngine, cache: FactsCache) -> Evaluation:
    """The rules on the work tree as it is on disk (regular files git sees; symlinks skipped)."""
    root = os.fspath(repo.root)
    limit = rules.rules.max_file_size
    keyed: dict[str, Key] = {}
    direct: dict[str, Facts] = {}
    for path in worktree_paths(repo.root):
        kind = rules.kind(path)
        if kind is None:
            continue
        full = os.path.join(root, path)
        try:
            st = os.lstat(full)
        except OSError:
            continue  # deleted but still in the index
        if not stat.S_ISREG(st.st_mode):
            continue
        if st.st_size > limit:
            direct[path] = rules.skipped_facts()
            continue
        data = _read(full)
        if isinstance(data, OSError):
            direct[path] = {"status": "skipped", "error": f"cannot read: {data.strerror or data}"}
            continue
        keyed[path] = (kind, blob_sha(data))
    missing = set(cache.missing(keyed.values()))

    def stream():
        for path, (kind, blob) in list(keyed.items()):
            if (kind, blob) not in missing:
                continue
            data = _read(os.path.join(root, path))
            if isinstance(data, OSError):
                del keyed[path]
                direct[path] = {"status": "skipped", "error": f"cannot read: {data.strerror}"}
                continue
            key = (kind, blob_sha(data))  # the file may have changed since it was hashed
            keyed[path] = key
            if key not in cache.memory:
                yield key, data

    _extract_in_batches(cache, stream())
    evaluator = rules.evaluator()
    for path, key in keyed.items():
        evaluator.update(path, cache.memory[key])
    for path, facts in direct.items():
        evaluator.update(path, facts)
    return evaluator.result()


def _save(
    repo: GitRepo,
    engine: Engine,
    rules: RuleEngine,
    cache: FactsCache,
    base: Base,
    evaluation: Evaluation | None,
) -> tuple[str, list[str]]:
    """Store the new facts and, given the base's `evaluation` and where it fits the history, the
    base's snapshot. A database that cannot be written only costs speed: the check goes on with a
    note. Returns "recorded" or "computed" and the notes."""
    notes: list[str] = []
    place = None
    if evaluation is not None:
        with store.read_session(engine) as s:
            place = _place(repo, s, base)
    status = "computed"
    if not cache.pending and place is None:
        return status, notes
    try:
        with store.translate_errors(engine.url.database), store.write_session(engine) as s:
            store.store_facts(
                s, engine_key=rules.key, items=[(k, b, f) for (k, b), f in cache.pending.items()]
            )
            if place is not None and evaluation is not None:
                commit, branch = place
                known = store.repository_info(s)
                rid = store.ensure_repository(
                    s,
                    root=str(repo.root),
                    name=repo.name,
                    branch=known.branch if known is not None else branch,
                )
                ids = store.upsert_commits(s, repository_id=rid, commits=[commit])
                store.record_snapshot(
                    s,
                    commit_id=ids[commit.sha],
                    metrics=dict(evaluation.metrics),
                    kind="code",
                    ruleset=rules.key,
                    at=time.time(),
                    base=commit.sha,  # no finding changes: a later walk recounts them
                )
                status = "recorded"
    except store.StoreError as exc:
        notes.append(f"nothing cached ({exc}); the check ran, the next one redoes the work")
    cache.pending.clear()
    return status, notes


def _place(repo: GitRepo, session, base: Base):
    """(the base commit with its position on the branch line, branch) when recording its snapshot
    fits the stored history: on the first-parent line, and not newer than the newest tracked
    commit unless nothing is tracked yet (else `collect` would skip the commits in between)."""
    stored = store.get_commit(session, sha=base.sha)
    commit = stored if stored is not None and stored.seq is not None and stored.reachable else None
    if commit is None:
        if base.branch is None:
            return None
        try:
            line = repo.first_parent_line(_resolve_branch(repo, base.branch))
        except RepoError:
            return None
        commit = next((c for c in line if c.sha == base.sha), None)
        if commit is None:
            return None
    tracked = store.commits_by_sha(session, shas=store.tracked_shas(session, kind="code"))
    seqs = [c.seq for c in tracked.values() if c.seq is not None and c.reachable]
    if seqs and (commit.seq or 0) > max(seqs):
        return None
    return commit, base.branch


def _show(text: str) -> str:
    """One safe line for a terminal: no escapes or control characters from the repository."""
    return clean(utf8_text(text))


def _value(metric: str, value: float | None) -> str:
    return info(metric).format(value)


def _signed(metric: str, delta: float) -> str:
    text = _value(metric, abs(delta))
    return ("+" if delta > 0 else "-") + text


def _base_label(report: CheckReport) -> str:
    base = report.base
    if base.how == "explicit":
        return f"{base.sha[:10]} ({_show(base.rev or '')})"
    if base.how == "merge-base":
        return f"{base.sha[:10]} (merge-base with {_show(base.branch or '')})"
    return f"{base.sha[:10]} (HEAD)"


def _collapse(items: Sequence[MetricComparison]) -> list[MetricComparison]:
    """Drop `x.files`/`x.sites`-style sub-metrics whose rule metric `x` is listed too."""
    ids = {m.metric for m in items}
    return [m for m in items if m.metric.split(".", 1)[0] not in ids or "." not in m.metric]


def render_text(report: CheckReport) -> str:
    """Nothing when nothing changed; else the new findings, what got worse, broken limits, a
    one-line cheer for what improved, and a last line saying why the check failed."""
    lines = [
        f"{_show(f.path)}:{f.line}: {f.rule} {_show(f.message or f.text)}" for f in report.added
    ]
    for m in report.worse:
        lines.append(
            f"worse: {m.metric} {_value(m.metric, m.base)} -> {_value(m.metric, m.current)} "
            f"({_signed(m.metric, m.delta)})"
        )
    for limit in report.broken:
        bounds = []
        if limit.max is not None and limit.value is not None and limit.value > limit.max:
            bounds.append(f"max {_value(limit.metric, limit.max)}")
        if limit.min is not None and limit.value is not None and limit.value < limit.min:
            bounds.append(f"min {_value(limit.metric, limit.min)}")
        where = "the latest test run" if limit.source == "tests" else "this tree"
        lines.append(
            f"limit broken: {limit.metric} is {_value(limit.metric, limit.value)} in "
            f"{where}, {' and '.join(bounds)}"
        )
    better = _collapse(report.better)
    if better:
        moved = ", ".join(
            f"{m.metric} {_value(m.metric, m.base)} -> {_value(m.metric, m.current)}"
            for m in better
        )
        lines.append(f"improved since {report.base.sha[:10]}: {moved}. Nice work!")
    if not report.passed:
        why = []
        if report.worse:
            n = len(report.worse)
            why.append(f"{n} metric{'s' if n != 1 else ''} worse")
        if report.broken:
            n = len(report.broken)
            why.append(f"{n} limit{'s' if n != 1 else ''} broken")
        lines.append(f"check failed against {_base_label(report)}: {', '.join(why)}")
    return "\n".join(lines)


def _finding_json(f: Finding) -> dict:
    return {
        "path": utf8_text(f.path),
        "line": f.line,
        "col": f.col,
        "rule": f.rule,
        "message": utf8_text(f.message),
        "detail": utf8_text(f.detail),
        "text": utf8_text(f.text),
    }


def render_json(report: CheckReport) -> str:
    """The report for tools; the fields are documented in this module's docstring."""
    base = report.base
    data = {
        "schema": SCHEMA,
        "passed": report.passed,
        "exit_code": 0 if report.passed else 1,
        "against": {
            "sha": base.sha,
            "rev": base.rev,
            "how": base.how,
            "branch": base.branch,
            "snapshot": report.snapshot,
        },
        "current": {
            "worktree": report.current_rev is None,
            "rev": report.current_rev,
            "sha": report.current_sha,
        },
        "metrics": [
            {
                "id": m.metric,
                "title": info(m.metric).title,
                "unit": info(m.metric).unit,
                "base": m.base,
                "current": m.current,
                "delta": m.delta,
                "lower_is_better": m.lower_is_better,
                "status": m.status,
            }
            for m in report.metrics
        ],
        "limits": [
            {
                "metric": limit.metric,
                "value": limit.value,
                "min": limit.min,
                "max": limit.max,
                "source": limit.source,
                "broken": limit.broken,
            }
            for limit in report.limits
        ],
        "added": [_finding_json(f) for f in report.added],
        "removed": [_finding_json(f) for f in report.removed],
        "notes": list(report.notes),
    }
    return json.dumps(data, indent=2, ensure_ascii=False)


__all__ = [
    "SCHEMA",
    "CheckOutcome",
    "CheckReport",
    "FactsCache",
    "compare",
    "evaluate_commit",
    "evaluate_worktree",
    "new_findings",
    "render_json",
    "render_text",
    "run_check",
]
