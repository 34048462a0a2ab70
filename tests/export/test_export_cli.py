"""`healthtui export` end to end on a real repository: formats, -o, --since, determinism, hostile
commit text and the SVG screenshot."""

from __future__ import annotations

import html
import json
import re
import sys
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest

import store
from healthtui.cli import main
from healthtui.config import Config
from healthtui.demo.builder import RepoBuilder
from healthtui.export import jsonfmt, run_export
from store.exports import last_export

HOSTILE = "<script>alert(1)</script> [bold]loud[/bold] \x1b[31mred\x1b[0m"
CONFIG = '[rules]\nknown_sync = ["get_manager"]\n'


def handler(n: int) -> str:
    body = "".join(f"async def h{i}():\n    return await get_manager()\n\n\n" for i in range(n))
    return "from app.manager import get_manager\n\n\n" + body


@pytest.fixture
def project(tmp_path: Path):
    """Five daily commits: misuse rises to 3 in a commit with a hostile subject, then falls."""
    b = RepoBuilder(tmp_path / "repo")
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    files = {
        "healthtui.toml": CONFIG,
        "app/__init__.py": "",
        "app/manager.py": "def get_manager():\n    return 1\n",
        "app/a.py": handler(1),
    }
    steps = [(files, "Initial"), ({"app/a.py": handler(3)}, HOSTILE)]
    steps += [({"app/a.py": handler(2)}, "Fix one"), ({"app/a.py": handler(1)}, "Fix another")]
    shas = [
        b.commit(change, message=subject, when=start + timedelta(days=i))
        for i, (change, subject) in enumerate(steps)
    ]
    db = tmp_path / "health.db"
    assert main(["--repo", str(b.path), "--db", str(db), "backfill"]) == 0
    return b, db, shas


def export(project, capsys, *args: str) -> tuple[int, str, str]:
    b, db, _ = project
    code = main(["--repo", str(b.path), "--db", str(db), "export", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def _last(db: Path):
    engine = store.open_engine(db, create=False)
    with store.read_session(engine) as s:
        rec = last_export(s)
    engine.dispose()
    return rec


def test_markdown_to_stdout_names_the_commit_that_moved_await_misuse(project, capsys):
    _, _, shas = project
    code, out, err = export(project, capsys, "--since", shas[0][:10])
    assert (code, err) == (0, "")
    assert out.startswith("# Standup: repo (main) at `")
    assert "Await misuse: 1 site, ±0 since" in out
    moved = out.split("## Commits that moved metrics most")[1]
    assert (
        f"`{shas[1][:8]}` Ada Lovelace — \\<script\\>alert(1)\\</script\\> \\[bold\\]loud" in moved
    )
    assert "\x1b" not in out


def test_every_format_keeps_the_hostile_subject_as_text(project, capsys):
    _, _, shas = project
    since = ("--since", shas[0])
    txt = export(project, capsys, "--format", "txt", *since)[1]
    assert "<script>alert(1)</script> [bold]loud[/bold] red" in txt.replace("\n  ", " ")
    assert "\x1b" not in txt and max(map(len, txt.splitlines())) <= 80

    class Page(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags: list[str] = []
            self.text: list[str] = []

        def handle_starttag(self, tag, attrs):
            self.tags.append(tag)

        def handle_data(self, data):
            self.text.append(data)

    page = Page()
    page.feed(export(project, capsys, "--format", "html", *since)[1])
    assert "script" not in page.tags and "bold" not in page.tags
    assert "<script>alert(1)</script> [bold]loud[/bold] red" in "".join(page.text)

    doc = json.loads(export(project, capsys, "--format", "json", *since)[1])
    jsonschema.Draft202012Validator(jsonfmt.schema()).validate(doc)
    assert doc["moves"][0]["commit"]["subject"] == HOSTILE  # data for tools stays exact
    misuse = next(m for m in doc["metrics"] if m["id"] == "await_misuse")
    assert [(p["commit"], p["value"]) for p in misuse["series"]] == list(
        zip(shas, [1, 3, 2, 1], strict=True)
    )


def test_output_file_is_written_whole_and_the_export_recorded(project, capsys, tmp_path):
    _, db, shas = project
    target = tmp_path / "standup.html"
    code, out, err = export(project, capsys, "--format", "html", "-o", str(target))
    assert (code, out, err) == (0, "", "")
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    rec = _last(db)
    assert (rec.format, rec.head, rec.since) == ("html", shas[-1], "last")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_an_unwritable_output_is_one_line_and_not_recorded(project, capsys, tmp_path):
    _, db, _ = project
    code, out, err = export(project, capsys, "-o", str(tmp_path / "missing" / "x.md"))
    assert (code, out) == (2, "")
    assert err == (
        f"healthtui: error: {tmp_path / 'missing' / 'x.md'}: cannot write: "
        "No such file or directory\n"
    )
    assert _last(db) is None


def test_since_last_starts_at_the_previous_export(project, capsys):
    code, first, _ = export(project, capsys, "--format", "json")
    assert code == 0
    assert json.loads(first)["since"]["kind"] == "default"
    second = json.loads(export(project, capsys, "--format", "json")[1])
    assert second["since"]["kind"] == "export"
    assert second["since"]["commit"] == project[2][-1]
    assert "_Changes since the last export (" in export(project, capsys)[1]


@pytest.mark.parametrize("fmt", ["md", "txt", "html", "json"])
def test_only_the_generated_at_field_depends_on_the_clock(project, capsys, fmt):
    since = ("--since", project[2][1])
    first = export(project, capsys, "--format", fmt, *since)[1]
    second = export(project, capsys, "--format", fmt, *since)[1]  # recorded in between

    def without_clock(text: str) -> str:
        return re.sub(r"generated[^\n]*|\"generated_at\": \"[^\"]*\"", "", text)

    assert without_clock(first) == without_clock(second)
    assert without_clock(first) != first


def test_bad_arguments_are_one_line_errors(project, capsys):
    code, out, err = export(project, capsys, "--since", "not-a-rev")
    assert (code, out) == (2, "")
    assert err.startswith("healthtui: error: --since 'not-a-rev': not `last`, a date")
    assert err.count("\n") == 1


def test_svg_is_the_overview_as_the_dashboard_draws_it(project, capsys, tmp_path):
    target = tmp_path / "overview.svg"
    code, out, err = export(project, capsys, "--format", "svg", "-o", str(target))
    assert (code, out, err) == (0, "", "")
    svg = ET.fromstring(target.read_text(encoding="utf-8"))
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    text = _svg_text(target.read_text(encoding="utf-8"))
    assert "healthtui · repo" in text and "Await misuse" in text
    assert _last(project[1]).format == "svg"


def test_svg_is_deterministic_and_keeps_markup_and_html_as_text(engine, history):
    db = history
    db.add([db.Commit(code={"await_misuse": v}) for v in (5, 4, 3)])
    with store.write_session(engine) as s:
        store.ensure_repository(
            s, root="/src/shop", name="[bold]shop[/bold] <b>x</b>", branch="main"
        )

    def render() -> str:
        return run_export(
            engine=engine, config=Config(), fmt="svg", now=db.times[-1] + 60, record=False
        )

    first = render()
    assert render() == first
    ET.fromstring(first)
    assert "healthtui · [bold]shop[/bold] <b>x</b>" in _svg_text(first)


def test_svg_without_the_renderer_is_a_clear_error(project, capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "healthtui.tui.screenshots", None)
    code, out, err = export(project, capsys, "--format", "svg", "-o", str(tmp_path / "o.svg"))
    assert (code, out) == (2, "")
    assert err.startswith(
        "healthtui: error: --format svg: the dashboard screenshot renderer is not available"
    )
    assert err.count("\n") == 1
    assert not (tmp_path / "o.svg").exists()
    assert _last(project[1]) is None


def _svg_text(svg: str) -> str:
    """The text an SVG screenshot shows, line by line."""
    return html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " ")
