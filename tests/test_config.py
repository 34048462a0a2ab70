"""Config: defaults with no file, both file forms, and errors that name the file, key and problem."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from healthtui.config import (
    DEFAULT_SYNC_REGISTRARS,
    Config,
    Limit,
    RegexRule,
    RulesConfig,
    Suite,
    load_config,
)
from healthtui.errors import ConfigError


def test_no_config_gives_builtin_defaults(tmp_path: Path):
    cfg = load_config(tmp_path)
    assert cfg.source is None
    assert cfg.rules.sync_registrars == DEFAULT_SYNC_REGISTRARS
    assert cfg.suite("golden_path").target == 0.9
    assert cfg.target_for("await_misuse") == 0
    assert cfg.target_for("suite.golden_path.pass_rate") == 0.9


def test_healthtui_toml_wins_over_pyproject(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text('[tool.healthtui]\nbranch = "py"\n')
    (tmp_path / "healthtui.toml").write_text('branch = "toml"\n')
    assert load_config(tmp_path).branch == "toml"
    (tmp_path / "healthtui.toml").unlink()
    assert load_config(tmp_path).branch == "py"


def test_full_config_is_read(tmp_path: Path):
    (tmp_path / "healthtui.toml").write_text(
        """
branch = "develop"
reports = ["reports/*.json"]
test_command = ["pytest", "tests/integration"]

[rules]
deprecated_modules = ["app.websocket_core"]
known_sync = ["get_websocket_manager"]
ssot_classes = ["WebSocketManager"]
plugin_markers = ["my_plugin"]

[[rules.regex]]
id = "print_calls"
pattern = "\\\\bprint\\\\("
exclude = ["tests/**"]

[suites.golden_path]
paths = ["tests/golden/**"]
target = 95

[targets]
deprecated_imports = 10

[limits]
await_misuse = { max = 0 }
"suite.golden_path.pass_rate" = { min = 0.9 }
"""
    )
    cfg = load_config(tmp_path)
    assert cfg.branch == "develop"
    assert cfg.test_command == ("pytest", "tests/integration")
    assert cfg.rules.deprecated_modules == ("app.websocket_core",)
    assert "my_plugin" in cfg.rules.plugin_markers and "asyncio" in cfg.rules.plugin_markers
    assert cfg.rules.regex[0].id == "print_calls" and cfg.rules.regex[0].exclude == ("tests/**",)
    assert cfg.suite("golden_path").target == 0.95
    assert cfg.target_for("deprecated_imports") == 10
    assert {(lim.metric, lim.max, lim.min) for lim in cfg.limits} == {
        ("await_misuse", 0, None),
        ("suite.golden_path.pass_rate", None, 0.9),
    }
    assert cfg.rules.key() != load_config(tmp_path / "nowhere").rules.key()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('brnach = "main"', r"healthtui.toml: brnach: unknown key"),
        ("[rules]\nknown_sync = 3", r"rules.known_sync: expected a list of strings, got a number"),
        (
            '[[rules.regex]]\nid = "x"\npattern = "a("',
            r"rules.regex\[0\].pattern: bad regular expression 'a\('",
        ),
        ('[[rules.regex]]\nid = "await_misuse"\npattern = "a"', r"already used by another rule"),
        ('test_command = "pytest -x"', r"test_command: expected a list of arguments"),
        ("[suites.gp]\ntarget = 0.5", r"suites.gp: a suite needs `paths` and/or `markers`"),
        ('[suites.gp]\npaths = ["a"]\ntarget = 150', r"suites.gp.target: expected a pass rate"),
        ("[limits]\nawait_misuse = {}", r"limits.await_misuse: give max = N"),
        ("branch = ", r"healthtui.toml: not valid TOML"),
        (
            "[targets]\nawait_misuse = nan",
            r"targets.await_misuse: expected a finite number, got nan",
        ),
        ("[limits.await_misuse]\nmax = inf", r"limits.await_misuse.max: expected a finite number"),
        ("[limits.await_misuse]\nmax = 1\nmin = 5", r"limits.await_misuse: min 5 is above max 1"),
        ("reports = [1, 2]", r"reports: expected a list of strings, got a list holding a number"),
        (
            '[[rules.regex]]\nid = "x"\npattern = "a*"',
            r"rules.regex\[0\].pattern: 'a\*' matches the empty string, so every line",
        ),
        (
            "[targets]\nawait_misus = 0",
            r"targets.await_misus: no such metric \(did you mean 'await_misuse'\?\)",
        ),
        (
            '[[rules.regex]]\nid = "todo_comments"\npattern = "TODO"\n'
            '[limits."todo_coments.files"]\nmax = 3',
            r"limits.todo_coments.files: no such metric \(did you mean 'todo_comments.files'\?\)",
        ),
        ("[targets]\nzzz = 1", r"targets.zzz: no such metric \(known: async_callback, "),
        (
            '[limits."suite.golden_paht.pass_rate"]\nmin = 0.9',
            r"limits.suite.golden_paht.pass_rate: no suite 'golden_paht' \(suites: golden_path\)",
        ),
    ],
)
def test_mistakes_name_file_key_and_problem(tmp_path: Path, body: str, message: str):
    (tmp_path / "healthtui.toml").write_text(body + "\n")
    with pytest.raises(ConfigError, match=message):
        load_config(tmp_path)


def test_targets_and_limits_take_every_kind_of_metric(tmp_path: Path):
    (tmp_path / "healthtui.toml").write_text(
        '[[rules.regex]]\nid = "todo"\npattern = "TODO"\n[suites.smoke]\npaths = ["t/**"]\n'
        '[targets]\n"todo.files" = 0\n"suite.smoke.pass_rate" = 1\n"tests.pass_rate" = 1\n'
        'skipped_files = 0\n"unregistered_markers.failing_files" = 0\n'
        '[limits]\n"collection_errors.import" = { max = 0 }\nflaky_tests = { max = 2 }\n'
    )
    cfg = load_config(tmp_path)
    assert cfg.targets["suite.smoke.pass_rate"] == 1
    assert [lim.metric for lim in cfg.limits] == ["collection_errors.import", "flaky_tests"]


def test_explicit_missing_config_file_is_an_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path, tmp_path / "nope.toml")


@pytest.mark.parametrize("name", ["healthtui.toml", "pyproject.toml"])
def test_a_config_file_that_is_not_utf8_is_a_config_error(tmp_path: Path, name: str):
    (tmp_path / name).write_bytes(b'[tool.healthtui]\nbranch = "caf\xe9"\n')
    with pytest.raises(ConfigError, match=rf"{name}: not valid TOML: not UTF-8 \(byte 31\)"):
        load_config(tmp_path)


def test_a_utf8_bom_is_read_past(tmp_path: Path):
    (tmp_path / "healthtui.toml").write_bytes(b'\xef\xbb\xbfbranch = "trunk"\n')
    assert load_config(tmp_path).branch == "trunk"


def test_an_explicit_pyproject_without_the_table_is_an_error(tmp_path: Path):
    for text in ('[project]\nname = "x"\n', "tool = 3\n"):
        (tmp_path / "pyproject.toml").write_text(text)
        with pytest.raises(ConfigError, match=r"pyproject.toml: no \[tool.healthtui\] table"):
            load_config(None, tmp_path / "pyproject.toml")
    (tmp_path / "pyproject.toml").write_text("[tool]\nhealthtui = 3\n")
    with pytest.raises(ConfigError) as info:
        load_config(None, tmp_path / "pyproject.toml")
    assert (
        str(info.value)
        == f"{tmp_path}/pyproject.toml [tool.healthtui]: expected a table, got a number"
    )


def test_config_records_behave_as_frozen_dataclasses():
    rule = RegexRule(id="todo", pattern="TODO")
    same = dataclasses.replace(rule)
    assert rule == same and hash(rule) == hash(same) and rule is not same
    assert rule != dataclasses.replace(rule, message="m") and rule != ("todo", "TODO")
    assert repr(rule) == (
        "RegexRule(id='todo', pattern='TODO', include=('**/*.py',), exclude=(), message='')"
    )
    rules = RulesConfig(regex=(rule,), disable=("suite",))
    assert dataclasses.asdict(rules)["regex"] == (dataclasses.asdict(rule),)
    assert rules == RulesConfig(regex=(same,), disable=("suite",)) != RulesConfig()
    assert {Suite("a", ("x",)), Suite("a", ("x",)), Limit("m", max=1.0)} == {
        Suite("a", ("x",)),
        Limit("m", max=1.0),
    }
    assert Config() == Config() and Config(branch="x") != Config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        rule.pattern = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del rules.regex  # type: ignore[misc]
    with pytest.raises(TypeError):
        hash(Config())  # its targets are a dict, as with a generated __hash__
