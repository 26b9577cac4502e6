"""SQLite's one write lock: writers begin IMMEDIATE and wait their turn; a reads-first unit (a page opened)
reads without a transaction and takes the lock only to write. Without these, a unit that had read and then
wrote after another connection committed failed at once with "database is locked"."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from carenav.db.engine import make_engine
from carenav.db.session import kept_for_reads, make_session_factory, unit_of_work


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'locks.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
        connection.execute(text("INSERT INTO notes (body) VALUES ('first')"))
    return engine


def _commit_a_write_elsewhere(engine: Engine, body: str) -> None:
    with engine.begin() as other:
        other.execute(text("INSERT INTO notes (body) VALUES (:b)"), {"b": body})


def test_a_reads_first_unit_writes_after_another_commit(engine: Engine) -> None:
    sessions = make_session_factory(engine)
    with unit_of_work(sessions, reads_first=True) as session:
        assert session.execute(text("SELECT count(*) FROM notes")).scalar() == 1
        _commit_a_write_elsewhere(engine, "meanwhile")  # would make a DEFERRED snapshot stale
        session.execute(text("INSERT INTO notes (body) VALUES ('audit of what was shown')"))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM notes")).scalar() == 3


def test_a_deferred_transaction_would_have_failed(engine: Engine) -> None:
    """The failure the modes prevent, shown with a plain DEFERRED transaction on the same file."""
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute("BEGIN DEFERRED")
        cursor.execute("SELECT count(*) FROM notes").fetchall()
        _commit_a_write_elsewhere(engine, "meanwhile")
        with pytest.raises(Exception, match="database is locked"):
            cursor.execute("INSERT INTO notes (body) VALUES ('too late')")
        cursor.execute("ROLLBACK")
    finally:
        connection.close()


def test_a_writing_unit_holds_the_lock_from_its_start(engine: Engine) -> None:
    """A unit of work that writes begins IMMEDIATE: another writer waits until it commits, then goes."""
    sessions = make_session_factory(engine)
    order: list[str] = []

    def second_writer() -> None:
        with unit_of_work(sessions) as session:
            session.execute(text("INSERT INTO notes (body) VALUES ('second')"))
        order.append("second committed")

    with unit_of_work(sessions) as session:
        count = session.execute(text("SELECT count(*) FROM notes")).scalar()
        thread = threading.Thread(target=second_writer)
        thread.start()
        time.sleep(0.3)  # the second writer is waiting for the lock, not failing
        assert order == []
        session.execute(text("INSERT INTO notes (body) VALUES (:b)"), {"b": f"after {count}"})
        order.append("first committing")
    thread.join(timeout=10)
    assert order == ["first committing", "second committed"]


def test_a_reads_first_unit_rolls_back_what_it_wrote(engine: Engine) -> None:
    sessions = make_session_factory(engine)

    def write_then_fail() -> None:
        with unit_of_work(sessions, reads_first=True) as session:
            session.execute(text("INSERT INTO notes (body) VALUES ('kept?')"))
            session.execute(text("INSERT INTO missing_table VALUES (1)"))

    with pytest.raises(OperationalError):
        write_then_fail()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM notes")).scalar() == 1


def test_a_read_kept_for_a_reads_first_unit_only(engine: Engine) -> None:
    """``kept_for_reads``: the panels of one page share a read; a unit that writes reads every time."""
    asked: list[tuple[int, str]] = []

    @kept_for_reads
    def notes_longer_than(session: Session, size: int, *, like: str = "%") -> int:
        asked.append((size, like))
        query = text("SELECT count(*) FROM notes WHERE length(body) > :n AND body LIKE :like")
        return int(session.execute(query, {"n": size, "like": like}).scalar_one())

    sessions = make_session_factory(engine)
    with unit_of_work(sessions, reads_first=True) as page:
        assert notes_longer_than(page, 0) == 1
        _commit_a_write_elsewhere(engine, "meanwhile")
        assert notes_longer_than(page, 0) == 1, "the page's answer, kept"
        assert notes_longer_than(page, 0, like="mean%") == 1, "other arguments: read again"
        assert notes_longer_than(page, 4) == 2
    assert asked == [(0, "%"), (0, "mean%"), (4, "%")]
    with unit_of_work(sessions) as writer:
        assert notes_longer_than(writer, 0) == 2
        writer.execute(text("INSERT INTO notes (body) VALUES ('written here')"))
        assert notes_longer_than(writer, 0) == 3, "a unit that writes sees its own writes"
    with unit_of_work(sessions, reads_first=True) as next_page:
        assert notes_longer_than(next_page, 0) == 3, "a new unit reads afresh"
