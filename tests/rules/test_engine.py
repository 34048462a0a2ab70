"""`RuleEngine`: which rules run (`rules.disable`, `only`), which files they read, the cache key."""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap

import pytest

from healthtui.config import RegexRule
from healthtui.errors import ConfigError
from tests.rules.trees import engine, evaluate, todo_rule

TREE = {
    "app/ws.py": "def get_manager():\n    pass\n",
    "app/h.py": (
        "from app.ws import get_manager\nimport app.legacy  # TODO\n\n"
        "async def h():\n    await get_manager()\n"
    ),
    "app/broken.py": "def f(:\n",
}


def rules_with_findings(ev) -> set[str]:
    return {f.rule for fs in ev.findings.values() for f in fs}


def test_disabled_rules_give_no_findings_and_no_metrics():
    on = evaluate(TREE, deprecated_modules=("app.legacy",), regex=(todo_rule(),))
    assert rules_with_findings(on) == {
        "await_misuse",
        "deprecated_imports",
        "todo",
        "unparseable_files",
    }
    off = evaluate(
        TREE,
        deprecated_modules=("app.legacy",),
        regex=(todo_rule(),),
        disable=("await_misuse", "todo", "unparseable_files"),
    )
    assert rules_with_findings(off) == {"deprecated_imports"}
    assert "await_misuse" not in off.metrics and "todo" not in off.metrics
    assert off.metrics["deprecated_imports"] == 1


def test_aliases_and_unknown_ids():
    assert "suite" not in engine(disable=("suites",)).enabled
    assert "unregistered_markers" not in engine(disable=("markers",)).enabled
    with pytest.raises(ConfigError, match=r"rules\.disable: unknown rule id: nope"):
        engine(disable=("nope",))
    with pytest.raises(ConfigError, match=r"^unknown rule id: todo "):
        engine(only=["todo"])
    assert engine(only=["todo"], regex=(todo_rule(),)).rule_ids == ("todo",)


def test_only_runs_exactly_the_named_rules_even_disabled_ones():
    eng = engine(only=["markers", "todo"], disable=("todo",), regex=(todo_rule(),))
    assert eng.rule_ids == ("unregistered_markers", "todo")


def test_only_regex_rules_never_parse_python():
    eng = engine(regex=(todo_rule(),), only=["todo"])
    facts = eng.extract("python", b"def f(:\n# TODO\n")
    assert facts == {"status": "ok", "rx": {"todo": [[2, 1, "# TODO"]]}}
    assert eng.kind("docs/readme.md") is None
    assert eng.kind("pyproject.toml") is None


def test_which_files_are_read():
    eng = engine(regex=(RegexRule(id="md", pattern="x", include=("docs/**",)),))
    assert eng.kind("app/m.py") == "python"
    assert eng.kind("docs/guide.md") == "text"
    assert eng.kind("notes.md") is None
    assert eng.kind("pytest.ini") == "pytest-config"
    assert eng.kind("sub/setup.cfg") == "pytest-config"
    for ignored in (".venv/lib/m.py", "a/node_modules/m.py", "build/m.py", "x.egg-info/m.py"):
        assert eng.kind(ignored) is None
    assert eng.kind("src/build/m.py") == "python"  # build/ is only skipped at the root


def test_the_key_follows_config_and_survives_pickling():
    base = engine(known_sync=("a",))
    assert engine(known_sync=("a",)).key == base.key
    assert engine(known_sync=("b",)).key != base.key
    assert engine(known_sync=("a",), disable=("suite",)).key != base.key
    clone = pickle.loads(pickle.dumps(base))
    assert clone.key == base.key and clone.rule_ids == base.rule_ids


def test_extract_never_raises_and_skips_files_over_the_cap():
    eng = engine(max_file_size=10)
    assert eng.extract("python", b"x = 1\n" * 10) == {"status": "skipped"}
    assert eng.extract("pytest-config", b"\xff\xfe[pytest\x00") == {"status": "ok"}


def test_a_regex_only_engine_never_loads_the_ast_rules():
    """`scan`/`backfill` with only regex rules skip importing the rule modules (startup time)."""
    code = textwrap.dedent(
        """
        import sys
        from healthtui.config import RegexRule, RulesConfig
        from healthtui.rules.engine import BUILTIN_RULES, RuleEngine

        todo = RegexRule(id="todo", pattern=r"#\\s*TODO")
        eng = RuleEngine(RulesConfig(regex=(todo,), disable=tuple(BUILTIN_RULES)))
        ev = eng.evaluator()
        for path in ("a.py", "pytest.ini", "b/c.py"):
            kind = eng.kind(path)
            ev.update(path, eng.extract(kind, b"x = 1  # TODO\\n") if kind else {"status": "ok"})
        ev.add_plain(["d.py", "setup.cfg"])
        result = ev.result()
        assert eng.key
        print(sorted(result.findings), result.metrics["todo"])
        rules = {"async_callback", "await_misuse", "deprecated_imports", "duplicate_classes",
                 "fallback", "markers", "pyfacts", "resolution", "suites"}
        print(sorted(m for m in rules if "healthtui.rules." + m in sys.modules))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.splitlines() == ["['a.py', 'b/c.py'] 2.0", "[]"]
    assert engine(regex=(todo_rule(),)).options.regex  # the full engine's options still load


def test_the_engines_rule_ids_and_versions_are_the_rule_modules():
    import importlib

    from healthtui.rules import engine as rules_engine
    from healthtui.rules import fallback

    for rid, name in rules_engine.BUILTIN_RULES.items():
        module = (
            fallback
            if rid == "unparseable_files"
            else importlib.import_module(f"healthtui.rules.{name}")
        )
        assert (rid, rules_engine.builtin_version(rid)) == (module.ID, module.VERSION)
