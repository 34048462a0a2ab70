"""The engine: pragmas, schema creation, upgrade from an older file, refusal of foreign files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

import store
from store.db import Database, read_version
from store.engine import (
    SCHEMA_FILE,
    SCHEMA_VERSION,
    create_v1_schema,
    schema_sql,
    schema_version,
)


def test_new_database_is_wal_with_foreign_keys_and_current_schema(engine, db_path: Path):
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
    assert schema_version(engine) == SCHEMA_VERSION


def test_old_schema_is_upgraded_in_place_keeping_rows(tmp_path: Path):
    path = tmp_path / "old.db"
    create_v1_schema(path)
    raw = sqlite3.connect(path)
    raw.execute("INSERT INTO repository (root, name) VALUES ('/srv/app', 'app')")
    raw.commit()
    tables_before = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    raw.close()
    engine = store.open_engine(path)
    assert schema_version(engine) == SCHEMA_VERSION
    with store.read_session(engine) as s:
        assert store.repository_info(s).root == "/srv/app"
    with engine.connect() as conn:
        names = {
            r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))
        }
    assert tables_before < names  # the upgrade added tables and dropped none
    engine.dispose()


def test_newer_schema_is_refused_with_a_clear_message(db_path: Path, engine):
    engine.dispose()
    raw = sqlite3.connect(db_path)
    raw.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    raw.commit()
    raw.close()
    with pytest.raises(store.StoreError, match=r"newer healthtui.*schema 99"):
        store.open_engine(db_path)


def test_a_file_that_is_not_sqlite_is_refused_untouched(tmp_path: Path):
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my notes, not a database\n")
    with pytest.raises(store.StoreError, match="not SQLite"):
        store.open_engine(path)
    assert path.read_bytes() == b"these are my notes, not a database\n"


def test_another_programs_sqlite_database_is_refused(tmp_path: Path):
    path = tmp_path / "other.db"
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE things (x)")
    raw.commit()
    raw.close()
    with pytest.raises(store.StoreError, match="not healthtui's"):
        store.open_engine(path)


def test_missing_database_without_create_says_what_to_run(tmp_path: Path):
    with pytest.raises(store.StoreError, match="healthtui backfill"):
        store.open_engine(tmp_path / "none.db", create=False)


def _schema(path: Path) -> list[tuple]:
    con = sqlite3.connect(path)
    try:
        rows = con.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name")
        return [(t, n, tbl, " ".join((sql or "").split())) for t, n, tbl, sql in rows]
    finally:
        con.close()


def test_schema_file_is_what_create_all_runs():
    assert SCHEMA_FILE.read_text() == schema_sql(), (
        "store/schema.sql is out of date with the models: run `python -m store.engine`"
    )


def test_a_database_made_without_sqlalchemy_equals_one_made_by_create_all(tmp_path: Path):
    with Database.open(tmp_path / "plain.db") as db:
        assert read_version(db.con) == SCHEMA_VERSION
    store.open_engine(tmp_path / "orm.db").dispose()
    assert _schema(tmp_path / "plain.db") == _schema(tmp_path / "orm.db")
    assert len(_schema(tmp_path / "plain.db")) > 20


def test_the_plain_opener_upgrades_an_old_file_and_refuses_a_foreign_one(tmp_path: Path):
    old = tmp_path / "old.db"
    create_v1_schema(old)
    with Database.open(old) as db:
        assert read_version(db.con) == SCHEMA_VERSION
    foreign = tmp_path / "foreign.db"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE notes (body TEXT)")
    con.commit()
    con.close()
    with pytest.raises(store.StoreError, match="not healthtui's"):
        Database.open(foreign)
    assert _schema(foreign) == [("table", "notes", "notes", "CREATE TABLE notes (body TEXT)")]
