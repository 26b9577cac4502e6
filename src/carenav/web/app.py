"""Application assembly: ``create_app(settings)`` builds everything; nothing is built at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from carenav import __version__
from carenav.clock import fix_clock
from carenav.db.engine import make_engine
from carenav.db.migrate import require_current_schema
from carenav.db.session import make_session_factory
from carenav.fhir.api import fhir_router
from carenav.settings import Settings, get_settings
from carenav.web.errors import install_error_pages
from carenav.web.pages import (
    admin,
    assessments,
    audit,
    authorizations,
    care_team,
    careplan_items,
    careplans,
    caseloads,
    directory,
    education,
    health,
    login,
    outreach,
    patients,
    population,
    resources,
    time,
    transitions,
    worklist,
)
from carenav.web.rendering import make_environment
from carenav.web.security import security_headers

STATIC = Path(__file__).parent / "static"


def create_app(settings: Settings | None = None) -> FastAPI:
    """The whole web application: pages, the FHIR R4 facade under /fhir/R4, static assets."""
    settings = settings or get_settings()
    fix_clock(settings.fixed_now)
    engine = make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            engine.dispose()

    require_current_schema(engine)
    app = FastAPI(
        title="carenav",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = make_session_factory(engine)
    app.state.jinja = make_environment()
    app.middleware("http")(security_headers)
    install_error_pages(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # Routers are included here, one line per edge:
    app.include_router(health.router)
    app.include_router(fhir_router())
    app.include_router(login.router)
    app.include_router(patients.router)
    app.include_router(assessments.router)
    app.include_router(careplans.router)
    app.include_router(careplan_items.router)
    app.include_router(care_team.router)
    app.include_router(directory.router)
    app.include_router(resources.router)
    app.include_router(outreach.router)
    app.include_router(transitions.router)
    app.include_router(time.router)
    app.include_router(authorizations.router)
    app.include_router(education.router)
    app.include_router(population.router)
    app.include_router(caseloads.router)
    app.include_router(audit.router)
    app.include_router(admin.router)
    app.include_router(worklist.router)
    return app
