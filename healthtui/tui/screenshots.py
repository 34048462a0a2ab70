"""SVG screenshots of the dashboard: `healthtui export --format svg` and the README's images.

`render_svg` runs the app headless on a database and returns one screen as SVG text.
`python -m healthtui.tui.screenshots [--out screenshots]` builds the demo repository with a fixed
seed and end date, backfills it, ingests its test reports and writes one SVG per screen;
running it again gives the same files.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import importlib.util
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.cells import cell_len

import store
from healthtui import metrics as m
from healthtui.config import Config
from healthtui.tui import data
from healthtui.tui.app import DARK_THEME, HealthApp

SCREENS = ("overview", "metric", "commit", "findings", "tests", "help")
# The README's images: file name -> screen (the findings of the headline rule, not the biggest).
SHOTS = {name: name for name in SCREENS} | {"findings": f"findings:{m.AWAIT_MISUSE}"}
DEMO_END = datetime(2026, 3, 6, 17, 30, tzinfo=UTC)
DEMO_SEED = 0


async def _settle(pilot: Any) -> None:
    """Wait for every read and the repaints it causes (as Textual's own screenshots do)."""
    app = pilot.app
    for _ in range(3):
        await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


def _biggest_jump(engine: Any, config: Config) -> str | None:
    """The commit behind the largest change of the first headline metric that ever moved."""
    for metric in m.HEADLINE:
        moves = [
            mv for mv in data.load_metric(engine, config, metric).moves if mv.before is not None
        ]
        if moves:
            return max(moves, key=lambda mv: abs(mv.delta)).point.sha
    return None


def _navigate(screen: str, engine: Any, config: Config) -> Callable[[Any], Any]:
    """What to do in the running app to show `screen` (`name` or `name:argument`)."""
    name, _, arg = screen.partition(":")
    if name not in SCREENS:
        raise ValueError(f"unknown screen {screen!r}; expected one of {', '.join(SCREENS)}")

    async def go(pilot: Any) -> None:
        app = pilot.app
        await _settle(pilot)
        if name == "metric":
            app.open_metric(arg or m.HEADLINE[0])
        elif name == "commit":
            sha = arg or await asyncio.to_thread(_biggest_jump, engine, config)
            if sha:
                app.open_commit(sha)
        elif name == "findings":
            app.open_findings(arg or None)
        elif name == "tests":
            app.open_tests()
        elif name == "help":
            app.action_help()
        await _settle(pilot)
        if name == "commit":
            await pilot.press("tab")
        elif name == "findings":
            await pilot.press("enter")
        await _settle(pilot)

    return go


def render_svg(
    *,
    engine: Any,
    config: Config,
    screen: str = "overview",
    size: tuple[int, int] = (120, 40),
    repo_label: str = "",
    now: float | None = None,
    theme: str = DARK_THEME,
    repo_root: Path | None = None,
) -> str:
    """One screen of the dashboard on `engine` as an SVG document. `screen` is one of SCREENS,
    optionally with an argument (`metric:deprecated_imports`, `commit:<sha>`, `findings:<rule>`)."""
    clock = time.time() if now is None else now
    app = HealthApp(
        engine=engine,
        config=config,
        repo_label=repo_label,
        repo_root=repo_root,
        poll_interval=0,
        now=lambda: clock,
        theme=theme,
        prefetch=False,
    )
    go = _navigate(screen, engine, config)
    title = f"healthtui · {repo_label}" if repo_label else "healthtui"

    async def run() -> str:
        async with app.run_test(size=size) as pilot:
            await go(pilot)
            return app.export_screenshot(title=title)

    return keep_leading_spaces(_run_coroutine(run))


_TEXT = re.compile(
    r'<text ([^>]*?)x="([0-9.]+)" ([^>]*?)textLength="([0-9.]+)"([^>]*)>((?:&#160;)+)([^<]*)</text>'
)
_NBSP = "&#160;"


def keep_leading_spaces(svg: str) -> str:
    """Move the spaces a run of text starts with into its position. Some SVG renderers (librsvg,
    so image viewers and converters) drop them, which glued a label to the value before it
    (`branchmain`, a `–` onto the number in the column before it)."""

    def fix(match: re.Match[str]) -> str:
        before, x, middle, length, after, spaces, rest = match.groups()
        n = len(spaces) // len(_NBSP)
        if not rest.replace(_NBSP, ""):
            return ""  # only spaces: the background is drawn by rects
        cells = n + cell_len(html.unescape(rest))
        width = float(length) / cells * n
        return (
            f'<text {before}x="{_num(float(x) + width)}" {middle}'
            f'textLength="{_num(float(length) - width)}"{after}>{rest}</text>'
        )

    return _TEXT.sub(fix, svg)


def _num(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".")


def _run_coroutine(factory: Callable[[], Any]) -> Any:
    """Run a coroutine to completion, also from code that is already inside an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(factory())
        except BaseException as exc:  # handed to the caller's thread
            result["error"] = exc

    worker = threading.Thread(target=target, name="healthtui-screenshot")
    worker.start()
    worker.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


def _healthtui(*argv: str) -> None:
    """Run a `healthtui` command in this process, as a user would; stop on failure."""
    from healthtui.cli import main

    code = main(list(argv))
    if code:
        raise SystemExit(f"healthtui {' '.join(argv)}: exit {code}")


def build_demo_database(workdir: Path, log: Callable[[str], None] = print) -> tuple[Any, Config]:
    """The demo repository (fixed seed and dates), backfilled with `healthtui backfill`, its
    reports ingested with `healthtui collect --report` when report ingest is available."""
    from healthtui.config import load_config
    from healthtui.demo import build_demo

    demo = build_demo(workdir, seed=DEMO_SEED, end=DEMO_END)
    db = workdir / "healthtui.db"
    where = ("--repo", str(demo.repo), "--db", str(db))
    _healthtui(*where, "backfill")
    if importlib.util.find_spec("healthtui.collect.reports") is None:
        log(
            "note: report ingest (healthtui.collect.reports) is not available yet; "
            "the Tests screen shows its empty state"
        )
    else:
        reports = [arg for r in demo.reports for arg in ("--report", str(r.path))]
        _healthtui(*where, "collect", *reports)
    config = load_config(demo.repo)
    engine = store.open_engine(db)
    with store.write_session(engine) as s:
        info = store.repository_info(s)
        assert info is not None and info.head is not None
        rid = store.ensure_repository(s, root=info.root, name=info.name, branch=info.branch)
        store.touch_collect(s, repository_id=rid, head=info.head, at=DEMO_END.timestamp())
    return engine, config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m healthtui.tui.screenshots",
        description="Regenerate the dashboard screenshots from the demo repository.",
    )
    parser.add_argument("--out", type=Path, default=Path("screenshots"))
    parser.add_argument("--size", default="120x40", help="columns x rows (default 120x40)")
    args = parser.parse_args(argv)
    columns, _, rows = args.size.partition("x")
    size = (int(columns), int(rows))
    args.out.mkdir(parents=True, exist_ok=True)
    now = DEMO_END.timestamp() + 3600
    with tempfile.TemporaryDirectory(prefix="healthtui-screenshots-") as tmp:
        engine, config = build_demo_database(Path(tmp))
        try:
            for name, screen in SHOTS.items():
                svg = render_svg(
                    engine=engine,
                    config=config,
                    screen=screen,
                    size=size,
                    repo_label="demo",
                    now=now,
                )
                target = args.out / f"{name}.svg"
                target.write_text(svg, encoding="utf-8")
                print(f"wrote {target}")
        finally:
            engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
