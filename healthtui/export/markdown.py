"""The standup as markdown: bullet lists (no tables), so it reads well on GitHub and in chat tools.

Repository strings go through `md_text` (escaped) or `md_code` (code spans), so a subject such as
`<script>` or `[x](javascript:…)` stays text.
"""

from __future__ import annotations

from healthtui.export.escape import md_code, md_text
from healthtui.export.summary import MetricSummary, StandupSummary, utc_text


def _metric_line(m: MetricSummary, since: str) -> str:
    line = md_text(m.sentence(since, verdict=False))
    if m.verdict is not None:
        line += ": **NOT MET**" if m.verdict == "NOT MET" else ": MET"
    trend = m.burndown_text  # our own words and numbers only
    return f"- {line}" + (f" — {trend}" if trend else "")


def render(summary: StandupSummary) -> str:
    s = summary
    out: list[str] = []
    title = f"# Standup: {md_text(s.repository or 'repository')}"
    if s.branch:
        title += f" ({md_text(s.branch)})"
    if s.head is not None:
        title += f" at {md_code(s.head.short)}"
    out += [title, ""]
    out += [
        f"_Changes since {md_text(s.since.label)} · generated {utc_text(s.generated_at)}_",
        "",
    ]

    regressions = s.regressions
    if regressions:
        out += ["## Regressions", ""]
        out += [_metric_line(m, s.since.short) for m in regressions]
        out.append("")
    out += ["## Metrics", ""]
    rest = [m for m in s.shown if not m.regressed]
    out += [_metric_line(m, s.since.short) for m in rest] or ["- no other metrics"]
    out.append("")

    out += ["## Commits that moved metrics most", ""]
    if s.moves:
        for mv in s.moves:
            metric = s.metric(mv.metric)
            mark = "worse" if mv.worse else "better"
            out.append(
                f"- {md_text(mv.title)} {md_text(metric.format_delta(mv.delta))} ({mark}): "
                f"{md_code(mv.commit.short)} {md_text(mv.commit.author_name)} — "
                f"{md_text(mv.commit.subject)}"
            )
    else:
        out.append("- no commit moved a headline metric")
    out.append("")

    out += _tests(s)
    return "\n".join(out).rstrip() + "\n"


def _tests(s: StandupSummary) -> list[str]:
    t = s.tests
    suite = t.suite.replace("_", " ").capitalize()
    out = [f"## {md_text(suite)} tests", ""]
    if not t.available:
        return [*out, "- no test reports", ""]
    out.append(f"- newest run: {md_text(t.run_label)}")
    if t.baseline_label:
        out.append(f"- compared with: {md_text(t.baseline_label)}")
        out.append(f"- newly failing: {len(t.newly_failing)}")
        for tc in t.newly_failing:
            reason = f" — {md_text(tc.message)}" if tc.message else ""
            out.append(f"  - {md_code(tc.nodeid)}{reason}")
        out.append(f"- newly fixed: {len(t.newly_fixed)}")
        out += [f"  - {md_code(tc.nodeid)}" for tc in t.newly_fixed]
    else:
        out.append("- no earlier run to compare with")
    out += ["", "## New collection errors", ""]
    if t.collection_errors:
        out += [f"- {md_code(e.nodeid)}: {md_text(e.cause)}" for e in t.collection_errors]
    else:
        out.append("- none")
    out += ["", "## Flaky tests", ""]
    if t.flaky:
        out += [
            f"- {md_code(f.nodeid)}" + (f" — {md_text(f.detail)}" if f.detail else "")
            for f in t.flaky
        ]
        if t.flaky_total > len(t.flaky):
            out.append(f"- and {t.flaky_total - len(t.flaky)} more")
    else:
        out.append("- none")
    out.append("")
    return out
