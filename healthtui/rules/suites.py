"""Suite inventory: `suite.<name>.expected`, the test functions a configured suite should run,
counted statically so that tests hidden by collection errors still count as expected.

A test is what pytest collects by default in a test file (per the `python_files` of the pytest
config that applies): `test*` functions at module level and `test*` methods of `Test*` classes
(nested ones too) without `__init__` or `__test__ = False`. Each counts once per literal
parametrize case: `@pytest.mark.parametrize("x", [1, 2, 3])` is 3 tests, stacked parametrize
decorators (and parametrize in class or module `pytestmark`) multiply; a non-literal argument
list counts as one. Fixture params and inherited test methods are not expanded.

A test belongs to a suite when its file matches one of the suite's path globs, or when it carries
one of the suite's markers (by decorator, class decorator or `pytestmark`).
"""

from __future__ import annotations

from collections.abc import Callable

from healthtui.config import Suite
from healthtui.rules.paths import compile_globs

ID = "suite"
VERSION = 1


def metric(suite: str) -> str:
    return f"suite.{suite}.expected"


class SuiteCounter:
    def __init__(self, suites: tuple[Suite, ...]):
        self.suites = suites
        self._paths: list[tuple[str, Callable[[str], bool], frozenset[str]]] = [
            (s.name, compile_globs(s.paths), frozenset(s.markers)) for s in suites
        ]

    def counts(self, path: str, tests: list[list]) -> dict[str, int]:
        out: dict[str, int] = {}
        for name, in_paths, markers in self._paths:
            if in_paths(path):
                n = sum(t[2] for t in tests)
            elif markers:
                n = sum(t[2] for t in tests if markers.intersection(t[3]))
            else:
                n = 0
            if n:
                out[metric(name)] = n
        return out
