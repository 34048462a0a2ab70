"""The contract between rules and their callers (`scan`, `collect`, `backfill`, `check`).

Rules are pure. Work is split in two so history can be walked incrementally:

1. `RuleEngine.extract(kind, data)`: bytes of ONE file -> JSON-able *facts* (defs, await sites, imports,
   marker uses, regex hits...). Depends only on the bytes and the file kind, never on the path, so the
   collector caches facts per (blob sha, kind, engine key) and never reads an unchanged blob twice.
2. `Evaluator.update(path, facts)` then `Evaluator.result()`: cross-file resolution (which defs are
   sync, which markers are registered, which classes are duplicated, path globs) -> findings + metrics.
   Updates cost in proportion to what changed, so walking 300 commits of a 10k-file tree stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

Facts = dict[str, Any]  # JSON-serialisable: dicts, lists, str, int, float, bool, None


@dataclass(frozen=True, slots=True, order=True, init=False)
class Finding:
    """One site a rule matched. `text` is the stripped source line; `detail` says e.g. resolved/name-only."""

    path: str
    line: int
    col: int
    rule: str
    text: str
    message: str = ""
    detail: str = ""

    def __init__(
        self, path: str, line: int, col: int, rule: str, text: str, message="", detail=""
    ) -> None:
        """What the dataclass would write, but setting the slots directly rather than through
        the frozen class's `object.__setattr__`: twice as fast, and findings come by the
        hundred thousand."""
        _path(self, path)
        _line(self, line)
        _col(self, col)
        _rule(self, rule)
        _text(self, text)
        _message(self, message)
        _detail(self, detail)

    def __reduce__(self):
        """Pickled as its fields, rebuilt through `__init__`: the dataclass's own state methods
        look the fields up for every object, which made checkpoints slow to write and read."""
        return (
            type(self),
            (self.path, self.line, self.col, self.rule, self.text, self.message, self.detail),
        )


_path, _line, _col, _rule, _text, _message, _detail = (
    Finding.__dict__[name].__set__ for name in Finding.__slots__
)


@dataclass(frozen=True)
class Evaluation:
    """Everything the rules say about one tree."""

    metrics: Mapping[str, float]
    findings: Mapping[str, tuple[Finding, ...]]  # by path; paths with no findings are absent
    changed_paths: frozenset[str] = field(default_factory=frozenset)  # vs the previous result()
    warnings: tuple[str, ...] = ()  # e.g. "candidate deprecated module: x.y (warns at import)"


class Evaluator(Protocol):
    def update(self, path: str, facts: Facts | None) -> None:
        """Set the facts of `path` (None: the file is gone from the tree)."""

    def result(self) -> Evaluation:
        """Findings and metrics of the tree as updated so far."""


class RuleEngineProtocol(Protocol):
    key: str  # changes whenever any rule version or finding-relevant config changes

    def kind(self, path: str) -> str | None:
        """Which extractor a path needs ('python', 'pytest-config', 'text'), or None to ignore it."""

    def extract(self, kind: str, data: bytes) -> Facts:
        """Facts of one file's bytes. Never raises, whatever the bytes."""

    def evaluator(self) -> Evaluator: ...
