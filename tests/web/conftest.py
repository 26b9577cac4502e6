"""Pages through ``fastapi.testclient``: the app runs on the test's own rolled-back session."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from carenav.settings import Settings
from carenav.web.app import create_app
from carenav.web.database import reads_first_session, request_session
from tests.web.users import PASSWORD, cheap_passwords

__all__ = ["cheap_passwords"]

MAX_FAILED = 3
LOCKOUT_MINUTES = 15


@pytest.fixture
def app(db_url: str, session: Session, cheap_passwords: object) -> Iterator[FastAPI]:
    settings = Settings(
        database_url=db_url, max_failed_logins=MAX_FAILED, lockout_minutes=LOCKOUT_MINUTES, session_hours=1.0
    )
    application = create_app(settings)

    def test_session() -> Iterator[Session]:
        session.commit()  # what the test wrote before the request stays, whatever the request does
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise

    application.dependency_overrides[request_session] = test_session
    application.dependency_overrides[reads_first_session] = test_session
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


def hidden_value(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden field {name} in the page"
    return match.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD, next_path: str = "") -> str:
    """Sign in through the login form; returns where the login redirected to."""
    page = client.get("/login")
    token = hidden_value(page.text, "csrf_token")
    response = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token, "next": next_path}
    )
    assert response.status_code == 303, response.text
    return response.headers["location"]


def page_csrf(client: TestClient, path: str = "/patients") -> str:
    """The session's CSRF token, as a signed-in page carries it."""
    return hidden_value(client.get(path).text, "csrf_token")
