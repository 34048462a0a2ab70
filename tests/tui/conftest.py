"""TUI fixtures: a deterministic history database (built once, copied per test) and the app."""

from __future__ import annotations

import asyncio
import inspect
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import store
from healthtui.config import Config
from healthtui.tui.app import HealthApp
from tests.tui.history import History, build_history


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run `async def` tests on a fresh event loop (Pilot needs one; no async plugin needed)."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    asyncio.run(pyfuncitem.obj(**{name: pyfuncitem.funcargs[name] for name in names}))
    return True


@pytest.fixture(scope="session")
def history_template(tmp_path_factory: pytest.TempPathFactory) -> History:
    return build_history(tmp_path_factory.mktemp("history") / "history.db")


@pytest.fixture
def history(history_template: History, tmp_path: Path) -> History:
    """A fresh copy of the 60-commit history for one test (writes stay in this test)."""
    path = tmp_path / "health.db"
    shutil.copyfile(history_template.path, path)
    return History(
        path=path,
        shas=list(history_template.shas),
        times=list(history_template.times),
        now=history_template.now,
        runs=history_template.runs,
        tip_findings=history_template.tip_findings,
    )


@pytest.fixture
def history_engine(history: History) -> Iterator:
    eng = store.open_engine(history.path)
    yield eng
    eng.dispose()


@pytest.fixture
def make_app(history: History) -> Callable[..., HealthApp]:
    """An app on the history database with the clock at `history.now` and polling off."""

    def make(engine, **kwargs) -> HealthApp:
        kwargs.setdefault("config", Config())
        kwargs.setdefault("repo_label", "shop")
        kwargs.setdefault("now", lambda: history.now)
        kwargs.setdefault("poll_interval", 0)
        kwargs.setdefault("prefetch", False)
        return HealthApp(engine=engine, **kwargs)

    return make
