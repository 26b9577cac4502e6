"""The request's unit of work: one session per request, committed once on success, rolled back on error."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Request
from sqlalchemy.orm import Session, sessionmaker


def request_session(request: Request) -> Iterator[Session]:
    """FastAPI dependency: the session of this request. The request commits once, at the end."""
    factory: sessionmaker[Session] = request.app.state.sessions
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
