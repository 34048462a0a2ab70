"""A test's history as a strip of coloured cells, oldest on the left."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

CELLS = {
    "passed": ("█", "success"),
    "failed": ("█", "error"),
    "error": ("▓", "error"),
    "skipped": ("░", "foreground-muted"),
    "xfailed": ("▒", "success"),
    "xpassed": ("▒", "warning"),
}


class OutcomeStrip(Widget):
    """One cell per run; the newest cells are kept when the history is wider than the widget."""

    outcomes: reactive[tuple[str, ...]] = reactive(())

    def render(self) -> Text:
        if not self.outcomes:
            return Text("no history selected", style="dim")
        width = max(self.size.width, 1)
        shown = self.outcomes[-width:]
        text = Text()
        for outcome in shown:
            char, variable = CELLS.get(outcome, ("?", "warning"))
            text.append(char, style=self.app.theme_variables.get(variable, ""))
        return text
