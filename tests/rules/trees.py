"""Helpers for the rule tests: evaluate small trees of real file contents with the real engine."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from healthtui.config import RegexRule, RulesConfig, Suite
from healthtui.rules import Evaluation, Finding, RuleEngine


def engine(*, suites: Sequence[Suite] = (), only=None, **rules) -> RuleEngine:
    return RuleEngine(RulesConfig(**rules), tuple(suites), only=only)


def evaluate(
    files: Mapping[str, str | bytes],
    *,
    suites: Sequence[Suite] = (),
    only=None,
    **rules,
) -> Evaluation:
    """Findings and metrics of a tree given as {path: contents}, as `healthtui scan` computes them
    (each file's facts from its bytes, then one evaluation over the tree)."""
    eng = engine(suites=suites, only=only, **rules)
    ev = eng.evaluator()
    for path, text in files.items():
        kind = eng.kind(path)
        if kind is not None:
            data = text.encode("utf-8") if isinstance(text, str) else text
            ev.update(path, eng.extract(kind, data))
    return ev.result()


def found(evaluation: Evaluation, rule: str) -> list[Finding]:
    return sorted(f for fs in evaluation.findings.values() for f in fs if f.rule == rule)


def lines(evaluation: Evaluation, rule: str) -> list[tuple[str, int]]:
    """(path, line) of every finding of `rule`."""
    return [(f.path, f.line) for f in found(evaluation, rule)]


def todo_rule(**kw) -> RegexRule:
    return RegexRule(id="todo", pattern=r"#\s*TODO", **kw)
