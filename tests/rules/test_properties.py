"""Properties of the rules on open-ended input: arbitrary bytes and paths never raise, facts are
JSON, the incremental evaluator agrees with a fresh one, the regex prefilter changes nothing."""

from __future__ import annotations

import json
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from healthtui.config import RegexRule, Suite
from healthtui.rules.regex import CompiledRegex, regex_hits
from tests.rules.trees import engine, todo_rule

ENGINE = engine(
    deprecated_modules=("app.legacy", "app.legacy.sub"),
    known_sync=("get_manager",),
    ssot_classes=("Manager",),
    regex=(todo_rule(), RegexRule(id="anchored", pattern=r"^\s*print\(", include=("**",))),
    suites=[Suite("golden", paths=("tests/**",), markers=("golden",))],
    max_file_size=4000,
)
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

FRAGMENTS = [
    "import app.legacy",
    "from app import legacy as l, ws",
    "from . import legacy",
    "from ..legacy import (",
    "    a,",
    ")",
    "import pytest",
    "from pytest import mark as m",
    "pytestmark = [pytest.mark.slow]",
    "pytestmark += m.golden",
    "@pytest.mark.parametrize('x', [1, 2])",
    "@m.golden",
    "@atexit.register",
    "def test_a(x):",
    "async def get_manager():",
    "def get_manager() -> Awaitable[int]:",
    "class Manager(Base):",
    "class TestThing:",
    "    await get_manager()",
    "    await self.get_manager()",
    "    await super().close()",
    "    return lambda: get_manager()",
    "    atexit.register(get_manager)",
    "    config.addinivalue_line('markers', 'slow: x')",
    "warnings.warn('x', DeprecationWarning)",
    "    pass",
    "print 'py2'",
    "<<<<<<< HEAD",
    "=======",
    ">>>>>>> branch",
    "x = '''unterminated",
    "# TODO: comment",
    's = "# TODO in a string"',
    "\tmatch x:",
    "\t    case [a, *rest]:",
    "try:",
    "except* ValueError as e:",
    "with (a as b, c):",
]

python_sources = st.lists(
    st.tuples(st.sampled_from(FRAGMENTS), st.integers(0, 2)), max_size=25
).map(lambda items: "\n".join("    " * depth + line for line, depth in items))

line_endings = st.sampled_from(["\n", "\r\n", "\r"])


def _json_roundtrip(facts) -> None:
    assert json.loads(json.dumps(facts)) == facts


@SETTINGS
@given(data=st.binary(max_size=5000), kind=st.sampled_from(["python", "pytest-config", "text"]))
def test_arbitrary_bytes_never_raise_and_give_json_facts(data, kind):
    facts = ENGINE.extract(kind, data)
    assert facts["status"] in ("ok", "fallback", "skipped")
    _json_roundtrip(facts)


@SETTINGS
@given(source=python_sources, newline=line_endings, prefix=st.sampled_from([b"", b"\xef\xbb\xbf"]))
def test_python_like_sources_never_raise(source, newline, prefix):
    data = prefix + source.replace("\n", newline).encode("utf-8")
    facts = ENGINE.extract("python", data)
    assert facts["status"] in ("ok", "fallback", "skipped")
    _json_roundtrip(facts)
    ev = ENGINE.evaluator()
    ev.update("tests/test_x.py", facts)
    ev.update("app/m.py", facts)
    result = ev.result()
    for findings in result.findings.values():
        for f in findings:
            assert f.line >= 1 and f.col >= 1


paths = st.lists(
    st.sampled_from(["app", "tests", "src", ".venv", "build", "a b", "é", "x.egg-info", ".."]),
    min_size=0,
    max_size=3,
).flatmap(
    lambda dirs: st.sampled_from(
        ["conftest.py", "test_a.py", "m.py", "pytest.ini", "pyproject.toml", "notes.txt", "x"]
    ).map(lambda name: "/".join([*dirs, name]))
)


@SETTINGS
@given(items=st.lists(st.tuples(paths, st.binary(max_size=300)), max_size=12))
def test_arbitrary_paths_and_contents_never_raise(items):
    ev = ENGINE.evaluator()
    for path, data in items:
        kind = ENGINE.kind(path)
        if kind is not None:
            ev.update(path, ENGINE.extract(kind, data))
    ev.result()


SMALL_TREE = {
    "app/__init__.py": ["", "from .ws import get_manager\n"],
    "app/ws.py": ["def get_manager():\n    pass\n", "async def get_manager():\n    pass\n"],
    "app/h.py": [
        "from app.ws import get_manager\n\nasync def h():\n    await get_manager()\n",
        "from app import get_manager\nimport app.legacy\n\nclass Manager:\n    pass\n",
        "def broken(:\n    await get_manager()\n",
    ],
    "app/m2.py": [
        "class Manager:\n    pass\n",
        "import atexit\nfrom app.ws import get_manager\natexit.register(get_manager)\n",
    ],
    "tests/conftest.py": [
        "",
        "def pytest_configure(config):\n    config.addinivalue_line('markers', 'slow')\n",
    ],
    "tests/test_a.py": [
        "import pytest\n\n@pytest.mark.slow\ndef test_a():\n    pass\n",
        "import pytest\n\n@pytest.mark.golden\n@pytest.mark.parametrize('x', [1, 2])\n"
        "def test_b(x):\n    pass\n",
    ],
    "pytest.ini": ["[pytest]\naddopts = --strict-markers\n", "[pytest]\nmarkers = slow\n", ""],
    "pyproject.toml": ['[tool.pytest.ini_options]\nmarkers = ["golden"]\n'],
    "notes.txt": ["# TODO one\n", "nothing\n", "# TODO a\n# TODO b\n"],
    "lib/a.py": ["class Pair:\n    pass\n", "class Manager:\n    pass\n"],
    "lib/b.py": ["class Pair:\n    pass\n"],
    "lib/c.py": ["class Pair:\n    pass\n\nclass Manager:\n    pass\n"],
}

steps = st.lists(
    st.sampled_from(sorted(SMALL_TREE)).flatmap(
        lambda path: st.tuples(
            st.just(path), st.integers(-1, len(SMALL_TREE[path]) - 1), st.booleans()
        )
    ),
    max_size=20,
)


REGEX_ONLY = engine(regex=(todo_rule(include=("**",)),), only=["todo"])


@SETTINGS
@given(steps=steps, rules=st.sampled_from([ENGINE, REGEX_ONLY]))
def test_incremental_evaluation_equals_a_fresh_one(steps, rules):
    facts = {
        path: [rules.extract(rules.kind(path) or "text", v.encode()) for v in versions]
        for path, versions in SMALL_TREE.items()
    }
    live = rules.evaluator()
    tree: dict[str, int] = {}
    for path, version, look in steps:
        if version < 0:
            tree.pop(path, None)
            live.update(path, None)
        else:
            tree[path] = version
            live.update(path, facts[path][version])
        if look:
            live.result()  # results in between must not disturb what follows
    fresh = rules.evaluator()
    for path, version in tree.items():
        fresh.update(path, facts[path][version])
    want, got = fresh.result(), live.result()
    assert got.metrics == want.metrics
    assert got.findings == want.findings
    assert sorted(got.warnings) == sorted(want.warnings)


PATTERNS = [r"ab", r"a\s*b", r"^a", r"b$", r"a|bb", r"(ab)+c", r"a.b", r"\bab\b", r"(?i)AB"]


@SETTINGS
@given(
    text=st.text(alphabet="ab c\n\r\t#é", max_size=200),
    pattern=st.sampled_from(PATTERNS),
)
def test_regex_hits_match_a_naive_grep_c(text, pattern):
    data = text.encode("utf-8")
    rule = CompiledRegex("r", pattern)
    got = regex_hits(data, (rule,)).get("r", [])
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    want = [i for i, line in enumerate(lines, 1) if re.search(pattern, line)]
    assert [h[0] for h in got] == want
