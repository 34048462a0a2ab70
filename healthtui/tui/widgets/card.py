"""A headline card: the metric's value, its changes, a sparkline, the target and a status colour."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Digits, Label

from healthtui.tui.data import (
    STATUS_IMPROVING,
    STATUS_MET,
    STATUS_NODATA,
    STATUS_REGRESSED,
    STATUS_STEADY,
    MetricSummary,
)
from healthtui.tui.text import delta_style, fmt_delta, metric_title
from healthtui.tui.widgets.spark import BarSpark

STATUS_LABELS = {
    STATUS_MET: "✔ met",
    STATUS_IMPROVING: "▼ improving",
    STATUS_REGRESSED: "▲ regressed",
    STATUS_STEADY: "● steady",
    STATUS_NODATA: "○ no data",
}
STATUS_CLASSES = tuple(f"-{s}" for s in STATUS_LABELS)


def status_label(summary: MetricSummary) -> str:
    """The status in words, its arrow pointing the way the value moved."""
    label = STATUS_LABELS[summary.status]
    if summary.status in (STATUS_IMPROVING, STATUS_REGRESSED) and not summary.info.lower_is_better:
        label = (
            label.replace("▼", "▲")
            if summary.status == STATUS_IMPROVING
            else label.replace("▲", "▼")
        )
    return label


def delta_content(summary: MetricSummary, delta: float | None, label: str) -> Content:
    style = {"good": "$success", "bad": "$error"}.get(delta_style(summary.info, delta), "")
    text = fmt_delta(summary.info, delta)
    value = Content.styled(text, style) if style else Content(text)
    return Content.assemble((label, "dim"), value)


class HeadlineCard(Widget, can_focus=True):
    """One of the four overview cards; Enter or a click opens the metric."""

    BINDINGS = [Binding("enter", "choose", "Open")]

    class Chosen(Message):
        def __init__(self, metric: str) -> None:
            super().__init__()
            self.metric = metric

    summary: reactive[MetricSummary | None] = reactive(None, recompose=False)

    def __init__(self, metric: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.metric = metric
        self.border_title = metric_title(metric)
        self.add_class("-nodata")

    def compose(self) -> ComposeResult:
        yield Digits("–", classes="value")
        yield Label(Content(""), classes="deltas")
        yield BarSpark(classes="spark")
        yield Label(Content(""), classes="foot")

    def watch_summary(self, summary: MetricSummary | None) -> None:
        if summary is None or not self.is_mounted:
            return
        self.remove_class(*STATUS_CLASSES)
        self.add_class(f"-{summary.status}")
        self.query_one(Digits).update(summary.info.format(summary.value))
        self.query_one(".deltas", Label).update(
            Content.assemble(
                delta_content(summary, summary.delta_previous, "prev "),
                "  ",
                delta_content(summary, summary.delta_week, "7d "),
            )
        )
        self.query_one(BarSpark).values = summary.spark
        target = (
            "target " + summary.info.format(summary.target)
            if summary.target is not None
            else "no target"
        )
        self.query_one(".foot", Label).update(
            Content.assemble((target, "dim"), "  ", (status_label(summary), "b"))
        )
        self.tooltip = summary.info.description or None

    def on_mount(self) -> None:
        if self.summary is not None:
            self.watch_summary(self.summary)

    def on_click(self) -> None:
        self.post_message(self.Chosen(self.metric))

    def action_choose(self) -> None:
        self.post_message(self.Chosen(self.metric))
