"""The standup as one self-contained HTML file with inline SVG charts.

Every repository-derived string goes through `_e` (cleaned, then `html.escape`d), and a strict
Content-Security-Policy forbids scripts even if something slipped through.
"""

from __future__ import annotations

import html

from healthtui.export.charts import line_chart
from healthtui.export.escape import clean
from healthtui.export.summary import MetricSummary, StandupSummary, utc_text

TOP_FILES = 15

_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2328;margin:0;background:#fff}
main{max-width:1040px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d0d7de}
.since{color:#59636e;margin:0}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #eaeef2;vertical-align:middle}
th{font-weight:600;color:#59636e;font-size:12px;text-transform:uppercase}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.bad{color:#cf222e;font-weight:600}.good{color:#1a7f37;font-weight:600}
tr.regressed td:first-child{border-left:3px solid #cf222e}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;background:#f6f8fa;padding:1px 4px;
border-radius:4px;overflow-wrap:anywhere}
ul{padding-left:20px}.muted{color:#59636e}
"""


def _e(text: str) -> str:
    return html.escape(clean(text), quote=True)


def _verdict(m: MetricSummary) -> str:
    if m.verdict is None:
        return '<span class="muted">no target</span>'
    cls = "good" if m.verdict == "MET" else "bad"
    return f'<span class="{cls}">{_e(m.verdict)}</span>'


def _metric_row(m: MetricSummary) -> str:
    value = _e(m.format(m.current.value)) if m.current else '<span class="muted">no data</span>'
    if m.detail:
        value += f'<br><span class="muted">{_e(m.detail)}</span>'
    delta_cls = "bad" if m.regressed else ("good" if m.improved else "muted")
    delta = f'<span class="{delta_cls}">{_e(m.format_delta())}</span>' if m.current else ""
    target = _e(m.format(m.target)) if m.target is not None else ""
    chart = line_chart(m.series, target=m.target, label=f"{m.title} over time", worse=m.regressed)
    cls = ' class="regressed"' if m.regressed else ""
    return (
        f"<tr{cls}><td>{_e(m.title)}</td><td class=num>{value}</td><td class=num>{delta}</td>"
        f"<td class=num>{target}</td><td>{_verdict(m)}</td><td>{chart}</td>"
        f"<td>{_e(m.burndown_text)}</td></tr>"
    )


def render(summary: StandupSummary) -> str:
    s = summary
    title = f"Standup: {s.repository or 'repository'}" + (f" ({s.branch})" if s.branch else "")
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body><main>",
        f"<h1>{_e(title)}"
        + (f" at <code>{_e(s.head.short)}</code>" if s.head is not None else "")
        + "</h1>",
        f'<p class="since">Changes since {_e(s.since.label)} · generated '
        f"{_e(utc_text(s.generated_at))}</p>",
    ]
    if s.regressions:
        out.append("<h2>Regressions</h2><ul>")
        out += [f'<li class="bad">{_e(m.sentence(s.since.short))}</li>' for m in s.regressions]
        out.append("</ul>")
    out.append("<h2>Metrics</h2><ul>")
    out += [f"<li>{_e(m.sentence(s.since.short))}</li>" for m in s.shown if not m.regressed]
    out.append("</ul>")
    out.append(
        "<table><thead><tr><th>Metric</th><th>Value</th><th>Change</th><th>Target</th>"
        "<th>Verdict</th><th>Trend</th><th>Burn-down</th></tr></thead><tbody>"
    )
    out += [_metric_row(m) for m in s.shown]
    out.append("</tbody></table>")

    out.append("<h2>Commits that moved metrics most</h2>")
    if s.moves:
        out.append(
            "<table><thead><tr><th>Metric</th><th>Change</th><th>Commit</th><th>Author</th>"
            "<th>Subject</th></tr></thead><tbody>"
        )
        for mv in s.moves:
            cls = "bad" if mv.worse else "good"
            delta = s.metric(mv.metric).format_delta(mv.delta)
            out.append(
                f"<tr><td>{_e(mv.title)}</td><td class=num><span class={cls}>{_e(delta)}</span>"
                f"</td><td><code>{_e(mv.commit.short)}</code></td>"
                f"<td>{_e(mv.commit.author_name)}</td><td>{_e(mv.commit.subject)}</td></tr>"
            )
        out.append("</tbody></table>")
    else:
        out.append('<p class="muted">No commit moved a headline metric.</p>')

    out += _tests(s)
    out += _files(s)
    out.append("</main></body></html>")
    return "\n".join(out) + "\n"


def _tests(s: StandupSummary) -> list[str]:
    t = s.tests
    out = [f"<h2>{_e(t.suite.replace('_', ' ').capitalize())} tests</h2>"]
    if not t.available:
        return [*out, '<p class="muted">No test reports.</p>']
    out.append(f"<p>Newest run: {_e(t.run_label)}</p>")
    if t.baseline_label:
        out.append(f"<p>Compared with: {_e(t.baseline_label)}</p>")
        out.append(f"<p>Newly failing: {len(t.newly_failing)}</p><ul>")
        for tc in t.newly_failing:
            reason = f" — {_e(tc.message)}" if tc.message else ""
            out.append(f"<li><code>{_e(tc.nodeid)}</code>{reason}</li>")
        out.append(f"</ul><p>Newly fixed: {len(t.newly_fixed)}</p><ul>")
        out += [f"<li><code>{_e(tc.nodeid)}</code></li>" for tc in t.newly_fixed]
        out.append("</ul>")
    else:
        out.append('<p class="muted">No earlier run to compare with.</p>')
    out.append("<h2>New collection errors</h2><ul>")
    out += [f"<li><code>{_e(e.nodeid)}</code>: {_e(e.cause)}</li>" for e in t.collection_errors]
    if not t.collection_errors:
        out.append('<li class="muted">none</li>')
    out.append("</ul><h2>Flaky tests</h2><ul>")
    for f in t.flaky:
        detail = f" — {_e(f.detail)}" if f.detail else ""
        out.append(f"<li><code>{_e(f.nodeid)}</code>{detail}</li>")
    if t.flaky_total > len(t.flaky):
        out.append(f'<li class="muted">and {t.flaky_total - len(t.flaky)} more</li>')
    if not t.flaky:
        out.append('<li class="muted">none</li>')
    out.append("</ul>")
    return out


def _files(s: StandupSummary) -> list[str]:
    if not s.findings:
        return []
    ranked = sorted(s.findings, key=lambda ff: (-len(ff.findings), ff.path))[:TOP_FILES]
    out = [
        "<h2>Files with the most findings</h2>",
        "<table><thead><tr><th>File</th><th>Findings</th><th>Rules</th></tr></thead><tbody>",
    ]
    for ff in ranked:
        rules = ", ".join(sorted({f.rule for f in ff.findings}))
        out.append(
            f"<tr><td><code>{_e(ff.path)}</code></td><td class=num>{len(ff.findings)}</td>"
            f"<td>{_e(rules)}</td></tr>"
        )
    out.append("</tbody></table>")
    return out
