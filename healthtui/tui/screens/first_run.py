"""Shown while the database has no snapshots: says exactly which command fills it."""

from __future__ import annotations

import asyncio
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Static

import store
from healthtui.tui import data
from healthtui.tui.messages import SnapshotsChanged
from healthtui.tui.text import clean
from healthtui.tui.widgets.keybar import KeyBar

if TYPE_CHECKING:
    from healthtui.tui.app import HealthApp

DEFAULT_DB = "healthtui.db"


def command_for(verb: str, repo_root: Path | None, db_path: str | None, extra: str = "") -> str:
    """`healthtui [--repo R] [--db D] VERB`, naming the repository and database only when they
    are not where healthtui looks by default (in the repository, `.git/healthtui.db`)."""
    parts = ["healthtui"]
    default_db = repo_root / ".git" / DEFAULT_DB if repo_root is not None else None
    if repo_root is not None:
        parts += ["--repo", shlex.quote(str(repo_root))]
    if db_path and (default_db is None or Path(db_path) != default_db):
        parts += ["--db", shlex.quote(db_path)]
    parts.append(verb)
    return " ".join(parts) + (f" {extra}" if extra else "")


def advice(
    repository: store.RepositoryInfo | None, repo_root: Path | None, db_path: str | None
) -> tuple[str, str]:
    """(the command to run, why) for a database without snapshots."""
    if repository is None:
        if repo_root is None:
            return (
                command_for("backfill", None, db_path),
                "This database is empty. Run the command above inside your git repository (or "
                "add --repo PATH) to snapshot its history; add --since 90d to start with the "
                "last three months. To look around first: `healthtui demo` builds and opens a "
                "generated demo repository.",
            )
        return (
            command_for("backfill", repo_root, db_path),
            "This database is empty. The command above snapshots every commit of the branch "
            "(resumable; add --since 90d to start with the last three months). To look around "
            "first: `healthtui demo` builds and opens a generated demo repository.",
        )
    root = Path(repository.root) if repository.root else repo_root
    return (
        command_for("collect", root, db_path),
        f"The repository {clean(repository.name)} is registered but has no snapshots yet. The "
        "command above snapshots the newest commits; `backfill` instead of `collect` walks the "
        "whole history.",
    )


class FirstRunScreen(Screen[None]):
    """Welcome screen for an empty database; leaves by itself when data arrives."""

    BINDINGS = [Binding("r", "recheck", "Check again")]

    def __init__(self, repository: store.RepositoryInfo | None = None) -> None:
        super().__init__()
        self.repository = repository

    @property
    def health(self) -> HealthApp:
        return self.app  # type: ignore[return-value]

    def _advice(self) -> tuple[str, str]:
        db = getattr(self.health.engine.url, "database", None)
        return advice(self.repository, self.health.repo_root, db)

    def compose(self) -> ComposeResult:
        command, why = self._advice()
        with Vertical(id="first-run"):
            yield Static(Content.from_markup("[b]Welcome to healthtui[/b]"), id="welcome")
            yield Static(
                Content("No snapshots in the database yet. To fill it, run:"),
                classes="explain",
            )
            yield Static(Content(f"$ {clean(command)}"), id="command")
            yield Static(Content(why), classes="explain", id="why")
            yield Static(
                Content(
                    "This screen moves on by itself when the first snapshot is written, and "
                    "the dashboard refreshes whenever a cron `healthtui collect` adds more."
                ),
                classes="explain dim",
            )
        yield KeyBar()

    def on_snapshots_changed(self, _message: SnapshotsChanged) -> None:
        self.action_recheck()

    def action_recheck(self) -> None:
        self.run_worker(self._recheck, group="load", exclusive=True, exit_on_error=False)

    async def _recheck(self) -> None:
        repository, has_data = await asyncio.to_thread(data.load_repository, self.health.engine)
        if has_data:
            self.health.data_arrived()
            return
        if repository != self.repository:
            self.repository = repository
            command, why = self._advice()
            self.query_one("#command", Static).update(Content(f"$ {clean(command)}"))
            self.query_one("#why", Static).update(Content(why))
