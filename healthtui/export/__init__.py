"""`healthtui export`: the standup summary in markdown, text, HTML, JSON or as an SVG of the overview.

One read builds a frozen `StandupSummary`; each format is a small renderer of it. Every export is
recorded, so `--since last` (the default) shows what changed since the previous one.
"""

from __future__ import annotations

import inspect
import os
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

import store
from healthtui.config import Config
from healthtui.errors import HealthError
from healthtui.export.summary import StandupSummary, build_summary, resolve_since
from store.exports import record_export

FORMATS = ("md", "txt", "html", "json", "svg")


def _db_path(engine: Engine) -> str:
    return engine.url.database or ""


def load_summary(
    *, engine: Engine, config: Config, since: str = "last", repo=None, now: float | None = None
) -> StandupSummary:
    """The standup read model for `--since` (nothing is recorded)."""
    now = time.time() if now is None else now
    with store.translate_errors(_db_path(engine)), store.read_session(engine) as s:
        point = resolve_since(since, session=s, repo=repo, now=now)
        return build_summary(s, config=config, since=point, now=now)


def render(summary: StandupSummary, fmt: str) -> str:
    if fmt == "md":
        from healthtui.export import markdown as renderer
    elif fmt == "txt":
        from healthtui.export import text as renderer
    elif fmt == "html":
        from healthtui.export import html as renderer
    elif fmt == "json":
        from healthtui.export import jsonfmt as renderer
    else:
        raise HealthError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    return renderer.render(summary)


def _render_svg(*, engine: Engine, config: Config, summary: StandupSummary, now: float) -> str:
    """The overview screen as the dashboard draws it, at the export's `now` (so the same database
    gives the same picture), labelled with the repository's name rather than a local path."""
    try:
        from healthtui.tui.screenshots import render_svg
    except ImportError as exc:
        raise HealthError(
            f"--format svg: the dashboard screenshot renderer is not available ({exc})"
        ) from None
    label = summary.repository or _db_path(engine)
    kwargs = {"now": now} if "now" in inspect.signature(render_svg).parameters else {}
    return render_svg(
        engine=engine,
        config=config,
        screen="overview",
        size=(120, 40),
        repo_label=label,
        **kwargs,
    )


def write_atomically(path: Path, text: str) -> None:
    """Write through a temporary file beside `path`, so a reader never sees half a document. A
    symlink's target is the file replaced; a device or pipe (/dev/stdout, a FIFO) is written into,
    never replaced."""
    if path.exists() and not path.is_file():
        try:
            with path.open("w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as exc:
            raise HealthError(f"{path}: cannot write: {exc.strerror or exc}") from None
        return
    if path.is_symlink():
        path = path.resolve()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise HealthError(f"{path}: cannot write: {exc.strerror or exc}") from None


def run_export(
    *,
    engine: Engine,
    config: Config,
    fmt: str = "md",
    since: str = "last",
    repo=None,
    now: float | None = None,
    record: bool = True,
    output: Path | None = None,
    warn: Callable[[str], None] | None = None,
    show: Callable[[str], None] | None = None,
) -> str:
    """Render the standup since `since` in `fmt`, write it to `output` if given (whole or not at
    all), hand it to `show`, and (by default) record this export once it is out. Given `warn`, a
    database that cannot record it (read-only, busy) is told there instead of failing the
    export; the standup is out by then, so a busy database never holds it back."""
    if fmt not in FORMATS:
        raise HealthError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    now = time.time() if now is None else now
    summary = load_summary(engine=engine, config=config, since=since, repo=repo, now=now)
    document = (
        _render_svg(engine=engine, config=config, summary=summary, now=now)
        if fmt == "svg"
        else render(summary, fmt)
    )
    if output is not None:
        write_atomically(output, document)
    if show is not None:
        show(document)
    if record:
        head = summary.head.sha if summary.head is not None else None
        try:
            with store.translate_errors(_db_path(engine)), store.write_session(engine) as s:
                record_export(s, at=now, fmt=fmt, head=head, since=since)
        except store.StoreError as exc:
            if warn is None:
                raise
            warn(f"this export was not recorded ({exc}); the next `--since last` starts before it")
    return document
