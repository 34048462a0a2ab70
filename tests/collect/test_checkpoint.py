"""Evaluator checkpoints: a collect that starts from the saved evaluator stores exactly what a walk
from the whole tree stores, and a checkpoint that is not certainly ours is never used."""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine

import store
from healthtui.collect.gitrepo import GitRepo
from healthtui.collect.history import backfill, collect_commits
from healthtui.collect.scanning import scan_revision
from healthtui.config import Config, RegexRule, RulesConfig, Suite
from healthtui.demo.builder import RepoBuilder
from healthtui.rules import RuleEngine
from tests.dbdump import dump

CONFIG = Config(
    rules=RulesConfig(
        deprecated_modules=("app.legacy",),
        known_sync=("get_manager",),
        ssot_classes=("Manager",),
        regex=(RegexRule(id="todo", pattern=r"#\s*TODO"),),
    ),
    suites=(Suite(name="golden_path", paths=("tests/golden/**",), markers=("golden",)),),
)

SYNC_HELPER = "def helper():\n    return 1\n"
ASYNC_HELPER = "async def helper():\n    return 1\n"
CALLER = "from app.util import helper\n\nasync def run():\n    return await helper()\n"
TEST = "import pytest\n\n@pytest.mark.scalability\ndef test_load():\n    pass\n"
CONFTEST = (
    "def pytest_configure(config):\n"
    '    config.addinivalue_line("markers", "scalability: load tests")\n'
)


def _start(path: Path) -> RepoBuilder:
    b = RepoBuilder(path)
    b.commit(
        {
            "app/__init__.py": "",
            "app/legacy.py": "X = 1\n",
            "app/util.py": ASYNC_HELPER,
            "app/run.py": CALLER,
            "app/m1.py": "class Manager:\n    pass\n",
            "pytest.ini": "[pytest]\naddopts = --strict-markers\n",
            "tests/golden/test_flow.py": TEST,
            # filler: a checkpoint is used while the changes since are fewer than half the tree
            **{f"app/filler_{i}.py": f"def f{i}():\n    return {i}\n" for i in range(20)},
        },
        message="Initial",
    )
    b.commit({"app/a.py": "from app.legacy import X  # TODO\n"}, message="Use legacy")
    return b


# Each step moves findings in files it does not touch: the cross-file state must be right.
STEPS = [
    ({"app/util.py": SYNC_HELPER}, "helper turns synchronous: the await in run.py is misuse"),
    ({"tests/conftest.py": CONFTEST}, "register the marker: test_flow.py is fine again"),
    ({"app/m2.py": "class Manager:\n    x = 1\n"}, "a second Manager"),
    ({"pytest.ini": "[pytest]\n"}, "strict markers off"),
    ({"app/legacy.py": None, "app/util.py": ASYNC_HELPER}, "drop legacy, helper async again"),
    ({"app/run.py": CALLER + "# TODO: later\n", "app/m1.py": None}, "a TODO, one Manager gone"),
]


def _key_dir(monkeypatch, path: Path) -> None:
    monkeypatch.setenv("HEALTHTUI_CACHE_DIR", str(path))


def _state(db: Path) -> tuple[str, bytes] | None:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT sha, data FROM evaluator_state").fetchone()
    finally:
        con.close()


@dataclass
class Backfilled:
    builder: RepoBuilder
    repo: GitRepo
    engine: Engine
    db: Path


@pytest.fixture
def backfilled(tmp_path: Path, monkeypatch) -> Iterator[Backfilled]:
    """The small repository backfilled into h.db, which now holds a checkpoint at its tip."""
    _key_dir(monkeypatch, tmp_path / "key")
    b = _start(tmp_path / "repo")
    repo = GitRepo.open(b.path)
    engine = store.open_engine(tmp_path / "h.db")
    assert backfill(repo, engine, CONFIG).checkpoint is None  # nothing saved before
    assert _state(tmp_path / "h.db")[0] == b.tip()
    yield Backfilled(b, repo, engine, tmp_path / "h.db")
    engine.dispose()


def _from_scratch(repo: GitRepo, path: Path) -> list:
    engine = store.open_engine(path)
    backfill(repo, engine, CONFIG)
    engine.dispose()
    return dump(path)


def _latest_equals_a_scan(h: Backfilled) -> dict[str, float]:
    expected = scan_revision(
        h.repo, h.builder.tip(), RuleEngine(CONFIG.rules, CONFIG.suites)
    ).metrics
    with store.read_session(h.engine) as s:
        latest = {m: p.value for m, p in store.latest_points(s).items()}
    assert {m: latest[m] for m in expected} == expected
    return expected


def test_collects_from_the_checkpoint_store_what_one_walk_from_scratch_stores(
    backfilled: Backfilled, tmp_path: Path
):
    h = backfilled
    saved = h.builder.tip()
    for changes, message in STEPS:
        h.builder.commit(changes, message=message)
        result = collect_commits(h.repo, h.engine, CONFIG)
        assert (result.written, result.checkpoint) == (1, saved), message
    assert dump(h.db) == _from_scratch(h.repo, tmp_path / "scratch.db")
    expected = _latest_equals_a_scan(h)
    assert expected["await_misuse"] == 0 and expected["duplicate_classes"] == 0


def test_a_long_walk_saves_a_new_checkpoint_at_the_tip(backfilled: Backfilled):
    h = backfilled
    saved_at = h.builder.tip()
    h.builder.commit({"app/x.py": "# TODO\n"}, message="one")
    collect_commits(h.repo, h.engine, CONFIG)
    assert _state(h.db)[0] == saved_at  # one commit past it: not worth a save
    with h.builder.bulk():
        for i in range(30):
            h.builder.commit({f"app/x{i}.py": "# TODO\n"}, message=f"more {i}")
    result = collect_commits(h.repo, h.engine, CONFIG)
    assert result.written == 30 and result.checkpoint == saved_at
    assert _state(h.db)[0] == h.builder.tip()


@pytest.mark.parametrize("how", ["another user's key", "damaged"])
def test_a_checkpoint_that_is_not_certainly_ours_is_ignored(
    backfilled: Backfilled, tmp_path: Path, monkeypatch, how
):
    h = backfilled
    if how == "damaged":
        _sha, data = _state(h.db)
        con = sqlite3.connect(h.db)
        con.execute("UPDATE evaluator_state SET data = ?", (data[:-40] + bytes(40),))
        con.commit()
        con.close()
    else:
        _key_dir(monkeypatch, tmp_path / "someone-else")
    for changes, message in STEPS[:2]:
        h.builder.commit(changes, message=message)
    result = collect_commits(h.repo, h.engine, CONFIG)
    assert result.written == 2 and result.checkpoint is None
    assert dump(h.db) == _from_scratch(h.repo, tmp_path / "scratch.db")


def test_a_checkpoint_whose_commit_was_pruned_is_ignored(backfilled: Backfilled):
    h = backfilled
    root = h.repo.first_parent_line("main")[0].sha
    h.builder.reset_branch("main", root)
    h.builder.commit({"app/util.py": SYNC_HELPER}, message="rewritten")
    git = ["git", "-C", str(h.builder.path)]
    subprocess.run([*git, "reflog", "expire", "--expire=now", "--all"], check=True)
    subprocess.run([*git, "gc", "-q", "--prune=now"], check=True)
    result = collect_commits(h.repo, h.engine, CONFIG)
    assert result.written == 1 and result.checkpoint is None
    assert _latest_equals_a_scan(h)["await_misuse"] == 1
