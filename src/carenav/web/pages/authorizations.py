"""Prior authorizations on screen: the patient page's section (each request with its status, deadlines and
next steps, its appeals and peer-to-peer reviews, the alternatives weighed after a denial, its documents, and
the patient's advocacy log, with a form for every step), and the tracker across the care manager's caseload,
deadlines soonest first, overdue ones marked.

The services are ``authorizations.services``; every form posts and comes back to the patient page."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from carenav.authorizations.models import ADVOCACY_KINDS, PriorAuthorization
from carenav.authorizations.rules import (
    ADVERSE,
    DECISIONS,
    IN_REVIEW,
    AppealOutcome,
    AuthorizationStatus,
    PayerKind,
)
from carenav.authorizations.services import (
    MAX_DUE_DAYS,
    Approval,
    RequestFields,
    advocacy_log,
    advocacy_record,
    alternative_add,
    alternative_choose,
    alternative_link_goal,
    appeal_decide,
    appeal_file,
    appeal_peer_to_peer_held,
    appeal_schedule_peer_to_peer,
    appeal_withdraw,
    authorization_create,
    authorization_decide,
    authorization_revise,
    authorization_step,
    authorization_submit,
    authorizations_due,
    document_attach,
    document_read,
    document_remove,
    patient_authorizations,
)
from carenav.careplans.models import Goal
from carenav.careplans.queries import open_goals
from carenav.clock import today
from carenav.errors import InvalidInput
from carenav.patients.models import Patient
from carenav.web.database import REQUEST_SESSION
from carenav.web.dependencies import Login, current_login
from carenav.web.documents import ACCEPTED_TYPES, MAX_DOCUMENT_MB, download, read_upload
from carenav.web.forms import form_choice, form_date, form_text, form_whole, posted_form
from carenav.web.rendering import render

router = APIRouter()

TRACKER_HORIZONS = (7, 14, 30, 90)
PAYER_KIND_LABELS = {
    PayerKind.MEDICARE_ADVANTAGE: "Medicare Advantage",
    PayerKind.MEDICARE_PART_D: "Medicare Part D (drugs)",
    PayerKind.MEDICARE: "Medicare (traditional)",
    PayerKind.MEDICAID_MANAGED_CARE: "Medicaid managed care",
    PayerKind.MEDICAID: "Medicaid (fee-for-service)",
    PayerKind.COMMERCIAL: "Commercial / employer / ACA plan",
    PayerKind.OTHER: "Other",
}


def authorization_panel(session: Session, login: Login, patient: Patient) -> dict[str, Any]:
    """What the patient page shows of prior authorizations: each request with its deadlines (soonest first,
    with the days left), the steps open to it, its appeals, alternatives and documents; the advocacy log;
    and the choices the forms offer."""
    on = today()
    views = patient_authorizations(session=session, actor=login.actor, patient_uuid=patient.uuid)
    goals = open_goals(session, patient.id)
    goal_names = {g.id: g.description for g in goals}
    for view in views:
        for alternative in view.row.alternatives:
            if alternative.goal_id is not None and alternative.goal_id not in goal_names:
                goal_names[alternative.goal_id] = session.get_one(Goal, alternative.goal_id).description
        if view.row.goal_id is not None and view.row.goal_id not in goal_names:
            goal_names[view.row.goal_id] = session.get_one(Goal, view.row.goal_id).description
    return {
        "items": [
            {
                "view": view,
                "row": view.row,
                "status": AuthorizationStatus(view.row.status),
                "deadlines": [
                    {
                        "label": d.label,
                        "on": d.on,
                        "days_left": d.days_left(on),
                        "overdue": d.overdue(on),
                    }
                    for d in view.deadlines
                ],
                "in_review": AuthorizationStatus(view.row.status) in IN_REVIEW,
                "adverse": AuthorizationStatus(view.row.status) in ADVERSE,
                "draft": view.row.status == AuthorizationStatus.DRAFT.value,
            }
            for view in views
        ],
        "advocacy": advocacy_log(session=session, actor=login.actor, patient_uuid=patient.uuid),
        "goals": goals,
        "goal_names": goal_names,
        "payer_kinds": [(k.value, PAYER_KIND_LABELS[k]) for k in PayerKind],
        "payer_kind_labels": {k.value: v for k, v in PAYER_KIND_LABELS.items()},
        "decisions": sorted(d.value for d in DECISIONS),
        "outcomes": [o.value for o in AppealOutcome],
        "advocacy_kinds": ADVOCACY_KINDS,
        "document_types": ACCEPTED_TYPES,
        "max_document_mb": MAX_DOCUMENT_MB,
        "today": on,
    }


# --- the tracker -----------------------------------------------------------------------------------


@router.get("/authorizations")
def authorization_tracker(
    request: Request,
    within: str = "30",
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    """The deadlines of the caseload's prior authorizations within ``within`` days, overdue ones first."""
    days = form_whole(within, "within days")
    if days is None:
        days = 30
    items = authorizations_due(session=session, actor=login.actor, within_days=days)
    context = {
        "items": [
            {
                "item": i,
                "patient_name": i.patient.name_shown,
                "payer_kind": PAYER_KIND_LABELS[PayerKind(i.authorization.payer_kind)],
            }
            for i in items
        ],
        "overdue": sum(1 for i in items if i.overdue),
        "within": days,
        "horizons": sorted({*TRACKER_HORIZONS, days}),
        "max_days": MAX_DUE_DAYS,
    }
    return render(request, "authorizations/tracker.html", context, nav_key="authorizations")


# --- the request -----------------------------------------------------------------------------------


def _back(patient_uuid: str, anchor: str = "authorizations") -> Response:
    return RedirectResponse(f"/patients/{patient_uuid}#{anchor}", status_code=303)


def _to_request(session: Session, patient_id: int, authorization_uuid: str) -> Response:
    return _back(session.get_one(Patient, patient_id).uuid, f"authorization-{authorization_uuid}")


def _fields(form: dict[str, list[str]]) -> RequestFields:
    """The request's fields as the create and revise forms post them."""

    return RequestFields(
        service=form_text(form, "service"),
        payer_name=form_text(form, "payer_name"),
        payer_kind=form_choice(PayerKind, form_text(form, "payer_kind"), "payer kind"),
        clinical_justification=form_text(form, "justification"),
        service_codes=form_text(form, "service_codes"),
        diagnosis_codes=form_text(form, "diagnosis_codes"),
        urgent=form_text(form, "urgent") == "yes",
        requested_units=form_whole(form_text(form, "requested_units"), "requested units"),
        ordering_provider=form_text(form, "ordering_provider"),
        member_id=form_text(form, "member_id"),
    )


@router.post("/patients/{patient_uuid}/authorizations")
async def authorization_create_page(
    request: Request,
    patient_uuid: str,
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    form = await posted_form(request)
    authorization = authorization_create(
        session=session,
        actor=login.actor,
        patient_uuid=patient_uuid,
        fields=_fields(form),
        goal_uuid=form_text(form, "goal") or None,
    )
    return _back(patient_uuid, f"authorization-{authorization.uuid}")


@router.post("/authorizations/{authorization_uuid}/revise")
async def authorization_revise_page(
    request: Request,
    authorization_uuid: str,
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    form = await posted_form(request)
    authorization = authorization_revise(
        session=session,
        actor=login.actor,
        authorization_uuid=authorization_uuid,
        fields=_fields(form),
        goal_uuid=form_text(form, "goal") or None,
    )
    return _to_request(session, authorization.patient_id, authorization_uuid)


@router.post("/authorizations/{authorization_uuid}/submit")
def authorization_submit_page(
    authorization_uuid: str,
    submitted_on: str = Form(""),
    reference_number: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    authorization = authorization_submit(
        session=session,
        actor=login.actor,
        authorization_uuid=authorization_uuid,
        submitted_on=form_date(submitted_on, "submitted on"),
        reference_number=reference_number,
    )
    return _to_request(session, authorization.patient_id, authorization_uuid)


@router.post("/authorizations/{authorization_uuid}/step")
def authorization_step_page(
    authorization_uuid: str,
    to: str = Form(""),
    note: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    authorization = authorization_step(
        session=session,
        actor=login.actor,
        authorization_uuid=authorization_uuid,
        to=form_choice(AuthorizationStatus, to, "authorization status"),
        note=note,
    )
    return _to_request(session, authorization.patient_id, authorization_uuid)


@router.post("/authorizations/{authorization_uuid}/decision")
def authorization_decision_page(
    authorization_uuid: str,
    decision: str = Form(""),
    decided_on: str = Form(""),
    reason: str = Form(""),
    authorization_number: str = Form(""),
    approved_units: str = Form(""),
    valid_from: str = Form(""),
    valid_to: str = Form(""),
    note: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    authorization = authorization_decide(
        session=session,
        actor=login.actor,
        authorization_uuid=authorization_uuid,
        decision=form_choice(AuthorizationStatus, decision, "decision"),
        decided_on=form_date(decided_on, "decided on"),
        reason=reason,
        approval=_approval(authorization_number, approved_units, valid_from, valid_to, note),
    )
    return _to_request(session, authorization.patient_id, authorization_uuid)


def _approval(number: str, units: str, valid_from: str, valid_to: str, note: str) -> Approval:
    return Approval(
        authorization_number=number,
        units=form_whole(units, "approved units"),
        valid_from=form_date(valid_from, "valid from"),
        valid_to=form_date(valid_to, "valid to"),
        note=note,
    )


# --- documents -------------------------------------------------------------------------------------


@router.post("/authorizations/{authorization_uuid}/documents")
def document_attach_page(
    authorization_uuid: str,
    document: UploadFile | None = File(None),
    description: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    filename, content = read_upload(document, "document")
    attached = document_attach(
        session=session,
        actor=login.actor,
        authorization_uuid=authorization_uuid,
        filename=filename,
        content=content,
        description=description,
    )
    return _to_request(session, attached.patient_id, authorization_uuid)


@router.get("/authorization-documents/{document_uuid}")
def document_download_page(
    document_uuid: str,
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    return download(document_read(session=session, actor=login.actor, document_uuid=document_uuid))


@router.post("/authorization-documents/{document_uuid}/remove")
def document_remove_page(
    document_uuid: str,
    reason: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    authorization = document_remove(
        session=session, actor=login.actor, document_uuid=document_uuid, reason=reason
    )
    return _to_request(session, authorization.patient_id, authorization.uuid)


# --- appeals ---------------------------------------------------------------------------------------


@router.post("/authorizations/{authorization_uuid}/appeals")
def appeal_file_page(
    authorization_uuid: str,
    filed_on: str = Form(""),
    expedited: str = Form(""),
    grounds: str = Form(""),
    reference_number: str = Form(""),
    late_reason: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    appeal = appeal_file(
        session=session,
        actor=login.actor,
        authorization_uuid=authorization_uuid,
        filed_on=form_date(filed_on, "appeal filed on"),
        expedited=expedited == "yes",
        grounds=grounds,
        reference_number=reference_number,
        late_reason=late_reason,
    )
    return _to_request(session, appeal.patient_id, authorization_uuid)


@router.post("/appeals/{appeal_uuid}/peer-to-peer")
def appeal_peer_to_peer_page(
    appeal_uuid: str,
    at: str = Form(""),
    with_whom: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    appeal = appeal_schedule_peer_to_peer(
        session=session,
        actor=login.actor,
        appeal_uuid=appeal_uuid,
        at=_local_time(at, login, "peer-to-peer time"),
        with_whom=with_whom,
    )
    return _to_appeal(session, appeal.patient_id, appeal.authorization_id)


@router.post("/appeals/{appeal_uuid}/peer-to-peer-held")
def appeal_peer_to_peer_held_page(
    appeal_uuid: str,
    note: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    appeal = appeal_peer_to_peer_held(session=session, actor=login.actor, appeal_uuid=appeal_uuid, note=note)
    return _to_appeal(session, appeal.patient_id, appeal.authorization_id)


@router.post("/appeals/{appeal_uuid}/decision")
def appeal_decision_page(
    appeal_uuid: str,
    outcome: str = Form(""),
    decided_on: str = Form(""),
    note: str = Form(""),
    authorization_number: str = Form(""),
    approved_units: str = Form(""),
    valid_from: str = Form(""),
    valid_to: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    appeal = appeal_decide(
        session=session,
        actor=login.actor,
        appeal_uuid=appeal_uuid,
        outcome=form_choice(AppealOutcome, outcome, "appeal outcome"),
        decided_on=form_date(decided_on, "appeal decided on"),
        note=note,
        approval=_approval(authorization_number, approved_units, valid_from, valid_to, ""),
    )
    return _to_appeal(session, appeal.patient_id, appeal.authorization_id)


@router.post("/appeals/{appeal_uuid}/withdraw")
def appeal_withdraw_page(
    appeal_uuid: str,
    reason: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    appeal = appeal_withdraw(session=session, actor=login.actor, appeal_uuid=appeal_uuid, reason=reason)
    return _to_appeal(session, appeal.patient_id, appeal.authorization_id)


def _to_appeal(session: Session, patient_id: int, authorization_id: int) -> Response:
    authorization = session.get_one(PriorAuthorization, authorization_id)
    return _to_request(session, patient_id, authorization.uuid)


# --- alternatives and the advocacy log ---------------------------------------------------------------


@router.post("/authorizations/{authorization_uuid}/alternatives")
def alternative_add_page(
    authorization_uuid: str,
    description: str = Form(""),
    reason: str = Form(""),
    goal: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    alternative = alternative_add(
        session=session,
        actor=login.actor,
        authorization_uuid=authorization_uuid,
        description=description,
        reason=reason,
        goal_uuid=goal or None,
    )
    return _to_request(session, alternative.patient_id, authorization_uuid)


@router.post("/alternatives/{alternative_uuid}/choose")
def alternative_choose_page(
    alternative_uuid: str,
    reason: str = Form(""),
    goal: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    if goal:
        alternative_link_goal(
            session=session, actor=login.actor, alternative_uuid=alternative_uuid, goal_uuid=goal
        )
    alternative = alternative_choose(
        session=session, actor=login.actor, alternative_uuid=alternative_uuid, reason=reason
    )
    return _to_appeal(session, alternative.patient_id, alternative.authorization_id)


@router.post("/patients/{patient_uuid}/advocacy")
def advocacy_record_page(
    patient_uuid: str,
    kind: str = Form(""),
    action: str = Form(""),
    done_on: str = Form(""),
    with_whom: str = Form(""),
    outcome: str = Form(""),
    authorization: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    advocacy_record(
        session=session,
        actor=login.actor,
        patient_uuid=patient_uuid,
        kind=kind,
        action=action,
        done_on=form_date(done_on, "advocacy date"),
        with_whom=with_whom,
        outcome=outcome,
        authorization_uuid=authorization or None,
    )
    return _back(patient_uuid, "advocacy")


# --- reading forms ---------------------------------------------------------------------------------


def _local_time(text: str, login: Login, where: str) -> datetime:
    """A date and time typed as YYYY-MM-DDTHH:MM (a datetime-local field), in the organization's zone."""
    if not text.strip():
        raise InvalidInput("give the date and time", where=where)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            f"{text.strip()!r} is not a date and time like 2026-03-14T15:30", where=where
        ) from None
    return moment.replace(tzinfo=login.timezone) if moment.tzinfo is None else moment
