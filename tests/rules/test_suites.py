"""Suite inventory: tests per configured suite, counted statically (collection errors included)."""

from __future__ import annotations

import pytest

from healthtui.config import Suite
from tests.rules.trees import evaluate

GOLDEN = Suite("golden_path", paths=("tests/golden/**",), markers=("golden_path",))
SMOKE = Suite("smoke", markers=("smoke",))

PARAMETRIZED = """\
import pytest

CASES = [1, 2]


@pytest.mark.parametrize("x", [1, 2, 3])
@pytest.mark.parametrize("y", ["a", "b"])
def test_matrix(x, y):
    pass


@pytest.mark.parametrize("x", CASES)
def test_not_literal(x):
    pass


@pytest.mark.parametrize("x", [*CASES, 3])
def test_starred(x):
    pass


@pytest.mark.parametrize(argnames="x", argvalues=[pytest.param(1), pytest.param(2)])
def test_keywords(x):
    pass


def test_plain():
    pass


async def test_async():
    pass


def helper():
    pass


class TestGroup:
    pytestmark = pytest.mark.parametrize("z", [1, 2])

    def test_in_class(self, z):
        pass

    class TestInner:
        def test_nested(self, z):
            pass


class TestWithInit:
    def __init__(self):
        pass

    def test_never_collected(self):
        pass


class TestOptedOut:
    __test__ = False

    def test_never_collected(self):
        pass


class NotATestClass:
    def test_never_collected(self):
        pass
"""


def expected(ev, suite: str = "golden_path") -> float:
    return ev.metrics[f"suite.{suite}.expected"]


def test_parametrize_cases_multiply_and_only_collected_tests_count():
    ev = evaluate({"tests/golden/test_flows.py": PARAMETRIZED}, suites=[GOLDEN])
    # matrix 6, non-literal 1, starred 1, keywords 2, plain 1, async 1, class 2, nested class 2:
    # the outer class's parametrize applies to the nested one too (pytest collects 17: it
    # expands `[*CASES, 3]`, which a static count leaves as one)
    assert expected(ev) == 16


def test_files_outside_python_files_patterns_do_not_count():
    files = {
        "tests/golden/helpers.py": "def test_looks_like_a_test():\n    pass\n",
        "tests/golden/flows_test.py": "def test_a():\n    pass\n",
        "tests/golden/check_b.py": "def test_b():\n    pass\n",
    }
    assert expected(evaluate(files, suites=[GOLDEN])) == 1
    files["pytest.ini"] = "[pytest]\npython_files = check_*.py\n"
    assert expected(evaluate(files, suites=[GOLDEN])) == 1
    files["pytest.ini"] = "[pytest]\npython_files = check_*.py *_test.py\n"
    assert expected(evaluate(files, suites=[GOLDEN])) == 2


def test_markers_put_tests_in_a_suite_by_decorator_class_and_module_mark():
    unit = """\
import pytest

pytestmark = pytest.mark.smoke


@pytest.mark.golden_path
def test_decorated():
    pass


def test_other():
    pass


@pytest.mark.golden_path
class TestFlows:
    def test_a(self):
        pass


class TestMarked:
    pytestmark = [pytest.mark.golden_path]

    @pytest.mark.parametrize("n", [1, 2])
    def test_b(self, n):
        pass
"""
    ev = evaluate({"tests/unit/test_unit.py": unit}, suites=[GOLDEN, SMOKE])
    assert expected(ev) == 4
    assert expected(ev, "smoke") == 5


def test_tests_hidden_by_a_collection_error_still_count():
    broken = """\
import pytest


def test_one():
    pass


def test_two(:
    pass


class TestThree:
    pytestmark = pytest.mark.golden_path

    def test_four(self):
        pass
"""
    ev = evaluate(
        {"tests/golden/test_broken.py": broken, "tests/unit/test_u.py": broken},
        suites=[GOLDEN],
    )
    assert ev.metrics["unparseable_files"] == 2
    assert expected(ev) == 3 + 1  # the whole golden file, plus the marked class elsewhere


def test_no_suites_no_inventory_and_empty_suites_report_zero():
    assert not any(k.startswith("suite.") for k in evaluate({"test_a.py": PARAMETRIZED}).metrics)
    ev = evaluate({"tests/unit/test_a.py": "def test_a():\n    pass\n"}, suites=[GOLDEN])
    assert expected(ev) == 0


@pytest.mark.parametrize(
    "path",
    [
        *("test_a.py", "a/test_.py", "a_test.py", "x/_test.py", "test.py", "testa.py"),
        *("a/test_a.pyc", "Test_a.py", "a_Test.py", "test_a.py/b.py", "atest_b.py", "_test.py"),
    ],
)
def test_default_test_files_are_told_as_fnmatch_tells_them(path):
    import fnmatch

    from healthtui.rules.paths import DEFAULT_TEST_FILES, is_test_file

    name = path.rpartition("/")[2]
    want = path.endswith(".py") and any(fnmatch.fnmatchcase(name, p) for p in DEFAULT_TEST_FILES)
    assert is_test_file(path) == is_test_file(path, list(DEFAULT_TEST_FILES)) == want
