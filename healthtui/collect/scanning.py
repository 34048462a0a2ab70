"""The I/O side of `healthtui scan`: read a work tree or a revision, extract facts (fanned out over
processes for big batches), evaluate, and format findings linter-style. Writes nothing."""

from __future__ import annotations

import atexit
import errno
import json
import os
import subprocess
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from healthtui.errors import RepoError
from healthtui.rules import Evaluation, Finding, RuleEngine
from healthtui.rules.base import Facts
from healthtui.rules.paths import is_skipped_dir

if TYPE_CHECKING:
    from concurrent.futures import Executor, ProcessPoolExecutor

# Below these, extraction runs in-process: starting workers costs more than it saves.
MIN_PARALLEL_ITEMS = 400
MIN_PARALLEL_BYTES = 4_000_000
CHUNKS_PER_WORKER = 4

_pool: tuple[str, int, ProcessPoolExecutor] | None = None
_pool_lock = threading.Lock()
_worker_engine: RuleEngine | None = None


def _init_worker(engine: RuleEngine) -> None:
    global _worker_engine
    _worker_engine = engine


def _extract_items(items: list[tuple[str, bytes]]) -> list[Facts]:
    engine = _worker_engine
    assert engine is not None
    return [engine.extract(kind, data) for kind, data in items]


def _extract_files(items: list[tuple[str, str]], cap: int) -> list[Facts | None]:
    engine = _worker_engine
    assert engine is not None
    return [_read_and_extract(engine, full, kind, cap) for full, kind in items]


_CHUNK = 1 << 16
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
        pool = ProcessPoolExecutor(
            max_workers=workers(), mp_context=ctx, initializer=_init_worker, initargs=(engine,)
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
        out.extend(part)
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
    needs. Raises RepoError outside a repository or in a bare one.
    """
    start = Path(start)
    if not start.is_dir():
        raise RepoError(f"{start}: no such directory")
    try:
        proc = subprocess.run(
            ["git", "rev-parse", "--is-bare-repository", "--show-toplevel"],
            cwd=start,
            capture_output=True,
            check=False,
        )
    except OSError as exc:
        raise RepoError(f"cannot run git: {exc.strerror or exc}") from None
    out = proc.stdout.decode("utf-8", "surrogateescape").splitlines()
    if out[:1] == ["true"]:
        raise RepoError(f"{start}: a bare repository has no work tree; use --rev")
    if proc.returncode != 0 or len(out) < 2:
        raise RepoError(f"{start}: not a git repository")
    top = Path(out[1])
    if not search_parents and top.resolve() != start.resolve():
        raise RepoError(f"{start}: not a git repository (its work tree is {top})")
    return top


# One git thread: this process reads and searches the files git names on the other core(s).
_GREP = (
    "-c",
    "grep.threads=1",
    "-c",
    "grep.fullName=false",
    "grep",
    "-l",
    "-z",
    "-F",
    "--untracked",
    "--no-color",
)


class _GitPaths:
    """The NUL-separated paths a git command prints in `root` (relative to it), yielded while it
    runs so their files are read as git goes on. `ok` afterwards: git could tell (exit status 0,
    or 1 for `git grep` finding nothing)."""

    def __init__(self, root: Path, *args: str | bytes):
        self.root, self.args = root, args
        self.ok = False

    def __iter__(self) -> Iterator[str]:
        try:
            proc = subprocess.Popen(
                ["git", *self.args],
                cwd=self.root,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            return
        assert proc.stdout is not None
        seen: set[str] = set()
        rest = b""
        with proc:
            while chunk := proc.stdout.read1(1 << 16):
                *done, rest = (rest + chunk).split(b"\x00")
                for raw in done:
                    path = raw.decode("utf-8", "surrogateescape")
                    if path and path not in seen:
                        seen.add(path)
                        yield path
        self.ok = proc.returncode in (0, 1) and not rest


def worktree_files(root: Path) -> list[str] | None:
    """The files git sees under `root`: tracked and untracked, without ignored ones (as `check`
    reads them). None outside a git work tree."""
    listing = _GitPaths(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    paths = list(listing)
    return paths if listing.ok else None


def scan_worktree(root: Path, engine: RuleEngine) -> Evaluation:
    """Evaluate the rules on the files of a work tree as they are on disk.

    Inside a git work tree the files are the ones git sees (tracked and untracked, minus ignored
    ones, as `check` reads them); elsewhere every regular file below `root` outside virtualenv,
    cache and build directories. When only regex rules run and each needs some literal text,
    `git grep -F` picks the files holding one (the bytes prefilter), and only those are read,
    while git searches on.
    """
    root = Path(root)
    base = os.fspath(root)
    cap = engine.rules.max_file_size
    kind_of = engine.kind
    needles = engine.regex_needles()
    if needles:
        evaluator = engine.evaluator()
        patterns = [arg for n in needles for arg in (b"-e", n)]
        grep = _GitPaths(root, *_GREP, *patterns)
        for path in grep:
            kind = kind_of(path)
            if kind is not None:
                facts = _read_and_extract(engine, os.path.join(base, path), kind, cap)
                if facts is not None:
                    evaluator.update(path, facts)  # regex-only: evaluated at once
        if grep.ok:
            return evaluator.result()
    listed = worktree_files(root)
    entries: Iterable[tuple[str, str]] = (
        walk_worktree(root)
        if listed is None
        else ((path, os.path.join(base, path)) for path in listed)
    )
    evaluator = engine.evaluator()
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
        for facts_list in pool.map(_extract_files, chunks, [cap] * len(chunks)):
            for facts in facts_list:
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
    for entry in git_repo.list_tree(rev):
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
    items = [
        {
            "path": f.path,
            "line": f.line,
            "col": f.col,
            "rule": f.rule,
            "message": f.message,
            "detail": f.detail,
            "text": f.text,
        }
        for f in _selected(evaluation, rules, under)
    ]
    return json.dumps(items, indent=2)
