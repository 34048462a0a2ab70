"""Shared fixtures: real SQLite files and real git repositories in tmp_path."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

import store

# Tests never read the developer's git config or editor.
os.environ.setdefault("GIT_CONFIG_NOSYSTEM", "1")
os.environ["GIT_AUTHOR_NAME"] = os.environ["GIT_COMMITTER_NAME"] = "Test"
os.environ["GIT_AUTHOR_EMAIL"] = os.environ["GIT_COMMITTER_EMAIL"] = "test@example.com"
os.environ.pop("HEALTHTUI_DB", None)
# Evaluator checkpoint keys go to a throwaway directory, never the developer's ~/.cache.
os.environ["HEALTHTUI_CACHE_DIR"] = tempfile.mkdtemp(prefix="healthtui-test-cache-")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "health.db"


@pytest.fixture
def engine(db_path: Path):
    eng = store.open_engine(db_path)
    yield eng
    eng.dispose()
