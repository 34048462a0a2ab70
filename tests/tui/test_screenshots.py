"""`render_svg`: one screen as SVG text, for `healthtui export --format svg` and the README."""

from __future__ import annotations

import asyncio
import re
import tempfile
from pathlib import Path

import pytest

from healthtui.config import Config
from healthtui.tui.screenshots import SCREENS, keep_leading_spaces, render_svg


def test_render_svg_draws_the_overview_deterministically(history, history_engine):
    first = render_svg(engine=history_engine, config=Config(), repo_label="shop", now=history.now)
    again = render_svg(engine=history_engine, config=Config(), repo_label="shop", now=history.now)
    if first != again:  # keep both for a look when this fails
        (Path(tempfile.gettempdir()) / "render_first.svg").write_text(first)
        (Path(tempfile.gettempdir()) / "render_again.svg").write_text(again)
    assert first.startswith("<svg") and first == again
    text = first.replace("&#160;", " ")
    assert "healthtui · shop" in text
    assert "Await misuse" in text and "Golden path pass rate" in text
    assert "collected" in text and "1 h ago" in text


@pytest.mark.parametrize("screen", [s for s in SCREENS if s != "overview"])
def test_render_svg_reaches_every_screen(history, history_engine, screen):
    svg = render_svg(
        engine=history_engine, config=Config(), screen=screen, size=(100, 30), now=history.now
    )
    marker = {
        "metric": "Commits that changed it",
        "commit": "Findings changed",
        "findings": "Sites",
        "tests": "newest run",
        "help": "healthtui help",
    }[screen]
    assert marker in svg.replace("&#160;", " ")


def test_render_svg_works_inside_a_running_event_loop(history, history_engine):
    async def inside() -> str:
        return render_svg(engine=history_engine, config=Config(), now=history.now)

    assert "Await misuse" in asyncio.run(inside()).replace("&#160;", " ")


def test_render_svg_rejects_an_unknown_screen(history_engine):
    with pytest.raises(ValueError, match="unknown screen"):
        render_svg(engine=history_engine, config=Config(), screen="nope")


def test_leading_spaces_of_a_run_move_into_its_position():
    run = '<text class="r1" x="10" y="20" textLength="40" clip-path="url(#l0)">{}</text>'
    svg = run.format("&#160;ab&#160;") + run.format("&#160;&#160;") + run.format("cd")
    assert keep_leading_spaces(svg) == (
        '<text class="r1" x="20" y="20" textLength="30" clip-path="url(#l0)">ab&#160;</text>'
        + run.format("cd")
    )
    wide = run.format("&#160;&#160;表")  # four cells, the last two one wide character
    assert 'x="30" y="20" textLength="20"' in keep_leading_spaces(wide)


def test_render_svg_keeps_the_space_between_a_label_and_its_value(history, history_engine):
    svg = render_svg(engine=history_engine, config=Config(), repo_label="shop", now=history.now)
    assert not re.search(r"<text[^>]*>&#160;", svg)  # no run starts with a space a viewer drops
    runs = re.findall(r'<text [^>]*x="([0-9.]+)" [^>]*textLength="([0-9.]+)"[^>]*>([^<]*)<', svg)
    at = {text: (float(x), float(length)) for x, length, text in runs}
    x, length = at["branch"]
    value = next(text for text in at if text.startswith("main"))
    assert at[value][0] == pytest.approx(x + length + length / len("branch"))  # "branch main"
