"""Time on screen: on the patient page, the user's timer (start and stop, with a ticking display from
``static/timer.js``), minutes entered by hand, this month's entries with their edits and deletions, each
program's progress against its billing thresholds and the months before; and ``/time``, the month of the
user's reach by patient and program, those close to a threshold first (also as CSV).

Forms post normally and, with HTMX, swap the patient's time panel in place; a refusal under HTMX comes back
inside the panel, which stays usable."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from carenav.access import patient_visible
from carenav.accounts.queries import org_today
from carenav.clock import now
from carenav.errors import CarenavError
from carenav.patients.models import Patient
from carenav.timekeeping.rules import (
    ACTIVITY_LABELS,
    STAFF_ROLE_LABELS,
    ActivityType,
    Month,
    StaffRole,
    codes_text,
    days_left,
    minutes_text,
)
from carenav.timekeeping.services import (
    DAYS_LEFT,
    WITHIN_MINUTES,
    enrolments_on,
    entries_of_month,
    entry_add,
    entry_delete,
    entry_edit,
    monthly_totals,
    months_with_time,
    program_names,
    time_month,
    timer_discard,
    timer_running,
    timer_start,
    timer_stop,
)
from carenav.web.database import REQUEST_SESSION
from carenav.web.dependencies import Login, current_login
from carenav.web.forms import form_choice, form_date, form_whole
from carenav.web.rendering import is_htmx, render
from carenav.workdays import business_calendar

router = APIRouter()


def time_panel(session: Session, login: Login, patient: Patient) -> dict[str, Any]:
    """What the patient page shows of time: the user's timer, the programs time may be entered for today,
    this month's entries and per-program progress, and the months before."""
    actor = login.actor
    today = org_today(session, actor.org_id)
    month = Month.of(today)
    timer = timer_running(session=session, actor=actor)
    timer_patient = session.get(Patient, timer.patient_id) if timer else None
    names = program_names(session, actor)
    enrolled = sorted({e.program_code for e in enrolments_on(session, patient, today)})
    left = days_left(month, today)
    return {
        "month": month,
        "today": today.isoformat(),
        "now_iso": now().isoformat(),
        "days_left": left,
        "business_days_left": business_calendar().business_days_between(today, month.last),
        "near_end": left is not None and left <= DAYS_LEFT,
        "within": WITHIN_MINUTES,
        "timer": timer,
        "timer_here": timer_patient is not None and timer_patient.id == patient.id,
        "timer_patient": timer_patient,
        "timer_patient_name": timer_patient.name_shown if timer_patient else "",
        "programs": [{"code": code, "name": names.get(code, code)} for code in enrolled],
        "totals": monthly_totals(
            session=session, actor=actor, patient_uuid=patient.uuid, month=month, names=names
        ),
        "entries": entries_of_month(session=session, actor=actor, patient_uuid=patient.uuid, month=month),
        "previous": months_with_time(session=session, actor=actor, patient_uuid=patient.uuid, before=month),
        "names": names,
        "activities": [{"value": a.value, "label": ACTIVITY_LABELS[a]} for a in ActivityType],
        "activity_labels": {a.value: label for a, label in ACTIVITY_LABELS.items()},
        "roles": [{"value": r.value, "label": STAFF_ROLE_LABELS[r]} for r in StaffRole],
        "role_labels": {r.value: label for r, label in STAFF_ROLE_LABELS.items()},
        "minutes_text": minutes_text,
        "codes_text": codes_text,
        "error": None,
    }


def _after(
    request: Request,
    session: Session,
    login: Login,
    patient_uuid: str,
    act: Callable[[], object],
) -> Response:
    """Do ``act``; then the time panel under HTMX (with the refusal inside it, if ``act`` was refused), or
    back to the patient page at the panel."""
    if not is_htmx(request):
        act()
        return RedirectResponse(f"/patients/{patient_uuid}#time", status_code=303)
    error: CarenavError | None = None
    try:
        act()
    except CarenavError as exc:
        session.rollback()
        error = exc
    patient = patient_visible(session=session, actor=login.actor, patient_uuid=patient_uuid)
    panel = time_panel(session, login, patient)
    panel["error"] = error
    context = {"time": panel, "patient": patient}
    status = error.http_status if error else 200
    return render(request, "patients/_time.html", context, block="time", status_code=status)


@router.post("/patients/{patient_uuid}/timer/start")
def timer_start_page(
    request: Request,
    patient_uuid: str,
    program: str = Form(""),
    activity: str = Form(""),
    staff_role: str = Form(StaffRole.CLINICAL_STAFF.value),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    def act() -> object:
        return timer_start(
            session=session,
            actor=login.actor,
            patient_uuid=patient_uuid,
            program_code=program,
            activity=form_choice(ActivityType, activity, "activity"),
            staff_role=form_choice(StaffRole, staff_role, "staff role"),
        )

    return _after(request, session, login, patient_uuid, act)


@router.post("/patients/{patient_uuid}/timer/stop")
def timer_stop_page(
    request: Request,
    patient_uuid: str,
    note: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    """Stop the user's timer (whichever patient it runs for) and come back to ``patient_uuid``."""
    return _after(
        request,
        session,
        login,
        patient_uuid,
        lambda: timer_stop(session=session, actor=login.actor, note=note),
    )


@router.post("/patients/{patient_uuid}/timer/discard")
def timer_discard_page(
    request: Request,
    patient_uuid: str,
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    return _after(
        request, session, login, patient_uuid, lambda: timer_discard(session=session, actor=login.actor)
    )


def _minutes(text: str) -> int:
    minutes = form_whole(text, "minutes")
    if minutes is None:
        return 0  # refused by the service: "at least 1 minute"
    return minutes


@router.post("/patients/{patient_uuid}/time")
def entry_add_page(
    request: Request,
    patient_uuid: str,
    program: str = Form(""),
    minutes: str = Form(""),
    activity: str = Form(""),
    staff_role: str = Form(StaffRole.CLINICAL_STAFF.value),
    on: str = Form(""),
    note: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    def act() -> object:
        return entry_add(
            session=session,
            actor=login.actor,
            patient_uuid=patient_uuid,
            program_code=program,
            minutes=_minutes(minutes),
            activity=form_choice(ActivityType, activity, "activity"),
            staff_role=form_choice(StaffRole, staff_role, "staff role"),
            on=form_date(on, "date") or org_today(session, login.actor.org_id),
            note=note,
        )

    return _after(request, session, login, patient_uuid, act)


@router.post("/patients/{patient_uuid}/time/{entry_uuid}/edit")
def entry_edit_page(
    request: Request,
    patient_uuid: str,
    entry_uuid: str,
    reason: str = Form(""),
    program: str = Form(""),
    minutes: str = Form(""),
    activity: str = Form(""),
    staff_role: str = Form(""),
    on: str = Form(""),
    note: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    """Correct an entry (fields left empty stay as they were; the note as sent)."""

    def act() -> object:
        return entry_edit(
            session=session,
            actor=login.actor,
            entry_uuid=entry_uuid,
            reason=reason,
            minutes=form_whole(minutes, "minutes"),
            activity=form_choice(ActivityType, activity, "activity") if activity else None,
            staff_role=form_choice(StaffRole, staff_role, "staff role") if staff_role else None,
            program_code=program or None,
            on=form_date(on, "date"),
            note=note,
        )

    return _after(request, session, login, patient_uuid, act)


@router.post("/patients/{patient_uuid}/time/{entry_uuid}/delete")
def entry_delete_page(
    request: Request,
    patient_uuid: str,
    entry_uuid: str,
    reason: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    def act() -> object:
        return entry_delete(session=session, actor=login.actor, entry_uuid=entry_uuid, reason=reason)

    return _after(request, session, login, patient_uuid, act)


# --- The month of a caseload ------------------------------------------------------------------------------


def _month(session: Session, login: Login, text: str) -> Month:
    return Month.parse(text) if text.strip() else Month.of(org_today(session, login.actor.org_id))


PAGE_ROWS = 500
"""Rows shown on /time (a caseload fits; an administrator's whole organization is in the CSV)."""


@router.get("/time")
def time_page(
    request: Request,
    month: str = "",
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    """The month's minutes of the user's patients by program, those close to a threshold first."""
    chosen = _month(session, login, month)
    today = org_today(session, login.actor.org_id)
    rows = time_month(session=session, actor=login.actor, month=chosen)
    left = days_left(chosen, today)
    context = {
        "month": chosen,
        "current": Month.of(today),
        "rows": rows[:PAGE_ROWS],
        "more": max(0, len(rows) - PAGE_ROWS),
        "near": [r for r in rows if r.near],
        "days_left": left,
        "business_days_left": business_calendar().business_days_between(today, chosen.last),
        "near_end": left is not None and left <= DAYS_LEFT,
        "within": WITHIN_MINUTES,
        "your_total": sum(r.your_minutes for r in rows),
        "minutes_text": minutes_text,
        "codes_text": codes_text,
        "role_labels": {r.value: label for r, label in STAFF_ROLE_LABELS.items()},
    }
    return render(request, "time/month.html", context, nav_key="time")


CSV_COLUMNS = (
    "month",
    "patient_id",
    "patient",
    "program",
    "minutes",
    "clinical_staff_minutes",
    "billing_practitioner_minutes",
    "your_minutes",
    "billable",
    "next_code",
    "minutes_to_next",
    "close_to_threshold",
)


def _cell(value: object) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@router.get("/time.csv")
def time_csv(
    month: str = "",
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    chosen = _month(session, login, month)
    rows = time_month(session=session, actor=login.actor, month=chosen)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        progress = row.progress
        writer.writerow(
            [
                _cell(value)
                for value in (
                    chosen,
                    row.patient.uuid,
                    row.patient_name,
                    row.program,
                    progress.total,
                    progress.minutes_by_role[StaffRole.CLINICAL_STAFF],
                    progress.minutes_by_role[StaffRole.BILLING_PRACTITIONER],
                    row.your_minutes,
                    codes_text(progress.billable),
                    progress.next_code,
                    progress.to_next,
                    "yes" if row.near else "no",
                )
            ]
        )
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="time-{chosen}.csv"'},
    )
