"""The one engine factory, the schema version check and upgrades. All SQLite-specific code lives here.

The database runs in WAL mode so a cron `collect` writing never blocks a TUI reading. Write sessions
start with `BEGIN IMMEDIATE`, so two writers queue on `busy_timeout` instead of failing half-way.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlmodel import Session, SQLModel

from store import exports as _exports  # noqa: F401  (registers its tables)
from store import models
from store import testruns as _testruns  # noqa: F401  (registers its tables)
from store.db import BUSY_TIMEOUT_MS, SCHEMA_VERSION, check_file, configure
from store.errors import StoreError, explain

# The tables of schema version 1; everything registered since is added by the later upgrades.
V1_TABLES = (
    models.Meta,
    models.Repository,
    models.Commit,
    models.Snapshot,
    models.MetricValue,
    models.FindingChange,
    models.CurrentFinding,
    models.BlobFacts,
    models.Problem,
)


def _add_new_tables(conn: Connection) -> None:
    """Version 2 adds the test-run and export tables, version 3 the evaluator checkpoints;
    existing rows are untouched."""
    SQLModel.metadata.create_all(conn, checkfirst=True)


UPGRADES: dict[int, Callable[[Connection], None]] = {1: _add_new_tables, 2: _add_new_tables}


def open_engine(path: Path | str, *, create: bool = True) -> Engine:
    """Open (and create or upgrade) the database at `path`; raise StoreError with a one-line reason."""
    path = Path(path)
    check_file(path, create=create)
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)
    try:
        with translate_errors(path):
            _ensure_schema(engine, path)
    except BaseException:
        engine.dispose()
        raise
    return engine


def _on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
    configure(dbapi_conn)


def _on_begin(conn: Connection) -> None:
    immediate = conn.get_execution_options().get("sqlite_immediate", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _ensure_schema(engine: Engine, path: Path) -> None:
    with engine.connect() as conn:
        names = set(inspect(conn).get_table_names())
        version = _read_version(conn) if "meta" in names else None
    if version == SCHEMA_VERSION:
        return
    if version is not None and version > SCHEMA_VERSION:
        raise StoreError(
            f"{path}: written by a newer healthtui (schema {version}, this one reads up to "
            f"{SCHEMA_VERSION}); upgrade healthtui or use another --db"
        )
    if version is None and names:
        raise StoreError(f"{path}: an SQLite database, but not healthtui's (no schema version)")
    with engine.execution_options(sqlite_immediate=True).begin() as conn:
        version = _read_version(conn) if inspect(conn).has_table("meta") else None
        if version is None:
            SQLModel.metadata.create_all(conn)
        else:
            while version < SCHEMA_VERSION:
                UPGRADES[version](conn)
                version += 1
        conn.execute(
            text("DELETE FROM meta WHERE key = 'schema_version'"),
        )
        conn.execute(
            text("INSERT INTO meta (key, value) VALUES ('schema_version', :v)"),
            {"v": str(SCHEMA_VERSION)},
        )


def _read_version(conn: Connection) -> int | None:
    row = conn.execute(text("SELECT value FROM meta WHERE key = 'schema_version'")).first()
    return int(row[0]) if row else None


def create_v1_schema(path: Path) -> None:
    """Write an empty schema-1 database (kept so upgrade tests start from a real old file)."""
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        SQLModel.metadata.create_all(conn, tables=[m.__table__ for m in V1_TABLES])
        conn.execute(text("INSERT INTO meta (key, value) VALUES ('schema_version', '1')"))
    engine.dispose()


def schema_version(engine: Engine) -> int | None:
    with engine.connect() as conn:
        return _read_version(conn)


@contextlib.contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A session for queries: sees one consistent snapshot of the database, never blocks writers."""
    with Session(engine, expire_on_commit=False) as session:
        yield session


@contextlib.contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """One transaction (BEGIN IMMEDIATE): everything inside lands together, or nothing does."""
    immediate = engine.execution_options(sqlite_immediate=True)
    with Session(immediate, expire_on_commit=False) as s, s.begin():
        yield s


def change_token(engine: Engine) -> int:
    """A cheap number that changes when another connection commits (SQLite's `data_version`)."""
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("PRAGMA data_version")
        (value,) = cur.fetchone()
        cur.close()
        return int(value)
    finally:
        raw.close()


class ChangeWatcher:
    """Holds one connection open so `PRAGMA data_version` sees other connections' commits.

    Safe to poll from a worker thread while another thread closes it: the connection is only
    touched under a lock, and a closed watcher reports no change."""

    def __init__(self, engine: Engine):
        self._lock = threading.Lock()
        self._raw = engine.raw_connection()
        self._closed = False
        self._last = self._read()

    def _read(self) -> int:
        cur = self._raw.cursor()
        try:
            cur.execute("PRAGMA data_version")
            return int(cur.fetchone()[0])
        finally:
            cur.close()

    def changed(self) -> bool:
        """True once after each commit by any other connection."""
        with self._lock:
            if self._closed:
                return False
            value = self._read()
        if value != self._last:
            self._last = value
            return True
        return False

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._raw.close()


@contextlib.contextmanager
def translate_errors(path: Path | str | None = None) -> Iterator[None]:
    """Turn SQLite's errors into one-line StoreErrors that say what to do."""
    where = f"{path}: " if path else ""
    try:
        yield
    except (OperationalError, DatabaseError) as exc:
        raise StoreError(where + explain(str(exc.orig))) from exc
    except sqlite3.Error as exc:  # from statements run on the DB-API connection itself
        raise StoreError(where + explain(str(exc))) from exc


def now() -> float:
    return time.time()


SCHEMA_FILE = Path(__file__).with_name("schema.sql")


def schema_sql() -> str:
    """The DDL of the current schema as `create_all` would run it, one statement per paragraph.
    Kept in store/schema.sql so a new database is made without importing SQLAlchemy; a test
    checks the file is current (regenerate with `python -m store.engine`)."""
    from sqlalchemy.dialects import sqlite as sqlite_dialect
    from sqlalchemy.schema import CreateIndex, CreateTable

    dialect = sqlite_dialect.dialect()
    out = []
    for table in SQLModel.metadata.sorted_tables:
        out.append(CreateTable(table).compile(dialect=dialect))
        for index in sorted(table.indexes, key=lambda i: i.name or ""):
            out.append(CreateIndex(index).compile(dialect=dialect))
    lines = ("\n".join(line.rstrip() for line in str(s).strip().splitlines()) for s in out)
    return "".join(f"{stmt};\n\n" for stmt in lines)


if __name__ == "__main__":
    SCHEMA_FILE.write_text(schema_sql())
    print(f"wrote {SCHEMA_FILE}")
