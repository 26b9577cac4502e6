"""The community resource directory and referrals on screen: search by need near a ZIP code (for a patient:
their ZIP code and language to start from), refer the patient to a service found; the patient's referrals
(each step of the loop, notes) and their consents to share.

The search is ``resources.search.resources_search``, the same as ``carenav resources search``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import patient_visible
from carenav.careplans.queries import open_goals
from carenav.clock import today
from carenav.patients.models import Patient
from carenav.referrals.models import Referral, SharingConsent
from carenav.referrals.resource_list import resource_list, resource_list_add, resource_list_remove
from carenav.referrals.rules import REFERRAL_MOVES, ReferralKind, ReferralStatus, referral_overdue
from carenav.referrals.services import (
    BOARD_LANES,
    CONSENT_METHODS,
    referral_attach,
    referral_attachment_read,
    referral_board,
    referral_create,
    referral_note,
    referral_step,
    sharing_consent_record,
)
from carenav.resources.editing import may_edit_directory
from carenav.resources.needs import need_get, needs
from carenav.resources.search import Criteria, resources_search, weekly_hours
from carenav.web.database import REQUEST_SESSION
from carenav.web.dependencies import Login, current_login
from carenav.web.documents import ACCEPTED_TYPES, MAX_DOCUMENT_MB, download, read_upload
from carenav.web.forms import form_choice, form_date, form_whole, safe_back
from carenav.web.rendering import is_htmx, render

router = APIRouter()

NEED_KINDS = {
    "food": ReferralKind.FOOD,
    "transportation": ReferralKind.TRANSPORTATION,
    "housing": ReferralKind.HOUSING,
    "utilities": ReferralKind.UTILITIES,
    "financial": ReferralKind.FINANCIAL,
    "respite": ReferralKind.RESPITE,
    "legal": ReferralKind.LEGAL,
    "safety": ReferralKind.HOUSING,
    "social": ReferralKind.FINANCIAL,
}
"""The referral kind a search by need refers to (safety: a shelter; company: a community program)."""


@router.get("/resources")
def resources_page(
    request: Request,
    need: str = "food",
    zip: str = "",
    language: str = "",
    open_now: str = "",
    income: str = "",
    patient: str = "",
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    """Search the directory; for a patient, start from their ZIP code and language."""
    need = need_get(need).code  # an SDOH domain (food-insecurity) names its need (food)
    person = patient_visible(session=session, actor=login.actor, patient_uuid=patient) if patient else None
    if person is not None and not zip and "zip" not in request.query_params:
        zip = _zip_of(person)
    if person is not None and not language and "language" not in request.query_params:
        language = person.preferred_language_display or ""
    criteria = Criteria(
        need,
        zip_code=zip or None,
        language=language or None,
        open_now=open_now == "yes",
        income_fpl=form_whole(income, "household income"),
        limit=25,
    )
    matches = resources_search(session=session, actor=login.actor, criteria=criteria)
    context = {
        "needs": needs(),
        "form": {
            "need": need,
            "zip": zip,
            "language": language,
            "open_now": open_now == "yes",
            "income": income,
        },
        "matches": matches,
        "person": person,
        "person_name": person.name_shown if person else "",
        "kind": NEED_KINDS.get(need, ReferralKind.FOOD).value,
        "goals": open_goals(session, person.id) if person else (),
        "can_edit_directory": may_edit_directory(login.actor),
    }
    block = "results" if is_htmx(request) else None
    return render(request, "resources/search.html", context, block=block, nav_key="resources")


def _zip_of(patient: Patient) -> str:
    for address in patient.addresses:
        if address.postal_code:
            return address.postal_code[:5]
    return ""


# --- referrals ------------------------------------------------------------------------------------


def referral_panel(session: Session, login: Login, patient: Patient) -> dict[str, Any]:
    """What the patient page shows of referrals: each with its open steps and whether it is overdue,
    and the consents to share."""
    referrals = list(
        session.scalars(
            select(Referral)
            .where(Referral.patient_id == patient.id)
            .order_by(Referral.status_at.desc(), Referral.id.desc())
        )
    )
    return {
        "referrals": [
            {
                "row": r,
                "moves": sorted(m.value for m in REFERRAL_MOVES[ReferralStatus(r.status)]),
                "overdue": referral_overdue(ReferralStatus(r.status), r.expected_by, today()),
            }
            for r in referrals
        ],
        "consents": list(
            session.scalars(
                select(SharingConsent)
                .where(SharingConsent.patient_id == patient.id)
                .order_by(SharingConsent.id.desc())
            )
        ),
        "kinds": [k.value for k in ReferralKind],
        "consent_methods": CONSENT_METHODS,
        "goals": open_goals(session, patient.id),
        "resource_list": resource_list(session=session, patient=patient),
        "searchable_domains": {d for n in needs().values() for d in n.sdoh_domains},
        "document_types": ACCEPTED_TYPES,
        "max_document_mb": MAX_DOCUMENT_MB,
    }


@router.get("/referrals")
def referral_board_page(
    request: Request, login: Login = Depends(current_login), session: Session = REQUEST_SESSION
) -> Response:
    """The referral board: every referral of the caseload (a supervisor: the team's) by lane, overdue
    first, each with its patient."""
    lanes = referral_board(session=session, actor=login.actor)
    board = [
        {
            "key": key,
            "label": label,
            "rows": [{"referral": r, "patient": p, "name": p.name_shown} for r, p in lanes[key]],
        }
        for key, label in BOARD_LANES
    ]
    return render(request, "referrals/board.html", {"board": board}, nav_key="referrals")


def _back(patient_uuid: str) -> Response:
    return RedirectResponse(f"/patients/{patient_uuid}#referrals", status_code=303)


@router.post("/patients/{patient_uuid}/referrals")
def referral_create_page(
    patient_uuid: str,
    kind: str = Form(""),
    reason: str = Form(""),
    recipient: str = Form(""),
    service: str = Form(""),
    goal: str = Form(""),
    expected_by: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    referral_create(
        session=session,
        actor=login.actor,
        patient_uuid=patient_uuid,
        kind=form_choice(ReferralKind, kind, "referral kind"),
        reason=reason,
        recipient=recipient or None,
        service_uuid=service or None,
        goal_uuid=goal or None,
        expected_by=form_date(expected_by, "expected by"),
    )
    return _back(patient_uuid)


@router.post("/referrals/{referral_uuid}/step")
def referral_step_page(
    referral_uuid: str,
    to: str = Form(""),
    note: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    referral = referral_step(
        session=session,
        actor=login.actor,
        referral_uuid=referral_uuid,
        to=form_choice(ReferralStatus, to, "referral status"),
        note=note.strip() or None,
    )
    return _back(session.get_one(Patient, referral.patient_id).uuid)


@router.post("/referrals/{referral_uuid}/note")
def referral_note_page(
    referral_uuid: str,
    note: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    referral = referral_note(session=session, actor=login.actor, referral_uuid=referral_uuid, note=note)
    return _back(session.get_one(Patient, referral.patient_id).uuid)


@router.post("/referrals/{referral_uuid}/attachments")
def referral_attach_page(
    referral_uuid: str,
    document: UploadFile | None = File(None),
    description: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    filename, content = read_upload(document, "referral attachment")
    attached = referral_attach(
        session=session,
        actor=login.actor,
        referral_uuid=referral_uuid,
        filename=filename,
        content=content,
        description=description,
    )
    return _back(session.get_one(Patient, attached.patient_id).uuid)


@router.get("/referral-attachments/{attachment_uuid}")
def referral_attachment_page(
    attachment_uuid: str, login: Login = Depends(current_login), session: Session = REQUEST_SESSION
) -> Response:
    return download(
        referral_attachment_read(session=session, actor=login.actor, attachment_uuid=attachment_uuid)
    )


@router.post("/patients/{patient_uuid}/sharing-consents")
def sharing_consent_page(
    patient_uuid: str,
    recipient: str = Form(""),
    given_on: str = Form(""),
    method: str = Form(""),
    scope: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    sharing_consent_record(
        session=session,
        actor=login.actor,
        patient_uuid=patient_uuid,
        recipient=recipient,
        given_on=form_date(given_on, "consent date") or today(),
        method=method,
        scope=scope,
    )
    return _back(patient_uuid)


# --- the patient's resource list ------------------------------------------------------------------


@router.post("/patients/{patient_uuid}/resource-list")
def resource_list_add_page(
    patient_uuid: str,
    service: str = Form(""),
    note: str = Form(""),
    back: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    resource_list_add(
        session=session, actor=login.actor, patient_uuid=patient_uuid, service_uuid=service, note=note
    )
    return RedirectResponse(safe_back(back, f"/patients/{patient_uuid}#resource-list"), status_code=303)


@router.post("/patient-resources/{entry_uuid}/remove")
def resource_list_remove_page(
    entry_uuid: str, login: Login = Depends(current_login), session: Session = REQUEST_SESSION
) -> Response:
    entry = resource_list_remove(session=session, actor=login.actor, entry_uuid=entry_uuid)
    return RedirectResponse(
        f"/patients/{session.get_one(Patient, entry.patient_id).uuid}#resource-list", status_code=303
    )


@router.get("/patients/{patient_uuid}/resource-list")
def resource_list_print_page(
    request: Request,
    patient_uuid: str,
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    """The patient's resource list to print and take home: each service with its address, phone, hours,
    languages, fees, how to apply and the care manager's note, in large type."""
    patient = patient_visible(session=session, actor=login.actor, patient_uuid=patient_uuid)
    listed = resource_list(session=session, patient=patient)
    hours = weekly_hours(session, [e.service_id for e in listed])
    entries = [
        {
            "entry": e,
            "service": e.service,
            "location": e.service.locations[0] if e.service.locations else None,
            "hours": hours.get(e.service_id, []),
        }
        for e in listed
    ]
    return render(
        request,
        "resources/patient_list.html",
        {
            "patient": patient,
            "patient_name": patient.name_shown,
            "entries": entries,
            "printed_on": today(),
        },
        nav_key="patients",
    )
