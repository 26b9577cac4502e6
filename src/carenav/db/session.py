"""Session factory. The caller owns the transaction: a request, a CLI command or a job commits once."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from carenav.db.engine import IMMEDIATE, READS_FIRST, SQLITE_BEGIN

_READ_MEMO = "carenav_read_memo"


def _read_memo(session: Session) -> dict[object, object] | None:
    """A reads-first unit's memo of what its reads have answered; None in a unit that writes, where an
    answer may change with the unit's own writes."""
    memo = session.info.get(_READ_MEMO)
    return memo if isinstance(memo, dict) else None


P = ParamSpec("P")
R = TypeVar("R")


def kept_for_reads(read: Callable[Concatenate[Session, P], R]) -> Callable[Concatenate[Session, P], R]:
    """A read ``read(session, ...)`` whose answer a reads-first unit keeps: asked again with the same
    arguments in the same unit (the panels of one page), it answers from the memo, not from the database.
    In a unit that writes it reads every time. Its arguments must be hashable (keys, not rows), and its
    callers must not change what it returns."""

    @wraps(read)
    def kept(session: Session, /, *args: P.args, **kwargs: P.kwargs) -> R:
        memo = _read_memo(session)
        if memo is None:
            return read(session, *args, **kwargs)
        key: Hashable = (read, args, tuple(sorted(kwargs.items())))
        if key not in memo:
            memo[key] = read(session, *args, **kwargs)
        return memo[key]  # type: ignore[return-value]

    return kept


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session], *, reads_first: bool = False) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error. On SQLite it begins IMMEDIATE: it waits
    for the write lock rather than failing when another writer commits first. ``reads_first``: a unit that
    reads and then at most appends (a page opened), which on SQLite reads without holding a transaction
    and takes the write lock only before its first write (``carenav.db.engine``)."""
    session = factory()
    session.connection(execution_options={SQLITE_BEGIN: READS_FIRST if reads_first else IMMEDIATE})
    if reads_first:
        session.info[_READ_MEMO] = {}
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
