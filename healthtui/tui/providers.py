"""Command palette providers: jump to any metric, commit (sha prefix or subject words), file, or screen."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

from healthtui.tui import data
from healthtui.tui.text import clean, commit_time, metric_title, shorten

if TYPE_CHECKING:
    from healthtui.tui.app import HealthApp


def help_text(value: str) -> str:
    """Command palette help is parsed as markup: a backslash before each `[` keeps it literal."""
    return clean(value).replace("[", "\\[")


class _HealthProvider(Provider):
    @property
    def health(self) -> HealthApp:
        return self.app  # type: ignore[return-value]

    def highlighted(self, query: str, text: str) -> Content:
        """`text` as plain content with the fuzzy-matched characters highlighted (no markup)."""
        content = Content(text)
        score, offsets = self.matcher(query).fuzzy_search.match(query, text)
        if score:
            for offset in offsets:
                if not text[offset].isspace():
                    content = content.stylize("reverse", offset, offset + 1)
        return content

    def score(self, query: str, text: str) -> float:
        """The fuzzy score, halved, plus a half for labels containing the query as typed: an
        exact phrase ranks above scattered letters."""
        score = self.matcher(query).match(text)
        if score <= 0:
            return 0.0
        exact = query.strip().lower() in text.lower()
        return 0.5 * min(score, 1.0) + (0.5 if exact else 0.0)


class ScreenCommands(_HealthProvider):
    """Overview, tests, findings and the theme."""

    def _commands(self) -> list[tuple[str, Callable[[], Any], str]]:
        app = self.health
        return [
            ("Go to overview", app.go_overview, "the four headline metrics and the rest"),
            ("Go to tests", app.open_tests, "pass rates, failures, collection errors, flaky"),
            ("Go to findings", partial(app.open_findings, None), "current findings by rule"),
            ("Toggle light / dark", app.action_toggle_dark, "switch the theme"),
        ]

    async def discover(self) -> Hits:
        for name, command, help in self._commands():
            yield DiscoveryHit(name, command, help=help)

    async def search(self, query: str) -> Hits:
        for name, command, help in self._commands():
            score = self.score(query, name)
            if score > 0:
                yield Hit(score, self.highlighted(query, name), command, text=name, help=help)


class MetricCommands(_HealthProvider):
    """Every stored metric, by title or id."""

    async def startup(self) -> None:
        try:
            self.metrics = await asyncio.to_thread(data.metric_ids, self.health.engine)
        except Exception:  # an unreadable database: the other commands still work
            self.metrics = ()

    def _label(self, metric: str) -> str:
        return f"Metric: {clean(metric_title(metric))} ({clean(metric)})"

    async def discover(self) -> Hits:
        for metric in self.metrics[:20]:
            yield DiscoveryHit(
                self._label(metric), partial(self.health.open_metric, metric), help="open its chart"
            )

    async def search(self, query: str) -> Hits:
        for metric in self.metrics:
            label = self._label(metric)
            score = self.score(query, label)
            if score > 0:
                yield Hit(
                    score,
                    self.highlighted(query, label),
                    partial(self.health.open_metric, metric),
                    text=label,
                    help="open its chart and the commits that moved it",
                )


class CommitCommands(_HealthProvider):
    """Commits by sha prefix or by words of the subject."""

    async def search(self, query: str) -> Hits:
        words = query[7:] if query.lower().startswith("commit ") else query
        if len(words.strip()) < 2:
            return
        commits = await asyncio.to_thread(data.find_commits, self.health.engine, words, 15)
        for rank, c in enumerate(commits):
            label = f"Commit {c.sha[:8]} {shorten(clean(c.subject), 70)}"
            exact = c.sha.startswith(words.strip().lower())
            yield Hit(
                1.0 if exact else max(0.95 - rank * 0.02, 0.5),
                Content(label),
                partial(self.health.open_commit, c.sha),
                text=label,
                help=help_text(
                    f"{c.author_name} · {commit_time(c.committed_at, c.committer_offset)}"
                ),
            )


class FileCommands(_HealthProvider):
    """Files with current findings, by any part of the path."""

    async def search(self, query: str) -> Hits:
        needle = query.strip()
        if len(needle) < 2:
            return
        paths = await asyncio.to_thread(data.finding_paths, self.health.engine, needle, 20)
        for path in paths:
            label = f"File: {clean(path)}"
            yield Hit(
                0.8,
                self.highlighted(needle, label),
                partial(self.health.open_findings, None, path),
                text=label,
                help="its current findings",
            )


COMMAND_PROVIDERS: tuple[type[Provider], ...] = (
    ScreenCommands,
    MetricCommands,
    CommitCommands,
    FileCommands,
)
