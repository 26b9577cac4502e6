"""Test databases: a fresh SQLite file or a fresh PostgreSQL database, migrated to head.

Each pytest process makes its own PostgreSQL databases (named carenav_t_<pid>_<n>) inside the
cluster at CARENAV_TEST_PG (default 127.0.0.1:5432, user postgres, database test), so parallel runs
on one machine never share state. They are dropped when the block ends.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy import Engine

from carenav.db.engine import make_engine
from carenav.db.migrate import upgrade

BACKENDS = ("sqlite", "postgresql")
PG_ADMIN_DSN = os.environ.get("CARENAV_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
_counter = itertools.count()


def postgres_problem() -> str | None:
    """Why PostgreSQL cannot be used for tests, or None when it can."""
    try:
        with psycopg.connect(PG_ADMIN_DSN, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL at {PG_ADMIN_DSN} is not reachable: {exc}".strip()


def _pg_url(dsn: str, database: str) -> str:
    base = dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{database}"


@contextmanager
def fresh_database_url(backend: str, tmp_dir: Path, *, migrate: bool = True) -> Iterator[str]:
    """Yield the URL of a new, empty database (migrated to head unless ``migrate`` is False)."""
    n = next(_counter)
    if backend == "sqlite":
        url = f"sqlite:///{tmp_dir / f'carenav_{n}.db'}"
        if migrate:
            _migrate(url)
        yield url
        return
    name = f"carenav_t_{os.getpid()}_{n}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    url = _pg_url(PG_ADMIN_DSN, name)
    try:
        if migrate:
            _migrate(url)
        yield url
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _migrate(url: str) -> None:
    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


@contextmanager
def engine_for(url: str) -> Iterator[Engine]:
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()
