"""The healthtui dashboard app: screens, navigation, the command palette and live refresh."""

from __future__ import annotations

import asyncio
import gc
import os
import shlex
import subprocess
import time
from collections.abc import Callable, Hashable
from functools import partial
from pathlib import Path
from typing import Any

from textual.app import App, SuspendNotSupported
from textual.binding import Binding
from textual.screen import Screen

import store
from healthtui import metrics as m
from healthtui.config import Config
from healthtui.tui import data
from healthtui.tui.messages import (
    CommitSelected,
    FindingsRequested,
    MetricSelected,
    SnapshotsChanged,
)
from healthtui.tui.providers import COMMAND_PROVIDERS
from healthtui.tui.screens.first_run import FirstRunScreen
from healthtui.tui.screens.overview import OverviewScreen
from healthtui.tui.widgets.drawings import Drawings

DARK_THEME = "textual-dark"
LIGHT_THEME = "textual-light"
POLL_SECONDS = 2.0


class HealthApp(App[None]):
    """Trends of a codebase's migration and test health, with drill-downs to commits and lines."""

    CSS_PATH = Path(__file__).with_name("health.tcss")
    TITLE = "healthtui"
    COMMANDS = App.COMMANDS | set(COMMAND_PROVIDERS)
    BINDINGS = [
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("g", "overview", "Overview"),
        Binding("t", "tests", "Tests"),
        Binding("f", "findings", "Findings"),
        Binding("r", "refresh", "Reload"),
        Binding("d", "toggle_dark", "Theme"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        *,
        engine: Any,
        config: Config,
        repo_label: str = "",
        repo_root: Path | None = None,
        poll_interval: float = POLL_SECONDS,
        now: Callable[[], float] = time.time,
        theme: str = DARK_THEME,
        prefetch: bool = True,
    ) -> None:
        super().__init__()
        self.engine = engine
        self.config = config
        self.repo_label = repo_label
        self.repo_root = repo_root
        self.poll_interval = poll_interval
        self.now = now
        self.prefetch = prefetch
        self.generation = 0
        self.repository: store.RepositoryInfo | None = None
        self._cache: dict[Hashable, tuple[int, Any]] = {}
        self._watcher: Any = None
        self._frozen = False
        self.drawings = Drawings()
        self.theme = theme
        if repo_label:
            self.sub_title = repo_label

    def get_default_screen(self) -> Screen[Any]:
        return OverviewScreen()

    def on_mount(self) -> None:
        if self.poll_interval > 0:
            self.set_interval(self.poll_interval, self.poll_for_changes, name="poll")

    def on_unmount(self) -> None:
        if self._watcher is not None:
            self._watcher.close()
            self._watcher = None

    def color(self, name: str) -> str:
        """A theme colour as a Rich style string (`good`/`bad` map to success/error)."""
        name = {"good": "success", "bad": "error"}.get(name, name)
        if not name:
            return ""
        return self.theme_variables.get(name, "")

    # Reads shared between screens, valid until the database changes.

    def cached(self, key: Hashable | None, generation: int) -> Any:
        if key is None:
            return None
        hit = self._cache.get(key)
        return hit[1] if hit is not None and hit[0] == generation else None

    def remember(self, key: Hashable | None, generation: int, value: Any) -> None:
        if key is not None and generation == self.generation:
            self._cache[key] = (generation, value)

    def prefetch_screens(self) -> None:
        """After the overview is on screen: read what the next key most likely opens (the four
        headline metrics, the Tests screen, the findings `f` opens) in the background, so it
        opens at once."""
        if self.prefetch:
            rule = getattr(self.screen, "context_rule", lambda: None)()
            self.run_worker(partial(self._prefetch, rule), group="prefetch", exclusive=True)

    async def _prefetch(self, rule: str | None) -> None:
        generation = self.generation
        try:
            await asyncio.to_thread(_import_screens)
            for metric in m.HEADLINE:
                key = ("metric", metric)
                if self.cached(key, generation) is None:
                    read = await asyncio.to_thread(
                        data.load_metric, self.engine, self.config, metric
                    )
                    self.remember(key, generation, read)
            cached = self.cached(data.TESTS_KEY, generation)
            if cached is None or not cached.complete:
                partial_read = cached or await asyncio.to_thread(
                    data.load_tests, self.engine, self.config
                )
                full = await asyncio.to_thread(data.complete_tests, self.engine, partial_read)
                self.remember(data.TESTS_KEY, generation, full)
            key = ("findings", rule, None)
            if self.cached(key, generation) is None:
                found = await asyncio.to_thread(
                    data.load_findings, self.engine, self.config, rule, self.repo_root
                )
                self.remember(key, generation, found)
        except Exception:  # the screens themselves report read errors when opened
            return
        if not self._frozen:
            # Alive after the first prefetch: the app, the overview and the reads just cached
            # (a year of points), which live as long as the app or are freed by reference
            # counting. A full garbage collection walking them would stop the UI for tens of
            # milliseconds, so collections skip them. Once: later, popped screens could be
            # garbage not yet collected.
            self._frozen = True
            gc.freeze()

    def prefetch_read(self, key: Hashable, read: Callable[[], Any]) -> None:
        """Read `key`'s data in the background unless it is cached: what a screen's likely next
        key opens (one at a time per kind of screen)."""
        if not self.prefetch or self.cached(key, self.generation) is not None:
            return
        generation = self.generation

        async def run() -> None:
            try:
                value = await asyncio.to_thread(read)
            except Exception:
                return
            self.remember(key, generation, value)

        group = f"prefetch-{key[0]}" if isinstance(key, tuple) and key else "prefetch-read"
        self.run_worker(run, group=group, exclusive=True)

    # Live refresh: a cheap PRAGMA data_version poll in a worker thread.

    def poll_for_changes(self) -> None:
        self.run_worker(self._poll, group="poll", exclusive=True, exit_on_error=False)

    def _changed(self) -> bool:
        if self._watcher is None:
            self._watcher = store.ChangeWatcher(self.engine)
            return False
        return self._watcher.changed()

    async def _poll(self) -> None:
        try:
            changed = await asyncio.to_thread(self._changed)
        except Exception:
            return
        if changed:
            self.data_changed()

    def data_changed(self) -> None:
        """New data in the database: the current screen reloads now, the others when shown."""
        self.generation += 1
        self._cache.clear()
        self.screen.post_message(SnapshotsChanged())

    # Navigation

    def show_first_run(self, repository: store.RepositoryInfo | None) -> None:
        if not isinstance(self.screen, FirstRunScreen):
            self.push_screen(FirstRunScreen(repository))

    def data_arrived(self) -> None:
        """The first-run screen saw data: go to the overview, which reads it afresh."""
        self.generation += 1
        self._cache.clear()
        if isinstance(self.screen, FirstRunScreen):
            self.pop_screen()

    def open_metric(self, metric: str) -> None:
        from healthtui.tui.screens.metric import MetricScreen

        if isinstance(self.screen, MetricScreen) and self.screen.metric == metric:
            return
        self.push_screen(MetricScreen(metric))

    def open_commit(self, sha: str) -> None:
        from healthtui.tui.screens.commit import CommitScreen

        if isinstance(self.screen, CommitScreen) and self.screen.sha == sha:
            return
        self.push_screen(CommitScreen(sha))

    def open_findings(self, rule: str | None = None, path: str | None = None) -> None:
        from healthtui.tui.screens.findings import FindingsScreen

        self.push_screen(FindingsScreen(rule=rule, path=path))

    def open_tests(self) -> None:
        from healthtui.tui.screens.tests import TestsScreen

        if not isinstance(self.screen, TestsScreen):
            self.push_screen(TestsScreen())

    def go_overview(self) -> None:
        while len(self.screen_stack) > 1 and not isinstance(self.screen, OverviewScreen):
            self.pop_screen()

    def on_metric_selected(self, message: MetricSelected) -> None:
        self.open_metric(message.metric)

    def on_commit_selected(self, message: CommitSelected) -> None:
        self.open_commit(message.sha)

    def on_findings_requested(self, message: FindingsRequested) -> None:
        self.open_findings(message.rule, message.path)

    def action_help(self) -> None:
        from healthtui.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_overview(self) -> None:
        self.go_overview()

    def action_tests(self) -> None:
        self.open_tests()

    def action_findings(self) -> None:
        rule = getattr(self.screen, "context_rule", lambda: None)()
        self.open_findings(rule)

    def action_toggle_dark(self) -> None:
        self.theme = LIGHT_THEME if self.theme == DARK_THEME else DARK_THEME

    def action_refresh(self) -> None:
        self.data_changed()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        screen = self.screen
        if action in ("overview", "tests", "findings", "refresh") and isinstance(
            screen, FirstRunScreen
        ):
            return False
        if action == "overview":
            return not isinstance(screen, OverviewScreen)
        if action == "tests":
            return type(screen).__name__ != "TestsScreen"  # not imported until first shown
        if action == "findings":
            return type(screen).__name__ != "FindingsScreen"
        return True

    # The editor

    def open_in_editor(self, path: str, line: int) -> None:
        """Suspend the app and open `$VISUAL`/`$EDITOR` at `path:line` in the work tree."""
        if self.repo_root is None:
            self.notify(
                "No work tree to open files in (a bare repository, or only a database).",
                severity="warning",
            )
            return
        root = self.repo_root.resolve()
        target = (root / path).resolve()
        if root not in target.parents or not target.is_file():
            self.notify(f"{path} is not in the work tree", severity="warning", markup=False)
            return
        argv = editor_command(
            os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi", target, line
        )
        try:
            with self.suspend():
                outcome = _run_editor(argv, interactive=True)
        except SuspendNotSupported:  # headless or web: nothing to hand the terminal over to
            outcome = _run_editor(argv, interactive=False)
        if isinstance(outcome, OSError):
            self.notify(
                f"Could not start the editor {argv[0]!r}: {outcome.strerror or outcome}",
                severity="error",
                markup=False,
            )
        elif outcome != 0:
            self.notify(f"The editor exited with status {outcome}", severity="warning")


def _import_screens() -> None:
    """Import the screens the overview leads to (charts need plotext, help needs markdown) ahead
    of their first use; they stay out of the start-up path."""
    import healthtui.tui.screens.commit
    import healthtui.tui.screens.findings
    import healthtui.tui.screens.help
    import healthtui.tui.screens.metric
    import healthtui.tui.screens.tests  # noqa: F401


def _run_editor(argv: list[str], *, interactive: bool) -> int | OSError:
    try:
        stdin = None if interactive else subprocess.DEVNULL
        return subprocess.run(argv, check=False, stdin=stdin).returncode
    except OSError as exc:
        return exc


def editor_command(editor: str, path: Path, line: int) -> list[str]:
    """The argv that opens `path` at `line` in `editor` (`+N file` for most, `-g file:N` for code)."""
    try:
        argv = shlex.split(editor) or ["vi"]
    except ValueError:
        argv = [editor]
    name = Path(argv[0]).name
    if name in ("code", "code-insiders", "codium", "cursor"):
        return [*argv, "-g", f"{path}:{line}"]
    if name in ("subl", "zed", "hx", "helix"):
        return [*argv, f"{path}:{line}"]
    return [*argv, f"+{line}", str(path)]


def run_app(
    *, engine: Any, config: Config, repo_label: str = "", repo_root: Path | None = None
) -> None:
    """Open the dashboard (what `healthtui` with no subcommand runs)."""
    HealthApp(engine=engine, config=config, repo_label=repo_label, repo_root=repo_root).run()
