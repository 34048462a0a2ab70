"""`deprecated_imports`: import statements of configured deprecated modules.

For a configured module `a.b`:
- `import a.b` and `import a.b as c` count; `from a.b import x` counts;
- `from a import b` counts (it imports the module `a.b`);
- a submodule (`import a.b.c`, `from a.b.c import x`) counts only if `a.b.c` is configured itself;
- relative imports are resolved from the file's package (`from .b import x` in `a/m.py` is
  `from a.b import x`); a resolved name also matches when it ends with the configured name on a
  component boundary, so `src/a/m.py` importing `.b` matches `a.b`;
- one finding per statement, however many lines or names it spans; imports anywhere count
  (functions, `try` blocks); comments and strings never count (they are not statements).

Candidates: modules whose top level calls `warnings.warn(..., DeprecationWarning)` (or
`PendingDeprecationWarning`, positional or `category=`) warn at import time; those not already
configured are listed in `Evaluation.warnings` and counted in `deprecated_imports.candidates`.
"""

from __future__ import annotations

from healthtui.rules.base import Finding
from healthtui.rules.paths import display_module, resolve_relative

ID = "deprecated_imports"
VERSION = 1
CANDIDATES = ID + ".candidates"


def _matches(name: str, deprecated: frozenset[str], relative: bool) -> str | None:
    if name in deprecated:
        return name
    if relative:
        for d in deprecated:
            if name.endswith("." + d):
                return d
    return None


def evaluate(path: str, imports: list[list], deprecated: frozenset[str]) -> list[Finding]:
    out: list[Finding] = []
    for line, col, level, module, names, text in imports:
        hits: list[str] = []
        if module is None:
            for name in names:
                hit = _matches(name, deprecated, False)
                if hit:
                    hits.append(hit)
        else:
            base = resolve_relative(path, level, module)
            if base is None:
                continue
            rel = level > 0
            hit = _matches(base, deprecated, rel)
            if hit:
                hits.append(hit)
            for name in names:
                hit = _matches(f"{base}.{name}", deprecated, rel)
                if hit:
                    hits.append(hit)
        if hits:
            mods = ", ".join(dict.fromkeys(hits))
            out.append(Finding(path, line, col, ID, text, f"import of deprecated module {mods}"))
    return out


def candidate(path: str, line: int, deprecated: frozenset[str]) -> str | None:
    """The warning for a module that warns DeprecationWarning at import, unless configured."""
    module = display_module(path)
    if not module or module in deprecated:
        return None
    return (
        f"candidate deprecated module: {module} ({path}:{line} warns DeprecationWarning at import)"
    )
