"""Database engine set-up: SQLite pragmas and IMMEDIATE write transactions; a UTC timestamp type."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, DateTime, column, event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import QueuePool
from sqlalchemy.types import TypeDecorator

from .clock import utcnow

__all__ = ["READ_ONLY", "UTCDateTime", "configure_sqlite", "one_of", "size_pool", "utcnow"]


class UTCDateTime(TypeDecorator):
    """Stores UTC, returns aware UTC datetimes on every backend (SQLite keeps no time zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def one_of(name: str, vocabulary: type[StrEnum] | Iterable[str], *, nullable: bool = False) -> CheckConstraint:
    """A CHECK constraint that column `name` holds one of the vocabulary's values (or NULL, if allowed); it is
    named after the column (naming convention: ck_<table>_<column>)."""
    values = sorted(v.value if isinstance(v, StrEnum) else v for v in vocabulary)
    condition = column(name).in_(values)
    if nullable:
        condition = condition | column(name).is_(None)
    return CheckConstraint(condition, name=name)


#: How long a SQLite write waits for another's lock before "database is locked" (the 503 page).
BUSY_TIMEOUT_MS = 10000

#: Execution option for a transaction that only reads (SQLite: a deferred BEGIN instead of IMMEDIATE).
READ_ONLY = "pro_app_read_only"


#: Connection info key: this connection holds the engine's in-process write turn (see `configure_sqlite`).
_HOLDS_TURN = "pro_app_write_turn"


def configure_sqlite(engine: Engine) -> None:
    """WAL, a busy timeout, foreign keys, and transactions that begin IMMEDIATE.

    A transaction that reads and then writes under a plain BEGIN fails at once with "database is
    locked" when another connection writes (busy_timeout does not help it); BEGIN IMMEDIATE takes the
    write lock up front and waits its turn instead. This is SQLAlchemy's pysqlite recipe.

    Writers of this process take turns on a lock of their own before BEGIN IMMEDIATE and give it back
    when the connection returns to the pool (after its COMMIT or ROLLBACK). SQLite's busy handler waits
    by sleeping and retrying (1, 2, 5 … 100 ms), so a waiting answer could sleep on after the lock was
    free; a waiter on the lock wakes the moment it is released. Other processes (a CLI command beside
    `serve`) still meet SQLite's own lock and busy timeout; a writer that cannot get its turn within the
    busy timeout goes on to SQLite, which then decides as before ("database is locked", the 503 page).
    """
    turn = threading.Lock()

    def _give_back(info: dict) -> None:
        if info.pop(_HOLDS_TURN, False):
            turn.release()

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # let us emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=FULL")  # an acknowledged answer survives a power cut too
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # A long read (an export, any GET page: transactions.py) must not hold the write lock: in WAL mode a
        # deferred transaction reads a snapshot while patients' answers keep being written.
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        if not read_only and not connection.info.get(_HOLDS_TURN):
            connection.info[_HOLDS_TURN] = turn.acquire(timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
        except BaseException:
            _give_back(connection.info)
            raise

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection, record):
        _give_back(record.info)


def size_pool(engine: Engine, threads: int) -> None:
    """Keep a connection open for every serving thread, and one more each for the short write after a read
    page (sessions.write_after_read). SQLAlchemy's default pool keeps 5 and closes the rest on return, so
    with 16 threads most requests opened a new connection: on PostgreSQL a new server process each time
    (issue 16). The pool's events (SQLite's pragmas) stay attached."""
    old = engine.pool
    if not isinstance(old, QueuePool) or old.size() >= threads:
        return
    engine.pool = QueuePool(old._creator, pool_size=threads, max_overflow=threads, pre_ping=old._pre_ping,
                            timeout=old._timeout, recycle=old._recycle, reset_on_return=old._reset_on_return,
                            echo=old.echo, logging_name=old._orig_logging_name, _dispatch=old.dispatch,
                            dialect=old._dialect)
    old.dispose()
