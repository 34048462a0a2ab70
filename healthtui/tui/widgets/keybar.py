"""The footer: every key the current screen answers to, drawn as one line of text.

One widget instead of one per key (as Textual's `Footer` does) keeps screen switches cheap; a
click on a key presses it.
"""

from __future__ import annotations

from itertools import groupby

from textual import events
from textual.binding import Binding
from textual.content import Content, Span
from textual.screen import Screen
from textual.widget import Widget


class KeyBar(Widget):
    """Shows `screen.active_bindings` (those with `show`), binding groups under one label, and the
    command palette key on the right."""

    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        background: $footer-background;
        color: $footer-description-foreground;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._spans: list[tuple[int, int, str]] = []  # (start, end, key) of each clickable key

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if self.is_attached and screen is self.screen:
            self.refresh()

    def entries(self) -> list[tuple[list[tuple[str, str, bool]], str]]:
        """[(keys as (key, display, enabled), description)] in the order the footer shows them."""
        by_action: dict[str, tuple[Binding, bool]] = {}
        for _node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if binding.show and binding.action not in by_action:
                by_action[binding.action] = (binding, enabled)
        out: list[tuple[list[tuple[str, str, bool]], str]] = []
        for group, items in groupby(by_action.values(), key=lambda item: item[0].group):
            items = list(items)
            if group is not None and len(items) > 1:
                keys = [(b.key, self.app.get_key_display(b), on) for b, on in items]
                out.append((keys, group.description))
            else:
                out.extend(
                    ([(b.key, self.app.get_key_display(b), on)], b.description) for b, on in items
                )
        return out

    def render(self) -> Content:
        variables = self.app.theme_variables
        key_style = f"bold {variables.get('footer-key-foreground', '')}".strip()
        text = ""
        spans: list[Span] = []
        self._spans = []
        for keys, description in self.entries():
            text += " "
            for key, display, enabled in keys:
                start = len(text)
                text += display
                style = key_style if enabled else "dim"
                spans.append(Span(start, len(text), style))
                self._spans.append((start, len(text), key))
            text += f" {description}" if description else ""
        palette = self.app.get_key_display(Binding(self.app.COMMAND_PALETTE_BINDING, ""))
        tail = f" {palette} palette "
        width = self.size.width or len(text) + len(tail)
        pad = max(width - len(text) - len(tail), 1)
        start = len(text) + pad + 1
        spans.append(Span(start, start + len(palette), key_style))
        self._spans.append((start, start + len(palette), self.app.COMMAND_PALETTE_BINDING))
        return Content(text + " " * pad + tail, spans=spans)

    def on_click(self, event: events.Click) -> None:
        for start, end, key in self._spans:
            if start <= event.x < end:
                self.app.simulate_key(key)
                return
