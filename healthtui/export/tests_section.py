"""The test part of the standup: golden-path tests newly failing and fixed, new collection errors,
flaky tests; read from the ingested test runs."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from healthtui.config import Config


@dataclass(frozen=True, slots=True)
class TestChange:
    nodeid: str
    message: str = ""  # why it fails now (newly failing only)


@dataclass(frozen=True, slots=True)
class CollectionErrorItem:
    nodeid: str  # the file or module that failed to collect
    cause: str


@dataclass(frozen=True, slots=True)
class FlakyItem:
    nodeid: str
    detail: str = ""


@dataclass(frozen=True)
class TestsSection:
    available: bool  # False: no test reports ingested yet
    suite: str = "golden_path"
    run_label: str = ""  # the newest run
    baseline_label: str = ""  # the run it is compared with ("" when there is none)
    newly_failing: tuple[TestChange, ...] = ()
    newly_fixed: tuple[TestChange, ...] = ()
    collection_errors: tuple[CollectionErrorItem, ...] = ()  # new since the baseline run
    flaky: tuple[FlakyItem, ...] = ()


def suite_name(config: Config) -> str:
    """The golden path if configured, else the first suite."""
    if config.suite("golden_path") is not None or not config.suites:
        return "golden_path"
    return config.suites[0].name


def tests_section(session: Session, *, config: Config, since) -> TestsSection:
    return TestsSection(available=False, suite=suite_name(config))
