"""The standup as plain text, wrapped to 80 columns, with every control character removed."""

from __future__ import annotations

import textwrap

from healthtui.export.escape import clean
from healthtui.export.summary import MetricSummary, StandupSummary, utc_text

WIDTH = 80


def _item(text: str, *, indent: int = 0) -> list[str]:
    """A bullet wrapped at WIDTH, continuation lines hanging under the text."""
    lead = " " * indent + "- "
    return textwrap.wrap(
        text,
        width=WIDTH,
        initial_indent=lead,
        subsequent_indent=" " * len(lead),
        break_on_hyphens=False,
    ) or [lead.rstrip()]


def _heading(title: str) -> list[str]:
    return [title, "=" * min(len(title), WIDTH)]


def _metric(m: MetricSummary, since_label: str) -> list[str]:
    line = clean(m.sentence(since_label))
    trend = m.burndown_text
    return _item(line + (f"; {trend}" if trend else ""))


def render(summary: StandupSummary) -> str:
    s = summary
    title = f"Standup: {clean(s.repository or 'repository')}"
    if s.branch:
        title += f" ({clean(s.branch)})"
    if s.head is not None:
        title += f" at {s.head.short}"
    out = textwrap.wrap(title, WIDTH) or [title]
    out += textwrap.wrap(
        f"Changes since {clean(s.since.label)}; generated {utc_text(s.generated_at)}", WIDTH
    )
    out.append("")
    if s.regressions:
        out += _heading("Regressions")
        for m in s.regressions:
            out += _metric(m, s.since.short)
        out.append("")
    out += _heading("Metrics")
    rest = [m for m in s.shown if not m.regressed]
    for m in rest:
        out += _metric(m, s.since.short)
    if not rest:
        out += _item("no other metrics")
    out.append("")
    out += _heading("Commits that moved metrics most")
    for mv in s.moves:
        delta = s.metric(mv.metric).format_delta(mv.delta)
        mark = "worse" if mv.worse else "better"
        out += _item(
            f"{clean(mv.title)} {delta} ({mark}): {mv.commit.short} "
            f"{clean(mv.commit.author_name)}: {clean(mv.commit.subject)}"
        )
    if not s.moves:
        out += _item("no commit moved a headline metric")
    out.append("")
    out += _tests(s)
    return "\n".join(line.rstrip() for line in out).rstrip() + "\n"


def _tests(s: StandupSummary) -> list[str]:
    t = s.tests
    out = _heading(f"{t.suite.replace('_', ' ').capitalize()} tests")
    if not t.available:
        return out + _item("no test reports")
    out += _item(f"newest run: {clean(t.run_label)}")
    if t.baseline_label:
        out += _item(f"compared with: {clean(t.baseline_label)}")
        out += _item(f"newly failing: {len(t.newly_failing)}")
        for tc in t.newly_failing:
            line = clean(tc.nodeid) + (f": {clean(tc.message)}" if tc.message else "")
            out += _item(line, indent=2)
        out += _item(f"newly fixed: {len(t.newly_fixed)}")
        for tc in t.newly_fixed:
            out += _item(clean(tc.nodeid), indent=2)
    else:
        out += _item("no earlier run to compare with")
    out += ["", *_heading("New collection errors")]
    for e in t.collection_errors:
        out += _item(f"{clean(e.nodeid)}: {clean(e.cause)}")
    if not t.collection_errors:
        out += _item("none")
    out += ["", *_heading("Flaky tests")]
    for f in t.flaky:
        out += _item(clean(f.nodeid) + (f": {clean(f.detail)}" if f.detail else ""))
    if t.flaky_total > len(t.flaky):
        out += _item(f"and {t.flaky_total - len(t.flaky)} more")
    if not t.flaky:
        out += _item("none")
    return out
