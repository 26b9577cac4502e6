"""A request's writes are committed before its response leaves: a browser that follows the redirect
of a POST at once must find what the POST wrote (FastAPI's default would commit after sending)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carenav.accounts.models import WebSession
from carenav.settings import Settings
from carenav.web.app import create_app
from tests.builders import make_org
from tests.databases import engine_for
from tests.web.conftest import hidden_value
from tests.web.users import PASSWORD, make_user


def test_a_sign_in_is_committed_when_its_response_starts(fresh_db_url: str, cheap_passwords: object) -> None:
    with engine_for(fresh_db_url) as engine:
        with Session(engine) as session:
            make_user(session, make_org(session), "ruth")
            session.commit()

        def stored_logins() -> int:
            with engine.connect() as connection:
                return connection.scalar(select(func.count()).select_from(WebSession)) or 0

        app = create_app(Settings(database_url=fresh_db_url))
        seen_at_response_start: list[int] = []

        async def probe(scope: dict[str, Any], receive: Any, send: Any) -> None:
            async def watching_send(message: dict[str, Any]) -> None:
                is_login = scope.get("method") == "POST" and scope.get("path") == "/login"
                if is_login and message["type"] == "http.response.start":
                    seen_at_response_start.append(stored_logins())
                await send(message)

            await app(scope, receive, watching_send)

        with TestClient(probe, follow_redirects=False) as client:
            token = hidden_value(client.get("/login").text, "csrf_token")
            response = client.post(
                "/login", data={"username": "ruth", "password": PASSWORD, "csrf_token": token}
            )
        app.state.engine.dispose()
    assert response.status_code == 303
    assert seen_at_response_start == [1]
