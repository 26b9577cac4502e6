"""The patient's care team and preferences on screen: add a member (a family caregiver, a pharmacist, a
community organization's contact...), a member leaves the team; the preferences panel (started from the
patient's what-matters answers), and the lines of the printed plan that say how they like their care."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from carenav.careplans.models import CarePreferences
from carenav.careplans.preferences import (
    CONTACT_METHODS,
    Preferences,
    contact_words,
    preferences_from_assessment,
    preferences_of,
    preferences_record,
    preferences_values,
)
from carenav.careplans.team import care_team_member_add, care_team_member_end
from carenav.patients.models import Patient
from carenav.patients.rules import CareTeamRole
from carenav.web.database import REQUEST_SESSION
from carenav.web.dependencies import Login, current_login
from carenav.web.forms import form_choice, posted_form, safe_back

router = APIRouter()


@router.post("/patients/{patient_uuid}/care-team")
def care_team_add_page(
    patient_uuid: str,
    role: str = Form(""),
    name: str = Form(""),
    phone: str = Form(""),
    organization: str = Form(""),
    role_detail: str = Form(""),
    back: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    care_team_member_add(
        session=session,
        actor=login.actor,
        patient_uuid=patient_uuid,
        role=form_choice(CareTeamRole, role, "role"),
        name=name,
        phone=phone,
        organization_name=organization,
        role_display=role_detail,
    )
    return RedirectResponse(safe_back(back, f"/patients/{patient_uuid}#care-team"), status_code=303)


@router.post("/care-team/{member_uuid}/end")
def care_team_end_page(
    member_uuid: str,
    note: str = Form(""),
    back: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    member = care_team_member_end(
        session=session, actor=login.actor, member_uuid=member_uuid, note=note or None
    )
    patient = session.get_one(Patient, member.patient_id)
    return RedirectResponse(safe_back(back, f"/patients/{patient.uuid}#care-team"), status_code=303)


def preferences_panel(session: Session, login: Login, patient: Patient, back: str) -> dict[str, Any]:
    """The preferences panel: what is kept, or what the latest what-matters answers give to start from."""
    kept = preferences_of(session=session, actor=login.actor, patient_uuid=patient.uuid)
    values = preferences_values(kept)
    proposed = (
        None
        if kept
        else preferences_from_assessment(session=session, actor=login.actor, patient_uuid=patient.uuid)
    )
    return {
        "prefs": {
            "kept": kept is not None,
            "shown": values,
            "contact_words": contact_words(values.contact_methods),
            "from_assessment": proposed is not None,
            "form": proposed or values,
            "methods": CONTACT_METHODS,
        },
        "prefs_back": back,
    }


@router.post("/patients/{patient_uuid}/preferences")
def preferences_page(
    patient_uuid: str,
    form: dict[str, list[str]] = Depends(posted_form),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    def text(name: str) -> str:
        return (form.get(name) or [""])[0]

    preferences_record(
        session=session,
        actor=login.actor,
        patient_uuid=patient_uuid,
        preferences=Preferences(
            contact_methods=tuple(form.get("contact_methods", [])),
            contact_times=text("contact_times"),
            language=text("language"),
            interpreter_needed={"yes": True, "no": False}.get(text("interpreter_needed")),
            share_with=text("share_with"),
            cultural_religious=text("cultural_religious"),
            goals_of_care=text("goals_of_care"),
            advance_directive=text("advance_directive"),
            advance_directive_location=text("advance_directive_location"),
            health_care_proxy=text("health_care_proxy"),
            source=text("source") or "manual",
        ),
    )
    back = safe_back(text("back"), f"/patients/{patient_uuid}#preferences")
    return RedirectResponse(back, status_code=303)


def preference_lines(row: CarePreferences | None) -> list[str]:
    """The patient's preferences as lines of their printed plan."""
    p = preferences_values(row)
    lines = []
    if p.contact_methods or p.contact_times:
        how = contact_words(p.contact_methods) or "any way"
        lines.append(f"Reach me by {how}" + (f", {p.contact_times}" if p.contact_times else ""))
    if p.language:
        lines.append(f"My language: {p.language}" + (", with an interpreter" if p.interpreter_needed else ""))
    if p.share_with:
        lines.append(f"You may talk about my care with: {p.share_with}")
    if p.cultural_religious:
        lines.append(f"Please respect: {p.cultural_religious}")
    if p.goals_of_care:
        lines.append(f"What matters most to me: {p.goals_of_care}")
    if p.advance_directive == "yes":
        where = f", kept {p.advance_directive_location}" if p.advance_directive_location else ""
        lines.append(f"I have an advance directive{where}")
    if p.health_care_proxy:
        lines.append(f"My health care proxy: {p.health_care_proxy}")
    return lines
