"""Every export format on the same database: content, escaping, the JSON schema, determinism."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import jsonschema
import pytest
from markdown_it import MarkdownIt

from healthtui.config import Config
from healthtui.export import jsonfmt, run_export
from healthtui.metrics import HEADLINE

SUBJECT = "<script>alert(1)</script> [click](javascript:alert(2))"


def _export(standup, fmt: str, **kw) -> str:
    kw.setdefault("since", "3d")
    return run_export(
        engine=standup.engine,
        config=Config(),
        fmt=fmt,
        now=standup.times[-1] + 3600,
        record=False,
        **kw,
    )


def test_markdown_leads_with_regressions_and_says_verdicts_in_words(standup):
    md = _export(standup, "md")
    sections = re.findall(r"^## (.+)$", md, re.M)
    assert sections[:3] == ["Regressions", "Metrics", "Commits that moved metrics most"]
    regressions = md.split("## Regressions")[1].split("## Metrics")[0]
    assert "Deprecated imports: 15 imports, +3 since 3 d ago, target 0: **NOT MET**" in regressions
    assert "not converging" in regressions
    assert "Await misuse: 12 sites, −6 since 3 d ago, target 0: **NOT MET**" in md
    assert "zero in ~6 days" in md
    assert (
        "Golden path pass rate: 68.0% (68 passed of 120 expected), +6.0 pts since 3 d ago, "
        "target 90.0%: **NOT MET** — at the last 14 days' rate: 90.0% in ~11 days"
    ) in md
    assert "no test reports" in md


def test_markdown_keeps_repository_strings_as_text(standup):
    md = _export(standup, "md")
    rendered = MarkdownIt("commonmark", {"html": True}).enable("strikethrough").render(md)
    assert "<script" not in rendered
    assert "<b>" not in rendered
    assert "href" not in rendered
    assert "<em>bold</em>" not in rendered and "*bold*" in rendered
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered
    assert "[click](javascript:alert(2))" in rendered
    assert "\x1b" not in md


def test_text_fits_80_columns_and_has_no_control_characters(standup):
    txt = _export(standup, "txt")
    lines = txt.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", txt)
    assert "red" in txt and "[31m" not in txt
    assert "Regressions" in lines[3]
    assert SUBJECT in txt.replace("\n  ", " ")


class _Parsed(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []
        self.svg = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += attrs
        self.svg += tag == "svg"

    def handle_data(self, data):
        self.text.append(data)


def test_html_is_self_contained_and_escapes_every_repository_string(standup):
    page = _export(standup, "html")
    parsed = _Parsed()
    parsed.feed(page)
    parsed.close()
    assert "script" not in parsed.tags
    assert "b" not in parsed.tags
    assert not any(name.startswith("on") for name, _ in parsed.attrs)
    assert not any(v and "javascript:" in v for _, v in parsed.attrs)
    text = "".join(parsed.text)
    assert SUBJECT in text  # shown as text, exactly
    assert "Mallory <b>evil</b>" in text
    assert parsed.svg >= 4  # one inline chart per shown metric
    assert "Content-Security-Policy" in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing loaded from outside
    assert "app/&lt;odd&gt;.py" in page


def _validator():
    schema = jsonfmt.schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def test_json_follows_its_schema_with_full_series_and_findings(standup):
    doc = json.loads(_export(standup, "json"))
    _validator().validate(doc)
    assert doc["schema_version"] == 1
    ids = [m["id"] for m in doc["metrics"]]
    assert ids[0] == "deprecated_imports"  # the regression leads
    assert "await_misuse.files" in ids and "suite.golden_path.passed" in ids  # every metric
    await_misuse = next(m for m in doc["metrics"] if m["id"] == "await_misuse")
    assert [p["value"] for p in await_misuse["series"]] == [30 - 2 * d for d in range(10)]
    assert [p["commit"] for p in await_misuse["series"]] == standup.shas
    assert await_misuse["series"][0]["committed_at"] == "2026-09-21T14:13:20Z"
    assert await_misuse["current"]["value"] == 12
    assert await_misuse["burndown"]["status"] == "converging"
    assert await_misuse["burndown"]["days"] == 6
    files = doc["findings"]["files"]
    assert doc["findings"]["commit"] == standup.shas[-1]
    assert [(f["path"], f["count"]) for f in files] == [("app/<odd>.py", 1), ("app/db.py", 2)]
    assert [f["line"] for f in files[1]["findings"]] == [3, 10]
    worst = doc["moves"][0]
    assert worst["metric"] == "deprecated_imports" and worst["commit"]["subject"].startswith(
        SUBJECT
    )
    assert doc["tests"]["available"] is False


def test_json_schema_rejects_a_broken_document(standup):
    validator = _validator()
    doc = json.loads(_export(standup, "json"))
    doc["metrics"][0]["series"][0]["value"] = "twelve"
    assert not validator.is_valid(doc)


@pytest.mark.parametrize("fmt", ["md", "txt", "html", "json"])
def test_same_database_and_arguments_give_the_same_document(standup, fmt):
    first = _export(standup, fmt)
    assert _export(standup, fmt) == first
    later = run_export(
        engine=standup.engine,
        config=Config(),
        fmt=fmt,
        since=standup.shas[6],
        now=standup.times[-1] + 7200,
        record=False,
    )
    again = run_export(
        engine=standup.engine,
        config=Config(),
        fmt=fmt,
        since=standup.shas[6],
        now=standup.times[-1] + 7200,
        record=False,
    )
    assert later == again


def test_empty_database_still_exports_every_format(engine):
    for fmt in ("md", "txt", "html", "json"):
        out = run_export(engine=engine, config=Config(), fmt=fmt, now=1_790_000_000, record=False)
        assert out.endswith("\n")
    md = run_export(engine=engine, config=Config(), fmt="md", now=1_790_000_000, record=False)
    assert "Await misuse: no data yet" in md
    doc = json.loads(
        run_export(engine=engine, config=Config(), fmt="json", now=1_790_000_000, record=False)
    )
    _validator().validate(doc)
    assert doc["repository"]["head"] is None
    assert [m["id"] for m in doc["metrics"]] == list(HEADLINE)
    assert all(m["current"] is None and m["series"] == [] for m in doc["metrics"])
