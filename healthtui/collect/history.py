"""Walk a branch's first-parent history and store a snapshot of every rule metric per commit.

The walk never checks out: it starts from one commit's tree (`ls-tree`), then applies each next
commit's changes from a single `git log --raw` stream, reads only changed blobs, and reuses facts
cached per (blob, rule engine) in the database. Each commit's snapshot is one transaction, so a killed
run resumes exactly where it stopped.

Date filters (`--since`, `--until`, `--daily`) read each commit's committer time in the commit's
own recorded UTC offset: `--since 2026-03-01` selects commits made on or after 1 March local to
whoever committed them. A date with an explicit offset (`2026-03-01T09:00+01:00`) compares instants.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from healthtui.collect import checkpoint
from healthtui.collect.extraction import FactsStream, start_workers
from healthtui.collect.gitrepo import GitRepo
from healthtui.config import Config
from healthtui.errors import HealthError, RepoError
from healthtui.rules import Finding, RuleEngine
from healthtui.spans import parse_span
from store import collector
from store.collector import ChangeInput, FindingInput
from store.db import Database
from store.records import CommitInfo

if TYPE_CHECKING:
    from sqlalchemy import Engine

Progress = Callable[[int, int], None]  # (done, total); may also have `.tree(done, total)`
TICK_FILES = 500  # files of the first tree between two progress ticks
_Key = tuple[str, str]  # (kind, blob)
_T = TypeVar("_T")
_DIRECT_LOOKUP = 1_000  # fewer wanted blobs than this: look them up, not every cached key
CHECKPOINT_EVERY = 25  # commits a walk may replay past the saved evaluator before saving anew


@dataclass(frozen=True)
class CollectResult:
    written: int = 0
    already: int = 0
    unreachable: int = 0
    head: str | None = None
    notes: tuple[str, ...] = ()
    seconds: float = 0.0
    commits: tuple[str, ...] = field(default=(), repr=False)
    checkpoint: str | None = None  # the saved evaluator's commit the walk started from


def parse_when(text: str) -> datetime:
    """A date (`2026-03-01`), local datetime (`2026-03-01T09:30`), aware datetime, or a span
    back from now (`90d`, `1y`: an aware datetime)."""
    span = parse_span(text)
    if span is not None:
        try:
            return datetime.now(UTC) - timedelta(seconds=span[0])
        except OverflowError:
            raise HealthError(f"{text!r}: too long ago") from None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise HealthError(
            f"{text!r}: not a date (use YYYY-MM-DD, YYYY-MM-DDTHH:MM or a span such as 90d)"
        ) from None


def _local(c: CommitInfo) -> datetime:
    return datetime.fromtimestamp(c.committed_at + c.committer_offset, UTC).replace(tzinfo=None)


def _after(c: CommitInfo, bound: datetime) -> bool:
    if bound.tzinfo is not None:
        return c.committed_at >= bound.timestamp()
    return _local(c) >= bound


def parse_until(text: str) -> datetime:
    """The last moment `--until` takes in: as `parse_when`, but a date alone takes in its whole
    day."""
    bound = parse_when(text)
    if bound.tzinfo is None and len(text) <= 10:
        bound += timedelta(days=1) - timedelta(microseconds=1)
    return bound


def _before(c: CommitInfo, bound: datetime) -> bool:
    if bound.tzinfo is not None:
        return c.committed_at <= bound.timestamp()
    return _local(c) <= bound


def select_commits(
    line: Sequence[CommitInfo],
    *,
    since: str | None = None,
    until: str | None = None,
    every: int | None = None,
    daily: bool = False,
) -> list[CommitInfo]:
    """The commits of a first-parent line that a backfill snapshots, oldest first."""
    chosen = list(line)
    if since:
        bound = parse_when(since)
        chosen = [c for c in chosen if _after(c, bound)]
    if until:
        bound = parse_until(until)
        chosen = [c for c in chosen if _before(c, bound)]
    if daily:
        last_of_day: dict[object, CommitInfo] = {}
        for c in chosen:
            last_of_day[_local(c).date()] = c
        keep = {c.sha for c in last_of_day.values()}
        chosen = [c for c in chosen if c.sha in keep]
    if every and every > 1 and chosen:
        tip = chosen[-1]
        chosen = [c for i, c in enumerate(chosen) if i % every == 0]
        if chosen[-1] is not tip:
            chosen.append(tip)
    return chosen


class _Background:
    """A call run on a thread (git runs while Python works on); `result()` waits for it."""

    def __init__(self, fn: Callable, *args: object):
        self._out: list = []
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fn, args), daemon=True)
        self._thread.start()

    def _run(self, fn: Callable, args: tuple) -> None:
        try:
            self._out.append(fn(*args))
        except BaseException as exc:  # handed to the caller by result()
            self._error = exc

    def result(self):
        """The call's return value; its exception, if it raised one."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._out[0]


class _Facts:
    """Facts for a set of (kind, blob) keys: those known at once, the others as they are extracted
    (in the order asked for). `key in facts` is whether the key was asked for."""

    def __init__(
        self,
        source: _FactsSource,
        known: dict[_Key, dict],
        stream: FactsStream | None,
        wanted: set[_Key],
    ):
        self._source, self._known, self._stream, self._wanted = source, known, stream, wanted

    def __contains__(self, key: _Key) -> bool:
        return key in self._wanted

    def __getitem__(self, key: _Key) -> dict:
        known = self._known
        while key not in known:
            if self._stream is None:
                raise KeyError(key)
            got, facts, raw = next(self._stream)
            known[got] = facts
            self._source.remember(got, facts, raw)
        return known[key]

    def fill(self) -> None:
        """Start extracting ahead, without waiting."""
        if self._stream is not None:
            self._stream.fill()

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None


class _FactsSource:
    """Facts for (kind, blob) from memory, the database cache, or by reading and extracting blobs."""

    def __init__(self, repo: GitRepo, db: Database, rules: RuleEngine):
        self.repo, self.db, self.rules = repo, db, rules
        self.memory: dict[_Key, dict] = {}
        self.pending: list[tuple[str, str, bytes]] = []  # new facts to store with the next snapshot
        self._cached: set[_Key] | None = None  # keys in the DB cache when the walk began

    def get(self, wanted: Iterable[_Key]) -> _Facts:
        """The facts of `wanted`; those to extract come as they are taken, in `wanted`'s order."""
        keys = list(dict.fromkeys(wanted))
        known = {k: self.memory[k] for k in keys if k in self.memory}
        missing = [k for k in keys if k not in known]
        if self._cached is None and len(missing) > _DIRECT_LOOKUP:
            with self.db.read() as con:
                self._cached = collector.cached_fact_keys(con, engine_key=self.rules.key)
        lookup = missing if self._cached is None else [k for k in missing if k in self._cached]
        if lookup:
            with self.db.read() as con:
                cached = collector.cached_facts(con, engine_key=self.rules.key, keys=lookup)
            for k, raw in cached.items():
                known[k] = self.memory[k] = json.loads(raw)
            missing = [k for k in missing if k not in cached]
        if len(self.memory) > 200_000:
            self.memory.clear()
        return _Facts(self, known, self._extract(missing) if missing else None, set(keys))

    def _extract(self, keys: list[_Key]) -> FactsStream:
        by_blob: dict[str, list[str]] = {}
        for kind, blob in keys:
            by_blob.setdefault(blob, []).append(kind)

        def items() -> Iterator[tuple[_Key, str, bytes]]:
            for blob, data in self.repo.read_blobs(by_blob):
                for kind in by_blob[blob]:
                    yield (kind, blob), kind, data

        return FactsStream(self.rules, items(), len(keys))

    def remember(self, key: _Key, facts: dict, raw: bytes) -> None:
        """Keep newly extracted facts in memory, and queue them for the database's cache."""
        self.memory[key] = facts
        self.pending.append((key[0], key[1], raw))

    def take_pending(self) -> list[tuple[str, str, bytes]]:
        items, self.pending = self.pending, []
        return items


def _changes(old: tuple[Finding, ...], new: tuple[Finding, ...]) -> list[ChangeInput]:
    """Findings added and removed in one file, matched by (rule, source text) so moved lines don't count."""
    before = Counter((f.rule, f.text) for f in old)
    after = Counter((f.rule, f.text) for f in new)
    out = []
    for findings, surplus, delta in ((new, after - before, 1), (old, before - after, -1)):
        for f in findings:
            key = (f.rule, f.text)
            if surplus[key] > 0:
                surplus[key] -= 1
                out.append(
                    ChangeInput(
                        rule=f.rule,
                        path=f.path,
                        line=f.line,
                        text=f.text,
                        message=f.message,
                        delta=delta,
                    )
                )
    return out


class _Walker:
    """Keeps the rule evaluator in step with a tree as the walk moves from commit to commit."""

    def __init__(self, repo: GitRepo, db: Database, rules: RuleEngine):
        self.repo, self.db, self.rules = repo, db, rules
        self.facts = _FactsSource(repo, db, rules)
        self.evaluator = rules.evaluator()
        self.tree: dict[str, str] = {}  # path -> blob, for paths the rules read
        self.known: dict[str, tuple[Finding, ...]] = {}
        self.ahead = _Facts(self.facts, {}, None, set())  # what the rest of the walk will apply

    def restore(self, state: checkpoint.State) -> None:
        self.evaluator, self.tree, self.known = state.evaluator, state.tree, state.known

    def state(self) -> checkpoint.State:
        return checkpoint.State(self.evaluator, self.tree, self.known)

    def start(
        self,
        sha: str,
        meanwhile: Callable[[], object] = lambda: None,
        tick: Progress | None = None,
    ) -> None:
        """Evaluate the whole tree of `sha`. When only regex rules run, `git grep -F` for their
        required texts picks the files that can match; only those are read. `meanwhile` runs
        while git searches; `tick(done, total)` hears how many files are evaluated."""
        needles = self.rules.regex_needles()
        grep = _Background(self.repo.files_containing, sha, needles) if needles else None
        entries = {}
        sizes = {}
        for e in self.repo.list_tree(sha, sizes=needles is not None):
            kind = self.rules.kind(e.path)
            if kind is not None:
                entries[e.path] = (kind, e.blob)
                sizes[e.path] = e.size
        meanwhile()
        holding = grep.result() if grep is not None else None
        if holding is not None:
            cap = self.rules.rules.max_file_size
            plain = []
            for path in entries.keys() - holding:
                blob = entries.pop(path)[1]
                self.tree[path] = blob
                if sizes[path] > cap:
                    self.evaluator.update(path, self.rules.skipped_facts())
                else:
                    plain.append(path)
            self.evaluator.add_plain(plain)
        self._apply(entries, tick)

    def advance(self, changed: dict[str, str | None]) -> None:
        update: dict[str, tuple[str, str] | None] = {}
        for path, blob in changed.items():
            if blob is None:
                if path in self.tree:
                    update[path] = None
                continue
            kind = self.rules.kind(path)
            if kind is not None and self.tree.get(path) != blob:
                update[path] = (kind, blob)
        self._apply(update)

    def prefetch(self, visits: Sequence[tuple[str, dict[str, str | None]]]) -> None:
        """Ask for the facts of every blob `visits` will apply, as one stream (one `cat-file`
        stream, workers extracting ahead of the walk) instead of a round trip per commit."""
        wanted: list[_Key] = []
        for _sha, changed in visits:
            for path, blob in changed.items():
                kind = self.rules.kind(path) if blob is not None else None
                if kind is not None:
                    wanted.append((kind, blob))
        self.ahead = self.facts.get(wanted)
        self.ahead.fill()

    def close(self) -> None:
        self.ahead.close()

    def _apply(self, update: dict[str, _Key | None], tick: Progress | None = None) -> None:
        ahead = self.ahead
        facts = self.facts.get(kb for kb in update.values() if kb is not None and kb not in ahead)
        total = len(update)
        try:
            for done, (path, kb) in enumerate(update.items(), 1):
                if kb is None:
                    self.tree.pop(path, None)
                    self.evaluator.update(path, None)
                else:
                    self.tree[path] = kb[1]
                    self.evaluator.update(path, (ahead if kb in ahead else facts)[kb])
                if tick is not None and (done % TICK_FILES == 0 or done == total):
                    tick(done, total)
        finally:
            facts.close()
        ahead.fill()

    def evaluate(self) -> tuple[dict[str, float], list[ChangeInput]]:
        result = self.evaluator.result()
        changes: list[ChangeInput] = []
        for path in sorted(result.changed_paths):
            new = tuple(result.findings.get(path, ()))
            changes.extend(_changes(self.known.get(path, ()), new))
            if new:
                self.known[path] = new
            else:
                self.known.pop(path, None)
        return dict(result.metrics), changes

    def current(self) -> list[Finding]:
        return [f for path in sorted(self.known) for f in self.known[path]]


def _visits(
    stream: Iterable[tuple[str, list]], visited: set[str]
) -> list[tuple[str, dict[str, str | None]]]:
    """(sha, path -> blob or None) for each visited commit of a `line_changes` stream: the changes
    of the commits since the previous visit, the latest per path."""
    out: list[tuple[str, dict[str, str | None]]] = []
    pending: dict[str, str | None] = {}
    for sha, changes in stream:
        for ch in changes:
            pending[ch.path] = ch.blob
        if sha in visited:
            out.append((sha, pending))
            pending = {}
    return out


def _begin(
    walker: _Walker,
    saved: tuple[str, bytes] | None,
    first: CommitInfo,
    meanwhile: Callable[[], object],
    tick: Progress | None = None,
) -> str | None:
    """Bring the walker to `first`: from the `saved` evaluator (sha, data) plus the changes since,
    when there is one and the changes are fewer than the tree, else from the whole tree. Returns
    the sha of the checkpoint it started from. Calls `meanwhile` once, while git works if it can."""
    if saved is not None:
        sha, data = saved
        try:
            changed = walker.repo.diff(sha, first.sha) if sha != first.sha else []
        except RepoError:  # the checkpoint's commit is gone (rewritten and pruned)
            changed = None
        if changed is not None:
            state = checkpoint.load(data, walker.rules)
            if state is not None and len(changed) < max(len(state.tree), 1) // 2:
                walker.restore(state)
                meanwhile()
                walker.advance({ch.path: ch.blob for ch in changed})
                return sha
    walker.start(first.sha, meanwhile, tick)
    return None


def _save_checkpoint(db: Database, walker: _Walker, rules: RuleEngine, sha: str) -> None:
    data = checkpoint.dump(walker.state())
    if data is None:
        return
    with db.write() as con:
        collector.save_evaluator_state(
            con, ruleset=rules.key, fmt=checkpoint.FORMAT, sha=sha, data=data, at=time.time()
        )


def _collector_paused(fn: Callable[..., _T]) -> Callable[..., _T]:
    """`fn` run with the garbage collector paused. A walk's evaluator is millions of objects that
    live as long as the walk; collections scanning them again and again cost a cold 10,000-file
    backfill about 0.3 s. Collections resume once the walk's objects are freed."""

    @functools.wraps(fn)
    def paused(*args: Any, **kwargs: Any) -> _T:
        enabled = gc.isenabled()
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()

    return paused


@_collector_paused
def _walk(
    repo: GitRepo,
    db: Database,
    rules: RuleEngine,
    *,
    walk: Sequence[CommitInfo],
    write: set[str],
    ids: dict[str, int],
    write_current: bool,
    progress: Progress | None,
) -> tuple[int, str | None]:
    """Visit `walk` (oldest first); store a snapshot for each commit in `write`. Returns how many,
    and the checkpoint the walk started from.
    A walk that ends at the branch tip leaves a checkpoint of the evaluator there (every
    CHECKPOINT_EVERY commits), so the next collect need not re-evaluate the whole tree."""
    if not walk:
        return 0, None
    saved = None
    if walk[0].sha not in write:
        with db.read() as con:
            saved = collector.load_evaluator_state(con, ruleset=rules.key, fmt=checkpoint.FORMAT)
    if rules.parses_python and (saved is None or len(walk) > CHECKPOINT_EVERY):
        start_workers(rules)  # before any thread starts: forked now, they need not load the rules
    walker = _Walker(repo, db, rules)
    changes_job = (
        _Background(lambda: list(repo.line_changes(walk[-1].sha, exclude=walk[0].sha)))
        if len(walk) > 1
        else None
    )
    by_sha = {c.sha: c for c in walk}
    visits: list[tuple[str, dict[str, str | None]]] = []

    def prefetch() -> None:
        if changes_job is not None:
            visits.extend(_visits(changes_job.result(), set(by_sha)))
        walker.prefetch(visits)

    try:
        base = _begin(walker, saved, walk[0], prefetch, getattr(progress, "tree", None))
        done = _visit_all(walker, db, rules, walk, visits, write, ids, write_current, progress)
    finally:
        walker.close()
    if write_current and (base is None or len(walk) > CHECKPOINT_EVERY):
        _save_checkpoint(db, walker, rules, walk[-1].sha)
    return done, base


def _visit_all(
    walker: _Walker,
    db: Database,
    rules: RuleEngine,
    walk: Sequence[CommitInfo],
    visits: Sequence[tuple[str, dict[str, str | None]]],
    write: set[str],
    ids: dict[str, int],
    write_current: bool,
    progress: Progress | None,
) -> int:
    """Evaluate the walker at each commit of `walk` and store the snapshots of those in `write`."""
    by_sha = {c.sha: c for c in walk}
    done = 0
    total = len(write)
    prev: CommitInfo | None = None

    def visit(c: CommitInfo) -> None:
        nonlocal done, prev
        metrics, changes = walker.evaluate()
        if c.sha in write:
            is_tip = write_current and c is walk[-1]
            with db.write() as con:
                collector.store_facts(con, engine_key=rules.key, items=walker.facts.take_pending())
                collector.record_snapshot(
                    con,
                    commit_id=ids[c.sha],
                    metrics=metrics,
                    kind="code",
                    ruleset=rules.key,
                    changes=changes,
                    current=[_finding_input(f) for f in walker.current()] if is_tip else None,
                    at=time.time(),
                    base=prev.sha if prev else None,
                )
            done += 1
            if progress:
                progress(done, total)
        prev = c

    visit(walk[0])
    for sha, changed in visits:
        walker.advance(changed)
        visit(by_sha[sha])
    return done


def _finding_input(f: Finding) -> FindingInput:
    return FindingInput(
        rule=f.rule,
        path=f.path,
        line=f.line,
        col=f.col,
        text=f.text,
        message=f.message,
        detail=f.detail,
    )


def _refuse_foreign_database(con, db: Database, repo: GitRepo, line: Sequence[CommitInfo]) -> None:
    """One database holds one repository: refuse another repository's history (a moved clone or a
    rewritten branch of the same repository still shares commits or its path)."""
    info = collector.repository_info(con)
    if info is None or not info.commits or info.root == str(repo.root):
        return
    if collector.commit_ids(con, shas=[c.sha for c in line]):
        return
    raise HealthError(
        f"{db.path}: this database holds the history of {info.root}, which shares no "
        f"commits with {repo.root}; use --db to give each repository its own database"
    )


class _Prepared(NamedTuple):
    """The branch line as stored: repository id, commits oldest first, their row ids, how many
    stored commits left the line, and notes for the user."""

    repository_id: int
    line: list[CommitInfo]
    ids: dict[str, int]
    dropped: int
    notes: list[str]


def _prepare(repo: GitRepo, db: Database, config: Config, rev: str | None) -> _Prepared:
    if not repo.has_commits():
        raise HealthError(f"{repo.root}: the repository has no commits yet")
    branch = rev or config.branch or repo.branch_name() or "HEAD"
    line = repo.first_parent_line(branch)
    boundary = repo.shallow_boundary()
    shallow = next((c.sha for c in line if c.sha in boundary), None)
    with db.write() as con:
        _refuse_foreign_database(con, db, repo, line)
        rid = collector.ensure_repository(
            con, root=str(repo.root), name=repo.name, branch=branch if branch != "HEAD" else None
        )
        ids = collector.upsert_commits(con, repository_id=rid, commits=line)
        dropped = collector.sync_branch_line(
            con, repository_id=rid, line=[c.sha for c in line], shallow=shallow
        )
    notes = []
    if shallow:
        notes.append(f"shallow clone: history stops at {shallow[:10]} (fetch more to see earlier)")
    if dropped:
        notes.append(
            f"{dropped} stored commits are no longer on {branch} (kept, marked unreachable)"
        )
    return _Prepared(rid, line, ids, dropped, notes)


def _plan(
    line: Sequence[CommitInfo], selected: Sequence[CommitInfo], fresh: dict[str, str | None]
) -> tuple[list[CommitInfo], set[str]]:
    """Which commits to visit and which to (re)write. The stored snapshots on the line form one
    chain: each one's finding changes are counted against the stored snapshot before it (the
    first one's against its parent), so a change is attributed once however backfills of
    different grain were mixed. A commit of the chain is written when it is missing (selected)
    or its base is no longer the one before it (a commit was stored between them); the walk
    visits every chain commit from the base of the first one written."""
    if not selected:
        return [], set()
    chosen = {c.sha for c in selected}
    chain = [c for c in line if c.sha in chosen or c.sha in fresh]
    write: set[str] = set()
    first_write = None
    for i, c in enumerate(chain):
        base = chain[i - 1] if i else _parent(line, c)
        if c.sha not in fresh or fresh[c.sha] != (base.sha if base else None):
            write.add(c.sha)
            if first_write is None:
                first_write = i
    if first_write is None:
        return [], write
    last = max(i for i, c in enumerate(chain) if c.sha in write)
    walk = chain[first_write : last + 1]
    start = chain[first_write - 1] if first_write else _parent(line, chain[0])
    return ([start] if start else []) + walk, write


def _parent(line: Sequence[CommitInfo], c: CommitInfo) -> CommitInfo | None:
    seq = c.seq or 0
    return line[seq - 1] if seq > 0 else None


def backfill(
    repo: GitRepo,
    db: Database | Engine,
    config: Config,
    *,
    rev: str | None = None,
    since: str | None = None,
    until: str | None = None,
    every: int | None = None,
    daily: bool = False,
    progress: Progress | None = None,
    rules: RuleEngine | None = None,
) -> CollectResult:
    """Snapshot the selected first-parent commits of `rev` that have no current snapshot yet."""
    with _database(db) as db:
        return _backfill(repo, db, config, rev, since, until, every, daily, progress, rules)


def _backfill(repo, db, config, rev, since, until, every, daily, progress, rules) -> CollectResult:
    started = time.monotonic()
    rules = rules or RuleEngine(config.rules, config.suites)
    prepared = _prepare(repo, db, config, rev)
    selected = select_commits(prepared.line, since=since, until=until, every=every, daily=daily)
    return _snapshot(repo, db, rules, prepared, selected, [], progress, started)


def _snapshot(
    repo: GitRepo,
    db: Database,
    rules: RuleEngine,
    prepared: _Prepared,
    selected: Sequence[CommitInfo],
    notes: list[str],
    progress: Progress | None,
    started: float,
) -> CollectResult:
    """Snapshot the `selected` commits that need it. The current findings are the newest
    snapshot's: a walk that ends before a commit already snapshotted leaves them alone."""
    line = prepared.line
    with db.read() as con:
        fresh = collector.snapshotted_shas(con, kind="code", ruleset=rules.key)
    walk, write = _plan(line, selected, fresh)
    newest_fresh = max((c.seq or 0 for c in line if c.sha in fresh), default=-1)
    write_current = bool(walk) and (walk[-1].seq or 0) >= newest_fresh
    n, base = _walk(
        repo,
        db,
        rules,
        walk=walk,
        write=write,
        ids=prepared.ids,
        write_current=write_current,
        progress=progress,
    )
    _finish(db, prepared.repository_id, line)
    return CollectResult(
        written=n,
        already=sum(c.sha not in write for c in selected),
        unreachable=prepared.dropped,
        head=line[-1].sha if line else None,
        notes=tuple(prepared.notes + notes),
        seconds=time.monotonic() - started,
        commits=tuple(c.sha for c in walk if c.sha in write),
        checkpoint=base,
    )


def collect_commits(
    repo: GitRepo,
    db: Database | Engine,
    config: Config,
    *,
    rev: str | None = None,
    progress: Progress | None = None,
    rules: RuleEngine | None = None,
) -> CollectResult:
    """The cron step: snapshot every first-parent commit after the newest one already snapshotted
    (and recompute snapshots made with older rules). On an empty database: the tip only."""
    with _database(db) as db:
        return _collect(repo, db, config, rev, progress, rules)


def _collect(repo, db, config, rev, progress, rules) -> CollectResult:
    started = time.monotonic()
    rules = rules or RuleEngine(config.rules, config.suites)
    prepared = _prepare(repo, db, config, rev)
    line = prepared.line
    with db.read() as con:
        tracked = collector.tracked_shas(con, kind="code")
    on_line = [c for c in line if c.sha in tracked]
    notes: list[str] = []
    if not on_line:
        selected = line[-1:]
        notes.append(
            "no history yet: snapshotted the tip only; run `healthtui backfill` for trends"
        )
    else:
        last_seq = on_line[-1].seq or 0
        selected = [c for c in line if c.sha in tracked or (c.seq or 0) > last_seq]
    return _snapshot(repo, db, rules, prepared, selected, notes, progress, started)


def _finish(db: Database, repository_id: int, line: Sequence[CommitInfo]) -> None:
    with db.write() as con:
        collector.touch_collect(
            con, repository_id=repository_id, head=line[-1].sha if line else None, at=time.time()
        )


@contextlib.contextmanager
def _database(db: Database | Engine) -> Iterator[Database]:
    """The collector writes through a plain sqlite3 `Database`; given an engine (tests, the demo),
    it opens its own connection to the same file."""
    if isinstance(db, Database):
        yield db
        return
    with Database.open(db.url.database or "", create=False) as own:
        yield own
