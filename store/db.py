"""The plain-sqlite3 side of the store: connection settings, the schema version and `Database`,
the handle the collector writes through.

Nothing here imports SQLAlchemy: a cron `collect` that finds nothing new (or one new commit) must
not pay for it. Creating a database or upgrading its schema is the one time the collector goes
through `store.engine`, which owns the table definitions.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from store.errors import StoreError, explain

SCHEMA_VERSION = 3
BUSY_TIMEOUT_MS = 10_000
SQLITE_MAGIC = b"SQLite format 3\x00"


def configure(con: sqlite3.Connection) -> None:
    """Settings every connection gets: explicit transactions, WAL, a busy timeout, foreign keys."""
    con.isolation_level = None  # transactions are begun explicitly
    cur = con.cursor()
    cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys = ON")
    # a read-only file keeps its journal mode; writes then fail with a clear error
    with contextlib.suppress(sqlite3.OperationalError):
        cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA synchronous = NORMAL")
    cur.close()


def check_file(path: Path, *, create: bool) -> None:
    """Refuse a directory, a file that is not SQLite, or (without `create`) a missing database."""
    if path.is_dir():
        raise StoreError(f"{path}: is a directory, not a database file")
    if path.exists():
        try:
            with path.open("rb") as fh:
                head = fh.read(16)
        except OSError as exc:
            raise StoreError(f"{path}: cannot read database: {exc.strerror}") from None
        if head and head != SQLITE_MAGIC:
            raise StoreError(f"{path}: not a healthtui database (the file is not SQLite)")
        return
    if not create:
        raise StoreError(f"{path}: no database yet (run `healthtui backfill` or `healthtui demo`)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"{path.parent}: cannot create the database directory: {exc.strerror}"
        ) from None


def read_version(con: sqlite3.Connection) -> int | None:
    """The schema version recorded in `meta`, or None when there is no such table or row."""
    has_meta = con.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
    ).fetchone()
    if not has_meta:
        return None
    row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else None


@contextlib.contextmanager
def translated(path: Path | str | None = None) -> Iterator[None]:
    """Turn sqlite3's errors into one-line StoreErrors that say what to do."""
    where = f"{path}: " if path else ""
    try:
        yield
    except sqlite3.Error as exc:
        raise StoreError(where + explain(str(exc))) from exc


class Database:
    """One sqlite3 connection to a healthtui database whose schema is current."""

    def __init__(self, path: Path, con: sqlite3.Connection):
        self.path, self.con = path, con

    @classmethod
    def open(cls, path: Path | str, *, create: bool = True) -> Database:
        """Open the database at `path`, creating or upgrading it first when needed."""
        path = Path(path)
        check_file(path, create=create)
        with translated(path):
            con = _connect(path)
            try:
                version = read_version(con)
                if version is None and create and _create(con):
                    version = SCHEMA_VERSION
            except BaseException:
                con.close()
                raise
            if version == SCHEMA_VERSION:
                return cls(path, con)
            con.close()
        from store.engine import open_engine  # upgrades, or refuses with a reason

        open_engine(path, create=create).dispose()
        with translated(path):
            return cls(path, _connect(path))

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One transaction (BEGIN IMMEDIATE): everything inside lands together, or nothing does."""
        with translated(self.path):
            self.con.execute("BEGIN IMMEDIATE")
            try:
                yield self.con
            except BaseException:
                self.con.execute("ROLLBACK")
                raise
            self.con.execute("COMMIT")

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: one consistent snapshot of the database, never blocking writers."""
        with translated(self.path):
            self.con.execute("BEGIN")
            try:
                yield self.con
            finally:
                self.con.execute("COMMIT")

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


SCHEMA_FILE = Path(__file__).with_name("schema.sql")


def _create(con: sqlite3.Connection) -> bool:
    """Make the current schema in an empty database from store/schema.sql (what `create_all`
    would run, kept current by a test). False when the database is not empty."""
    statements = [s for s in SCHEMA_FILE.read_text().split(";\n\n") if s.strip()]
    con.execute("BEGIN IMMEDIATE")
    try:
        if con.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone():
            con.execute("ROLLBACK")  # not empty (maybe another process just made it)
            return read_version(con) == SCHEMA_VERSION
        for statement in statements:
            con.execute(statement)
        con.execute(
            "INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
        )
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
    return True


def _connect(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    try:
        configure(con)
    except BaseException:
        con.close()
        raise
    return con


def dbapi(session) -> sqlite3.Connection:
    """The sqlite3 connection under a SQLAlchemy session, inside the session's transaction."""
    return session.connection().connection.driver_connection
