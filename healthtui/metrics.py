"""The catalogue of metric ids: what each number is called, its unit, and which direction is better.

Rule metrics use the rule id (`await_misuse`) and `<id>.files` for files with at least one finding.
Suite metrics are `suite.<name>.<what>`. Regex rules from config use their own id.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MetricInfo:
    id: str
    title: str
    unit: str = "sites"  # "sites", "files", "names", "errors", "tests", "ratio"
    lower_is_better: bool = True
    description: str = ""

    def format(self, value: float | None) -> str:
        if value is None:
            return "–"
        if self.unit == "ratio":
            return f"{value * 100:.1f}%"
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


AWAIT_MISUSE = "await_misuse"
ASYNC_CALLBACK = "async_callback"
DEPRECATED_IMPORTS = "deprecated_imports"
UNREGISTERED_MARKERS = "unregistered_markers"
DUPLICATE_CLASSES = "duplicate_classes"
UNPARSEABLE_FILES = "unparseable_files"
MARKER_ERRORS = "marker_errors"
COLLECTION_ERRORS = "collection_errors"
FLAKY_TESTS = "flaky_tests"
NEVER_AWAITED = "never_awaited"
TESTS_FAILED = "tests.failed"
TESTS_TOTAL = "tests.total"
TESTS_PASSED = "tests.passed"
TESTS_SKIPPED = "tests.skipped"
TESTS_XFAILED = "tests.xfailed"
TESTS_PASS_RATE = "tests.pass_rate"
TESTS_PASS_RATE_EXCL_FLAKY = "tests.pass_rate_excl_flaky"
COLLECTION_IMPORT_ERRORS = "collection_errors.import"
COLLECTION_SYNTAX_ERRORS = "collection_errors.syntax"
COLLECTION_OTHER_ERRORS = "collection_errors.other"
DEPRECATION_WARNINGS = "deprecation_warnings"
FAILURE_CLUSTERS = "failure_clusters"

# Per-suite counts in a `tests` snapshot, next to the pass rates (`suite.<name>.<count>`).
SUITE_COUNTS = (
    "passed",
    "failed",
    "errors",
    "skipped",
    "xfailed",
    "collected",
    "expected_missing",
    "flaky",
)
_SUITE_COUNTS_LOWER_BETTER = frozenset({"failed", "errors", "expected_missing", "flaky"})


def suite_metric(suite: str, what: str = "pass_rate") -> str:
    """`suite.golden_path.pass_rate`, `.pass_rate_expected`, `.pass_rate_excl_flaky`, `.expected`…"""
    return f"suite.{suite}.{what}"


GOLDEN_PATH_PASS_RATE = suite_metric("golden_path")

# The four numbers the overview leads with, in order.
HEADLINE = (AWAIT_MISUSE, DEPRECATED_IMPORTS, MARKER_ERRORS, GOLDEN_PATH_PASS_RATE)

_KNOWN = {
    m.id: m
    for m in (
        MetricInfo(AWAIT_MISUSE, "Await misuse", description="`await` on a synchronous callable"),
        MetricInfo(AWAIT_MISUSE + ".files", "Await misuse (files)", unit="files"),
        MetricInfo(
            ASYNC_CALLBACK,
            "Async callbacks",
            description="async functions handed uncalled to sync registrars",
        ),
        MetricInfo(ASYNC_CALLBACK + ".files", "Async callbacks (files)", unit="files"),
        MetricInfo(DEPRECATED_IMPORTS, "Deprecated imports", unit="imports"),
        MetricInfo(DEPRECATED_IMPORTS + ".files", "Deprecated imports (files)", unit="files"),
        MetricInfo(UNREGISTERED_MARKERS, "Unregistered markers", unit="names"),
        MetricInfo(UNREGISTERED_MARKERS + ".sites", "Unregistered marker uses"),
        MetricInfo(UNREGISTERED_MARKERS + ".files", "Unregistered markers (files)", unit="files"),
        MetricInfo(
            UNREGISTERED_MARKERS + ".failing_files",
            "Files failing --strict-markers",
            unit="files",
        ),
        MetricInfo(DUPLICATE_CLASSES, "Duplicate classes", unit="copies"),
        MetricInfo(DUPLICATE_CLASSES + ".files", "Duplicate classes (files)", unit="files"),
        MetricInfo(UNPARSEABLE_FILES, "Unparseable files", unit="files"),
        MetricInfo(
            MARKER_ERRORS,
            "Marker errors",
            unit="errors",
            description="test files that failed to collect on an unregistered marker",
        ),
        MetricInfo(COLLECTION_ERRORS, "Collection errors", unit="errors"),
        MetricInfo(
            FLAKY_TESTS,
            "Flaky tests",
            unit="tests",
            description="tests of the run known to pass and fail under the same code",
        ),
        MetricInfo(
            NEVER_AWAITED,
            "Never-awaited coroutines",
            unit="sites",
            description="distinct \"coroutine '...' was never awaited\" warnings in the tests",
        ),
        MetricInfo(TESTS_FAILED, "Failed tests", unit="tests"),
        MetricInfo(TESTS_TOTAL, "Tests run", unit="tests", lower_is_better=False),
        MetricInfo(TESTS_PASSED, "Passed tests", unit="tests", lower_is_better=False),
        MetricInfo(TESTS_SKIPPED, "Skipped tests", unit="tests"),
        MetricInfo(TESTS_XFAILED, "Expected failures", unit="tests"),
        MetricInfo(
            TESTS_PASS_RATE,
            "Pass rate",
            unit="ratio",
            lower_is_better=False,
            description="passed / (passed + failed + errors + collected but not run)",
        ),
        MetricInfo(
            TESTS_PASS_RATE_EXCL_FLAKY,
            "Pass rate (without flaky)",
            unit="ratio",
            lower_is_better=False,
        ),
        MetricInfo(
            COLLECTION_IMPORT_ERRORS,
            "Collection errors (import)",
            unit="errors",
            description="test modules that failed to import (a missing module or name)",
        ),
        MetricInfo(COLLECTION_SYNTAX_ERRORS, "Collection errors (syntax)", unit="errors"),
        MetricInfo(COLLECTION_OTHER_ERRORS, "Collection errors (other)", unit="errors"),
        MetricInfo(
            DEPRECATION_WARNINGS,
            "Deprecation warnings",
            unit="modules",
            description="modules that raised a DeprecationWarning during the tests",
        ),
        MetricInfo(
            FAILURE_CLUSTERS,
            "Failure clusters",
            unit="signatures",
            description="distinct failure signatures (exception, normalized message, frame)",
        ),
    )
}


def info(metric: str) -> MetricInfo:
    """Describe any metric id, including suite and regex metrics not in the catalogue."""
    if metric in _KNOWN:
        return _KNOWN[metric]
    if metric.startswith("suite."):
        _, suite, what = [*metric.split(".", 2), "", ""][:3]
        pretty = suite.replace("_", " ").capitalize()
        if what.startswith("pass_rate"):
            qualifier = {
                "pass_rate": "",
                "pass_rate_expected": " (over expected)",
                "pass_rate_collected": " (over collected)",
                "pass_rate_excl_flaky": " (without flaky)",
            }.get(what, f" ({what})")
            return MetricInfo(metric, f"{pretty} pass rate{qualifier}", "ratio", False)
        lower = what in _SUITE_COUNTS_LOWER_BETTER
        return MetricInfo(metric, f"{pretty} {what.replace('_', ' ')}", "tests", lower)
    base, _, suffix = metric.partition(".")
    title = base.replace("_", " ").capitalize()
    if suffix == "files":
        return MetricInfo(metric, f"{title} (files)", unit="files")
    if suffix == "candidates":
        return MetricInfo(metric, f"{title} (candidates)", unit="names")
    return MetricInfo(metric, title, unit="lines")
