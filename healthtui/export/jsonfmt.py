"""The standup as JSON for tools, following `schema-v1.json` beside this module."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from healthtui.export.summary import MetricSummary, StandupSummary
from store.readmodels import CommitInfo, Point

SCHEMA_NAME = "healthtui-standup"
SCHEMA_VERSION = 1


def schema() -> dict[str, Any]:
    """The JSON schema the output follows."""
    text = resources.files("healthtui.export").joinpath("schema-v1.json").read_text("utf-8")
    return json.loads(text)


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _num(value: float | None) -> float | int | None:
    if value is None or not math.isfinite(value):
        return None
    return int(value) if float(value).is_integer() and abs(value) < 2**53 else value


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _point(p: Point | None) -> dict[str, Any] | None:
    if p is None:
        return None
    return {"commit": p.sha, "committed_at": iso(p.at), "value": _num(p.value)}


def _commit(c: CommitInfo | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {
        "sha": c.sha,
        "author": c.author_name,
        "subject": c.subject,
        "committed_at": iso(c.committed_at),
    }


def _metric(m: MetricSummary) -> dict[str, Any]:
    bd = None
    if m.burndown is not None:
        bd = {
            "status": m.burndown.status,
            "days": _num(_round(m.burndown.days)),
            "rate_per_day": _num(_round(m.burndown.rate_per_day)),
            "window_days": m.burndown.window_days,
            "text": m.burndown_text,
        }
    return {
        "id": m.id,
        "title": m.title,
        "unit": m.unit,
        "lower_is_better": m.lower_is_better,
        "shown": m.shown,
        "current": _point(m.current),
        "baseline": _point(m.baseline),
        "delta": _num(m.delta),
        "target": _num(m.target),
        "verdict": m.verdict,
        "regressed": m.regressed,
        "burndown": bd,
        "series": [_point(p) for p in m.series],
    }


def to_document(s: StandupSummary) -> dict[str, Any]:
    t = s.tests
    return {
        "schema": SCHEMA_NAME,
        "schema_version": SCHEMA_VERSION,
        "generated_at": iso(s.generated_at),
        "repository": {"name": s.repository, "branch": s.branch, "head": _commit(s.head)},
        "since": {
            "spec": s.since.spec,
            "kind": s.since.kind,
            "at": iso(s.since.at),
            "commit": s.since.commit,
            "label": s.since.label,
        },
        "metrics": [_metric(m) for m in s.metrics],
        "moves": [
            {
                "metric": mv.metric,
                "commit": _commit(mv.commit),
                "before": _num(mv.before),
                "after": _num(mv.after),
                "delta": _num(mv.delta),
                "worse": mv.worse,
            }
            for mv in s.moves
        ],
        "tests": {
            "available": t.available,
            "suite": t.suite,
            "run": t.run_label or None,
            "baseline_run": t.baseline_label or None,
            "newly_failing": [{"nodeid": x.nodeid, "message": x.message} for x in t.newly_failing],
            "newly_fixed": [{"nodeid": x.nodeid, "message": x.message} for x in t.newly_fixed],
            "collection_errors": [
                {"nodeid": e.nodeid, "cause": e.cause} for e in t.collection_errors
            ],
            "flaky": [{"nodeid": f.nodeid, "detail": f.detail} for f in t.flaky],
            "flaky_total": t.flaky_total,
        },
        "findings": {
            "commit": s.findings_commit,
            "files": [
                {
                    "path": ff.path,
                    "count": len(ff.findings),
                    "findings": [
                        {
                            "rule": f.rule,
                            "line": f.line,
                            "col": f.col,
                            "text": f.text,
                            "message": f.message,
                        }
                        for f in ff.findings
                    ],
                }
                for ff in s.findings
            ],
        },
    }


def _valid_text(value: Any) -> Any:
    """Lone surrogates (undecodable bytes in paths) become U+FFFD, so the output is valid UTF-8."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    if isinstance(value, dict):
        return {k: _valid_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_valid_text(v) for v in value]
    return value


def render(summary: StandupSummary) -> str:
    doc = _valid_text(to_document(summary))
    return json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
