"""The rules: pure functions from file bytes to facts, and from facts to findings and metrics.

Rule ids (each is also the id of the metric it feeds; `<id>.files` counts files with a finding).
Use them in `[rules] disable = [...]` and `healthtui scan --rule ID`:

- `await_misuse`: `await` on a synchronous callable (`await_misuse.py`).
- `async_callback`: an `async def` handed uncalled to a sync registrar (`async_callback.py`).
- `deprecated_imports`: imports of configured deprecated modules; `.candidates` counts modules
  that warn `DeprecationWarning` at import (`deprecated_imports.py`).
- `unregistered_markers` (alias `markers`): pytest markers used but not registered; `.sites`,
  `.strict`, `.failing_files` (`markers.py`).
- `duplicate_classes`: configured SSOT classes defined in 2+ modules; `.candidates` counts other
  names defined in 3+ modules (`duplicate_classes.py`).
- `unparseable_files`: Python files that do not parse and were read line by line (`fallback.py`).
- `suite` (alias `suites`): the static test inventory, metrics `suite.<name>.expected`
  (`suites.py`).
- every `[[rules.regex]]` entry, under its own `id` (`regex.py`).

`skipped_files` (files over `rules.max_file_size`, never read) is always reported.
"""

from typing import TYPE_CHECKING

from healthtui.rules.base import Evaluation, Evaluator, Facts, Finding

if TYPE_CHECKING:
    from healthtui.rules.engine import RuleEngine

__all__ = ["Evaluation", "Evaluator", "Facts", "Finding", "RuleEngine"]


def __getattr__(name: str):
    """`RuleEngine` on first use: importing one rule module (`regex`, `paths`) should not load
    every rule (`scan` starts `git grep` from the config before the engine is needed)."""
    if name == "RuleEngine":
        from healthtui.rules.engine import RuleEngine

        return RuleEngine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
