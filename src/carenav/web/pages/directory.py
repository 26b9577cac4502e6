"""Keeping the resource directory on screen (supervisors and administrators): edit a service, add a local
one. The rules are ``resources.editing``."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.db.mixins import LOCAL_SOURCE
from carenav.errors import Forbidden
from carenav.resources.editing import (
    STATUSES,
    NewLocation,
    ServiceEdit,
    may_edit_directory,
    service_add,
    service_get,
    service_update,
)
from carenav.resources.models import ResourceService, ResourceTerm
from carenav.resources.needs import NEED_TERM_PREFIX, needs
from carenav.web.database import REQUEST_SESSION
from carenav.web.dependencies import Login, current_login
from carenav.web.forms import form_text, form_whole, posted_form
from carenav.web.rendering import render

router = APIRouter()
_SPLIT = re.compile(r"[\n,;]+")


def _lines(text: str) -> list[str]:
    return [part.strip() for part in _SPLIT.split(text) if part.strip()]


def _edit_from(form: dict[str, list[str]]) -> ServiceEdit:
    return ServiceEdit(
        name=form_text(form, "name"),
        description=form_text(form, "description"),
        eligibility=form_text(form, "eligibility"),
        fees=form_text(form, "fees"),
        application_process=form_text(form, "application_process"),
        url=form_text(form, "url"),
        email=form_text(form, "email"),
        status=form_text(form, "status") or "active",
        minimum_age=form_whole(form_text(form, "minimum_age"), "minimum age"),
        maximum_age=form_whole(form_text(form, "maximum_age"), "maximum age"),
        languages=_lines(form_text(form, "languages")),
        phones=[p for p in form_text(form, "phones").splitlines() if p.strip()],
        served_counties=[c for c in form_text(form, "served_counties").splitlines() if c.strip()],
        served_zip_codes=_lines(form_text(form, "served_zip_codes")),
        income_limit_fpl=form_whole(form_text(form, "income_limit_fpl"), "income limit"),
        needs=form.get("needs", []),
    )


def _editor(login: Login) -> None:
    if not may_edit_directory(login.actor):
        raise Forbidden("the resource directory is kept by supervisors and administrators", where="directory")


def _context(service: ResourceService | None, session: Session) -> dict[str, Any]:
    chosen: list[str] = []
    if service is not None:
        codes = session.scalars(select(ResourceTerm.code).where(ResourceTerm.service_id == service.id))
        chosen = [c.removeprefix(NEED_TERM_PREFIX) for c in codes if c.startswith(NEED_TERM_PREFIX)]
    return {
        "service": service,
        "statuses": STATUSES,
        "needs": needs(),
        "chosen_needs": chosen,
        "local": service is None or service.source_system == LOCAL_SOURCE,
    }


@router.get("/resources/services/new")
def service_new_page(
    request: Request, login: Login = Depends(current_login), session: Session = REQUEST_SESSION
) -> Response:
    _editor(login)
    return render(request, "resources/service_edit.html", _context(None, session), nav_key="resources")


@router.post("/resources/services/new")
async def service_add_page(
    request: Request, login: Login = Depends(current_login), session: Session = REQUEST_SESSION
) -> Response:
    form = await posted_form(request)
    _editor(login)

    service = service_add(
        session=session,
        actor=login.actor,
        organization_name=form_text(form, "organization"),
        edit=_edit_from(form),
        location=NewLocation(
            form_text(form, "address_1"),
            form_text(form, "city"),
            form_text(form, "state"),
            form_text(form, "postal_code"),
        ),
    )
    return RedirectResponse(f"/resources/services/{service.uuid}/edit?saved=1", status_code=303)


@router.get("/resources/services/{service_uuid}/edit")
def service_edit_page(
    request: Request,
    service_uuid: str,
    saved: str = "",
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    _editor(login)
    service = service_get(session=session, actor=login.actor, service_uuid=service_uuid)
    context = {**_context(service, session), "saved": bool(saved)}
    return render(request, "resources/service_edit.html", context, nav_key="resources")


@router.post("/resources/services/{service_uuid}/edit")
async def service_update_page(
    request: Request,
    service_uuid: str,
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    form = await posted_form(request)
    service_update(session=session, actor=login.actor, service_uuid=service_uuid, edit=_edit_from(form))
    return RedirectResponse(f"/resources/services/{service_uuid}/edit?saved=1", status_code=303)
