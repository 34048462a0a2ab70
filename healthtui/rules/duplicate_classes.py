"""`duplicate_classes`: classes defined under the same name in two or more modules.

Only module-level classes count (nested ones such as Django's `Meta` are part of their owner), and
test modules (`test_*.py`, `*_test.py`, `conftest.py`) are left out: fakes of a class in tests are
not copies of it. A module counts once per name, however often it defines it.

Which names are reported:
- configured `ssot_classes`: as soon as they are defined in 2 or more modules;
- any other name: when defined in `UNCONFIGURED_MIN_COPIES` (3) or more modules (the names with
  most copies; two copies of a generic name are too common to be news).
Every defining site of a reported name is a finding. The metric is the number of extra copies:
the sum over reported names of (modules - 1).
"""

from __future__ import annotations

from healthtui.rules.base import Finding

ID = "duplicate_classes"
VERSION = 1
UNCONFIGURED_MIN_COPIES = 3


def threshold(name: str, configured: frozenset[str]) -> int:
    return 2 if name in configured else UNCONFIGURED_MIN_COPIES


def extra_copies(name: str, copies: int, configured: frozenset[str]) -> int:
    return copies - 1 if copies >= threshold(name, configured) else 0


def site_findings(
    path: str, name: str, sites: list[list], copies: int, configured: frozenset[str]
) -> list[Finding]:
    if copies < threshold(name, configured):
        return []
    what = "SSOT class" if name in configured else "class"
    message = f"{what} {name} is defined in {copies} modules"
    return [Finding(path, line, col, ID, text, message) for line, col, text in sites]
