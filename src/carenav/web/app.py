"""Application assembly: ``create_app(settings)`` builds everything; nothing is built at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from carenav import __version__
from carenav.db.engine import make_engine
from carenav.db.migrate import require_current_schema
from carenav.db.session import make_session_factory
from carenav.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """The whole web application: pages, the FHIR R4 facade under /fhir/R4, static assets."""
    settings = settings or get_settings()
    engine = make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            engine.dispose()

    require_current_schema(engine)
    app = FastAPI(title="carenav", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = make_session_factory(engine)
    # Routers are included here, one line per edge:
    return app
