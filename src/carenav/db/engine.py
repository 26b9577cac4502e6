"""Engine construction. SQLite gets WAL, foreign keys, a busy timeout and the two ways a unit of work begins
(below); PostgreSQL runs in UTC.

SQLite has one write lock. A transaction begun DEFERRED that has read and then writes cannot wait for it:
when another connection committed in between, SQLite refuses at once with "database is locked" (its
snapshot is stale; the busy timeout does not apply). So a unit of work (``carenav.db.session``) tells
SQLite how it begins, with the execution option ``SQLITE_BEGIN``:

- ``IMMEDIATE``: it takes the write lock at BEGIN and waits its turn (up to the busy timeout), and what it
  reads stays true until it commits. Commands, jobs, feeds and every form a user posts run this way.
- ``READS_FIRST`` (a page a user opens: GET): it reads outside a transaction, each statement seeing the
  latest commit, so readers never queue behind writers nor hold a snapshot; before its first write (the
  audit row of what it showed) it begins IMMEDIATE and waits for the lock like any writer. Its reads
  before that write are not isolated from other writers, so units that decide on what they read must not
  use it.

Other connections (migrations, schema checks, snapshots for analytics, tests) begin DEFERRED as before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

SQLITE_BEGIN = "carenav_sqlite_begin"
"""Execution option: how a unit of work begins on SQLite, ``IMMEDIATE`` or ``READS_FIRST`` (above)."""
IMMEDIATE = "immediate"
READS_FIRST = "reads-first"

_READ_STATEMENTS = ("SELECT", "PRAGMA", "EXPLAIN")


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Build an engine for ``url``; the SQLite file's folder is created if missing."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {})
        kwargs["connect_args"].setdefault("timeout", 30)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        event.listen(engine, "before_cursor_execute", _sqlite_before_execute)
        return engine
    if parsed.get_backend_name() == "postgresql":
        kwargs.setdefault("pool_pre_ping", True)
        # force_custom_plan: psycopg prepares a statement run five times, and PostgreSQL may then keep one
        # generic plan for it. An import's lookups by source id were planned while their table was nearly
        # empty (a sequential scan) and kept that plan as the table grew to millions of rows in the same
        # transaction: at 100,000 patients one lookup took over a minute. Planning each run costs far less.
        kwargs.setdefault("connect_args", {"options": "-c timezone=UTC -c plan_cache_mode=force_custom_plan"})
    return create_engine(url, **kwargs)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy emit BEGIN itself so that transactions and savepoints behave.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_on_begin(connection: Any) -> None:
    mode = connection.get_execution_options().get(SQLITE_BEGIN)
    if mode == IMMEDIATE:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    elif mode != READS_FIRST:
        connection.exec_driver_sql("BEGIN")


def _sqlite_before_execute(
    connection: Any, cursor: Any, statement: str, _parameters: Any, _context: Any, _many: bool
) -> None:
    """In a reads-first unit of work, BEGIN IMMEDIATE before the first statement that is not a read."""
    if connection.get_execution_options().get(SQLITE_BEGIN) != READS_FIRST:
        return
    if connection.connection.dbapi_connection.in_transaction:
        return
    if statement.lstrip()[:7].upper().startswith(_READ_STATEMENTS):
        return
    cursor.execute("BEGIN IMMEDIATE")
