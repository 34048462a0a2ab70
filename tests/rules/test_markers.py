"""`unregistered_markers`: markers used but not registered, as pytest itself would decide."""

from __future__ import annotations

import pytest

from healthtui.config import DEFAULT_PLUGIN_MARKERS
from tests.rules.trees import engine, evaluate, found, lines

SLOW_TEST = "import pytest\n\n\n@pytest.mark.slow\ndef test_a():\n    pass\n"
PYPROJECT_SLOW = '[tool.pytest.ini_options]\nmarkers = ["slow: slow tests"]\n'


def names(ev) -> list[str]:
    return sorted({f.message.split("'")[1] for f in found(ev, "unregistered_markers")})


def test_every_way_of_using_a_marker_is_a_site():
    test = """\
import pytest
import pytest as pt
from pytest import mark
from pytest import mark as m

pytestmark = [pytest.mark.module_list, pytest.mark.skip]
pytestmark += [pytest.mark.augmented]
slow = pytest.mark.module_alias


@pytest.mark.bare
@pytest.mark.called("arg")
@mark.from_import
@m.aliased_import
@pt.mark.module_as
@pytest.mark.parametrize("x", [pytest.param(1, marks=pytest.mark.in_param)])
def test_a(x):
    pass


class TestC:
    pytestmark = (pytest.mark.class_tuple,)
    pytestmark += [pytest.mark.class_augmented]

    def test_m(self):
        pass


# @pytest.mark.in_comment
TEXT = "@pytest.mark.in_string"
"""
    ev = evaluate({"tests/test_a.py": test})
    assert names(ev) == sorted(
        [
            "module_list",
            "augmented",
            "module_alias",
            "bare",
            "called",
            "from_import",
            "aliased_import",
            "module_as",
            "in_param",
            "class_tuple",
            "class_augmented",
        ]
    )
    assert lines(ev, "unregistered_markers")[:3] == [
        ("tests/test_a.py", 6),
        ("tests/test_a.py", 7),
        ("tests/test_a.py", 8),
    ]
    assert ev.metrics["unregistered_markers"] == 11
    assert ev.metrics["unregistered_markers.sites"] == 11
    assert ev.metrics["unregistered_markers.files"] == 1


def test_builtins_and_plugin_markers_are_registered():
    test = (
        "import pytest\n\n@pytest.mark.skipif(True, reason='x')\n@pytest.mark.xfail\n"
        "@pytest.mark.usefixtures('tmp_path')\n@pytest.mark.filterwarnings('ignore')\n"
        "@pytest.mark.asyncio\n@pytest.mark.django_db\n@pytest.mark.timeout(3)\n"
        "@pytest.mark.ours\ndef test_a():\n    pass\n"
    )
    assert names(evaluate({"tests/test_a.py": test})) == ["ours"]
    ev = evaluate({"tests/test_a.py": test}, plugin_markers=(*DEFAULT_PLUGIN_MARKERS, "ours"))
    assert found(ev, "unregistered_markers") == []


def test_the_same_name_in_many_places_is_one_name_many_sites():
    test = SLOW_TEST + "\n\n@pytest.mark.slow\ndef test_b():\n    pass\n"
    ev = evaluate({"tests/test_a.py": test, "tests/test_b.py": test})
    assert ev.metrics["unregistered_markers"] == 1
    assert ev.metrics["unregistered_markers.sites"] == 4
    assert ev.metrics["unregistered_markers.files"] == 2


def test_config_markers_are_parsed_like_pytest_name_args_colon_description():
    pyproject = (
        "[tool.pytest.ini_options]\nmarkers = [\n"
        '  "slow: takes long",\n  "db(name): needs a database",\n  "plain",\n]\n'
    )
    test = (
        "import pytest\n\n@pytest.mark.slow\n@pytest.mark.db('x')\n@pytest.mark.plain\n"
        "@pytest.mark.other\ndef test_a():\n    pass\n"
    )
    ev = evaluate({"pyproject.toml": pyproject, "tests/test_a.py": test})
    assert names(ev) == ["other"]


def test_marker_registered_only_in_a_conftest_counts_below_it():
    conftest = """\
NAMES = ["looped", "described: with text"]


def pytest_configure(config):
    config.addinivalue_line("markers", "conf: registered here")
    for name in NAMES:
        config.addinivalue_line("markers", name)
    config.addinivalue_line("markers", f"{'formatted'}: x")
"""
    test = (
        "import pytest\n\n@pytest.mark.conf\n@pytest.mark.looped\n@pytest.mark.described\n"
        "def test_a():\n    pass\n"
    )
    files = {
        "tests/conftest.py": conftest,
        "tests/unit/test_a.py": test,
        "other/test_b.py": test,
    }
    ev = evaluate(files)
    assert names(ev) == ["conf", "described", "looped"]
    assert {path for path, _ in lines(ev, "unregistered_markers")} == {"other/test_b.py"}


def test_a_plugin_module_registers_for_the_whole_repository():
    plugin = (
        'def pytest_configure(config):\n    config.addinivalue_line("markers", "from_plugin: x")\n'
    )
    test = "import pytest\n\n@pytest.mark.from_plugin\ndef test_a():\n    pass\n"
    ev = evaluate({"tools/pytest_plugin.py": plugin, "tests/test_a.py": test})
    assert found(ev, "unregistered_markers") == []


def test_pytest_ini_shadows_pyproject_even_when_empty():
    files = {"pyproject.toml": PYPROJECT_SLOW, "tests/test_a.py": SLOW_TEST}
    assert found(evaluate(files), "unregistered_markers") == []
    files["pytest.ini"] = ""
    assert names(evaluate(files)) == ["slow"]
    files["pytest.ini"] = "[pytest]\nmarkers =\n    slow: from pytest.ini\n"
    assert found(evaluate(files), "unregistered_markers") == []


@pytest.mark.parametrize(
    ("files", "unregistered"),
    [
        (
            {"tox.ini": "[pytest]\naddopts = -q\n", "setup.cfg": "[tool:pytest]\nmarkers = slow\n"},
            True,
        ),
        (
            {"tox.ini": "[tox]\nenvlist = py3\n", "setup.cfg": "[tool:pytest]\nmarkers = slow\n"},
            False,
        ),
        (
            {
                "pyproject.toml": "[tool.pytest.ini_options]\n",
                "tox.ini": "[pytest]\nmarkers = slow\n",
            },
            True,
        ),
        ({".pytest.ini": "[pytest]\n", "pyproject.toml": PYPROJECT_SLOW}, True),
        ({".pytest.ini": "# nothing\n", "pyproject.toml": PYPROJECT_SLOW}, False),
        ({"setup.cfg": "[metadata]\nname = x\n"}, True),
    ],
)
def test_the_first_file_with_its_section_wins(files, unregistered):
    ev = evaluate({**files, "tests/test_a.py": SLOW_TEST})
    assert names(ev) == (["slow"] if unregistered else [])


def test_pyproject_without_a_pytest_table_lets_tox_ini_apply():
    files = {
        "pyproject.toml": '[project]\nname = "x"\n',
        "tox.ini": "[pytest]\nmarkers =\n  slow\naddopts = --strict-markers\n",
        "tests/test_a.py": SLOW_TEST,
    }
    ev = evaluate(files)
    assert found(ev, "unregistered_markers") == []
    assert ev.metrics["unregistered_markers.strict"] == 1


def test_the_new_tool_pytest_table_is_read():
    pyproject = '[tool.pytest]\nmarkers = ["slow"]\nstrict_markers = true\n'
    ev = evaluate({"pyproject.toml": pyproject, "tests/test_a.py": SLOW_TEST})
    assert found(ev, "unregistered_markers") == []
    assert ev.metrics["unregistered_markers.strict"] == 1


@pytest.mark.parametrize(
    ("config", "strict"),
    [
        ("[pytest]\naddopts = -q --strict-markers -p no:cacheprovider\n", True),
        ("[pytest]\naddopts = --strict\n", True),
        ("[pytest]\nstrict_markers = true\n", True),
        ("[pytest]\naddopts = -q\n", False),
        ("[pytest]\n# addopts = --strict-markers\n", False),
    ],
)
def test_strict_markers_detection(config, strict):
    ev = evaluate({"pytest.ini": config, "tests/test_a.py": SLOW_TEST})
    assert ev.metrics["unregistered_markers.strict"] == (1 if strict else 0)
    (f,) = found(ev, "unregistered_markers")
    assert ("fails collection" in f.message) is strict
    assert ev.metrics["unregistered_markers.failing_files"] == (1 if strict else 0)


def test_files_that_would_fail_collection_follow_python_files():
    ini = "[pytest]\naddopts = --strict-markers\npython_files = check_*.py\n"
    use = "import pytest\nX = pytest.mark.nope\n"
    files = {
        "pytest.ini": ini,
        "tests/check_a.py": use,
        "tests/test_b.py": use,
        "tests/conftest.py": use,
        "src/helpers.py": use,
    }
    ev = evaluate(files)
    assert ev.metrics["unregistered_markers.sites"] == 4
    assert ev.metrics["unregistered_markers.failing_files"] == 2  # check_a.py and conftest.py


def test_misspelled_parametrize_gets_a_hint():
    test = "import pytest\n\n@pytest.mark.parameterize('x', [1])\ndef test_a(x):\n    pass\n"
    (f,) = found(evaluate({"test_a.py": test}), "unregistered_markers")
    assert f.message == "unknown marker 'parameterize' (did you mean 'parametrize'?)"


def test_a_registration_added_later_clears_the_findings_incrementally():
    eng = engine()
    ev = eng.evaluator()
    ev.update("tests/test_a.py", eng.extract("python", SLOW_TEST.encode()))
    assert ev.result().metrics["unregistered_markers"] == 1
    ev.update("pyproject.toml", eng.extract("pytest-config", PYPROJECT_SLOW.encode()))
    second = ev.result()
    assert second.metrics["unregistered_markers"] == 0
    assert second.changed_paths == {"tests/test_a.py"}
    ev.update("pytest.ini", eng.extract("pytest-config", b""))
    assert ev.result().metrics["unregistered_markers"] == 1


def test_a_marker_spelled_with_non_ascii_letters_inside_a_def_is_a_use():
    """Python reads `ｍａｒｋ` as `mark` (NFKC): a def is looked into even with no `mark` in it."""
    src = "import pytest\n\ndef helper():\n    with pytest.ｍａｒｋ.slow:\n        pass\n# mark\n"
    assert lines(evaluate({"tests/test_a.py": src}), "unregistered_markers") == [
        ("tests/test_a.py", 4)
    ]
