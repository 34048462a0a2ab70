"""The line above the overview: repository, branch, last collect (stale when old) and HEAD."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

import store
from healthtui.tui.text import age, clean

STALE_AFTER = 24 * 3600


def status_content(repo: store.RepositoryInfo | None, now: float) -> Content:
    if repo is None:
        return Content.from_markup("[b]healthtui[/b]  no repository yet")
    parts = [
        Content.from_markup("[b]$name[/b]", name=clean(repo.name)),
        Content.from_markup("[dim]branch[/] $branch", branch=clean(repo.branch or "?")),
    ]
    if repo.last_collect_at is None:
        parts.append(Content.from_markup("[$warning]never collected[/]"))
    else:
        ago = now - repo.last_collect_at
        when = age(ago)
        if ago > STALE_AFTER:
            parts.append(
                Content.from_markup("[dim]collected[/] [$error b]$when · stale[/]", when=when)
            )
        else:
            parts.append(Content.from_markup("[dim]collected[/] $when", when=when))
    parts.append(Content.from_markup("[dim]HEAD[/] $head", head=clean((repo.head or "?")[:8])))
    parts.append(
        Content.from_markup(
            "[dim]$commits commits · $snaps snapshots[/]",
            commits=f"{repo.commits:,}",
            snaps=f"{repo.code_snapshots:,}",
        )
    )
    return Content(" │ ").join(parts)


class StatusLine(Static):
    """Shows `status_content` for the app's repository row."""

    def show(self, repo: store.RepositoryInfo | None, now: float) -> None:
        self.update(status_content(repo, now))
