"""The I/O side of `healthtui scan`: read a work tree or a revision, extract facts (fanned out over
processes for big batches), evaluate, and format findings linter-style. Writes nothing."""

from __future__ import annotations

import atexit
import contextlib
import errno
import gc
import marshal
import os
import re
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from healthtui.config import BUILTIN_RULE_IDS, RULE_ALIASES
from healthtui.errors import RepoError
from healthtui.rules.base import Evaluation, Facts, Finding
from healthtui.rules.paths import is_skipped_dir
from healthtui.rules.regex import CompiledRegex, line_hits, required_literals
from healthtui.rules.regex import findings as regex_findings

if TYPE_CHECKING:
    from concurrent.futures import Executor, ProcessPoolExecutor

    from healthtui.config import RulesConfig
    from healthtui.rules.engine import RuleEngine

# Below these, extraction runs in-process: starting workers costs more than it saves.
MIN_PARALLEL_ITEMS = 400
MIN_PARALLEL_BYTES = 4_000_000
CHUNKS_PER_WORKER = 4

_pool: tuple[str, int, ProcessPoolExecutor] | None = None
_pool_lock = threading.Lock()
_worker_engine: RuleEngine | None = None


def _init_worker(engine: RuleEngine, parent: int | None = None) -> None:
    """`parent`: the process that forked this worker, known before the fork (its parent may be
    killed before this runs); None for a worker a fork server started."""
    global _worker_engine
    _worker_engine = engine
    gc.freeze()  # what the worker inherited is never garbage: collections leave it (and its pages) be
    gc.enable()  # even if it was forked while its parent had collections paused
    if parent is None:
        parent = os.getppid()
    watch = threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True)
    watch.start()


def _exit_with_parent(parent: int) -> None:
    """A worker whose parent was killed (`kill -9` of a collect) ends too, rather than wait on
    its task queue forever."""
    while os.getppid() == parent:
        time.sleep(0.25)
    os._exit(1)


def _packed(facts: list) -> bytes | list:
    """Facts on their way back from a worker: marshalled (plain data, several times quicker to
    load than a pickle), or as they are if some value is not plain data."""
    try:
        return marshal.dumps(facts)
    except ValueError:
        return facts


def _unpacked(part: bytes | list) -> list:
    return marshal.loads(part) if isinstance(part, bytes) else part


def _extract_items(items: list[tuple[str, bytes]]) -> bytes | list:
    engine = _worker_engine
    assert engine is not None
    return _packed([engine.extract(kind, data) for kind, data in items])


def _extract_files(items: list[tuple[str, str]], cap: int) -> bytes | list:
    engine = _worker_engine
    assert engine is not None
    return _packed([_read_and_extract(engine, full, kind, cap) for full, kind in items])


_CHUNK = 1 << 16
_BINARY_PREFIX = 8000  # git's binary test reads this much (see `regex.binary_prefix`)
# Never follow a symlink (git lists the link, not its target) nor wait on a FIFO.
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
)


def read_capped(full: str, cap: int) -> bytes | None:
    """A file's bytes, or None when it holds more than `cap` bytes (then only a chunk is read).

    Most source files take one `read`: a short read is the end of a regular file.
    """
    fd = os.open(full, _OPEN_FLAGS)
    try:
        first = min(_CHUNK, cap + 1)
        data = os.read(fd, first)
        if len(data) < first:
            return data
        if len(data) > cap:
            return None
        size = os.fstat(fd).st_size
        if size > cap:
            return None
        parts, total = [data], len(data)
        while True:
            more = os.read(fd, max(_CHUNK, size - total + 1))
            if not more:
                return b"".join(parts)
            parts.append(more)
            total += len(more)
            if total > cap:
                return None
    finally:
        os.close(fd)


def _read_and_extract(engine: RuleEngine, full: str, kind: str, cap: int) -> Facts | None:
    """Facts of one work-tree file; None when it is not a regular file (any more): deleted since it
    was listed, a symlink, a directory (a submodule)."""
    try:
        data = read_capped(full, cap)
    except OSError as exc:
        if exc.errno in _NOT_A_FILE:
            return None
        return {"status": "skipped", "error": f"cannot read: {exc.strerror or exc}"}
    if data is None:
        return engine.skipped_facts()
    return engine.extract(kind, data)


_NOT_A_FILE = frozenset({errno.ENOENT, errno.ELOOP, errno.EISDIR, errno.ENOTDIR, errno.ENXIO})


def workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _executor(engine: RuleEngine) -> Executor:
    """A process pool for `engine`, kept for reuse by later calls in this process.

    Workers are forked when this is the only thread (cheap: they inherit the engine); from a
    threaded caller (e.g. a TUI worker) they are started with `forkserver`, which is safe there.
    """
    import multiprocessing  # here: a small scan should not pay for importing it
    from concurrent.futures import ProcessPoolExecutor

    global _pool
    with _pool_lock:
        pid = os.getpid()
        if _pool is not None and _pool[0] == engine.key and _pool[1] == pid:
            return _pool[2]
        if _pool is not None and _pool[1] == pid:
            _pool[2].shutdown(wait=False, cancel_futures=True)
        method = "fork" if threading.active_count() == 1 else "forkserver"
        try:
            ctx = multiprocessing.get_context(method)
        except ValueError:  # pragma: no cover - platforms without fork
            ctx = multiprocessing.get_context("spawn")
        parent = pid if ctx.get_start_method() == "fork" else None
        pool = ProcessPoolExecutor(
            max_workers=workers(),
            mp_context=ctx,
            initializer=_init_worker,
            initargs=(engine, parent),
        )
        _pool = (engine.key, pid, pool)
        return pool


@atexit.register
def _shutdown_pool() -> None:
    global _pool
    if _pool is not None and _pool[1] == os.getpid():
        _pool[2].shutdown(wait=False, cancel_futures=True)
    _pool = None


def _chunks(seq: Sequence[Any], n: int) -> list[Sequence[Any]]:
    size = max(1, -(-len(seq) // n))
    return [seq[i : i + size] for i in range(0, len(seq), size)]


def _parallel(n_items: int, n_bytes: int) -> bool:
    big = n_items >= MIN_PARALLEL_ITEMS or n_bytes >= MIN_PARALLEL_BYTES
    return big and n_items >= 2 * workers() and workers() > 1


def extract_many(engine: RuleEngine, items: Sequence[tuple[str, bytes]]) -> list[Facts]:
    """Facts of many (kind, bytes) items, in order; over processes for big batches."""
    if not _parallel(len(items), sum(len(d) for _, d in items)):
        return [engine.extract(kind, data) for kind, data in items]
    pool = _executor(engine)
    chunks = _chunks(list(items), workers() * CHUNKS_PER_WORKER)
    out: list[Facts] = []
    for part in pool.map(_extract_items, chunks):
        out.extend(_unpacked(part))
    return out


def walk_worktree(root: Path) -> Iterator[tuple[str, str]]:
    """(repo-relative path, full path) of the regular files under `root`, skipping VCS,
    virtualenv, cache and build directories (and any directory holding a `pyvenv.cfg`)."""
    stack = [("", os.fspath(root))]
    while stack:
        rel, full = stack.pop()
        try:
            with os.scandir(full) as it:
                entries = list(it)
        except OSError:
            continue
        if rel and any(e.name == "pyvenv.cfg" for e in entries):
            continue
        prefix = rel + "/" if rel else ""
        for entry in entries:
            name = entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    if not is_skipped_dir(name, at_root=not rel):
                        stack.append((prefix + name, entry.path))
                elif entry.is_file(follow_symlinks=False):
                    yield prefix + name, entry.path
            except OSError:
                continue


def work_tree_root(start: Path, *, search_parents: bool = True) -> Path:
    """The top of the git work tree at `start` (or above it when `search_parents`).

    One `git rev-parse`: much cheaper than opening the repository, which is all a work-tree scan
    needs (none when `start_early` just asked the same). Raises RepoError outside a repository or
    in a bare one.
    """
    global _early_root
    start = Path(start)
    early, _early_root = _early_root, None
    if early is not None and early[:2] == (start, search_parents):
        return early[2]
    if not start.is_dir():
        raise RepoError(f"{start}: {'not a directory' if start.exists() else 'no such directory'}")
    rev_parse = _GitOutput(start, "rev-parse", "--is-bare-repository", "--show-toplevel")
    if rev_parse.error is not None:
        raise RepoError(f"cannot run git: {rev_parse.error.strerror or rev_parse.error}")
    out = rev_parse.read_all().decode("utf-8", "surrogateescape").splitlines()
    if out[:1] == ["true"]:
        raise RepoError(f"{start}: a bare repository has no work tree; use --rev")
    if rev_parse.returncode != 0 or len(out) < 2:
        raise RepoError(f"{start}: not a git repository")
    top = Path(out[1])
    if not search_parents and top.resolve() != start.resolve():
        raise RepoError(f"{start}: not a git repository (its work tree is {top})")
    return top


_PIPE_SIZE = 1 << 20  # Linux's default limit for unprivileged processes


class _GitOutput:
    """A git command started in `root` whose standard output is read as it runs; `ok`
    afterwards: git could tell (exit status 0, or 1 for `git grep` finding nothing). `error`:
    why git could not be started (then there is no output). Errors go to /dev/null.

    Spawned with `os.posix_spawnp` where there is one: importing `subprocess` costs a scan ~6 ms.
    """

    def __init__(self, root: Path, *args: str | bytes):
        self.ok = False
        self.returncode: int | None = None
        self.error: OSError | None = None
        self.pid: int | None = None
        self._proc: Any = None  # a subprocess.Popen, without posix_spawnp
        self._fd = -1
        argv = [b"git", b"-C", os.fsencode(root), *map(os.fsencode, args)]
        try:
            if hasattr(os, "posix_spawnp"):
                self.pid, self._fd = _spawn(argv)
            else:  # pragma: no cover - not POSIX
                import subprocess

                self._proc = subprocess.Popen(
                    list(map(os.fsdecode, argv)), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
                )
                self.pid, self._fd = self._proc.pid, self._proc.stdout.fileno()
        except ValueError:  # a NUL byte in an argument
            return
        except OSError as exc:  # no git
            self.error = exc

    def chunks(self) -> Iterator[bytes]:
        if self._fd < 0:
            return
        read_all = False
        try:
            while chunk := os.read(self._fd, 1 << 16):
                yield chunk
            read_all = True
        finally:
            self._end(kill=not read_all)
        self.ok = self.returncode in (0, 1)

    def read_all(self) -> bytes:
        return b"".join(self.chunks())

    def stop(self) -> None:
        """Stop git if its output was not read to the end."""
        self._end(kill=True)

    def _end(self, *, kill: bool) -> None:
        if self._fd < 0:  # ended already (stopped while `chunks` was still being read)
            return
        if self._proc is not None:  # pragma: no cover - not POSIX
            if kill:
                self._proc.kill()
            self._proc.stdout.close()
            self.returncode = self._proc.wait()
        else:
            os.close(self._fd)
            if kill:
                import signal

                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
            _, status = os.waitpid(self.pid, 0)
            self.returncode = os.waitstatus_to_exitcode(status)
        self._fd = -1


def _spawn(argv: list[bytes]) -> tuple[int, int]:
    """(pid, read end of its standard output) of `argv`, its errors to /dev/null."""
    read, write = os.pipe()
    try:
        if sys.platform == "linux":  # a big pipe: git runs on while this process is busy
            import fcntl

            with contextlib.suppress(OSError):
                fcntl.fcntl(read, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
        pid = os.posix_spawnp(
            argv[0],
            argv,
            os.environ,
            file_actions=[
                (os.POSIX_SPAWN_DUP2, write, 1),
                (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
            ],
        )
    except BaseException:
        os.close(read)
        raise
    finally:
        os.close(write)
    return pid, read


def worktree_files(root: Path) -> list[str] | None:
    """The files git sees under `root`: tracked and untracked, without ignored ones (as `check`
    reads them). None outside a git work tree."""
    listing = _GitOutput(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    out = listing.read_all()
    if not listing.ok:
        return None
    paths = out.decode("utf-8", "surrogateescape").split("\0")
    return list(dict.fromkeys(p for p in paths if p))


# The needles' lines in the tracked files, as `path NUL number NUL text LF`: binary files as text
# (the rules decide what is binary), never into submodules, one thread (this process parses the
# lines and `git ls-files` runs on the other core).
_GREP_LINES = (
    "-c",
    "grep.threads=1",
    "-c",
    "grep.fullName=false",
    "-c",
    "submodule.recurse=false",
    "grep",
    "-n",
    "-z",
    "-a",
    "-F",
    "--no-color",
    "--no-column",
)
# Tracked and untracked files, each tagged: `H` and `M` (unmerged) ones are read from the work
# tree by `git grep`; for the others (untracked `?`, skip-worktree `S`, assume-unchanged in lower
# case) it would read the index or nothing, so this process reads them.
_TAGGED_FILES = ("ls-files", "-z", "-v", "--cached", "--others", "--exclude-standard")
_NOT_GREPPED = re.compile(rb"\0(?![HM] )[^\0]+")  # on NUL + the listing: a NUL first is fast
_MAX_GREPPED_LINES = 8  # lines holding a needle in one file; beyond, the file is read whole
_Lines = list[tuple[bytes, bytes]]  # a file's (line number, line) pairs from `git grep -n -z`


class Grep:
    """`git grep -F` of a regex-only rule set's needles in a work tree, and the tagged listing
    that goes with it (see `_grep_lines`), running. Stopped by `close()` unless a scan took it."""

    def __init__(self, root: Path, needles: tuple[bytes, ...]):
        self.root, self.needles = Path(root), needles
        # The search first: starting a process waits for a core while another git runs.
        self.grep = _GitOutput(root, *_GREP_LINES, *(a for n in needles for a in (b"-e", n)))
        self.listing = _GitOutput(root, *_TAGGED_FILES)

    def close(self) -> None:
        self.listing.stop()
        self.grep.stop()

    def __enter__(self) -> Grep:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_grep(root: Path | None, rules: RulesConfig, only: Sequence[str] = ()) -> Grep | None:
    """Start the `git grep` a work-tree scan of `root` will want, from the config alone, when
    its rules look regex-only (`only`: the `--rule` ids, else every rule not disabled), so git
    searches while the rules engine loads; `scan_worktree` takes it if its engine agrees. The
    same search started by `start_early` is taken rather than started again."""
    global _early
    early, _early = _early, None
    needles = _config_needles(rules, only) if root is not None else None
    if early is not None:
        if needles is not None and early.root == Path(root) and early.needles == needles:
            return early
        early.close()
    return None if needles is None else Grep(root, needles)


def _config_needles(rules: RulesConfig, only: Sequence[str]) -> tuple[bytes, ...] | None:
    """The texts `start_grep` searches for, or None when the rules do not look regex-only."""
    if not rules.regex:
        return None
    regex_ids = {r.id for r in rules.regex}
    if only:
        wanted = {RULE_ALIASES.get(i, i) for i in only}
        if wanted - regex_ids - {"suite"}:
            return None
    else:
        wanted = regex_ids - set(rules.disable)
        if BUILTIN_RULE_IDS - {RULE_ALIASES.get(i, i) for i in rules.disable}:
            return None
    needles: list[bytes] = []
    for rule in rules.regex:
        if rule.id in wanted:
            found = required_literals(rule.pattern)
            if found is None:
                return None
            needles += found
    if not needles or any(b"\0" in n or b"\n" in n for n in needles):
        return None
    return tuple(dict.fromkeys(needles))


_early: Grep | None = None
_early_root: tuple[Path, bool, Path] | None = None


def start_early(
    repo: str | None, config: str | None, path: str | None, rule_ids: Sequence[str]
) -> None:
    """Start the `git grep` that `healthtui [--repo R] [--config C] scan [PATH] [--rule ID]...`
    will want before the CLI loads (click alone takes ~45 ms), so git searches meanwhile; the
    scan's `start_grep` takes it if it wants the same search, and its `work_tree_root` the root
    found here. Anything amiss is left for the scan to find and report."""
    global _early, _early_root
    from healthtui.config import load_config

    try:
        if path is not None:
            start, search_parents = Path(path), True
            if not start.is_dir():
                start = start.parent
        else:
            start = Path(repo) if repo is not None else Path.cwd()
            search_parents = repo is None
        root = work_tree_root(start, search_parents=search_parents)
        loaded = load_config(None, Path(config)) if config is not None else load_config(root)
        grep = start_grep(root, loaded.rules, rule_ids)
    except Exception:  # the scan does all this again and says what is wrong
        return
    _early_root = (start, search_parents, root)  # the scan's `work_tree_root` asks again
    if grep is not None:
        atexit.register(grep.close)  # in case no scan takes it
        _early = grep


def _grep_lines(
    root: Path, engine: RuleEngine, needles: tuple[bytes, ...], started: Grep | None
) -> Evaluation | None:
    """A regex-only scan from `git grep -F` of the rules' needles: only lines holding one are
    searched, and only files holding one are opened (to tell binary and oversized ones; so
    `skipped_files` counts the oversized files holding one); files are evaluated as git finishes
    them. A file with many such lines is read and searched whole instead. None when git cannot
    tell (not a work tree, an old git)."""
    if any(b"\0" in n or b"\n" in n for n in needles):
        return None
    if started is None or started.needles != needles or started.root != Path(root):
        if started is not None:
            started.close()
        started = Grep(root, needles)
    with started:
        return _evaluate_grep(root, engine, started)


def _evaluate_grep(root: Path, engine: RuleEngine, started: Grep) -> Evaluation | None:
    base = os.path.join(os.fspath(root), "")
    cap = engine.rules.max_file_size
    kind_of = engine.kind
    rules = engine.regex
    one_rule = rules[0] if len(rules) == 1 else None
    tally = RegexTally(engine)
    reread: set[bytes] = set()

    def evaluate(finished: list[tuple[bytes, _Lines]]) -> None:
        """Files git is done with, a chunk of output's worth. Their states are read in one go:
        system calls in a tight loop run much faster than the same calls spread among the rest."""
        todo: list[tuple[str, _Lines]] = []
        for name, lines in finished:
            if len(lines) > _MAX_GREPPED_LINES:
                reread.add(name)  # a C-level search of the whole file beats line by line
                continue
            path = name.decode("utf-8", "surrogateescape")
            if kind_of(path) is not None:
                todo.append((path, lines))
        states = [_file_state(base + path, cap) for path, _ in todo]
        for (path, lines), state in zip(todo, states, strict=True):
            if state is not _TEXT:
                tally.update(path, state)
            elif one_rule is not None:  # each line holds one of its needles: no need to look
                line_hit = one_rule.line_hit
                found = [h for n, raw in lines if (h := line_hit(int(n), raw)) is not None]
                if found:
                    tally.add_hits(path, one_rule, found)
            else:
                hits: dict[str, list[list]] = {}
                for number, raw in lines:
                    for rule_id, hit in line_hits(rules, int(number), raw):
                        hits.setdefault(rule_id, []).append(hit)
                tally.add(path, hits)

    seen: set[bytes] = set()
    name = b""
    lines: _Lines = []
    rest = carry = b""
    try:
        for chunk in started.grep.chunks():
            finished: list[tuple[bytes, _Lines]] = []
            *records, rest = (rest + chunk).split(b"\n")
            for record in records:
                if carry:
                    record, carry = carry + record, b""
                parts = record.split(b"\0", 2)
                if len(parts) < 3:  # a file name holding a newline: the record goes on
                    carry = record + b"\n"
                    continue
                if parts[0] != name:
                    if name:
                        finished.append((name, lines))
                    name, lines = parts[0], []
                    if name in seen:  # git prints a file's lines together: not its output
                        return None
                    seen.add(name)
                lines.append((parts[1], parts[2]))
            evaluate(finished)
        if name:
            evaluate([(name, lines)])
    except ValueError:  # not `git grep -n -z` output after all
        return None
    if not started.grep.ok or rest or carry:
        return None
    # Read last, when it is long done: the files `git grep` did not read from the work tree.
    listed = started.listing.read_all()
    if not started.listing.ok:
        return None
    not_grepped = {e[3:] for e in _NOT_GREPPED.findall(b"\0" + listed)}
    for name in reread | not_grepped:  # what git grep found in the index gives way
        path = name.decode("utf-8", "surrogateescape")
        kind = kind_of(path)
        if kind is not None:
            tally.update(path, _read_and_extract(engine, base + path, kind, cap))
    return tally.result()


class RegexTally:
    """`engine.evaluator()` for an engine running only regex rules, in one pass over a tree:
    files stand alone, so each file's findings are made as it comes, without the incremental
    evaluator's bookkeeping; counts are taken from the findings at the end. Same findings and
    metrics."""

    def __init__(self, engine: RuleEngine):
        self.engine = engine
        self.rule_ids = engine.selector.rule_ids
        self.skipped: set[str] = set()
        self.findings: dict[str, tuple[Finding, ...]] = {}

    @staticmethod
    def applies(engine: RuleEngine) -> bool:
        """Whether `engine` runs only regex rules (and maybe `suite`, with no suites to count)."""
        regex_ids = {r.id for r in engine.regex}
        others = [r for r in engine.rule_ids if r not in regex_ids]
        return not engine.parses_python and others in ([], ["suite"])

    def update(self, path: str, facts: Facts | None) -> None:
        """Set the facts of `path` (None: not a file; nothing to count)."""
        self.discard(path)
        if facts is None:
            return
        if facts.get("status") == "skipped":
            self.skipped.add(path)
        rx = facts.get("rx")
        if rx:
            self.add(path, rx)

    def add(self, path: str, rx: dict[str, list[list]]) -> None:
        """The regex hits ({rule id: [[line, col, text]]}) of a file neither skipped nor gone."""
        if not rx:
            return
        selected = self.rule_ids(path)
        found: list[Finding] = []
        rules = 0
        for rule in self.engine.regex:
            hits = rx.get(rule.id)
            if hits and rule.id in selected:
                found += regex_findings(rule, path, hits)
                rules += 1
        if found:
            self.findings[path] = tuple(found if rules == 1 else sorted(found, key=_SITE))

    def add_hits(self, path: str, rule: CompiledRegex, hits: list[list]) -> None:
        """`add` for one rule's hits."""
        if rule.id in self.rule_ids(path):
            self.findings[path] = tuple(regex_findings(rule, path, hits))

    def discard(self, path: str) -> None:
        """Forget what was counted for `path`."""
        self.findings.pop(path, None)
        self.skipped.discard(path)

    def result(self) -> Evaluation:
        from healthtui.rules.engine import SKIPPED

        counts = {r.id: 0 for r in self.engine.regex}
        files = dict(counts)
        if len(counts) == 1:  # one finding per matching line, all of the one rule
            for rid in counts:
                counts[rid] = sum(map(len, self.findings.values()))
                files[rid] = len(self.findings)
        else:
            for found in self.findings.values():
                for f in found:
                    counts[f.rule] += 1
                for rid in {f.rule for f in found}:
                    files[rid] += 1
        metrics = {SKIPPED: float(len(self.skipped))}
        for rid in self.engine.rule_ids:
            if rid in counts:
                metrics[rid] = float(counts[rid])
                metrics[f"{rid}.files"] = float(files[rid])
        return Evaluation(metrics, dict(self.findings), frozenset(self.findings))


_SITE = attrgetter("line", "col", "rule", "text", "message", "detail")  # Finding order in a file


_TEXT: Facts = {"status": "ok"}  # `_file_state`: a text file within the size cap


def _file_state(full: str, cap: int) -> Facts | None:
    """`_TEXT` for a text file within `cap` (whose hits `git grep` found), else its facts (over the
    cap, unreadable, or binary: no hits); None when it is not a regular file. Only the first 8000
    bytes are read."""
    try:
        fd = os.open(full, _OPEN_FLAGS)
    except OSError as exc:
        if exc.errno in _NOT_A_FILE:
            return None
        return {"status": "skipped", "error": f"cannot read: {exc.strerror or exc}"}
    try:
        head = os.read(fd, _BINARY_PREFIX)
        size = os.fstat(fd).st_size if len(head) == _BINARY_PREFIX else len(head)
    except OSError as exc:
        if exc.errno in _NOT_A_FILE:
            return None
        return {"status": "skipped", "error": f"cannot read: {exc.strerror or exc}"}
    finally:
        os.close(fd)
    if size > cap:
        return {"status": "skipped"}
    return _TEXT if head.find(b"\0") < 0 else {"status": "ok"}


def scan_worktree(root: Path, engine: RuleEngine, started: Grep | None = None) -> Evaluation:
    """Evaluate the rules on the files of a work tree as they are on disk.

    Inside a git work tree the files are the ones git sees (tracked and untracked, minus ignored
    ones, as `check` reads them); elsewhere every regular file below `root` outside virtualenv,
    cache and build directories. When only regex rules run and each needs some literal text,
    `git grep -F` finds the lines holding one (the bytes prefilter), and only those are searched
    (see `_grep_lines`); `started` is that search if `start_grep` began it already.
    """
    root = Path(root)
    base = os.fspath(root)
    cap = engine.rules.max_file_size
    kind_of = engine.kind
    regex_only = RegexTally.applies(engine)
    needles = engine.regex_needles()
    if needles and regex_only:
        evaluation = _grep_lines(root, engine, needles, started)
        if evaluation is not None:
            return evaluation
    elif started is not None:
        started.close()
    listed = worktree_files(root)
    entries: Iterable[tuple[str, str]] = (
        walk_worktree(root)
        if listed is None
        else ((path, os.path.join(base, path)) for path in listed)
    )
    evaluator = RegexTally(engine) if regex_only else engine.evaluator()
    todo: list[tuple[str, str]] = []
    paths: list[str] = []
    for path, full in entries:
        kind = kind_of(path)
        if kind is not None:
            todo.append((full, kind))
            paths.append(path)
    if engine.parses_python and _parallel(len(todo), 0):  # else reading dominates: no pool
        pool = _executor(engine)
        chunks = _chunks(todo, workers() * CHUNKS_PER_WORKER)
        done = 0
        for part in pool.map(_extract_files, chunks, [cap] * len(chunks)):
            for facts in _unpacked(part):
                if facts is not None:
                    evaluator.update(paths[done], facts)
                done += 1
    else:
        for path, (full, kind) in zip(paths, todo, strict=True):
            facts = _read_and_extract(engine, full, kind, cap)
            if facts is not None:
                evaluator.update(path, facts)
    return evaluator.result()


def scan_revision(repo: Any, rev: str, engine: RuleEngine) -> Evaluation:
    """Evaluate the rules on the tree of `rev`, read from git objects (no checkout).

    `repo` is a `GitRepo` or a path to open as one.
    """
    from healthtui.collect.gitrepo import GitRepo

    git_repo = repo if isinstance(repo, GitRepo) else GitRepo.open(repo)
    evaluator = engine.evaluator()
    wanted: dict[str, list[tuple[str, str]]] = {}
    try:
        tree = git_repo.list_tree(rev)
    except RepoError:
        git_repo.resolve(rev)  # the clearer message when `rev` names no commit
        raise
    for entry in tree:
        kind = engine.kind(entry.path)
        if kind is not None:
            wanted.setdefault(entry.blob, []).append((entry.path, kind))
    sizes = git_repo.blob_sizes(wanted)
    big = [b for b, size in sizes.items() if size > engine.rules.max_file_size]
    for blob in big:
        for path, _ in wanted.pop(blob):
            evaluator.update(path, engine.skipped_facts())
    batch: list[tuple[str, bytes]] = []
    targets: list[list[tuple[str, str]]] = []
    for blob, data in git_repo.read_blobs(list(wanted)):
        by_kind: dict[str, list[tuple[str, str]]] = {}
        for path, kind in wanted[blob]:
            by_kind.setdefault(kind, []).append((path, kind))
        for kind, paths in by_kind.items():
            batch.append((kind, data))
            targets.append(paths)
    for paths, facts in zip(targets, extract_many(engine, batch), strict=True):
        for path, _ in paths:
            evaluator.update(path, facts)
    return evaluator.result()


def scan_root(path: Path) -> tuple[Path, str | None]:
    """(directory to scan, repo-relative path to show findings under) for `scan PATH`: the git
    work tree holding PATH, or PATH itself (its directory, for a file) outside any repository."""
    path = Path(path)
    start = path if path.is_dir() else path.parent
    try:
        root = work_tree_root(start)
    except RepoError:
        return start, None if path.is_dir() else path.name
    rel = path.resolve().relative_to(root.resolve()).as_posix()
    return root, None if rel == "." else rel


def _selected(
    evaluation: Evaluation, rules: Iterable[str] | None, under: str | None
) -> Iterator[Finding]:
    wanted = set(rules) if rules is not None else None
    prefix = under.rstrip("/") + "/" if under else ""
    for path in sorted(evaluation.findings):
        if under and path != under and not path.startswith(prefix):
            continue
        for f in evaluation.findings[path]:
            if wanted is None or f.rule in wanted:
                yield f


def format_text(
    evaluation: Evaluation,
    rules: Iterable[str] | None = None,
    under: str | None = None,
) -> Iterator[str]:
    """`path:line:col: rule-id message` lines, by path then position (optionally only `rules`,
    and only the file or directory `under`)."""
    for f in _selected(evaluation, rules, under):
        detail = f" [{f.detail}]" if f.detail else ""
        yield f"{f.path}:{f.line}:{f.col}: {f.rule} {f.message}{detail}"


def format_json(
    evaluation: Evaluation,
    rules: Iterable[str] | None = None,
    under: str | None = None,
) -> str:
    """The findings as a JSON list of objects (path, line, col, rule, message, detail, text)."""
    import json

    from healthtui.wording import utf8_text

    items = [
        {
            "path": utf8_text(f.path),
            "line": f.line,
            "col": f.col,
            "rule": f.rule,
            "message": utf8_text(f.message),
            "detail": utf8_text(f.detail),
            "text": utf8_text(f.text),
        }
        for f in _selected(evaluation, rules, under)
    ]
    return json.dumps(items, indent=2)
