"""The FHIR R4 REST facade under /fhir/R4: reads and searches, QuestionnaireResponse create, the update of
a referral's fulfilment Task (by the organization it was sent to), bearer-token access, errors as
OperationOutcome.

Routes parse the request, call the patient queries (which check access and audit) and map rows with
the pure mappers; a create reads the body (``fhir/submissions.py``) and calls the services
(``fhir/questionnaire_responses.py``). Nothing here decides
who sees what: the gatekeepers in ``carenav.access`` do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.routing import APIRoute
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from carenav import __version__
from carenav.access import Actor, patient_visible
from carenav.accounts.rules import TokenScope
from carenav.assessments.queries import assessment_page
from carenav.careplans.record_queries import care_plan_list, goal_list
from carenav.clock import now
from carenav.errors import CarenavError, NotFound
from carenav.fhir.auth import challenge, token_actor
from carenav.fhir.bundles import searchset_bundle
from carenav.fhir.capability import EVERYTHING, capability_statement
from carenav.fhir.mappers.care_plan import ASSESS_PLAN, US_CORE_CAREPLAN_CATEGORY
from carenav.fhir.mappers.care_team import care_team_resource
from carenav.fhir.mappers.common import CONDITION_CLINICAL, V3_ACT_CODE, FHIRDict
from carenav.fhir.mappers.goal import GOAL_ACHIEVEMENT, GOAL_LIFECYCLE
from carenav.fhir.mappers.patient import patient_resource
from carenav.fhir.mappers.questionnaire_response import (
    QUESTIONNAIRE_RESPONSE,
    questionnaire_response_resource,
)
from carenav.fhir.mappers.referral import SERVICE_REQUEST
from carenav.fhir.mappers.task import TASK
from carenav.fhir.outcome import operation_outcome, outcome_for_error, status_for_error
from carenav.fhir.questionnaire_responses import (
    questionnaire_response_create,
    questionnaire_response_read,
    questionnaire_response_search,
    questionnaire_responses_mapped,
)
from carenav.fhir.questionnaires import QUESTIONNAIRE, questionnaire_resource, questionnaire_search
from carenav.fhir.references import refs_for
from carenav.fhir.referrals import referral_task_update, service_request_read, service_request_search
from carenav.fhir.resources import CARE_TEAM, CARE_TEAM_MODEL, RESOURCE_KINDS, ResourceKind
from carenav.fhir.search import (
    SEARCH_PARAMETERS,
    SearchRequest,
    birth_date,
    date_window,
    parse_search,
    required_patient,
    token_codes,
    token_matches,
)
from carenav.fhir.submissions import submission_read
from carenav.fhir.tasks import TaskCriteria, task_page, task_read, task_search
from carenav.patients.clinical_queries import (
    RecordPage,
    condition_list,
    encounter_list,
    observation_list,
    record_list,
    record_read,
)
from carenav.patients.queries import PatientCriteria, patient_read, patient_search
from carenav.web.database import REQUEST_SESSION

log = logging.getLogger(__name__)

PREFIX = "/fhir/R4"
FHIR_JSON = "application/fhir+json"


class FHIRJSONResponse(Response):
    media_type = FHIR_JSON

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_response(error: CarenavError) -> FHIRJSONResponse:
    headers = {}
    www_authenticate = challenge(error)
    if www_authenticate:
        headers["WWW-Authenticate"] = www_authenticate
    return FHIRJSONResponse(outcome_for_error(error), status_code=status_for_error(error), headers=headers)


class FHIRRoute(APIRoute):
    """Routes whose errors leave as OperationOutcome, after rolling back the request's session."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except CarenavError as exc:
                _rollback(request)
                return error_response(exc)
            except Exception:
                _rollback(request)
                log.exception("FHIR request failed: %s", request.url.path)
                return FHIRJSONResponse(
                    operation_outcome("internal error; see the server log", code="exception"),
                    status_code=500,
                )

        return guarded


def _rollback(request: Request) -> None:
    session: Session | None = getattr(request.state, "fhir_session", None)
    if session is not None:
        session.rollback()


@dataclass(frozen=True)
class Facade:
    """What a FHIR interaction needs: the request's session, the token's actor, the base URL."""

    session: Session
    actor: Actor
    base: str
    lenient: bool
    page_size: int


def facade_base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + PREFIX


def _facade(request: Request, session: Session, scope: TokenScope) -> Facade:
    request.state.fhir_session = session
    actor = token_actor(request=request, session=session, scope=scope.value)
    prefer = request.headers.get("prefer", "").replace(" ", "").lower()
    return Facade(
        session=session,
        actor=actor,
        base=facade_base(request),
        lenient="handling=lenient" in prefer.split(";") or "handling=lenient" in prefer.split(","),
        page_size=request.app.state.settings.fhir_page_size,
    )


def facade(request: Request, session: Session = REQUEST_SESSION) -> Facade:
    """A read or search: the token needs ``fhir:read``."""
    return _facade(request, session, TokenScope.FHIR_READ)


def writing_facade(request: Request, session: Session = REQUEST_SESSION) -> Facade:
    """A create: the token needs ``fhir:write``."""
    return _facade(request, session, TokenScope.FHIR_WRITE)


async def request_body(request: Request) -> bytes:
    return await request.body()


FacadeDep = Annotated[Facade, Depends(facade)]
WritingFacadeDep = Annotated[Facade, Depends(writing_facade)]
BodyDep = Annotated[bytes, Depends(request_body)]


def fhir_router() -> APIRouter:
    """The facade's routes. Include with ``app.include_router(fhir_router())``."""
    router = APIRouter(prefix=PREFIX, route_class=FHIRRoute, tags=["fhir"])
    router.add_api_route("/metadata", metadata, methods=["GET"], response_class=FHIRJSONResponse)
    router.add_api_route(
        "/Patient/{patient_id}/$everything", everything, methods=["GET"], response_class=FHIRJSONResponse
    )
    router.add_api_route("/{resource_type}", search, methods=["GET"], response_class=FHIRJSONResponse)
    router.add_api_route(
        f"/{QUESTIONNAIRE_RESPONSE}",
        create_questionnaire_response,
        methods=["POST"],
        response_class=FHIRJSONResponse,
        status_code=201,
    )
    router.add_api_route(
        "/{resource_type}/{resource_id}", read, methods=["GET"], response_class=FHIRJSONResponse
    )
    router.add_api_route(
        f"/{TASK}/{{resource_id}}", update_task, methods=["PUT"], response_class=FHIRJSONResponse
    )
    router.add_api_route(
        "/{path:path}",
        unsupported,
        methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        response_class=FHIRJSONResponse,
    )
    return router


READABLE_TYPES = sorted([*RESOURCE_KINDS, CARE_TEAM, TASK, QUESTIONNAIRE, QUESTIONNAIRE_RESPONSE])
CREATABLE_TYPES = [QUESTIONNAIRE_RESPONSE]
UPDATABLE_TYPES = [TASK]
OPERATIONS = {"Patient": [("everything", EVERYTHING)]}


def metadata(request: Request) -> FHIRJSONResponse:
    """The CapabilityStatement (no token needed)."""
    return FHIRJSONResponse(
        capability_statement(
            base_url=facade_base(request),
            software_version=__version__,
            published_at=now(),
            readable_types=READABLE_TYPES,
            creatable_types=CREATABLE_TYPES,
            updatable_types=UPDATABLE_TYPES,
            operations=OPERATIONS,
        )
    )


def unsupported(path: str, request: Request) -> FHIRJSONResponse:
    first = path.split("/", 1)[0]
    if first in READABLE_TYPES or first in SEARCH_PARAMETERS:
        return FHIRJSONResponse(
            operation_outcome(
                f"{request.method} {PREFIX}/{path} is not supported: the facade reads "
                "(read, search, Patient/$everything), creates QuestionnaireResponses and updates the Tasks "
                "of referrals only",
                code="not-supported",
            ),
            status_code=405,
        )
    return FHIRJSONResponse(
        operation_outcome(f"unknown resource type or interaction: {path!r}", code="not-supported"),
        status_code=404,
    )


# --- read -----------------------------------------------------------------------------------------


def read(resource_type: str, resource_id: str, ctx: FacadeDep) -> FHIRJSONResponse:
    return FHIRJSONResponse(read_resource(ctx, resource_type, resource_id))


def read_resource(ctx: Facade, resource_type: str, resource_id: str) -> FHIRDict:
    session, actor = ctx.session, ctx.actor
    if resource_type == "Patient":
        return patient_resource(
            patient_read(session=session, actor=actor, patient_uuid=resource_id, what="FHIR read")
        )
    if resource_type == QUESTIONNAIRE:
        return questionnaire_resource(resource_id)
    if resource_type == QUESTIONNAIRE_RESPONSE:
        return questionnaire_response_read(session=session, actor=actor, resource_id=resource_id)
    if resource_type == TASK:
        return task_read(session=session, actor=actor, resource_id=resource_id)
    if resource_type == SERVICE_REQUEST:
        return service_request_read(session=session, actor=actor, resource_id=resource_id)
    if resource_type == CARE_TEAM:
        members = record_list(session=session, actor=actor, patient_uuid=resource_id, model=CARE_TEAM_MODEL)
        if not members.items:
            raise NotFound(f"no CareTeam {resource_id}", where="CareTeam")
        return care_team_resource(resource_id, members.items, refs_for(session, members.items))
    kind = RESOURCE_KINDS.get(resource_type)
    if kind is None:
        raise NotFound(f"unknown resource type {resource_type!r}", where=resource_type)
    if kind.scope == "organization":
        row = session.scalar(
            select(kind.model).where(kind.model.uuid == resource_id, kind.model.org_id == actor.org_id)
        )
        if row is None:
            raise NotFound(f"no {resource_type} {resource_id}", where=resource_type)
        return kind.to_fhir(row, refs_for(session, [row]))
    row, _patient = record_read(session=session, actor=actor, model=kind.model, record_uuid=resource_id)
    return kind.to_fhir(row, refs_for(session, [row]))


# --- search ---------------------------------------------------------------------------------------


def search(resource_type: str, request: Request, ctx: FacadeDep) -> FHIRJSONResponse:
    if resource_type not in SEARCH_PARAMETERS:
        if resource_type in READABLE_TYPES:
            return unsupported(resource_type, request)
        raise NotFound(f"unknown resource type {resource_type!r}", where=resource_type)
    query = parse_search(
        resource_type,
        list(request.query_params.multi_items()),
        default_count=ctx.page_size,
        lenient=ctx.lenient,
    )
    resources, total = SEARCHES[resource_type](ctx, query)
    outcome = None
    if query.ignored:
        outcome = operation_outcome(
            f"ignored unsupported parameters: {', '.join(sorted(set(query.ignored)))}",
            code="not-supported",
            severity="warning",
        )
    return FHIRJSONResponse(
        searchset_bundle(
            base=ctx.base,
            path=resource_type,
            params=query.echo(),
            resources=resources,
            total=total,
            count=query.count,
            offset=query.offset,
            outcome=outcome,
        )
    )


SearchResult = tuple[list[FHIRDict], int]


def _mapped(ctx: Facade, kind: ResourceKind, page: RecordPage[Any]) -> SearchResult:
    refs = refs_for(ctx.session, page.items)
    return [kind.to_fhir(row, refs) for row in page.items], page.total


def _nothing(ctx: Facade, patient_uuid: str) -> SearchResult:
    patient_visible(session=ctx.session, actor=ctx.actor, patient_uuid=patient_uuid)
    return [], 0


def search_patients(ctx: Facade, query: SearchRequest) -> SearchResult:
    born = query.first("birthdate")
    criteria = PatientCriteria(
        name=query.first("name"),
        family=query.first("family"),
        given=query.first("given"),
        birth_date=birth_date(born, where="Patient?birthdate") if born else None,
        identifier=query.first("identifier"),
    )
    page = patient_search(
        session=ctx.session, actor=ctx.actor, criteria=criteria, offset=query.offset, limit=query.count
    )
    return [patient_resource(p) for p in page.items], page.total


def search_conditions(ctx: Facade, query: SearchRequest) -> SearchResult:
    patient_uuid = required_patient(query)
    statuses: list[str] = []
    status_text = query.first("clinical-status")
    if status_text:
        statuses = token_codes(status_text, system=CONDITION_CLINICAL, where="Condition?clinical-status")
        if not statuses:
            return _nothing(ctx, patient_uuid)
    page = condition_list(
        session=ctx.session,
        actor=ctx.actor,
        patient_uuid=patient_uuid,
        clinical_statuses=statuses,
        offset=query.offset,
        limit=query.count,
    )
    return _mapped(ctx, RESOURCE_KINDS["Condition"], page)


def search_encounters(ctx: Facade, query: SearchRequest) -> SearchResult:
    patient_uuid = required_patient(query)
    classes: list[str] = []
    class_text = query.first("class")
    if class_text:
        classes = token_codes(class_text, system=V3_ACT_CODE, where="Encounter?class")
        if not classes:
            return _nothing(ctx, patient_uuid)
    dates = query.values.get("date", [])
    window = date_window(dates, where="Encounter?date") if dates else None
    if window is not None and window.is_empty:
        return _nothing(ctx, patient_uuid)
    page = encounter_list(
        session=ctx.session,
        actor=ctx.actor,
        patient_uuid=patient_uuid,
        window=window,
        classes=classes,
        offset=query.offset,
        limit=query.count,
    )
    return _mapped(ctx, RESOURCE_KINDS["Encounter"], page)


def search_observations(ctx: Facade, query: SearchRequest) -> SearchResult:
    patient_uuid = required_patient(query)
    code_text = query.first("code")
    codes = token_matches(code_text, where="Observation?code") if code_text else []
    dates = query.values.get("date", [])
    window = date_window(dates, where="Observation?date") if dates else None
    if window is not None and window.is_empty:
        return _nothing(ctx, patient_uuid)
    page = observation_list(
        session=ctx.session,
        actor=ctx.actor,
        patient_uuid=patient_uuid,
        codes=codes,
        window=window,
        offset=query.offset,
        limit=query.count,
    )
    return _mapped(ctx, RESOURCE_KINDS["Observation"], page)


REQUEST_STATUS = "http://hl7.org/fhir/request-status"


def search_care_plans(ctx: Facade, query: SearchRequest) -> SearchResult:
    """Every plan is US Core's ``assess-plan``: a category search for another matches none."""
    patient_uuid = required_patient(query)
    status_text, category_text = query.first("status"), query.first("category")
    statuses = token_codes(status_text, system=REQUEST_STATUS, where="CarePlan?status") if status_text else []
    if category_text:
        categories = token_codes(category_text, system=US_CORE_CAREPLAN_CATEGORY, where="CarePlan?category")
        if ASSESS_PLAN not in categories:
            return _nothing(ctx, patient_uuid)
    if status_text and not statuses:
        return _nothing(ctx, patient_uuid)
    page = care_plan_list(
        session=ctx.session,
        actor=ctx.actor,
        patient_uuid=patient_uuid,
        statuses=statuses,
        offset=query.offset,
        limit=query.count,
    )
    return _mapped(ctx, RESOURCE_KINDS["CarePlan"], page)


def search_goals(ctx: Facade, query: SearchRequest) -> SearchResult:
    patient_uuid = required_patient(query)
    lifecycle_text, achievement_text = query.first("lifecycle-status"), query.first("achievement-status")
    lifecycles = (
        token_codes(lifecycle_text, system=GOAL_LIFECYCLE, where="Goal?lifecycle-status")
        if lifecycle_text
        else []
    )
    achievements = (
        token_codes(achievement_text, system=GOAL_ACHIEVEMENT, where="Goal?achievement-status")
        if achievement_text
        else []
    )
    if (lifecycle_text and not lifecycles) or (achievement_text and not achievements):
        return _nothing(ctx, patient_uuid)
    page = goal_list(
        session=ctx.session,
        actor=ctx.actor,
        patient_uuid=patient_uuid,
        lifecycles=lifecycles,
        achievements=achievements,
        offset=query.offset,
        limit=query.count,
    )
    return _mapped(ctx, RESOURCE_KINDS["Goal"], page)


def search_questionnaires(ctx: Facade, query: SearchRequest) -> SearchResult:
    """The shipped instruments as Questionnaires, filtered by url, name and code (no patient data)."""
    found = questionnaire_search(url=query.first("url"), name=query.first("name"), code=query.first("code"))
    page = found[query.offset : query.offset + query.count]
    return page, len(found)


SEARCHES: dict[str, Callable[[Facade, SearchRequest], SearchResult]] = {
    "Patient": search_patients,
    "Condition": search_conditions,
    "Encounter": search_encounters,
    "Observation": search_observations,
    "Questionnaire": search_questionnaires,
    QUESTIONNAIRE_RESPONSE: lambda ctx, query: questionnaire_response_search(
        session=ctx.session, actor=ctx.actor, query=query
    ),
    "CarePlan": search_care_plans,
    "Goal": search_goals,
    TASK: lambda ctx, query: task_search(session=ctx.session, actor=ctx.actor, query=query),
    SERVICE_REQUEST: lambda ctx, query: service_request_search(
        session=ctx.session, actor=ctx.actor, query=query
    ),
}
assert set(SEARCHES) == set(SEARCH_PARAMETERS), "every searchable type needs a search function"


# --- $everything ----------------------------------------------------------------------------------


def everything(patient_id: str, request: Request, ctx: FacadeDep) -> FHIRJSONResponse:
    """The patient and every resource of their record, paged like a search."""
    query = parse_search(
        "Patient/$everything",
        list(request.query_params.multi_items()),
        default_count=ctx.page_size,
        lenient=ctx.lenient,
    )
    resources, total = everything_page(ctx, patient_id, offset=query.offset, count=query.count)
    return FHIRJSONResponse(
        searchset_bundle(
            base=ctx.base,
            path=f"Patient/{patient_id}/$everything",
            params=[],
            resources=resources,
            total=total,
            count=query.count,
            offset=query.offset,
        )
    )


def everything_page(ctx: Facade, patient_uuid: str, *, offset: int, count: int) -> SearchResult:
    """Resources ``offset`` to ``offset + count`` of: the Patient, then each kind of record in
    ``RESOURCE_KINDS`` order (CarePlan and Goal last), then the Tasks (every source, newest first), then
    the QuestionnaireResponses (newest first), then the CareTeam."""
    session, actor = ctx.session, ctx.actor
    patient = patient_read(session=session, actor=actor, patient_uuid=patient_uuid, what="FHIR $everything")
    out: list[FHIRDict] = []
    skip, room, total = offset, count, 1
    if skip == 0 and room > 0:
        out.append(patient_resource(patient))
        room -= 1
    else:
        skip = max(skip - 1, 0)
    for kind in RESOURCE_KINDS.values():
        if kind.scope != "patient":
            continue
        page = record_list(
            session=session, actor=actor, patient_uuid=patient_uuid, model=kind.model, offset=skip, limit=room
        )
        total += page.total
        skip = max(skip - page.total, 0)
        room -= len(page.items)
        out.extend(_mapped(ctx, kind, page)[0])
    tasks, task_total = task_page(
        session=session,
        actor=actor,
        patient_uuid=patient_uuid,
        criteria=TaskCriteria(),
        offset=skip,
        limit=room,
    )
    total += task_total
    skip = max(skip - task_total, 0)
    room -= len(tasks)
    out.extend(tasks)
    responses = assessment_page(
        session=session, actor=actor, patient_uuid=patient_uuid, offset=skip, limit=room
    )
    total += responses.total
    skip = max(skip - responses.total, 0)
    room -= len(responses.items)
    out.extend(questionnaire_responses_mapped(session, responses.items))
    members = record_list(session=session, actor=actor, patient_uuid=patient_uuid, model=CARE_TEAM_MODEL)
    if members.items:
        total += 1
        if skip == 0 and room > 0:
            out.append(care_team_resource(patient_uuid, members.items, refs_for(session, members.items)))
    return out, total


# --- create ---------------------------------------------------------------------------------------


def create_questionnaire_response(ctx: WritingFacadeDep, body: BodyDep) -> FHIRJSONResponse:
    """``POST QuestionnaireResponse``: 201 with the stored resource, as a read returns it, and its
    ``Location``. Committed before the response leaves (``REQUEST_SESSION``); nothing kept on an error."""
    submission = submission_read(body)
    assessment = questionnaire_response_create(session=ctx.session, actor=ctx.actor, submission=submission)
    ctx.session.flush()
    resource = questionnaire_response_resource(assessment, refs_for(ctx.session, [assessment]))
    location = f"{ctx.base}/{QUESTIONNAIRE_RESPONSE}/{assessment.uuid}"
    return FHIRJSONResponse(resource, status_code=201, headers={"Location": location})


# --- update ---------------------------------------------------------------------------------------


def update_task(resource_id: str, ctx: WritingFacadeDep, body: BodyDep) -> FHIRJSONResponse:
    """``PUT Task/<id>``: the organization a referral was sent to records its progress on the referral's
    fulfilment Task (``fhir/referrals.py``); 200 with the Task as it now is. Only referral Tasks are
    updated; the care plan's steps change in carenav."""
    return FHIRJSONResponse(
        referral_task_update(session=ctx.session, actor=ctx.actor, resource_id=resource_id, body=body)
    )
