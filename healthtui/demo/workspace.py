"""Where `healthtui demo` builds, and rebuilding a demo there without harming anything else.

A demo directory holds a marker file, so a later run knows it may replace it. A new demo is built
next to the old one and swapped in at the end: an interrupted build leaves the previous demo (or
nothing) behind, never a half-built one, and a directory without the marker is never deleted.
"""

from __future__ import annotations

import getpass
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from healthtui.errors import BusyError, HealthError

from .builder import BuildError
from .scenario import Demo, build_demo

MARKER = ".healthtui-demo"
MARKER_TEXT = (
    "A demo built by `healthtui demo`; the next run may delete and rebuild this directory.\n"
)


def default_dir() -> Path:
    """The per-user cache directory for the demo (as platformdirs would place it)."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
        return base / "healthtui" / "Cache" / "demo"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "healthtui" / "demo"
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "healthtui" / "demo"


def fallback_dir() -> Path:
    """Where the demo goes when the cache directory cannot be written."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid()) if hasattr(os, "getuid") else "user"
    return Path(tempfile.gettempdir()) / f"healthtui-demo-{user}"


def is_demo(path: Path) -> bool:
    """Whether `path` is a directory an earlier `healthtui demo` built."""
    return (path / MARKER).is_file()


def repo_dir(path: Path) -> Path:
    """Where the repository of a demo built at `path` lives."""
    return Path(path).absolute() / "repo"


def _check_replaceable(path: Path) -> None:
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise HealthError(f"{path}: not a directory; give a new or empty directory for the demo")
    if path.is_dir() and any(path.iterdir()) and not is_demo(path):
        raise HealthError(
            f"{path}: not empty and not a healthtui demo; give a new or empty directory"
        )


def _remove_ours(path: Path) -> None:
    """Delete a leftover staging or old demo directory, only if it carries our marker."""
    if path.is_dir() and not path.is_symlink() and (is_demo(path) or not any(path.iterdir())):
        shutil.rmtree(path)
    elif path.exists():
        raise HealthError(f"{path}: in the way of the demo build and not ours; remove it")


@contextmanager
def demo_lock(path: Path) -> Iterator[None]:
    """One `healthtui demo` at a time per directory (build, backfill and ingest)."""
    from healthtui.locking import Busy, acquire

    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HealthError(f"{path.parent}: cannot create: {exc.strerror or exc}") from None
    try:
        lock = acquire(str(path.parent / f".{path.name}.lock"))
    except Busy:
        raise BusyError(f"another `healthtui demo` is working in {path}") from None
    except OSError as exc:
        raise HealthError(f"{path.parent}: cannot take the lock: {exc.strerror or exc}") from None
    with lock:
        yield


def rebuild(path: Path, **options) -> Demo:
    """Build a fresh demo at `path` (options as for `build_demo`), replacing an earlier demo.

    Call inside `demo_lock(path)`. Raises HealthError if `path` is in use by something else.
    """
    path = Path(path).absolute()
    _check_replaceable(path)
    staging = path.with_name(f".{path.name}.building")
    old = path.with_name(f".{path.name}.old")
    _remove_ours(staging)
    _remove_ours(old)
    try:
        staging.mkdir(parents=True)
        (staging / MARKER).write_text(MARKER_TEXT, encoding="utf-8")
    except OSError as exc:
        raise HealthError(f"{staging}: cannot create: {exc.strerror or exc}") from None
    try:
        built = build_demo(staging, **options)
    except BuildError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise HealthError(f"building the demo failed: {exc}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    try:
        if path.exists():
            path.rename(old)
        staging.rename(path)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if old.exists() and not path.exists():
            old.rename(path)
        raise HealthError(
            f"{path}: cannot put the new demo in place: {exc.strerror or exc}"
        ) from None
    shutil.rmtree(old, ignore_errors=True)
    return replace(
        built,
        repo=repo_dir(path),
        reports=tuple(replace(r, path=path / r.path.relative_to(staging)) for r in built.reports),
    )


def claim_database(db: Path, repo: Path) -> None:
    """Make way for the demo's fresh database at an explicitly chosen `db`.

    An existing file is deleted only if an earlier demo at the same place wrote it; any other
    database is refused, never touched.
    """
    db = Path(db)
    if not db.exists():
        return
    import store

    info = None
    try:
        engine = store.open_engine(db, create=False)
        try:
            with store.read_session(engine) as session:
                info = store.repository_info(session)
        finally:
            engine.dispose()
    except store.StoreError:
        pass
    if info is None or Path(info.root).resolve() != Path(repo).resolve():
        raise HealthError(
            f"{db}: already holds another repository's data; the demo needs a new file "
            "(leave out --db to keep the database inside the demo repository)"
        )
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
