"""A row of tab labels drawn as one line of text; a click or a number key picks one."""

from __future__ import annotations

from textual import events
from textual.content import Content, Span
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget


class TabLine(Widget):
    """Shows `labels` (id -> text) with `active` highlighted; posts `Picked` when one is clicked."""

    DEFAULT_CSS = """
    TabLine {
        height: 1;
        background: $panel;
        color: $foreground-muted;
    }
    """

    class Picked(Message):
        def __init__(self, tab: str) -> None:
            super().__init__()
            self.tab = tab

    labels: reactive[tuple[tuple[str, str], ...]] = reactive(())
    active: reactive[str] = reactive("")

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._spans: list[tuple[int, int, str]] = []

    def render(self) -> Content:
        variables = self.app.theme_variables
        on = f"bold reverse {variables.get('accent', '')}".strip()
        text = ""
        spans: list[Span] = []
        self._spans = []
        for i, (tab, label) in enumerate(self.labels):
            piece = f" {i + 1} {label} "
            start = len(text) + 1
            text += " " + piece
            self._spans.append((start, len(text), tab))
            style = on if tab == self.active else ""
            if style:
                spans.append(Span(start, len(text), style))
            else:
                spans.append(Span(start + 1, start + 2, "bold"))
        return Content(text, spans=spans)

    def on_click(self, event: events.Click) -> None:
        for start, end, tab in self._spans:
            if start <= event.x < end:
                self.post_message(self.Picked(tab))
                return
