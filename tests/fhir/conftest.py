"""Fixtures of the FHIR tests: a seeded record and an HTTP client over the real app.

``api`` runs requests through ``create_app`` with the request's session replaced by the test's
rolled-back session, so every test sees its own data and leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from carenav.settings import Settings
from carenav.web.app import create_app
from carenav.web.database import reads_first_session, request_session
from tests.fhir.world import World, build_world


@pytest.fixture
def world(session: Session) -> World:
    built = build_world(session)
    session.commit()  # ends the test's savepoint; a request's rollback will not undo the seed
    return built


class Api:
    """GETs and POSTs against /fhir/R4 with a bearer token."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.base = "http://testserver/fhir/R4"

    def get(self, path: str, token: str | None = None, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.client.get(f"/fhir/R4/{path}", headers=headers, **kwargs)

    def post(self, path: str, body: dict[str, Any] | bytes, token: str | None = None) -> Any:
        """POST a resource (a dict, sent as JSON) or raw bytes, as application/fhir+json."""
        headers = {"Content-Type": "application/fhir+json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        content = body if isinstance(body, bytes) else orjson.dumps(body)
        return self.client.post(f"/fhir/R4/{path}", content=content, headers=headers)


@pytest.fixture
def api(db_url: str, session: Session) -> Iterator[Api]:
    app = create_app(Settings(database_url=db_url, fhir_page_size=50))

    def test_session() -> Iterator[Session]:
        yield session
        session.commit()

    app.dependency_overrides[request_session] = test_session
    app.dependency_overrides[reads_first_session] = test_session
    with TestClient(app) as client:
        yield Api(client)
