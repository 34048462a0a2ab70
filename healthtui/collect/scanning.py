"""The I/O side of `healthtui scan`: read a work tree or a revision, extract facts (fanned out over
processes for big batches), evaluate, and format findings linter-style. Writes nothing."""

from __future__ import annotations

import atexit
import json
import multiprocessing
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from pathlib import Path
from typing import Any

from healthtui.rules import Evaluation, Finding, RuleEngine
from healthtui.rules.base import Facts
from healthtui.rules.paths import is_skipped_dir

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


def _extract_files(root: str, items: list[tuple[str, str]]) -> list[Facts]:
    engine = _worker_engine
    assert engine is not None
    return [_read_and_extract(engine, root, path, kind) for path, kind in items]


def _read_and_extract(engine: RuleEngine, root: str, path: str, kind: str) -> Facts:
    try:
        with open(os.path.join(root, path), "rb") as fh:
            data = fh.read(engine.rules.max_file_size + 1)
    except OSError as exc:
        return {"status": "skipped", "error": f"cannot read: {exc.strerror or exc}"}
    return engine.extract(kind, data)


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


def walk_worktree(root: Path) -> Iterator[tuple[str, int]]:
    """(repo-relative path, size) of the regular files under `root`, skipping VCS, virtualenv,
    cache and build directories (and any directory holding a `pyvenv.cfg`)."""
    base = os.fspath(root)
    stack = [("", base)]
    while stack:
        rel, full = stack.pop()
        try:
            with os.scandir(full) as it:
                entries = list(it)
        except OSError:
            continue
        if rel and any(e.name == "pyvenv.cfg" for e in entries):
            continue
        for entry in entries:
            name = entry.name
            path = f"{rel}/{name}" if rel else name
            try:
                if entry.is_dir(follow_symlinks=False):
                    if not is_skipped_dir(name, at_root=not rel):
                        stack.append((path, entry.path))
                elif entry.is_file(follow_symlinks=False):
                    yield path, entry.stat(follow_symlinks=False).st_size
            except OSError:
                continue


def scan_worktree(root: Path, engine: RuleEngine) -> Evaluation:
    """Evaluate the rules on the files of a work tree as they are on disk."""
    root = Path(root)
    evaluator = engine.evaluator()
    todo: list[tuple[str, str]] = []
    total = 0
    for path, size in walk_worktree(root):
        kind = engine.kind(path)
        if kind is None:
            continue
        if size > engine.rules.max_file_size:
            evaluator.update(path, engine.skipped_facts())
            continue
        todo.append((path, kind))
        total += size
    base = os.fspath(root)
    if _parallel(len(todo), total):
        pool = _executor(engine)
        chunks = _chunks(todo, workers() * CHUNKS_PER_WORKER)
        for chunk, facts in zip(
            chunks, pool.map(_extract_files, [base] * len(chunks), chunks), strict=True
        ):
            for (path, _), f in zip(chunk, facts, strict=True):
                evaluator.update(path, f)
    else:
        for path, kind in todo:
            evaluator.update(path, _read_and_extract(engine, base, path, kind))
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


def _selected(evaluation: Evaluation, rules: Iterable[str] | None) -> Iterator[Finding]:
    wanted = set(rules) if rules is not None else None
    for path in sorted(evaluation.findings):
        for f in evaluation.findings[path]:
            if wanted is None or f.rule in wanted:
                yield f


def format_text(evaluation: Evaluation, rules: Iterable[str] | None = None) -> Iterator[str]:
    """`path:line:col: rule-id message` lines, by path then position."""
    for f in _selected(evaluation, rules):
        detail = f" [{f.detail}]" if f.detail else ""
        yield f"{f.path}:{f.line}:{f.col}: {f.rule} {f.message}{detail}"


def format_json(evaluation: Evaluation, rules: Iterable[str] | None = None) -> str:
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
        for f in _selected(evaluation, rules)
    ]
    return json.dumps(items, indent=2)
