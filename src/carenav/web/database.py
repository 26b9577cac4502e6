"""The request's unit of work: one session per request, committed once on success, rolled back on error."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from carenav.db.session import unit_of_work

READING_METHODS = frozenset({"GET", "HEAD"})
"""Requests that show what is stored (and append the audit of having shown it): reads-first units of work."""


def request_session(request: Request) -> Iterator[Session]:
    """FastAPI dependency: the session of this request, one unit of work: committed when the route
    returns, rolled back on an error (routes take it as ``session: Session = REQUEST_SESSION``)."""
    yield from _unit_of_work(request, reads_first=request.method in READING_METHODS)


def reads_first_session(request: Request) -> Iterator[Session]:
    """A reads-first unit of work for a form whose slow part reads (the sign-in form: the password hash is
    checked before the write lock is taken), whose service is written for it (``carenav.db.engine``)."""
    yield from _unit_of_work(request, reads_first=True)


def _unit_of_work(request: Request, *, reads_first: bool) -> Iterator[Session]:
    factory: sessionmaker[Session] = request.app.state.sessions
    with unit_of_work(factory, reads_first=reads_first) as session:
        yield session


# The session a page or API route takes. ``scope="function"`` commits when the route function returns,
# before the response is sent: with FastAPI's default ("request") the commit would run after the
# response, so a browser following a redirect could read the database before the write was there.
REQUEST_SESSION: Session = Depends(request_session, scope="function")
READS_FIRST_SESSION: Session = Depends(reads_first_session, scope="function")
