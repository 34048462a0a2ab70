"""The rules: pure functions from file bytes to facts, and from facts to findings and metrics."""

from healthtui.rules.base import Evaluation, Evaluator, Facts, Finding
from healthtui.rules.engine import RuleEngine

__all__ = ["Evaluation", "Evaluator", "Facts", "Finding", "RuleEngine"]
