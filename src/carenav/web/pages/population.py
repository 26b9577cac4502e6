"""The population page: the registry of the latest stratification run (filters as GET parameters, live
with HTMX, sorting, counts, paging) and its bulk actions (start outreach, assign to a care manager)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from carenav.errors import InvalidInput
from carenav.patients.rules import PlanType
from carenav.programs.queries import program_rules_for
from carenav.programs.schemas import BulkOutcome
from carenav.programs.services import enrolment_bulk_assign, enrolment_bulk_outreach_start
from carenav.stratification.queries import (
    AGE_BANDS,
    ENROLMENT_FILTERS,
    SORTS,
    chronic_condition_categories,
    population_assignees,
    population_filter_parse,
    population_names,
    population_registry,
    stratification_run_latest,
)
from carenav.web.database import REQUEST_SESSION
from carenav.web.dependencies import Login, current_login
from carenav.web.paging import Paging
from carenav.web.rendering import is_htmx, render

router = APIRouter()

PAGE_SIZE = 25
FILTER_FIELDS = ("program", "tier", "condition", "plan_type", "age_band", "enrolment", "unassigned", "sort")
ACTIONS = {"outreach": "Start outreach", "assign": "Assign"}


def _sign(login: Login, payload: bytes) -> str:
    """A signature only this session can make (keyed by its CSRF secret): outcomes carried through the
    redirect after a plain POST cannot be forged or replayed into another session."""
    return hmac.new(login.csrf_token.encode(), payload, hashlib.sha256).hexdigest()[:32]


def outcomes_encode(login: Login, action: str, outcomes: list[BulkOutcome]) -> str:
    payload = orjson.dumps([action, [[o.patient_uuid, o.ok, o.message] for o in outcomes]])
    return base64.urlsafe_b64encode(payload).decode().rstrip("=") + "." + _sign(login, payload)


def outcomes_decode(login: Login, token: str) -> tuple[str, list[BulkOutcome]] | None:
    """The outcomes of a signed ``done`` parameter, or None if it is not one this session made."""
    encoded, _, signature = token.partition(".")
    try:
        payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except ValueError:
        return None
    if not hmac.compare_digest(signature, _sign(login, payload)):
        return None
    action, rows = orjson.loads(payload)
    return str(action), [BulkOutcome(str(u), bool(ok), str(message)) for u, ok, message in rows]


def _query(values: dict[str, str]) -> dict[str, str]:
    return {key: values.get(key, "") for key in FILTER_FIELDS}


def _back_query(back: str) -> dict[str, str]:
    """The filters a bulk form came from (only known fields are kept)."""
    return _query({k: v for k, v in parse_qsl(back, keep_blank_values=True) if k in FILTER_FIELDS})


def _population(
    request: Request,
    login: Login,
    session: Session,
    values: dict[str, str],
    page: int,
    result: tuple[str, list[BulkOutcome]] | None,
) -> Response:
    rules = program_rules_for(session=session, actor=login.actor)
    programs = {p.code: p.name for p in rules.programs}
    query = _query(values)
    run = stratification_run_latest(session=session, actor=login.actor)
    context: dict[str, Any] = {
        "run": run,
        "form": query,
        "query": query,
        "back": urlencode({k: v for k, v in query.items() if v}),
        "programs": programs,
        "tiers": {level.level: level.name for level in rules.tiers},
        "plan_types": [p.value for p in PlanType],
        "age_bands": list(AGE_BANDS),
        "enrolment_filters": ENROLMENT_FILTERS,
        "sorts": SORTS,
        "categories": chronic_condition_categories(),
        "assignees": population_assignees(session=session, actor=login.actor),
        "actions": ACTIONS,
        "result": None,
        "registry": None,
        "paging": Paging(page=page, size=PAGE_SIZE),
    }
    if result is not None:
        action, outcomes = result
        names = population_names(
            session=session, actor=login.actor, patient_uuids=[o.patient_uuid for o in outcomes]
        )
        context["result"] = {
            "action": ACTIONS.get(action, action),
            "outcomes": outcomes,
            "names": names,
            "done": sum(1 for o in outcomes if o.ok),
            "failed": sum(1 for o in outcomes if not o.ok),
        }
    if run is not None:
        where = population_filter_parse(
            program=query["program"],
            tier=query["tier"],
            condition=query["condition"],
            plan_type=query["plan_type"],
            age_band=query["age_band"],
            enrolment=query["enrolment"],
            unassigned=bool(query["unassigned"]),
            program_codes=list(programs),
        )
        paging: Paging = context["paging"]
        registry = population_registry(
            session=session,
            actor=login.actor,
            run=run,
            where=where,
            program_codes=list(programs),
            sort=query["sort"] or "risk",
            offset=paging.offset,
            limit=paging.size,
        )
        context["registry"] = registry
        context["paging"] = paging.with_total(registry.total)
    block = "registry" if is_htmx(request) else None
    return render(request, "population/registry.html", context, block=block, nav_key="population")


@router.get("/population")
def population_page(
    request: Request,
    program: str = "",
    tier: str = "",
    condition: str = "",
    plan_type: str = "",
    age_band: str = "",
    enrolment: str = "",
    unassigned: str = "",
    sort: str = "",
    done: str = "",
    page: int = Query(1, ge=1),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    values = {
        "program": program,
        "tier": tier,
        "condition": condition,
        "plan_type": plan_type,
        "age_band": age_band,
        "enrolment": enrolment,
        "unassigned": "1" if unassigned else "",
        "sort": sort,
    }
    result = outcomes_decode(login, done) if done else None
    return _population(request, login, session, values, page, result)


@router.post("/population/bulk")
def population_bulk(
    request: Request,
    action: str = Form(""),
    patient: list[str] = Form(default_factory=list),
    outreach_program: str = Form(""),
    assign_program: str = Form(""),
    username: str = Form(""),
    back: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    """Start outreach in a program, or assign to a care manager, for each selected patient; every patient
    gets an outcome. HTMX: the registry again with the outcomes; plain POST: redirect to it."""
    if action not in ACTIONS:
        raise InvalidInput("choose an action: start outreach or assign", where="action")
    if not patient:
        raise InvalidInput("select at least one patient", where="patient")
    if action == "outreach":
        if not outreach_program.strip():
            raise InvalidInput("choose the program to start outreach in", where="program")
        outcomes = enrolment_bulk_outreach_start(
            session=session, actor=login.actor, patient_uuids=patient, program_code=outreach_program.strip()
        )
    else:
        outcomes = enrolment_bulk_assign(
            session=session,
            actor=login.actor,
            patient_uuids=patient,
            username=username.strip(),
            program_code=assign_program.strip() or None,
        )
    values = _back_query(back)
    if is_htmx(request):
        return _population(request, login, session, values, 1, (action, outcomes))
    kept = {k: v for k, v in values.items() if v}
    kept["done"] = outcomes_encode(login, action, outcomes)
    return RedirectResponse(f"/population?{urlencode(kept)}", status_code=303)
