"""Files that do not parse are read line by line; odd bytes and huge files never raise."""

from __future__ import annotations

from healthtui.config import Suite
from tests.rules.trees import engine, evaluate, found, lines

WS = {"app/__init__.py": "", "app/ws.py": "def get_manager():\n    return 1\n"}
RULES = {
    "deprecated_modules": ("app.legacy",),
    "known_sync": ("get_manager",),
    "ssot_classes": ("Manager",),
}

PY2 = """\
import app.legacy
from app.ws import get_manager
print "hello"


async def handle():
    await get_manager()
    # await get_manager()
    text = "await get_manager() and import app.legacy"
"""

CONFLICT = """\
from app.ws import get_manager
<<<<<<< HEAD
import app.legacy
=======
from app import legacy
>>>>>>> feature


class Manager:
    async def run(self):
        await get_manager()
"""

BROKEN_TEST = """\
import pytest
from pytest import mark as m


@pytest.mark.registered_nowhere
@m.aliased
def test_one(:
    pass


def pytest_configure(config):
    config.addinivalue_line("markers", "fine: registered")


@pytest.mark.fine
def test_two():
    pass
"""


def test_python2_and_conflict_markers_fall_back_and_are_counted():
    ev = evaluate({**WS, "app/py2.py": PY2, "app/conflict.py": CONFLICT}, **RULES)
    assert ev.metrics["unparseable_files"] == 2
    assert lines(ev, "unparseable_files") == [("app/conflict.py", 2), ("app/py2.py", 3)]
    py2 = found(ev, "unparseable_files")[1]
    assert py2.text == 'print "hello"'
    assert py2.message.startswith("syntax error: Missing parentheses")
    assert py2.message.endswith("(read line by line)")
    assert lines(ev, "await_misuse") == [("app/conflict.py", 11), ("app/py2.py", 7)]
    assert {f.detail for f in found(ev, "await_misuse")} == {"resolved"}
    # both sides of a conflict are read; comments and strings never count
    assert lines(ev, "deprecated_imports") == [
        ("app/conflict.py", 3),
        ("app/conflict.py", 5),
        ("app/py2.py", 1),
    ]


def test_fallback_classes_markers_registrations_and_tests():
    files = {
        **WS,
        "app/conflict.py": CONFLICT,
        "app/manager.py": "class Manager:\n    pass\n",
        "tests/test_broken.py": BROKEN_TEST,
    }
    suite = Suite("all", paths=("tests/**",))
    ev = evaluate(files, suites=[suite], **RULES)
    assert lines(ev, "duplicate_classes") == [("app/conflict.py", 9), ("app/manager.py", 1)]
    assert sorted(f.message for f in found(ev, "unregistered_markers")) == [
        "unregistered marker 'aliased'",
        "unregistered marker 'registered_nowhere'",
    ]
    assert ev.metrics["suite.all.expected"] == 2


def test_multi_line_imports_in_a_broken_file_count_once():
    text = "from app.legacy import (\n    a,\n    b,\n)\nimport app.legacy as x, os\ndef f(:\n"
    ev = evaluate({"app/m.py": text}, **RULES)
    assert lines(ev, "deprecated_imports") == [("app/m.py", 1), ("app/m.py", 5)]
    assert found(ev, "deprecated_imports")[0].text == "from app.legacy import ( a, b, )"


def test_odd_bytes_never_raise_and_still_give_facts():
    files = {
        **WS,
        "app/bom.py": b"\xef\xbb\xbfimport app.legacy\n",
        "app/crlf.py": b"import app.legacy\r\nfrom app.ws import get_manager\r\n"
        b"async def f():\r\n    await get_manager()\r\n",
        "app/lone_cr.py": b"import os\rimport app.legacy\r",
        "app/latin1.py": "# -*- coding: latin-1 -*-\nimport app.legacy\nS = 'café'\n".encode(
            "latin-1"
        ),
        "app/bad_utf8.py": b"import app.legacy\nS = '\xff\xfe'\n",
        "app/nul.py": b"import app.legacy\x00\nx = 1\n",
        "app/bad_cookie.py": b"# coding: no-such-codec\nimport app.legacy\n",
        "app/empty.py": b"",
    }
    ev = evaluate(files, **RULES)
    assert lines(ev, "deprecated_imports") == [
        ("app/bad_cookie.py", 2),
        ("app/bad_utf8.py", 1),
        ("app/bom.py", 1),
        ("app/crlf.py", 1),
        ("app/latin1.py", 2),
        ("app/lone_cr.py", 2),
        ("app/nul.py", 1),
    ]
    assert lines(ev, "await_misuse") == [("app/crlf.py", 4)]
    assert sorted(p for p, _ in lines(ev, "unparseable_files")) == [
        "app/bad_cookie.py",
        "app/bad_utf8.py",
        "app/nul.py",
    ]


def test_files_over_the_size_cap_are_skipped_without_findings():
    big = b"import app.legacy\n" + b"x = 1\n" * 100
    eng = engine(max_file_size=200, **RULES)
    ev = eng.evaluator()
    ev.update("app/big.py", eng.extract("python", big))
    ev.update("app/small.py", eng.extract("python", b"import app.legacy\n"))
    result = ev.result()
    assert result.metrics["skipped_files"] == 1
    assert lines(result, "deprecated_imports") == [("app/small.py", 1)]


def test_deeply_nested_code_falls_back_instead_of_crashing():
    deep = "x = " + "(" * 5000 + "1" + ")" * 5000 + "\nimport app.legacy\n"
    ev = evaluate({"app/deep.py": deep}, **RULES)
    assert ev.metrics["unparseable_files"] == 1
    assert lines(ev, "deprecated_imports") == [("app/deep.py", 2)]


def test_fixing_the_file_clears_the_unparseable_finding():
    eng = engine(**RULES)
    ev = eng.evaluator()
    ev.update("app/m.py", eng.extract("python", b"def f(:\n"))
    assert ev.result().metrics["unparseable_files"] == 1
    ev.update("app/m.py", eng.extract("python", b"def f():\n    pass\n"))
    second = ev.result()
    assert second.metrics["unparseable_files"] == 0
    assert second.findings == {}
