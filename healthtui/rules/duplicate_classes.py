"""`duplicate_classes`: a single-source-of-truth class defined under the same name in 2+ modules.

Only module-level classes count (nested ones such as Django's `Meta` are part of their owner), and
test modules (`test_*.py`, `*_test.py`, `conftest.py`) are left out: fakes of a class in tests are
not copies of it. A module counts once per name, however often it defines it.

- Configured names (`rules.ssot_classes`, e.g. `WebSocketManager`): every defining site of a name
  defined in 2 or more modules is a finding. The metric `duplicate_classes` is the number of extra
  definitions: the sum over configured names of (modules defining it - 1), so it reaches 0 when
  each configured class lives in exactly one module. With no names configured it is 0.
- Unconfigured names defined in `CANDIDATE_MIN_COPIES` (3) or more modules are *candidates*: not
  findings and not in the metric (generic names such as `Config` or `Record` repeat for good
  reasons), but counted in `duplicate_classes.candidates` and listed, most copies first (top
  `CANDIDATES_SHOWN`), in `Evaluation.warnings`, so that real SSOT classes can be configured.
"""

from __future__ import annotations

from collections.abc import Iterable

from healthtui.rules.base import Finding
from healthtui.rules.paths import display_module

ID = "duplicate_classes"
VERSION = 2
CANDIDATES = ID + ".candidates"
CANDIDATE_MIN_COPIES = 3
CANDIDATES_SHOWN = 10
MODULES_SHOWN = 3


def _modules(paths: Iterable[str], limit: int = MODULES_SHOWN) -> str:
    names = sorted(display_module(p) for p in paths)
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def extra_copies(copies: int) -> int:
    """What one configured name adds to the metric."""
    return max(0, copies - 1)


def site_findings(path: str, name: str, sites: list[list], modules: Iterable[str]) -> list[Finding]:
    """Findings at the sites of configured class `name` in `path`; `modules` are the paths of every
    module defining it (this one included)."""
    others = [p for p in modules if p != path]
    if not others:
        return []
    message = (
        f"SSOT class {name} is defined in {len(others) + 1} modules (also in {_modules(others)})"
    )
    return [Finding(path, line, col, ID, text, message) for line, col, text in sites]


def candidate_warnings(candidates: dict[str, Iterable[str]]) -> list[str]:
    """Warnings for the unconfigured names with most copies (name -> defining paths)."""
    ranked = sorted(((len(list(p)), n) for n, p in candidates.items()), key=lambda x: (-x[0], x[1]))
    out = []
    for copies, name in ranked[:CANDIDATES_SHOWN]:
        out.append(
            f"candidate SSOT class: {name} is defined in {copies} modules "
            f"({_modules(candidates[name])})"
        )
    return out
