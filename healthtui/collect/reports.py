"""Ingest pytest-json-report files into the store, and run the configured test command.

A report (pytest-json-report 1.5: `created`, `duration`, `exitcode`, `root`, `environment`,
`summary`, `collectors`, `tests`, `warnings`) is read once under a size cap and hashed: the same
bytes are never ingested twice. The parser walks the top-level object itself; the `tests` array
goes through the C JSON scanner in one piece, or one element at a time above `STREAM_ABOVE`, so
a huge report is never held as a tree of dicts; each test is reduced to a compact record at
once. Every value is type-checked; a bad file gets one line naming the key and the problem, is
recorded as a problem, and the other files go on.

Each run is linked to a commit (`--commit`, else a commit in the report's metadata such as
`commit` or CI variables like `GIT_COMMIT`, else HEAD at ingest), checked to come from this
repository, and written in one transaction together with the `tests` snapshot of every commit
whose numbers it changes (its own, and those where a test just turned out flaky).
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
import re
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from itertools import chain
from math import trunc
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import Engine

import store
from healthtui import metrics as m
from healthtui.collect.gitrepo import GitRepo
from healthtui.config import Config, Suite
from healthtui.errors import RepoError, ReportError
from healthtui.rules import RuleEngine
from healthtui.rules import suites as suite_rules
from healthtui.rules.paths import compile_globs, display_module, is_test_file
from store import testruns as tr
from store.commits import commit_ids

MAX_REPORT_BYTES = 100 * 1024 * 1024
# Below this many characters the `tests` array is decoded in one go (the C scanner shares its
# keys across elements, which is faster); above it, one element at a time to bound memory.
STREAM_ABOVE = 16 * 1024 * 1024
PROBLEM_SOURCE = "report"

# Report metadata keys that name the commit the tests ran on, most specific first (compared
# case-insensitively): pytest-metadata `--metadata commit ...` and the CI variables it records.
COMMIT_KEYS = (
    "commit",
    "git_commit",
    "sha",
    "commit_sha",
    "git_sha",
    "revision",
    "github_sha",
    "ci_commit_sha",
    "circle_sha1",
    "travis_commit",
    "bitbucket_commit",
    "appveyor_repo_commit",
    "codebuild_resolved_source_version",
    "build_vcs_number",
    "buildkite_commit",
    "drone_commit_sha",
    "semaphore_git_sha",
)
_HEX_SHA = re.compile(r"[0-9a-fA-F]{7,64}")

PASSED, FAILED, ERROR = "passed", "failed", "error"
SKIPPED, XFAILED, XPASSED = "skipped", "xfailed", "xpassed"
_FAILING = frozenset({FAILED, ERROR})
_STAGES = ("setup", "call", "teardown")
_INFINITIES = (float("inf"), float("-inf"))
_DEPRECATIONS = frozenset({"DeprecationWarning", "PendingDeprecationWarning"})
_NEVER_AWAITED = re.compile(r"coroutine '([^']+)' was never awaited")
_DOC_SUFFIXES = (".md", ".rst", ".txt", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".ico", ".pdf")

MAX_MESSAGE = 500


# ---- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IngestedReport:
    path: Path
    run_id: int
    sha: str
    link_source: str  # "option" | "metadata" | "head"
    tests: int


@dataclass(frozen=True)
class IngestResult:
    """What an ingest did: runs stored, files already stored (same bytes), and bad files with
    a one-line reason each (also recorded as problems)."""

    ingested: tuple[IngestedReport, ...] = ()
    duplicates: tuple[Path, ...] = ()
    errors: tuple[tuple[Path | str, str], ...] = ()


# ---- parsing ------------------------------------------------------------------------------------


class _Failure(NamedTuple):
    stage: str  # the first stage that failed
    path: str  # crash location as reported ("" when there is none)
    line: int | None
    message: str  # the crash message
    exception: str  # the exception's name from the traceback's last entry
    longrepr: str  # kept only when there is no crash message


class _Test(NamedTuple):
    nodeid: str
    outcome: str
    keywords: list[str]
    setup_outcome: str
    setup_duration: float
    call_outcome: str
    call_duration: float
    teardown_outcome: str
    teardown_duration: float
    failure: _Failure | None


class _Collector(NamedTuple):
    nodeid: str
    outcome: str
    items: list[tuple[str, bool]]  # (node id, deselected); kept only when `_interrupted`
    longrepr: str


class _Warning(NamedTuple):
    category: str
    message: str
    filename: str
    lineno: int | None


@dataclass
class ParsedReport:
    """A report's values, checked. `tests` holds `_Test` records once checked (`parse_report`);
    an ingest checks them while it turns them into rows."""

    created: float
    duration: float
    exitcode: int
    root: str
    environment: dict[str, Any]
    summary: dict[str, int]
    collectors: list[_Collector]
    tests: list[Any]
    warnings: list[_Warning]


_REQUIRED = ("created", "duration", "exitcode", "root", "environment", "summary", "tests")
_WS = re.compile(r"[ \t\n\r]*")
_SCAN = json.JSONDecoder().scan_once


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)


def _wrong(where: str, expected: str, value: Any) -> ReportError:
    return ReportError(f"{where}: expected {expected}, got {_kind(value)}")


def _get(obj: dict, key: str, where: str) -> Any:
    try:
        return obj[key]
    except KeyError:
        raise ReportError(f"{where}: missing key '{key}'") from None


def _str(obj: dict, key: str, where: str) -> str:
    value = _get(obj, key, where)
    if type(value) is not str:
        raise _wrong(f"{where}.{key}", "a string", value)
    return value


def _number(value: Any, where: str) -> float:
    if type(value) is float:
        if value != value or value in _INFINITIES:
            raise ReportError(f"{where}: expected a finite number, got {value}")
        return value
    if type(value) is int:
        return float(value)
    raise _wrong(where, "a number", value)


_LAST_TIME = 253402300799.0  # 9999-12-31 23:59:59 UTC, the last second `datetime` can show


def _time(value: Any, where: str) -> float:
    """A report's `created`: seconds since 1970 that a date can be made of."""
    seconds = _number(value, where)
    if not 0 <= seconds <= _LAST_TIME:
        raise ReportError(f"{where}: expected a time (seconds since 1970), got {seconds:g}")
    return seconds


def _int(value: Any, where: str, *, optional: bool = False) -> int | None:
    if type(value) is int:
        return value
    if optional and value is None:
        return None
    raise _wrong(where, "a whole number", value)


def _list(value: Any, where: str) -> list:
    if type(value) is not list:
        raise _wrong(where, "a list", value)
    return value


def _obj(value: Any, where: str) -> dict:
    if type(value) is not dict:
        raise _wrong(where, "an object", value)
    return value


def _decode_error(text: str, exc: json.JSONDecodeError | StopIteration, pos: int) -> ReportError:
    if isinstance(exc, json.JSONDecodeError):
        pos, message = exc.pos, exc.msg
    else:
        message = "Expecting value"
    return _syntax_error(text, pos, message)


def _syntax_error(text: str, pos: int, message: str) -> ReportError:
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    ran_out = pos >= len(text) - 512 or message.startswith("Unterminated")
    truncated = ran_out and not text.rstrip().endswith("}")
    hint = " (the file is truncated)" if truncated else ""
    return ReportError(f"invalid JSON at line {line} column {col}: {message}{hint}")


# Durations within this many seconds are taken without further checks (a duration is refused
# when it cannot become whole microseconds).
_LONGEST = 1e300
_NO_KEYWORDS: list[str] = []
_NO_STAGE = {"outcome": "", "duration": 0.0}
_OUTCOME = itemgetter(1)  # of an entry (`store.testruns.ENTRY`)
_new = tuple.__new__  # builds a NamedTuple from a ready tuple, skipping its Python-level __new__


def _reduce_test(t: Any, n: int) -> _Test:
    """One `tests` element as a compact record (stdout, logs, tracebacks dropped). The common
    shape is checked inline; anything else goes through `_reduce_test_checked`, which names
    what is wrong."""
    if type(t) is dict:
        get = t.get
        nodeid, outcome, keywords = get("nodeid"), get("outcome"), get("keywords", _NO_KEYWORDS)
        s, c, d = get("setup"), get("call"), get("teardown")
        try:
            if (
                type(nodeid) is str
                and type(outcome) is str
                and type(keywords) is list
                and type(s) is dict
                and outcome not in _FAILING
            ):
                so, sd = s["outcome"], s["duration"]
                co, cd = (c["outcome"], c["duration"]) if c is not None else ("", 0.0)
                do, dd = (d["outcome"], d["duration"]) if d is not None else ("", 0.0)
                if (
                    type(so) is str
                    and type(co) is str
                    and type(do) is str
                    and type(sd) is float
                    and type(cd) is float
                    and type(dd) is float
                    and -_LONGEST < sd < _LONGEST
                    and -_LONGEST < cd < _LONGEST
                    and -_LONGEST < dd < _LONGEST
                ):
                    return _new(_Test, (nodeid, outcome, keywords, so, sd, co, cd, do, dd, None))
        except (KeyError, TypeError):
            pass
    return _reduce_test_checked(t, n)


def _reduce_test_checked(t: Any, n: int) -> _Test:
    if type(t) is not dict:
        raise _wrong(f"tests[{n}]", "an object", t)
    nodeid = t.get("nodeid")
    if type(nodeid) is not str:
        raise (
            ReportError(f"tests[{n}]: missing key 'nodeid'")
            if nodeid is None
            else _wrong(f"tests[{n}].nodeid", "a string", nodeid)
        )
    outcome = t.get("outcome")
    if type(outcome) is not str:
        raise (
            ReportError(f"tests[{n}] ({nodeid}): missing key 'outcome'")
            if outcome is None
            else _wrong(f"tests[{n}].outcome", "a string", outcome)
        )
    keywords = t.get("keywords")
    if keywords is None:
        keywords = []
    elif type(keywords) is not list or not _strings(keywords):
        raise _wrong(f"tests[{n}].keywords", "a list of strings", keywords)
    stages: list[Any] = []
    failure = None
    failing = outcome in _FAILING
    for name in _STAGES:
        st = t.get(name)
        if st is None:
            stages += ("", 0.0)
            continue
        if type(st) is not dict:
            raise _wrong(f"tests[{n}].{name}", "an object", st)
        so = st.get("outcome")
        if type(so) is not str:
            raise _wrong(f"tests[{n}].{name}.outcome", "a string", so)
        sd = st.get("duration", 0.0)
        if type(sd) is not float or sd != sd or sd * 1e6 in _INFINITIES:
            sd = _number(sd, f"tests[{n}].{name}.duration")
            if sd * 1e6 in _INFINITIES:
                raise ReportError(f"tests[{n}].{name}.duration: expected seconds, got {sd:g}")
        stages += (so, sd)
        if failing and failure is None and so == FAILED:
            failure = _reduce_failure(st, name, n)
    if (stages[1] + stages[3] + stages[5]) * 1e6 in _INFINITIES:
        raise ReportError(f"tests[{n}]: its stages last too long to add up")
    if failing and failure is None:
        failure = _NO_FAILURE
    return _Test(nodeid, outcome, keywords, *stages, failure)


def _strings(items: list) -> bool:
    try:
        "".join(items)
    except TypeError:
        return False
    return True


def _reduce_failure(st: dict, stage: str, n: int) -> _Failure:
    """The failure in the stage `stage` of `tests[n]`."""
    path, line, message = "", None, ""
    crash = st.get("crash")
    if crash is not None:
        fine = False
        if type(crash) is dict:
            path, line, message = crash.get("path"), crash.get("lineno"), crash.get("message")
            fine = (
                type(path) is str and type(message) is str and (line is None or type(line) is int)
            )
        if not fine:
            where = f"tests[{n}].{stage}.crash"
            crash = _obj(crash, where)
            path = _str(crash, "path", where)
            line = _int(crash.get("lineno"), f"{where}.lineno", optional=True)
            message = _str(crash, "message", where)
    exception = ""
    tb = st.get("traceback")
    if tb is not None:
        if type(tb) is not list:
            raise _wrong(f"tests[{n}].{stage}.traceback", "a list", tb)
        if tb:
            last = tb[-1]
            if type(last) is not dict:
                raise _wrong(f"tests[{n}].{stage}.traceback[{len(tb) - 1}]", "an object", last)
            text = last.get("message")
            if type(text) is str:
                exception = text
    longrepr = st.get("longrepr", "")
    if type(longrepr) is not str:
        raise _wrong(f"tests[{n}].{stage}.longrepr", "a string", longrepr)
    return _Failure(stage, path, line, message, exception, "" if message else longrepr[-4000:])


_NO_FAILURE = _Failure("", "", None, "", "", "")


def _reduce_collectors(value: Any, *, items: bool) -> list[_Collector]:
    """The collectors, each item checked; the items themselves are kept only when `items`."""
    out = []
    for i, c in enumerate(_list(value, "collectors")):
        where = f"collectors[{i}]"
        c = _obj(c, where)
        kept = []
        for j, item in enumerate(_list(_get(c, "result", where), f"{where}.result")):
            nodeid = item.get("nodeid") if type(item) is dict else None
            if type(nodeid) is not str:
                _str(_obj(item, f"{where}.result[{j}]"), "nodeid", f"{where}.result[{j}]")
            if items:
                kept.append((nodeid, item.get("deselected") is True))
        longrepr = c.get("longrepr", "")
        if type(longrepr) is not str:
            raise _wrong(f"{where}.longrepr", "a string", longrepr)
        out.append(_Collector(_str(c, "nodeid", where), _str(c, "outcome", where), kept, longrepr))
    return out


def _interrupted(summary: dict[str, int], collectors: list[_Collector], tests: int) -> bool:
    """Whether some collected tests may not have run: a collector failed, or fewer tests ran
    than were collected (and not deselected)."""
    return any(c.outcome == FAILED for c in collectors) or (
        summary.get("collected", 0) - summary.get("deselected", 0) > tests
    )


def _reduce_warnings(value: Any) -> list[_Warning]:
    out = []
    for i, w in enumerate(_list(value, "warnings")):
        where = f"warnings[{i}]"
        w = _obj(w, where)
        out.append(
            _Warning(
                _str(w, "category", where),
                _str(w, "message", where),
                _str(w, "filename", where),
                _int(w.get("lineno"), f"{where}.lineno", optional=True),
            )
        )
    return out


def _reduce_summary(value: Any) -> dict[str, int]:
    summary = _obj(value, "summary")
    for key, count in summary.items():
        if type(count) is not int or count < 0:
            raise _wrong(f"summary.{key}", "a count", count)
    _get(summary, "total", "summary")
    return summary


def parse_report(data: bytes, *, stream_above: int = STREAM_ABOVE) -> ParsedReport:
    """Parse and check one report; raises ReportError with a one-line reason. Reports longer
    than `stream_above` characters have their `tests` decoded one element at a time."""
    report = _scan(data, stream_above=stream_above)
    tests = report.tests
    report.tests = [t if type(t) is _Test else _reduce_test(t, n) for n, t in enumerate(tests)]
    _check_count(report)
    nodeids = [t.nodeid for t in report.tests]
    if len(set(nodeids)) != len(nodeids):
        raise _duplicate(next(n for n, k in Counter(nodeids).items() if k > 1))
    return report


def _check_count(report: ParsedReport) -> None:
    """The tests agree with the summary's total."""
    if report.summary["total"] != len(report.tests):
        raise ReportError(
            f"summary.total is {report.summary['total']} but the report holds "
            f"{len(report.tests)} tests (a partial or edited report)"
        )


def _duplicate(nodeid: str) -> ReportError:
    return ReportError(f"tests: node id {nodeid!r} appears more than once")


def _nodeid_of(test: Any) -> str | None:
    if type(test) is _Test:
        return test.nodeid
    nodeid = test.get("nodeid") if type(test) is dict else None
    return nodeid if type(nodeid) is str else None


def _scan(data: bytes, *, stream_above: int = STREAM_ABOVE) -> ParsedReport:
    """A report with everything but its tests checked: they stay as decoded (to be checked
    while they become rows), except above `stream_above`, where each is reduced as it is read
    so that a huge report is never held as a tree of dicts."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ReportError(f"not UTF-8 text (bad byte at offset {exc.start})") from None
    top: dict[str, Any] = {}
    tests: list[Any] = []
    seen_tests = False
    ws = _WS.match
    scan = _SCAN
    i = ws(text, 0).end()
    end = len(text)
    if i == end:
        raise ReportError("empty file")
    if text[i] != "{":
        raise ReportError("not a pytest-json-report file (the top level is not a JSON object)")
    i = ws(text, i + 1).end()
    try:
        if text.startswith("}", i):
            i += 1
        else:
            while True:
                if not text.startswith('"', i):
                    raise _syntax_error(
                        text, i, "Expecting property name enclosed in double quotes"
                    )
                key, i = scan(text, i)
                i = ws(text, i).end()
                if not text.startswith(":", i):
                    raise _syntax_error(text, i, "Expecting ':' delimiter")
                i = ws(text, i + 1).end()
                if key == "tests" and text.startswith("[", i):
                    tests = []
                    seen_tests = True
                    if end <= stream_above:
                        tests, i = scan(text, i)
                        i = ws(text, i).end()
                    elif text.startswith("]", ws(text, i + 1).end()):
                        i = ws(text, i + 1).end() + 1
                    else:
                        i = ws(text, i + 1).end()
                        append = tests.append
                        n = 0
                        while True:
                            value, i = scan(text, i)
                            append(_reduce_test(value, n))
                            n += 1
                            i = ws(text, i).end()
                            if text.startswith(",", i):
                                i = ws(text, i + 1).end()
                            elif text.startswith("]", i):
                                i += 1
                                break
                            else:
                                raise _syntax_error(text, i, "Expecting ',' delimiter")
                else:
                    top[key], i = scan(text, i)
                i = ws(text, i).end()
                if text.startswith(",", i):
                    i = ws(text, i + 1).end()
                elif text.startswith("}", i):
                    i += 1
                    break
                else:
                    raise _syntax_error(text, i, "Expecting ',' delimiter")
    except (json.JSONDecodeError, StopIteration) as exc:
        pos = exc.value if isinstance(exc, StopIteration) else i
        raise _decode_error(text, exc, pos) from None
    if ws(text, i).end() != end:
        raise _syntax_error(text, ws(text, i).end(), "Extra data")
    if seen_tests:
        top["tests"] = tests
    for key in _REQUIRED:
        if key not in top:
            hint = (
                " (a --json-report-summary report has no per-test results)"
                if key in ("tests", "collectors") and "summary" in top
                else ""
            )
            raise ReportError(f"missing key '{key}'{hint}")
    if not seen_tests:
        raise _wrong("tests", "a list", top["tests"])
    root = top["root"]
    if type(root) is not str:
        raise _wrong("root", "a string", root)
    report = ParsedReport(
        created=_time(top["created"], "created"),
        duration=_number(top["duration"], "duration"),
        exitcode=_int(top["exitcode"], "exitcode") or 0,
        root=root,
        environment=_obj(top["environment"], "environment"),
        summary=_reduce_summary(top["summary"]),
        collectors=_reduce_collectors(top.get("collectors", []), items=False),
        tests=tests,
        warnings=_reduce_warnings(top.get("warnings", [])),
    )
    if _interrupted(report.summary, report.collectors, len(tests)):
        report.collectors = _reduce_collectors(top.get("collectors", []), items=True)
    return report


# ---- normalized failures ------------------------------------------------------------------------

_TMP_PATH = re.compile(
    r"(?:[A-Za-z]:)?(?:[\\/][\w.@~-]+)*?[\\/](?:pytest-of-[^\\/\s'\"]+[\\/]pytest-\d+|"
    r"tmp|temp|Temp|TEMP|var[\\/]folders|private[\\/]var[\\/]folders)(?:[\\/][^\s'\"()\[\],]*)?"
)
_HEX = re.compile(r"\b0x[0-9a-fA-F]+\b")
_NUMBER = re.compile(r"(?<![A-Za-z_])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_EXC_PREFIX = re.compile(r"^([A-Za-z_][\w.]*): ")
_EXC_NAME = re.compile(r"[A-Za-z_][\w.]*")
_E_LINE = re.compile(r"^E\s+(.*\S)", re.M)


def normalize_message(text: str) -> str:
    """A failure message with what varies between runs replaced: temp paths, addresses, numbers."""
    if "/" in text or "\\" in text:
        text = _TMP_PATH.sub("<tmp>", text)
    if "0x" in text:
        text = _HEX.sub("<addr>", text)
    return _NUMBER.sub("N", text)


def _first_line(text: str) -> str:
    if text.isprintable():  # one line (line breaks are not printable)
        return text.strip()[:MAX_MESSAGE]
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:MAX_MESSAGE]
    return ""


def _exception_and_message(f: _Failure) -> tuple[str, str]:
    """The exception's name and its message's first line, from the crash or the longrepr."""
    message = _first_line(f.message)
    if not message and f.longrepr:
        e_lines = _E_LINE.findall(f.longrepr)
        message = _first_line(e_lines[0] if e_lines else f.longrepr)
    exception = f.exception if _EXC_NAME.fullmatch(f.exception or "") else ""
    prefix = _EXC_PREFIX.match(message)
    if prefix and (not exception or prefix.group(1).rsplit(".", 1)[-1] == exception):
        exception = prefix.group(1)
        message = message[prefix.end() :]
    return exception, message


# ---- the repository side ------------------------------------------------------------------------


@dataclass
class _Tree:
    """The files of the linked commit, and the hash of its code (every file but tests and docs)."""

    sha: str
    blobs: dict[str, str]
    code_hash: str
    repo: GitRepo
    _lines: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, repo: GitRepo, sha: str) -> _Tree:
        blobs: dict[str, str] = {}
        h = hashlib.sha1()
        for e in repo.list_tree(sha):
            blobs[e.path] = e.blob
            if not is_test_file(e.path) and not _is_doc(e.path):
                h.update(f"{e.path}\0{e.blob}\n".encode("utf-8", "surrogateescape"))
        return cls(sha=sha, blobs=blobs, code_hash=h.hexdigest(), repo=repo)

    def fingerprint(self, path: str) -> str:
        """What a test's outcome depends on: its own file and the code, at this commit."""
        blob = self.blobs.get(path, "missing:" + path)
        return hashlib.sha1(
            f"{self.code_hash}:{blob}".encode("utf-8", "surrogateescape")
        ).hexdigest()[:16]

    def source_line(self, path: str, line: int | None) -> str:
        blob = self.blobs.get(path)
        if blob is None or not line or line < 1:
            return ""
        lines = self._lines.get(blob)
        if lines is None:
            try:
                data = self.repo.read_blob(blob)
            except Exception:  # an unreadable blob only costs the nicer crash frame
                data = b""
            lines = self._lines[blob] = data.decode("utf-8", "replace").splitlines()
        return lines[line - 1].strip() if line <= len(lines) else ""

    def files_under(self, path: str) -> list[str]:
        if path in self.blobs:
            return [path]
        base = path.rstrip("/") + "/" if path else ""
        return [p for p in self.blobs if p.startswith(base) and is_test_file(p)]


def _is_doc(path: str) -> bool:
    name = path.rpartition("/")[2].lower()
    return name.endswith(_DOC_SUFFIXES) and not name.startswith("requirements")


class _Locator:
    """Turns the report's paths (node ids relative to its root, absolute crash paths) into
    repository paths; paths outside the tests' root keep a short, recognizable form."""

    def __init__(self, root: str, prefix: str):
        self.windows = "\\" in root
        self.root = root.replace("\\", "/").rstrip("/") + "/"
        self.prefix = prefix
        # the checkout the tests ran in: the root minus the directory it is in the repository
        inner = prefix.rstrip("/")
        self.checkout = (
            self.root[: -len(inner) - 1]
            if inner and self.root.endswith(f"/{inner}/")
            else self.root
        )

    def file_of(self, nodeid: str) -> str:
        return self.prefix + nodeid.partition("::")[0]

    def repo_path(self, path: str) -> str:
        if self.windows:
            path = path.replace("\\", "/")
        if path.startswith(self.root):
            return self.prefix + path[len(self.root) :]
        if path.startswith(self.checkout):
            return path[len(self.checkout) :]
        if path and not path.startswith(("/", "..")) and ":" not in path[:3] and "<" not in path:
            return self.prefix + path
        for marker in ("/site-packages/", "/dist-packages/"):
            k = path.rfind(marker)
            if k >= 0:
                return path[k + 1 :]
        return path


def _module_of(path: str) -> str:
    """The dotted module a warning came from (repository, site-packages or stdlib path)."""
    for marker in ("site-packages/", "dist-packages/"):
        if path.startswith(marker):
            path = path[len(marker) :]
    stdlib = re.search(r"/lib/python\d+(?:\.\d+)?/", path)
    if stdlib:
        path = path[stdlib.end() :]
    if path.startswith("/") or not path.endswith(".py"):
        return path.rpartition("/")[2].removesuffix(".py") or path
    return display_module(path)


def _git_toplevel(start: str) -> Path | None:
    """The work tree holding `start` on this machine, if it exists and is in a git work tree."""
    try:
        p = Path(start)
        if not p.is_absolute() or not p.exists():
            return None
        for d in (p, *p.parents):
            if (d / ".git").exists():
                return d
    except OSError:
        return None
    return None


def _same_repository(top: Path, repo: GitRepo) -> bool:
    if not repo.bare and os.path.realpath(top) == os.path.realpath(repo.root):
        return True
    git = top / ".git"
    git_dir = os.path.realpath(repo.git_dir)
    if git.is_file():  # a linked work tree (`git worktree add`) or a submodule
        try:
            target = git.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            return False
        target = target.removeprefix("gitdir:").strip()
        resolved = os.path.realpath(top / target)
        return resolved == git_dir or resolved.startswith(git_dir + os.sep)
    return os.path.realpath(git) == git_dir


# ---- building a run -----------------------------------------------------------------------------


# The counts of `SuiteCountsInput` (all its fields but the suite and its target).
_SUITE_COUNTS = tuple(
    f.name for f in fields(tr.SuiteCountsInput) if f.name not in ("suite", "target")
)
_COUNTED = {
    PASSED: "passed",
    FAILED: "failed",
    ERROR: "errors",
    SKIPPED: "skipped",
    XFAILED: "xfailed",
    XPASSED: "xpassed",
}

_MARKER_ERROR = re.compile(r"'([^']+)' not found in `markers` configuration option")
_NO_MODULE = re.compile(r"(ModuleNotFoundError|ImportError): No module named '([^']+)'")
_CANNOT_IMPORT = re.compile(r"ImportError: cannot import name '([^']+)' from '([^']+)'")
_SYNTAX = re.compile(r"^E?\s*(SyntaxError|IndentationError|TabError): (.+)$", re.M)
_SYNTAX_AT = re.compile(r'File "([^"]+)", line (\d+)')


def classify_collection_error(longrepr: str) -> tuple[str, str, str]:
    """(kind, cause, one-line message) of a collection error: "marker" (the unregistered name),
    "import" (the missing module), "syntax" (file:line, as pytest printed the file) or "other"."""
    found = _MARKER_ERROR.search(longrepr)
    if found:
        return "marker", found.group(1), found.group(0)
    found = _NO_MODULE.search(longrepr)
    if found:
        return "import", found.group(2), found.group(0)
    found = _CANNOT_IMPORT.search(longrepr)
    if found:
        return "import", f"{found.group(2)}.{found.group(1)}", found.group(0)
    found = _SYNTAX.search(longrepr)
    if found:
        at = _SYNTAX_AT.findall(longrepr)
        cause = f"{at[-1][0]}:{at[-1][1]}" if at else ""
        return "syntax", cause, f"{found.group(1)}: {found.group(2).strip()}"[:MAX_MESSAGE]
    e_lines = _E_LINE.findall(longrepr)
    message = _first_line(e_lines[-1] if e_lines else longrepr) or "collection failed"
    if "ImportError while importing" in longrepr and not e_lines:
        return "import", "", message
    return "other", "", message


class _SuiteMatcher:
    def __init__(self, suites: Sequence[Suite]):
        self.suites = tuple(suites)
        self.paths = [(s.name, compile_globs(s.paths)) for s in self.suites]
        self.markers = [(s.name, frozenset(s.markers)) for s in self.suites if s.markers]
        self._by_path: dict[str, tuple[str, ...]] = {}

    def by_path(self, path: str) -> tuple[str, ...]:
        found = self._by_path.get(path)
        if found is None:
            found = self._by_path[path] = tuple(name for name, match in self.paths if match(path))
        return found

    def of(self, path: str, keywords: Iterable[str]) -> tuple[str, ...]:
        by_path = self.by_path(path)
        if not self.markers:
            return by_path
        kw = frozenset(keywords)
        extra = tuple(
            name for name, marks in self.markers if name not in by_path and not kw.isdisjoint(marks)
        )
        return by_path + extra if extra else by_path


class _Inventory:
    """The suite inventory (healthtui/rules/suites.py) of single files at the linked commit."""

    def __init__(self, config: Config, tree: _Tree):
        self.tree = tree
        self.counter = suite_rules.SuiteCounter(config.suites)
        try:
            self.engine: RuleEngine | None = RuleEngine(
                config.rules, config.suites, only=(suite_rules.ID,)
            )
        except Exception:  # the suite rule disabled or unknown: no inventory
            self.engine = None
        if self.engine is not None and not self.engine.options.tests:
            self.engine = None
        self._facts: dict[str, list] = {}

    def tests(self, path: str) -> list:
        found = self._facts.get(path)
        if found is not None:
            return found
        blob = self.tree.blobs.get(path)
        tests: list = []
        if self.engine is not None and blob is not None:
            try:
                facts = self.engine.extract("python", self.tree.repo.read_blob(blob))
            except Exception:  # an unreadable blob: nothing expected from it
                facts = {}
            tests = facts.get("tests") or []
        self._facts[path] = tests
        return tests

    def expected(self, path: str) -> dict[str, int]:
        """Tests each suite expects from one file: {suite name: count}."""
        counts = self.counter.counts(path, self.tests(path))
        return {key.split(".")[1]: n for key, n in counts.items()}

    def markers_of(self, path: str, nodeid: str) -> tuple[str, ...]:
        """The markers the inventory sees on one test (for tests that never ran)."""
        parts = nodeid.split("::")[1:]
        if not parts:
            return ()
        name = parts[-1].partition("[")[0]
        key = f"{'.'.join(parts[:-1])}::{name}" if len(parts) > 1 else name
        for entry in self.tests(path):
            if entry[0] == key:
                return tuple(entry[3])
        return ()


@dataclass
class _Built:
    run: tr.TestRunInput
    files: list[tr.TestFileInput]
    failures: list[tr.TestFailureInput]
    nodeids: set[str]
    fingerprints: dict[str, str]  # test file as node ids name it -> its fingerprint
    signatures: list[tr.SignatureInput]
    collection_errors: list[tr.CollectionErrorInput]
    warnings: list[tr.WarningInput]
    suites: list[tr.SuiteCountsInput]


class _Failures:
    """Messages, crash locations and normalized signatures of a run's failures."""

    def __init__(self, tree: _Tree, locator: _Locator):
        self.tree, self.locator = tree, locator
        self._signatures: dict[str, tr.SignatureInput] = {}
        self._frames: dict[tuple[str, int | None], str] = {}

    def frame(self, crash_path: str, line: int | None) -> str:
        """The crash frame: its file and source line (numbers stripped), so a cluster survives
        edits that move the line; the line number when the source is not in the repository."""
        key = (crash_path, line)
        found = self._frames.get(key)
        if found is None:
            source = self.tree.source_line(crash_path, line) if crash_path else ""
            if source:
                found = f"{crash_path}: {normalize_message(source)}"
            elif crash_path and crash_path not in self.tree.blobs and line is not None:
                found = f"{crash_path}:{line}"
            else:
                found = crash_path
            self._frames[key] = found
        return found

    def add(self, f: _Failure) -> tuple[str, str, str]:
        """(message, crash path, signature) of one failing test."""
        exception, first = _exception_and_message(f)
        message = f"{exception}: {first}" if exception and first else exception or first
        crash_path = self.locator.repo_path(f.path) if f.path else ""
        frame = self.frame(crash_path, f.line)
        normalized = normalize_message(first)
        key = f"{exception}\0{normalized}\0{frame}\0{f.stage}"
        signature = hashlib.sha1(key.encode("utf-8", "surrogateescape")).hexdigest()[:16]
        if signature not in self._signatures:
            self._signatures[signature] = tr.SignatureInput(
                signature=signature, exception=exception, message=normalized, crash=frame
            )
        return message[:MAX_MESSAGE], crash_path, signature

    def signatures(self) -> list[tr.SignatureInput]:
        return list(self._signatures.values())


def _noise(locator: _Locator, path: str, root_name: str) -> frozenset[str]:
    """Keywords every test of a file carries that say nothing: its directories and file name."""
    parts = set(path.split("/"))
    parts.update(locator.prefix.split("/"))
    return frozenset(parts | {root_name, "", "pytestmark"})


# What the walk keeps per test file: its entries, path, fingerprint, uninformative keywords,
# suites, the suites joined, file name, and the markers that would put a test in more suites.
_FileTests = tuple[list[tuple], str, str, frozenset[str], tuple[str, ...], str, str, frozenset[str]]


def _build(
    report: ParsedReport,
    *,
    config: Config,
    tree: _Tree,
    locator: _Locator,
    commit_id: int,
    content_hash: str,
    link_source: str,
    label: str,
) -> _Built:
    """The rows of one run. Its tests are checked and packed in one walk, each decoded test
    released as soon as it is a row (freed while still in the cache, it costs a third of
    freeing the whole tree afterwards). A test of the common shape (float durations, a setup
    stage, call and teardown present or missing) is read inline; any other goes through
    `_reduce_test_checked`, which names what is wrong."""
    matcher = _SuiteMatcher(config.suites)
    inventory = _Inventory(config, tree)
    counts = {s.name: dict.fromkeys(_SUITE_COUNTS, 0) for s in config.suites}
    root_name = locator.root.rstrip("/").rpartition("/")[2]
    prefix = locator.prefix
    failures = _Failures(tree, locator)
    failing: list[tr.TestFailureInput] = []
    files: dict[str, _FileTests] = {}
    marked: list[tuple[tuple[str, ...], tuple[str, ...], str]] = []  # suites a marker changed
    nodeids: set[str] = set()
    add = nodeids.add
    last = None
    entries: list[tuple] = []
    append = entries.append
    path = fp = base = member = ""
    noise = markers = frozenset()
    by_path: tuple[str, ...] = ()
    tests = report.tests
    for n, t in enumerate(tests):
        tests[n] = None
        f = None
        try:
            nodeid = t["nodeid"]
            outcome = t["outcome"]
            kws = t["keywords"]
            s = t["setup"]
            c = t.get("call", _NO_STAGE)
            d = t.get("teardown", _NO_STAGE)
            so = s["outcome"]
            sd = s["duration"]
            co = c["outcome"]
            cd = c["duration"]
            do = d["outcome"]
            dd = d["duration"]
            if (
                type(outcome) is not str
                or type(kws) is not list
                or type(so) is not str
                or type(co) is not str
                or type(do) is not str
                or type(sd) is not float
                or type(cd) is not float
                or type(dd) is not float
            ):
                raise TypeError
            total = trunc((sd + cd + dd) * 1e6)
            setup = trunc(sd * 1e6)
            call = trunc(cd * 1e6)
            teardown = trunc(dd * 1e6)
            file, _, name = nodeid.partition("::")
        except (KeyError, TypeError, AttributeError, ValueError, OverflowError):
            nodeid, outcome, kws, so, sd, co, cd, do, dd, f = (
                t if type(t) is _Test else _reduce_test_checked(t, n)
            )
            total = trunc((sd + cd + dd) * 1e6)
            setup = trunc(sd * 1e6)
            call = trunc(cd * 1e6)
            teardown = trunc(dd * 1e6)
            file, _, name = nodeid.partition("::")
        else:
            if outcome in _FAILING:
                if so == FAILED:
                    f = _reduce_failure(s, "setup", n)
                elif co == FAILED:
                    f = _reduce_failure(c, "call", n)
                elif do == FAILED:
                    f = _reduce_failure(d, "teardown", n)
                else:
                    f = _NO_FAILURE
        if nodeid in nodeids:
            raise _duplicate(nodeid)
        add(nodeid)
        if file != last:
            last = file
            info = files.get(file)
            if info is None:
                path = prefix + file
                suites = matcher.by_path(path)
                info = files[file] = (
                    [],
                    path,
                    tree.fingerprint(path),
                    _noise(locator, path, root_name),
                    suites,
                    " ".join(suites),
                    file.rpartition("/")[2],
                    frozenset(m for s, marks in matcher.markers if s not in suites for m in marks),
                )
            entries, path, fp, noise, by_path, member, base, markers = info
            append = entries.append
        suites, joined = by_path, member
        # pytest lists a test's keywords as: its name, its markers and classes, then its file
        # and directories; the slice keeps the middle without a per-keyword test.
        try:
            if len(kws) > 1 and kws[1] == base and nodeid.endswith(kws[0]):
                keywords = ()  # no markers or classes: the file follows the name
            else:
                try:
                    end = kws.index(base)
                except ValueError:
                    keywords = [k for k in kws if k not in noise]
                else:
                    keywords = kws[1:end] if nodeid.endswith(kws[0]) else kws[:end]
            if keywords:
                if "pytestmark" in keywords:
                    keywords = [k for k in keywords if k != "pytestmark"]
                keywords = " ".join(keywords)
                if markers and not markers.isdisjoint(kws):
                    suites = matcher.of(path, kws)
                    if suites is not by_path:
                        joined = " ".join(suites)
                        marked.append((by_path, suites, outcome))
            else:
                keywords = ""
        except TypeError:
            raise _wrong(f"tests[{n}].keywords", "a list of strings", kws) from None
        append((name, outcome, total, so, setup, co, call, do, teardown, keywords, joined))
        if f is not None:
            message, crash_path, signature = failures.add(f)
            failing.append(
                tr.TestFailureInput(
                    nodeid,
                    path,
                    outcome,
                    f.stage,
                    sd + cd + dd,
                    suites,
                    message,
                    crash_path,
                    f.line,
                    signature,
                    fp,
                )
            )
    _check_count(report)
    by_suites: dict[tuple[str, ...], list[list[tuple]]] = {}
    for entries, _, _, _, by_path, *_ in files.values():
        by_suites.setdefault(by_path, []).append(entries)
    tally: Counter[tuple[tuple[str, ...], str]] = Counter()
    for by_path, lists in by_suites.items():
        for outcome, k in Counter(map(_OUTCOME, chain.from_iterable(lists))).items():
            tally[(by_path, outcome)] += k
    for by_path, suites, outcome in marked:
        tally[(by_path, outcome)] -= 1
        tally[(suites, outcome)] += 1
    run_counts: Counter[str] = Counter()
    for (suites, outcome), k in tally.items():
        run_counts[outcome] += k
        attr = _COUNTED.get(outcome)
        if attr is not None:
            for name in suites:
                counts[name][attr] += k
    summary = report.summary
    failed = [c for c in report.collectors if c.outcome == FAILED]
    deselected = summary.get("deselected", 0)
    collected_files = {info[1] for info in files.values()}
    if _interrupted(summary, report.collectors, len(report.tests)):
        collector_ids = {c.nodeid for c in report.collectors}
        for c in report.collectors:
            for nodeid, was_deselected in c.items:
                if nodeid in collector_ids:
                    continue
                path = locator.file_of(nodeid)
                collected_files.add(path)
                if was_deselected or nodeid in nodeids:
                    continue
                marks = inventory.markers_of(path, nodeid) if matcher.markers else ()
                for name in matcher.of(path, marks):
                    counts[name]["not_run"] += 1

    errors: list[tr.CollectionErrorInput] = []
    for c in failed:
        kind, cause, message = classify_collection_error(c.longrepr)
        if kind == "syntax" and cause:
            where, _, line = cause.rpartition(":")
            cause = f"{locator.repo_path(where)}:{line}"
        errors.append(
            tr.CollectionErrorInput(nodeid=c.nodeid, kind=kind, cause=cause, message=message)
        )
        target = locator.file_of(c.nodeid) if c.nodeid else locator.prefix.rstrip("/")
        for path in tree.files_under(target):
            if path in collected_files:
                continue
            collected_files.add(path)
            for suite, n in inventory.expected(path).items():
                if suite in counts:
                    counts[suite]["expected_missing"] += n

    warnings = _warnings(report.warnings, locator)
    run = tr.TestRunInput(
        commit_id=commit_id,
        content_hash=content_hash,
        link_source=link_source,
        path=label,
        root=report.root,
        created_at=report.created,
        ingested_at=time.time(),
        duration=report.duration,
        exitcode=report.exitcode,
        passed=run_counts[PASSED],
        failed=run_counts[FAILED],
        errors=run_counts[ERROR],
        skipped=run_counts[SKIPPED],
        xfailed=run_counts[XFAILED],
        xpassed=run_counts[XPASSED],
        total=len(report.tests),
        collected=summary.get("collected", len(report.tests)),
        deselected=deselected,
        collection_errors=len(errors),
    )
    suites = [
        tr.SuiteCountsInput(suite=s.name, **counts[s.name], target=s.target) for s in config.suites
    ]
    return _Built(
        run=run,
        files=[tr.TestFileInput(file, *info[1:3], info[0]) for file, info in files.items()],
        failures=failing,
        nodeids=nodeids,
        fingerprints={file: info[2] for file, info in files.items()},
        signatures=failures.signatures(),
        collection_errors=errors,
        warnings=warnings,
        suites=suites,
    )


def _warnings(items: Sequence[_Warning], locator: _Locator) -> list[tr.WarningInput]:
    """Warnings with identical ones counted together; never-awaited coroutines and deprecations
    get the coroutine's name or the module they came from."""
    grouped: Counter[tuple[str, str, str, int | None]] = Counter()
    for w in items:
        grouped[(w.category, _first_line(w.message), locator.repo_path(w.filename), w.lineno)] += 1
    out = []
    for (category, message, path, line), count in grouped.items():
        coroutine = module = ""
        if category == "RuntimeWarning":
            found = _NEVER_AWAITED.search(message)
            coroutine = found.group(1) if found else ""
        if category in _DEPRECATIONS:
            module = _module_of(path)
        out.append(
            tr.WarningInput(
                category=category,
                message=message,
                path=path,
                line=line,
                coroutine=coroutine,
                module=module,
                count=count,
            )
        )
    return out


# ---- metrics ------------------------------------------------------------------------------------


def tests_metrics(stats: tr.CommitTestStats) -> dict[str, float]:
    """A commit's `tests` snapshot (from its newest run): counts, pass rates (raw and without
    known-flaky tests) of the run and of each suite, collection errors by kind, runtime warnings,
    failure clusters, and how many of its tests are known to be flaky."""
    run = stats.run
    kinds = Counter(c.kind for c in stats.collection_errors)
    out: dict[str, float] = {
        m.TESTS_TOTAL: run.total,
        m.TESTS_PASSED: run.passed,
        m.TESTS_FAILED: run.failed + run.errors,
        m.TESTS_SKIPPED: run.skipped,
        m.TESTS_XFAILED: run.xfailed,
        m.COLLECTION_ERRORS: len(stats.collection_errors),
        m.MARKER_ERRORS: kinds["marker"],
        m.COLLECTION_IMPORT_ERRORS: kinds["import"],
        m.COLLECTION_SYNTAX_ERRORS: kinds["syntax"],
        m.COLLECTION_OTHER_ERRORS: kinds["other"],
        m.NEVER_AWAITED: stats.never_awaited,
        m.DEPRECATION_WARNINGS: stats.deprecation_modules,
        m.FAILURE_CLUSTERS: stats.failure_signatures,
        m.FLAKY_TESTS: stats.flaky_passed + stats.flaky_failing,
    }
    denominator = run.passed + run.failed + run.errors + stats.not_run
    if denominator:
        out[m.TESTS_PASS_RATE] = run.passed / denominator
    flaky = stats.flaky_passed + stats.flaky_failing
    if denominator - flaky > 0:
        out[m.TESTS_PASS_RATE_EXCL_FLAKY] = (run.passed - stats.flaky_passed) / (
            denominator - flaky
        )
    for s in stats.suites:
        for what, value in (
            ("pass_rate", s.pass_rate),
            ("pass_rate_collected", s.pass_rate_collected),
            ("pass_rate_expected", s.pass_rate_expected),
            ("pass_rate_excl_flaky", s.pass_rate_excl_flaky),
        ):
            if value is not None:
                out[m.suite_metric(s.suite, what)] = value
        for what in m.SUITE_COUNTS:
            out[m.suite_metric(s.suite, what)] = getattr(s, what)
    return {k: float(v) for k, v in out.items()}


def _write_snapshots(session: Any, commit_ids: Iterable[int], pairs: set) -> None:
    now = time.time()
    for cid in sorted(set(commit_ids)):
        stats = tr.commit_test_stats(session, commit_id=cid, pairs=pairs)
        if stats is not None:
            store.record_snapshot(
                session, commit_id=cid, metrics=tests_metrics(stats), kind="tests", at=now
            )


# ---- ingest -------------------------------------------------------------------------------------


def _db_path(engine: Engine) -> str:
    return engine.url.database or ""


def _read(path: Path, max_bytes: int) -> bytes:
    try:
        if path.is_dir():
            raise ReportError("is a directory, not a report file")
        with path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > max_bytes:
                raise ReportError(_too_big(size, max_bytes))
            # a buffer the file's size, not the limit's (allocating 100 MiB costs more than
            # reading most reports); a file that grew, or a pipe (no size), is read on
            data = fh.read(size + 1) if size else b""
            if len(data) > size or not size:
                data += fh.read(max_bytes + 1 - len(data))
    except FileNotFoundError:
        raise ReportError("no such file") from None
    except OSError as exc:
        raise ReportError(f"cannot read: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise ReportError(_too_big(len(data), max_bytes))
    return data


def _too_big(size: int, limit: int) -> str:
    return f"too large ({size / 2**20:.1f} MiB; the limit is {limit / 2**20:g} MiB)"


def metadata_commit(environment: dict[str, Any]) -> tuple[str, str] | None:
    """(key, value) of the first commit named in the report's metadata, if any."""
    lowered = {str(k).lower(): (k, v) for k, v in environment.items()}
    for key in COMMIT_KEYS:
        found = lowered.get(key)
        if found is not None and isinstance(found[1], str) and _HEX_SHA.fullmatch(found[1]):
            return str(found[0]), found[1]
    return None


class _Context:
    """What every report of one ingest shares: the repository, config and the fixed commits."""

    def __init__(self, engine: Engine, config: Config, repo: GitRepo, commit: str | None):
        self.engine, self.config, self.repo = engine, config, repo
        self.option_sha = repo.resolve(commit) if commit else None
        self._head: str | None = None
        self._trees: dict[str, _Tree] = {}

    def head(self) -> str:
        if self._head is None:
            sha = self.repo.head_sha()
            if sha is None:
                raise ReportError(f"{self.repo.root} has no commits to link the report to")
            self._head = sha
        return self._head

    def tree(self, sha: str) -> _Tree:
        found = self._trees.get(sha)
        if found is None:
            found = self._trees[sha] = _Tree.load(self.repo, sha)
        return found

    def link(self, report: ParsedReport) -> tuple[str, str]:
        """(sha, link source) for a report."""
        if self.option_sha is not None:
            return self.option_sha, "option"
        named = metadata_commit(report.environment)
        if named is not None:
            key, value = named
            try:
                return self.repo.resolve(value), "metadata"
            except RepoError:
                raise ReportError(
                    f"from a different repository: commit {value[:12]} (metadata {key}) is not "
                    f"in {self.repo.root}"
                ) from None
        return self.head(), "head"

    def locate(self, report: ParsedReport, tree: _Tree) -> _Locator:
        """Where the report's root sits in the repository; raises if the report is not ours."""
        top = _git_toplevel(report.root)
        if top is not None and not (_same_repository(top, self.repo) or self._shares_history(top)):
            raise ReportError(
                f"from a different repository: its root {report.root} is in {top}, "
                f"not {self.repo.root}"
            )
        prefix = ""
        if top is not None:
            rel = os.path.relpath(os.path.realpath(report.root), os.path.realpath(top))
            if rel != "." and not rel.startswith(".."):
                prefix = rel.replace(os.sep, "/") + "/"
        files = _report_files(report, limit=64)
        if top is None and files:
            prefix = _guess_prefix(files, tree.blobs)
        if files and not any(prefix + f in tree.blobs for f in files):
            files = _report_files(report)
            if not any(prefix + f in tree.blobs for f in files):
                raise ReportError(
                    f"from a different repository: none of its {len(files)} test files "
                    f"(e.g. {min(files)}) is in {self.repo.root} at {tree.sha[:12]}"
                )
        return _Locator(report.root, prefix)

    def _shares_history(self, top: Path) -> bool:
        """Whether the work tree the tests ran in is another clone of this repository: its
        HEAD is a commit this repository has."""
        try:
            with GitRepo.open(top, search_parents=False) as other:
                head = other.head_sha()
            return head is not None and self.repo.resolve(head) == head
        except RepoError:
            return False


def _report_files(report: ParsedReport, limit: int | None = None) -> set[str]:
    """The test files a report names (the first `limit` of them, if given)."""
    files: set[str] = set()
    last = None
    for c in report.collectors:
        if c.nodeid.endswith(".py") or "::" in c.nodeid:
            files.add(c.nodeid.partition("::")[0])
    for t in report.tests:
        nodeid = _nodeid_of(t)
        if nodeid is None:
            continue
        name = nodeid.partition("::")[0]
        if name != last:
            last = name
            files.add(name)
            if limit is not None and len(files) >= limit:
                break
    files.discard("")
    files.discard(".")
    return files


def _guess_prefix(files: set[str], blobs: dict[str, str]) -> str:
    """The directory of the repository the tests ran in, when their root is not on this machine
    (a CI checkout, an exported tree): found by matching the report's files to the tree's."""
    if any(f in blobs for f in files):
        return ""
    votes: Counter[str] = Counter()
    sample = sorted(files)[:20]
    suffixes = {"/" + f: f for f in sample}
    for path in blobs:
        for suffix, f in suffixes.items():
            if path.endswith(suffix):
                votes[path[: len(path) - len(f)]] += 1
    return votes.most_common(1)[0][0] if votes else ""


def _record_problems(engine: Engine, errors: Sequence[tuple[Path | str, str]]) -> None:
    if not errors:
        return
    now = time.time()
    with store.translate_errors(_db_path(engine)), store.write_session(engine) as s:
        recent = {(p.subject, p.message) for p in store.recent_problems(s, limit=200)}
        for subject, reason in errors:
            if (str(subject), reason) not in recent:
                store.record_problem(
                    s, source=PROBLEM_SOURCE, subject=str(subject), message=reason, at=now
                )


def _commit_id(session: Any, repo: GitRepo, sha: str) -> int:
    """The stored commit's id; a commit not stored yet (off the branch, or before the first
    collect) is added, off the first-parent line."""
    known = commit_ids(session, shas=[sha])
    if sha in known:
        return known[sha]
    info = store.repository_info(session)
    rid = store.ensure_repository(
        session, root=str(repo.root), name=repo.name, branch=info.branch if info else None
    )
    return store.upsert_commits(session, repository_id=rid, commits=[repo.commit_info(sha)])[sha]


_gc_lock = threading.Lock()
_gc_state = {"holders": 0, "enable": False}


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a report becomes rows: they hold no cycles, and
    collecting again and again while the heap only grows costs about a third of the parse.
    Resumed once the rows are gone, so the next collection does not walk them all."""
    with _gc_lock:
        if _gc_state["holders"] == 0:
            _gc_state["enable"] = gc.isenabled()
            gc.disable()
        _gc_state["holders"] += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_state["holders"] -= 1
            if _gc_state["holders"] == 0 and _gc_state["enable"]:
                gc.enable()


class _SameRun(Exception):
    """The report is a stored run in other bytes."""


def _ingest_one(ctx: _Context, data: bytes, label: str) -> IngestedReport | None:
    """Store one report's bytes in one transaction; None when the same bytes are stored already,
    `_SameRun` when the same run is, in other bytes.
    The write lock is taken first, so a concurrent ingest of the same file waits and then sees
    it stored; readers are never blocked (WAL)."""
    content_hash = hashlib.sha256(data).hexdigest()
    with store.translate_errors(_db_path(ctx.engine)), store.write_session(ctx.engine) as s:
        if tr.has_test_run(s, content_hash=content_hash):
            return None
        report = _scan(data, stream_above=STREAM_ABOVE)
        sha, link_source = ctx.link(report)
        tree = ctx.tree(sha)
        locator = ctx.locate(report, tree)
        commit_id = _commit_id(s, ctx.repo, sha)
        built = _build(
            report,
            config=ctx.config,
            tree=tree,
            locator=locator,
            commit_id=commit_id,
            content_hash=content_hash,
            link_source=link_source,
            label=label,
        )
        same = {"created_at": report.created, "root": report.root, "duration": report.duration}
        if tr.has_same_run(s, **same):
            raise _SameRun  # rolls back what linking it added (a commit row)
        run_id = tr.record_test_run(
            s,
            run=built.run,
            files=built.files,
            failures=built.failures,
            signatures=built.signatures,
            collection_errors=built.collection_errors,
            warnings=built.warnings,
            suites=built.suites,
        )
        pairs = tr.flaky_pairs(s)
        affected = {commit_id}
        ours, fingerprints = built.nodeids, built.fingerprints
        involved = {
            n for n, fp in pairs if n in ours and fingerprints.get(n.partition("::")[0]) == fp
        }
        if involved:
            known = {n for n, _ in tr.flaky_pairs(s, nodeids=involved, exclude_run=run_id)}
            affected |= tr.commits_with_tests(s, nodeids=involved - known)
        _write_snapshots(s, affected, pairs)
    return IngestedReport(
        path=Path(label), run_id=run_id, sha=sha, link_source=link_source, tests=len(report.tests)
    )


def ingest_reports(
    engine: Engine,
    config: Config,
    paths: Iterable[Path | str],
    *,
    repo: GitRepo,
    commit: str | None = None,
    max_bytes: int = MAX_REPORT_BYTES,
) -> IngestResult:
    """Ingest pytest-json-report files: each new one becomes a run linked to a commit; files
    already stored are skipped; bad ones are reported (and recorded) without stopping the rest.
    A bad `commit` raises RepoError before anything is read."""
    ctx = _Context(engine, config, repo, commit)
    files = [(p, str(p)) for p in dict.fromkeys(Path(p) for p in paths)]
    return _ingest_files(ctx, files, max_bytes)


def _ingest_files(ctx: _Context, files: Sequence[tuple[Path, str]], max_bytes: int) -> IngestResult:
    ingested: list[IngestedReport] = []
    duplicates: list[Path] = []
    errors: list[tuple[Path | str, str]] = []
    for path, label in files:
        subject: Path | str = path if label == str(path) else label
        try:
            data = _read(path, max_bytes)
            with _gc_paused():
                done = _ingest_one(ctx, data, label)
        except _SameRun:
            done = None
        except ReportError as exc:
            errors.append((subject, str(exc)))
            continue
        except RepoError as exc:
            errors.append((subject, f"git: {exc}"))
            continue
        if done is None:
            duplicates.append(path)
        else:
            ingested.append(done)
    _record_problems(ctx.engine, errors)
    return IngestResult(tuple(ingested), tuple(duplicates), tuple(errors))


# ---- running the tests --------------------------------------------------------------------------

TEST_COMMAND = "test_command"


def run_tests(
    engine: Engine, config: Config, *, repo: GitRepo, timeout: float | None = None
) -> IngestResult:
    """Run the configured test command (an argv list, never a shell) in the work tree with
    pytest-json-report writing to a temporary file, then ingest that report (linked to HEAD)."""
    if not config.test_command:
        raise ReportError(
            'no test_command in the config (an argv list, e.g. test_command = ["pytest", "-q"])'
        )
    if repo.bare:
        raise ReportError(f"{repo.root}: a bare repository has no work tree to run the tests in")
    ctx = _Context(engine, config, repo, None)
    limit = float(timeout if timeout is not None else config.test_timeout)
    with tempfile.TemporaryDirectory(prefix="healthtui-tests-") as tmp:
        out = Path(tmp) / "report.json"
        log = Path(tmp) / "output.txt"
        argv = [*config.test_command, "--json-report", "--json-report-file", str(out)]
        error = None
        try:
            with log.open("wb") as sink:
                proc = subprocess.run(
                    argv,
                    cwd=repo.root,
                    stdin=subprocess.DEVNULL,
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                    timeout=limit,
                    check=False,
                )
        except FileNotFoundError:
            error = f"{argv[0]}: command not found"
        except PermissionError:
            error = f"{argv[0]}: not executable"
        except subprocess.TimeoutExpired:
            error = f"timed out after {limit:g}s (raise test_timeout in the config)"
        if error is None and not out.is_file():
            tail = _last_line(log)
            error = f"wrote no report (exit {proc.returncode}){': ' + tail if tail else ''}"
        if error is not None:
            _record_problems(engine, [(TEST_COMMAND, error)])
            return IngestResult(errors=((TEST_COMMAND, error),))
        return _ingest_files(ctx, [(out, TEST_COMMAND)], MAX_REPORT_BYTES)


def _last_line(log: Path) -> str:
    try:
        with log.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(fh.tell() - 4000, 0))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


__all__ = [
    "COMMIT_KEYS",
    "MAX_REPORT_BYTES",
    "IngestResult",
    "IngestedReport",
    "ParsedReport",
    "classify_collection_error",
    "ingest_reports",
    "metadata_commit",
    "normalize_message",
    "parse_report",
    "run_tests",
    "tests_metrics",
]
