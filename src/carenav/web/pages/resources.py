"""The community resource directory and referrals on screen: search by need near a ZIP code (for a patient:
their ZIP code and language to start from), refer the patient to a service found; the patient's referrals
(each step of the loop, notes) and their consents to share.

The search is ``resources.search.resources_search``, the same as ``carenav resources search``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import patient_visible
from carenav.clock import today
from carenav.patients.models import Patient
from carenav.referrals.models import Referral, SharingConsent
from carenav.referrals.rules import REFERRAL_MOVES, ReferralKind, ReferralStatus, referral_overdue
from carenav.referrals.services import (
    CONSENT_METHODS,
    referral_create,
    referral_note,
    referral_step,
    sharing_consent_record,
)
from carenav.resources.needs import needs
from carenav.resources.search import Criteria, resources_search
from carenav.web.database import REQUEST_SESSION
from carenav.web.dependencies import Login, current_login
from carenav.web.forms import form_choice, form_date
from carenav.web.names import patient_display_name
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
    patient: str = "",
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    """Search the directory; for a patient, start from their ZIP code and language."""
    person = patient_visible(session=session, actor=login.actor, patient_uuid=patient) if patient else None
    if person is not None and not zip and "zip" not in request.query_params:
        zip = _zip_of(person)
    if person is not None and not language and "language" not in request.query_params:
        language = person.preferred_language_display or ""
    criteria = Criteria(
        need, zip_code=zip or None, language=language or None, open_now=open_now == "yes", limit=25
    )
    matches = resources_search(session=session, actor=login.actor, criteria=criteria)
    context = {
        "needs": needs(),
        "form": {"need": need, "zip": zip, "language": language, "open_now": open_now == "yes"},
        "matches": matches,
        "person": person,
        "person_name": patient_display_name(person) if person else "",
        "kind": NEED_KINDS.get(need, ReferralKind.FOOD).value,
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
    }


def _back(patient_uuid: str) -> Response:
    return RedirectResponse(f"/patients/{patient_uuid}#referrals", status_code=303)


@router.post("/patients/{patient_uuid}/referrals")
def referral_create_page(
    patient_uuid: str,
    kind: str = Form(""),
    reason: str = Form(""),
    recipient: str = Form(""),
    service: str = Form(""),
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
