"""The standup's test part from stored test runs: newly failing/fixed golden-path tests, new
collection errors with their cause, flaky tests; in every format."""

from __future__ import annotations

import hashlib
import json
from html.parser import HTMLParser

import jsonschema
import pytest

import store
from healthtui.config import Config
from healthtui.export import jsonfmt, run_export
from store import testruns
from store.commits import commit_ids

GOLDEN = ("golden_path",)
HOUR = 3600


def add_run(
    db,
    sha: str,
    at: float,
    results: list[tuple[str, str, tuple[str, ...], str]],
    *,
    errors: tuple[testruns.CollectionErrorInput, ...] = (),
) -> int:
    """One test run of `sha` made at `at`: results are (nodeid, outcome, suites, message)."""
    with store.write_session(db.engine) as s:
        cid = commit_ids(s, shas=[sha])[sha]
        counts = {o: sum(1 for r in results if r[1] == o) for o in ("passed", "failed", "error")}
        run = testruns.TestRunInput(
            commit_id=cid,
            content_hash=hashlib.sha1(f"{sha}{at}{results}".encode()).hexdigest(),
            link_source="option",
            path="report.json",
            root="/src",
            created_at=at,
            ingested_at=at,
            duration=1.0,
            exitcode=1,
            passed=counts["passed"],
            failed=counts["failed"],
            errors=counts["error"],
            skipped=0,
            xfailed=0,
            xpassed=0,
            total=len(results),
            collected=len(results),
            deselected=0,
            collection_errors=len(errors),
        )
        rows = [
            testruns.TestResultInput(
                nodeid=nodeid,
                path=nodeid.split("::")[0],
                outcome=outcome,
                suites=suites,
                message=message,
                signature=hashlib.sha1(message.encode()).hexdigest()
                if outcome != "passed"
                else None,
                fingerprint="same-code",
            )
            for nodeid, outcome, suites, message in results
        ]
        golden = [r[1] for r in results if "golden_path" in r[2]]
        suite = testruns.SuiteCountsInput(
            "golden_path", *(golden.count(o) for o in ("passed", "failed", "error"))
        )
        return testruns.record_test_run(
            s, run=run, results=rows, collection_errors=errors, suites=[suite] if golden else []
        )


def _export(db, fmt: str, since: str = "3d") -> str:
    return run_export(
        engine=db.engine,
        config=Config(),
        fmt=fmt,
        since=since,
        now=db.times[-1] + 2 * HOUR,
        record=False,
    )


@pytest.fixture
def runs(history):
    """Five days of commits; a run on day 1 (before the 3-day window) and one on day 4."""
    db, Commit = history, history.Commit
    db.add([Commit(code={"await_misuse": 5 - d}) for d in range(5)])
    add_run(
        db,
        db.shas[1],
        db.times[1] + HOUR,
        [
            ("tests/golden_path/test_flow.py::test_login", "passed", GOLDEN, ""),
            ("tests/golden_path/test_flow.py::test_checkout", "failed", GOLDEN, "E boom"),
            ("tests/golden_path/test_flow.py::test_refund", "failed", GOLDEN, "E still broken"),
            ("tests/golden_path/test_flow.py::test_gone", "failed", GOLDEN, "E removed later"),
            ("tests/unit/test_misc.py::test_other", "failed", (), "E not golden"),
        ],
        errors=(testruns.CollectionErrorInput("tests/test_old.py", "import", "old", "E nope"),),
    )
    add_run(
        db,
        db.shas[4],
        db.times[4] + HOUR,
        [
            (
                "tests/golden_path/test_flow.py::test_login",
                "failed",
                GOLDEN,
                "AssertionError: <script>alert(1)</script> \x1b[31mred\x1b[0m\nsecond line",
            ),
            ("tests/golden_path/test_flow.py::test_checkout", "passed", GOLDEN, ""),
            ("tests/golden_path/test_flow.py::test_refund", "failed", GOLDEN, "E still broken"),
            ("tests/golden_path/test_new.py::test_new", "error", GOLDEN, "E fixture missing"),
            ("tests/unit/test_misc.py::test_other", "passed", (), ""),
        ],
        errors=(
            testruns.CollectionErrorInput("tests/test_old.py", "import", "old", "E nope"),
            testruns.CollectionErrorInput(
                "tests/golden_path/test_marks.py",
                "marker",
                "slow",
                "'slow' not found in `markers` configuration option\nmore",
            ),
        ),
    )
    return db


def test_json_lists_newly_failing_fixed_new_collection_errors_and_flaky(runs):
    doc = json.loads(_export(runs, "json"))
    jsonschema.Draft202012Validator(jsonfmt.schema()).validate(doc)
    tests = doc["tests"]
    assert tests["available"] is True
    assert tests["run"].startswith(f"{runs.shas[4][:8]} at ")
    assert tests["run"].endswith(
        "(golden path: 1 passed, 2 failed, 1 error;"
        " all tests: 2 passed, 2 failed, 1 error, 2 collection errors)"
    )
    assert tests["baseline_run"].startswith(f"{runs.shas[1][:8]} at ")
    assert tests["baseline_run"].endswith(
        "(golden path: 1 passed, 3 failed; all tests: 1 passed, 4 failed, 1 collection error)"
    )
    assert tests["newly_failing"] == [
        {
            "nodeid": "tests/golden_path/test_flow.py::test_login",
            "message": "AssertionError: <script>alert(1)</script> \x1b[31mred\x1b[0m",
        },
        {"nodeid": "tests/golden_path/test_new.py::test_new", "message": "E fixture missing"},
    ]
    # test_gone is no longer in the run: not "fixed"; test_other is not on the golden path
    assert tests["newly_fixed"] == [
        {"nodeid": "tests/golden_path/test_flow.py::test_checkout", "message": ""}
    ]
    assert tests["collection_errors"] == [
        {
            "nodeid": "tests/golden_path/test_marks.py",
            "cause": "marker error: 'slow' not found in `markers` configuration option",
        }
    ]
    flaky = {f["nodeid"] for f in tests["flaky"]}
    assert flaky == {
        "tests/golden_path/test_flow.py::test_login",
        "tests/golden_path/test_flow.py::test_checkout",
        "tests/unit/test_misc.py::test_other",
    }
    assert tests["flaky_total"] == 3


def test_markdown_and_text_show_the_test_changes_as_text(runs):
    md = _export(runs, "md")
    part = md.split("## Golden path tests")[1]
    assert "- newly failing: 2" in part
    assert (
        "  - `tests/golden_path/test_flow.py::test_login` — AssertionError: "
        "\\<script\\>alert(1)\\</script\\> red"
    ) in part
    assert "- newly fixed: 1\n  - `tests/golden_path/test_flow.py::test_checkout`" in part
    assert "- `tests/golden_path/test_marks.py`: marker error: 'slow' not found in" in md
    assert "\x1b" not in md
    txt = _export(runs, "txt")
    assert "  - tests/golden_path/test_new.py::test_new: E fixture missing" in txt
    assert "<script>alert(1)</script> red" in txt and "\x1b" not in txt
    assert max(len(line) for line in txt.splitlines()) <= 80


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def test_html_keeps_a_hostile_failure_message_as_text(runs):
    page = _Text()
    page.feed(_export(runs, "html"))
    assert "script" not in page.tags
    text = "".join(page.text)
    assert "AssertionError: <script>alert(1)</script> red" in text
    assert "Newly fixed: 1" in text


def test_since_a_revision_compares_with_that_commits_run(runs):
    add_run(
        runs,
        runs.shas[3],
        runs.times[3] + HOUR,
        [("tests/golden_path/test_flow.py::test_checkout", "failed", GOLDEN, "E x")],
    )
    tests = json.loads(_export(runs, "json", since=runs.shas[3]))["tests"]
    assert tests["baseline_run"].startswith(runs.shas[3][:8])
    assert [t["nodeid"] for t in tests["newly_fixed"]] == [
        "tests/golden_path/test_flow.py::test_checkout"
    ]
    assert tests["collection_errors"][0]["nodeid"] == "tests/golden_path/test_marks.py"
    assert len(tests["collection_errors"]) == 2  # that run had none, so both are new


def test_a_single_run_has_nothing_to_compare_with(history):
    db, Commit = history, history.Commit
    db.add([Commit(code={"await_misuse": 1})])
    add_run(db, db.shas[0], db.times[0] + HOUR, [("t.py::a", "failed", GOLDEN, "E")])
    tests = json.loads(_export(db, "json"))["tests"]
    assert (tests["available"], tests["baseline_run"], tests["newly_failing"]) == (True, None, [])
    assert "- no earlier run to compare with" in _export(db, "md")
    assert "- no earlier run to compare with" in _export(db, "txt")
