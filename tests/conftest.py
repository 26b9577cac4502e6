"""Fixtures shared by the whole suite.

Every test that asks for ``session`` (or ``engine``/``db_url``) runs twice: on SQLite and on
PostgreSQL. Each test runs inside a transaction that is rolled back, so tests never share state;
services' own commits become savepoint releases. Tests that need committed data visible to another
connection (a live HTTP server, a browser, a CLI subprocess) use ``fresh_db_url`` instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from carenav.clock import fix_clock
from carenav.settings import get_settings
from tests.databases import BACKENDS, IN_CI, engine_for, fresh_database_url, postgres_problem

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SHARED_DATA = SHARED / "data"


def pytest_configure(config: pytest.Config) -> None:
    if not SHARED_DATA.is_dir():
        raise pytest.UsageError(f"the shared test data is missing: expected it at {SHARED_DATA}")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return SHARED_DATA


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    if name == "postgresql":
        problem = postgres_problem()
        if problem:
            if IN_CI:
                pytest.fail(f"CI needs PostgreSQL: {problem}")
            pytest.skip(problem)
    return name


@pytest.fixture(scope="session")
def db_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated to head, shared by the session's tests (each of which rolls back)."""
    with fresh_database_url(backend, tmp_path_factory.mktemp(f"db-{backend}")) as url:
        yield url


@pytest.fixture(scope="session")
def engine(db_url: str) -> Iterator[Engine]:
    with engine_for(db_url) as engine:
        yield engine


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session whose every write is rolled back after the test."""
    connection = engine.connect()
    transaction = connection.begin()
    db = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield db
    finally:
        db.close()
        transaction.rollback()
        connection.close()


@pytest.fixture(scope="session")
def miami_org_id(engine: Engine, shared_data: Path) -> int:
    """An organization holding the real Miami 211 export (HSDS 1.1), imported once per database and
    committed, so that the tests searching it and referring to its services do not import it each. Tests
    write their own patients and users into it inside their rolled-back transaction; tests that count
    directory rows filter on their own organization."""
    from carenav.access import Actor
    from carenav.resources.importer import resources_import
    from tests.builders import make_org

    with Session(engine, expire_on_commit=False) as setup:
        org = make_org(setup, slug="miami-211", name="Miami clinic")
        resources_import(
            session=setup, actor=Actor.operator(org.id, "tests"), folder=shared_data / "hsds/open211-miami"
        )
        setup.commit()
        return org.id


@pytest.fixture
def fresh_db_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A database of this test's own, migrated to head, whose commits are real."""
    with fresh_database_url(backend, tmp_path) as url:
        yield url


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("CARENAV_DATABASE_URL", f"sqlite:///{tmp_path / 'unset.db'}")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
    fix_clock(None)  # a command run in-process with CARENAV_FIXED_NOW leaves the real clock behind it
