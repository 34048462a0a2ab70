"""TUI benchmark: first paint and screen switches on a year of hourly snapshots and 1,000 test runs.

Run on demand: `python tests/bench/bench_tui.py [--hours 8760] [--runs 1000] [--repeat 5]
[--year-only]`.
The database is built through the store's own write functions (every metric at every hourly
commit, 1,000 pytest runs of ~230 tests each) and cached under tests/bench/out/ for the next run
(`--rebuild` after the store's tables change).

Measured in this one run, side by side:
- a bare Textual app showing one line (the floor: importing and starting Textual),
- the dashboard on the 60-commit test history,
- the dashboard on the year.
"First paint" is from `App.run` starting to the overview's data on screen (after the next refresh);
"cold" adds a fresh Python process importing everything. A switch is from the key press to:
"first frame", the compositor rendering the new screen's first frame (what is written to the
terminal); "visible", the next refresh after the screen resumed having run (the bench's older,
stricter measure: any work queued behind the first frame counts); "data", everything the screen
shows read and on screen, charts drawn (`DataScreen.completed`, after the refresh that drew it).
Results go to stdout and to tests/bench/out/tui.md.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

import store  # noqa: E402
from healthtui.config import Config  # noqa: E402
from healthtui.tui.app import HealthApp  # noqa: E402
from healthtui.tui.screens.base import DataScreen  # noqa: E402
from tests.tui.history import build_history  # noqa: E402

SIZE = (120, 40)
EVENTS: list[tuple[str, str, float]] = []


def _instrument() -> None:
    """Record when a data screen becomes visible, when its first rows are shown (Tests) and
    when everything it shows is on screen, charts drawn (`DataScreen.completed`)."""
    import healthtui.tui.screens.commit
    import healthtui.tui.screens.findings
    import healthtui.tui.screens.metric
    import healthtui.tui.screens.tests  # noqa: F401  (imported after first paint by the app)

    resume = DataScreen.on_screen_resume
    completed = DataScreen.completed
    _time_frames()

    def timed_resume(self):
        resume(self)
        name = type(self).__name__
        self.app.call_after_refresh(lambda: EVENTS.append(("visible", name, time.perf_counter())))

    def timed_completed(self):
        completed(self)
        EVENTS.append(("data", type(self).__name__, time.perf_counter()))

    for cls in DataScreen.__subclasses__():
        if "show" in cls.__dict__:
            original = cls.__dict__["show"]

            def wrapped(self, data, _original=original):
                _original(self, data)
                if not getattr(data, "complete", True):
                    name = type(self).__name__
                    self.app.call_after_refresh(
                        lambda: EVENTS.append(("partial", name, time.perf_counter()))
                    )

            cls.show = wrapped
    DataScreen.on_screen_resume = timed_resume
    DataScreen.completed = timed_completed


def _time_frames() -> None:
    """Record each frame the compositor renders for the current screen."""
    from textual.screen import Screen

    if getattr(Screen, "_bench_timed", False):
        return
    paint = Screen._compositor_refresh

    def timed_paint(self):
        paint(self)
        if self is self.app.screen:
            EVENTS.append(("frame", type(self).__name__, time.perf_counter()))

    Screen._compositor_refresh = timed_paint
    Screen._bench_timed = True


async def _wait(kind: str, screen: str, since: float, timeout: float = 60.0) -> float:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        for what, name, at in EVENTS:
            if what == kind and name == screen and at >= since:
                return at - since
        await asyncio.sleep(0.002)
    raise TimeoutError(f"{screen} never reached {kind}")


TRANSITIONS = (
    ("1", "MetricScreen", "overview → metric"),
    ("enter", "CommitScreen", "metric → commit"),
    ("escape", "MetricScreen", "commit → metric (back)"),
    ("escape", "OverviewScreen", "metric → overview (back)"),
    ("t", "TestsScreen", "overview → tests"),
    ("escape", "OverviewScreen", "tests → overview (back)"),
    ("f", "FindingsScreen", "overview → findings"),
    ("escape", "OverviewScreen", "findings → overview (back)"),
)


async def _measure(db: Path, now: float, repeat: int) -> dict[str, list[float]]:
    """First paint, then every transition twice: reading on open (cache emptied and reading
    ahead off: what a visit costs when nothing was read before; its first frame is the screen
    without its data) and as the app really runs (the prefetch after first paint done, screens
    reading ahead what their likely next key opens; the first frame shows the data read, charts
    follow)."""
    engine = store.open_engine(db)
    results: dict[str, list[float]] = {}

    def add(name: str, value: float) -> None:
        results.setdefault(name, []).append(value * 1000)

    try:
        for _ in range(repeat):
            EVENTS.clear()
            app = HealthApp(engine=engine, config=Config(), now=lambda: now, poll_interval=0)
            started = time.perf_counter()
            async with app.run_test(size=SIZE) as pilot:
                add("first paint", await _wait("data", "OverviewScreen", started))
                await app.workers.wait_for_complete()  # the prefetch after first paint
                await pilot.pause()
                prefetched = dict(app._cache)
                for mode in ("read on open", "prefetched"):
                    app._cache.clear()
                    app.drawings.clear()  # each pass a first visit: no chart drawn before
                    app.prefetch = mode == "prefetched"
                    if mode == "prefetched":
                        app._cache.update(prefetched)
                    for key, screen, label in TRANSITIONS:
                        t0 = time.perf_counter()
                        await pilot.press(key)
                        back = "back" in label
                        when = "" if back else f" ({mode})"
                        add(f"{label}: first frame{when}", await _wait("frame", screen, t0))
                        add(f"{label}: visible{when}", await _wait("visible", screen, t0))
                        if not back:
                            name = f"{label}: data ({mode})"
                            if screen == "TestsScreen" and mode == "read on open":
                                add(
                                    f"{label}: first rows ({mode})",
                                    await _wait("partial", screen, t0),
                                )
                            add(name, await _wait("data", screen, t0))
                        await app.workers.wait_for_complete()
                        await pilot.pause()
    finally:
        engine.dispose()
    return results


async def _bare(repeat: int) -> tuple[list[float], list[float], list[float]]:
    """The floor: a Textual app showing one line, and a key pushing a one-line screen, measured
    like the dashboard (the harness's own cost is in both): first paint, switch until visible,
    switch until the first frame."""
    from textual.app import App
    from textual.screen import Screen
    from textual.widgets import Static

    painted: list[float] = []

    class Line(Screen[None]):
        def compose(self):
            yield Static("hello")

        def on_screen_resume(self) -> None:
            self.app.call_after_refresh(lambda: painted.append(time.perf_counter()))

    class Bare(App[None]):
        BINDINGS = [("n", "next", "Next")]

        def get_default_screen(self) -> Screen[None]:
            return Line()

        def action_next(self) -> None:
            self.push_screen(Line())

    _time_frames()
    first, switch, frame = [], [], []
    for _ in range(repeat):
        painted.clear()
        started = time.perf_counter()
        async with Bare().run_test(size=SIZE) as pilot:
            while not painted:
                await pilot.pause(0.002)
            first.append((painted[0] - started) * 1000)
            painted.clear()
            t0 = time.perf_counter()
            await pilot.press("n")
            while not painted:
                await pilot.pause(0.002)
            switch.append((painted[0] - t0) * 1000)
            frame.append((await _wait("frame", "Line", t0)) * 1000)
    return first, switch, frame


COLD = """
import sys, time, asyncio
t0 = time.perf_counter()
sys.path.insert(0, {root!r})
import store
from healthtui.config import Config
from healthtui.tui.app import HealthApp
from healthtui.tui.screens.overview import OverviewScreen
imported = time.perf_counter()
done = []
OverviewScreen.completed = lambda self: done.append(time.perf_counter())
async def main():
    app = HealthApp(engine=store.open_engine({db!r}), config=Config(), now=lambda: {now!r},
                    poll_interval=0, prefetch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        while not done:
            await pilot.pause(0.002)
asyncio.run(main())
print(imported - t0, done[0] - t0)
"""


def _cold(db: Path, now: float, repeat: int) -> tuple[list[float], list[float]]:
    imports, paints = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", COLD.format(root=str(ROOT), db=str(db), now=now)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        spawn = time.perf_counter() - started
        imports.append(float(out[0]) * 1000)
        paints.append(spawn * 1000)
    return imports, paints


def _database(out: Path, hours: int, runs: int, rebuild: bool):
    path = out / f"tui-{hours}h-{runs}runs.db"
    if rebuild or not path.exists():
        path.unlink(missing_ok=True)
        started = time.perf_counter()
        build_history(
            path,
            commits=hours,
            step=3600,
            runs=runs,
            extra_tests=200,
            tests_snapshot_every_commit=True,
        )
        print(f"built {path.name} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    engine = store.open_engine(path)
    try:
        with store.read_session(engine) as s:
            newest = store.recent_commits(s, limit=1)[0].committed_at
    finally:
        engine.dispose()
    return path, newest + 2 * 3600  # two hours after the newest commit, as in the tests


MEASURES = ("first frame", "visible", "first rows", "data")


def _row_order(name: str) -> tuple[int, int, int]:
    """First paint, then each transition in the order walked: its measures, reading on open
    before prefetched."""
    label, _, measure = name.partition(": ")
    labels = [t[2] for t in TRANSITIONS]
    if label not in labels:
        return (-1, 0, 0)
    kind = next(i for i, m in enumerate(MEASURES) if measure.startswith(m))
    return (labels.index(label), kind, "prefetched" in measure)


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=int, default=8760)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument(
        "--year-only",
        action="store_true",
        help="measure only the year's database in process (no 60-commit history, no cold start)",
    )
    args = parser.parse_args()
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    year, year_now = _database(out, args.hours, args.runs, args.rebuild)
    with tempfile.TemporaryDirectory() as tmp:
        small = build_history(Path(tmp) / "small.db")
        with store.read_session(store.open_engine(year)) as s:
            info = store.repository_info(s)
            values = len(store.metric_ids(s))
        _instrument()
        bare, bare_switch, bare_frame = asyncio.run(_bare(args.repeat))
        cold_repeat = 0 if args.year_only else max(args.repeat // 2, 2)
        small_results = {}
        if not args.year_only:
            small_results = asyncio.run(_measure(small.path, small.now, args.repeat))
        year_results = asyncio.run(_measure(year, year_now, args.repeat))
        small_cold = _cold(small.path, small.now, cold_repeat)
        year_cold = _cold(year, year_now, cold_repeat)
    lines = [
        f"# TUI benchmark ({args.hours} hourly commits x {values} metrics = "
        f"{info.snapshots:,} snapshots, {args.runs} test runs; medians of {args.repeat}, ms)",
        "",
        "| measure | bare Textual (one line) | 60-commit history | year | year / bare |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    bare_ms, switch_ms, frame_ms = _median(bare), _median(bare_switch), _median(bare_frame)
    for name in sorted(year_results, key=_row_order):
        base = (
            bare_ms
            if name == "first paint"
            else frame_ms
            if "first frame" in name
            else switch_ms
            if ": " in name
            else None
        )
        s, y = _median(small_results.get(name, [])), _median(year_results.get(name, []))
        if base:
            lines.append(f"| {name} | {base:.0f} | {s:.0f} | {y:.0f} | {y / base:.1f}x |")
        else:
            lines.append(f"| {name} |  | {s:.0f} | {y:.0f} |  |")
    lines.append(
        f"| cold start: imports |  | {_median(small_cold[0]):.0f} | {_median(year_cold[0]):.0f} |  |"
    )
    lines.append(
        f"| cold start: process spawn to first paint |  | {_median(small_cold[1]):.0f} | "
        f"{_median(year_cold[1]):.0f} |  |"
    )
    report = "\n".join(lines) + "\n"
    (out / "tui.md").write_text(report)
    print(report)


if __name__ == "__main__":
    main()
