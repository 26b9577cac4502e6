"""Outreach on the patient page: the next follow-ups (as scheduled: showing the page writes nothing — the
writes that change what the schedule depends on keep it in step, ``outreach.schedule``), the contact form
with the structured note of the patient's programs and conditions (symptom review, goal progress for each
open goal, a proposed plan adjustment), the contact history with its red flags and what each contact did
to a transition of care, and where the patient stands in the unable-to-reach protocol."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Form
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import patient_visible
from carenav.careplans.queries import open_goals
from carenav.careplans.rules import Achievement
from carenav.clock import today
from carenav.errors import InvalidInput
from carenav.outreach.models import FollowUp, FollowUpStatus
from carenav.outreach.rules import (
    ContactKind,
    Direction,
    Outcome,
    Party,
    cadence,
    unable_to_reach_protocol,
)
from carenav.outreach.schedule import followup_reschedule, followups_scheduled
from carenav.outreach.services import (
    GoalUpdate,
    contact_log,
    contacts_of,
    contacts_on_transitions,
    note_templates_of,
    unable_to_reach_of,
)
from carenav.patients.models import Patient
from carenav.programs.queries import programs_open_of
from carenav.web.database import REQUEST_SESSION
from carenav.web.dependencies import Login, current_login
from carenav.web.forms import form_choice, form_date, form_text, form_whole, posted_form

router = APIRouter()

CLOSED_SHOWN = 10


def outreach_panel(session: Session, login: Login, patient: Patient) -> dict[str, Any]:
    """What the patient page shows of outreach (reads only)."""
    upcoming = followups_scheduled(session, patient)
    closed = list(
        session.scalars(
            select(FollowUp)
            .where(FollowUp.patient_id == patient.id, FollowUp.status != FollowUpStatus.SCHEDULED.value)
            .order_by(FollowUp.status_at.desc(), FollowUp.id.desc())
            .limit(CLOSED_SHOWN)
        )
    )
    programs = programs_open_of(session, patient.id)
    on = today()
    contacts = contacts_of(session=session, actor=login.actor, patient_uuid=patient.uuid, limit=20)
    return {
        "followups": [{"row": f, "overdue": f.due_on < on, "today": f.due_on == on} for f in upcoming],
        "closed": closed,
        "contacts": contacts,
        "on_transitions": contacts_on_transitions(session=session, patient=patient, contacts=contacts),
        "templates": note_templates_of(session, patient),
        "goals": open_goals(session, patient.id),
        "achievements": [a.value for a in Achievement],
        "kinds": [k.value for k in ContactKind],
        "directions": [d.value for d in Direction],
        "parties": [p.value for p in Party],
        "outcomes": [o.value for o in Outcome],
        "programs": programs,
        "reach": unable_to_reach_of(session, patient),
        "protocol": unable_to_reach_protocol(),
        "rules": cadence().rules,
    }


def _back(patient_uuid: str) -> Response:
    return RedirectResponse(f"/patients/{patient_uuid}#outreach", status_code=303)


@router.post("/patients/{patient_uuid}/contacts")
def contact_log_page(
    patient_uuid: str,
    form: dict[str, list[str]] = Depends(posted_form),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    """Log a contact: fields ``kind``, ``direction``, ``party``, ``party_name``, ``outcome``, ``program``,
    ``minutes``, ``at`` (a local date and time, empty: now), ``note``, ``plan_adjustments``, ``followup``;
    the structured note as ``note.<template>.<field>``; goal progress as ``goal.<uuid>.note`` and
    ``goal.<uuid>.achievement``."""
    patient_visible(session=session, actor=login.actor, patient_uuid=patient_uuid)
    answers: dict[str, dict[str, str]] = {}
    goals: dict[str, dict[str, str]] = {}
    for name, values in form.items():
        parts = name.split(".")
        if len(parts) == 3 and parts[0] == "note":
            answers.setdefault(parts[1], {})[parts[2]] = values[0] if values else ""
        elif len(parts) == 3 and parts[0] == "goal" and parts[2] in ("note", "achievement"):
            goals.setdefault(parts[1], {})[parts[2]] = (values[0] if values else "").strip()
    updates = [
        GoalUpdate(
            goal_uuid,
            given.get("note", ""),
            form_choice(Achievement, given["achievement"], "goal achievement")
            if given.get("achievement")
            else None,
        )
        for goal_uuid, given in goals.items()
        if given.get("note") or given.get("achievement")
    ]
    contact_log(
        session=session,
        actor=login.actor,
        patient_uuid=patient_uuid,
        kind=form_choice(ContactKind, form_text(form, "kind"), "contact kind"),
        direction=form_choice(Direction, form_text(form, "direction") or "outbound", "contact direction"),
        party=form_choice(Party, form_text(form, "party") or "patient", "contact with"),
        outcome=form_choice(Outcome, form_text(form, "outcome"), "contact outcome"),
        at=_local_time(form_text(form, "at"), login),
        party_name=form_text(form, "party_name") or None,
        program_code=form_text(form, "program") or None,
        minutes=form_whole(form_text(form, "minutes"), "contact minutes"),
        note=form_text(form, "note") or None,
        answers=answers,
        goal_updates=updates,
        plan_adjustments=form_text(form, "plan_adjustments") or None,
        followup_uuid=form_text(form, "followup") or None,
    )
    return _back(patient_uuid)


def _local_time(text: str, login: Login) -> datetime | None:
    """A date and time typed in the user's time zone (``2026-03-14T10:30``), None when left empty."""
    if not text.strip():
        return None
    try:
        typed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            f"{text!r} is not a date and time like 2026-03-14T10:30", where="contact time"
        ) from None
    return typed if typed.tzinfo is not None else typed.replace(tzinfo=login.timezone)


@router.post("/followups/{followup_uuid}/reschedule")
def followup_reschedule_page(
    followup_uuid: str,
    due_on: str = Form(""),
    reason: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    day = form_date(due_on, "follow-up date")
    if day is None:
        raise InvalidInput("choose the day the follow-up moves to", where="follow-up date")
    moved = followup_reschedule(
        session=session, actor=login.actor, followup_uuid=followup_uuid, due_on=day, reason=reason
    )
    return _back(session.get_one(Patient, moved.patient_id).uuid)
