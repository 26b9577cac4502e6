"""Caseloads and the supervisor dashboard: ``/caseloads`` (care managers with discipline, credentials,
caseload size and acuity; balancing suggestions with Reassign buttons; coverage), ``/dashboard`` with its
charts (``/static/dashboard-charts.js``) and ``/dashboard.csv``. Supervisors and administrators only."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.accounts.models import Credential, Team, User
from carenav.accounts.queries import org_today
from carenav.accounts.services import CREDENTIAL_EXPIRY_WARNING_DAYS
from carenav.caseloads.dashboard import FIGURES, Dashboard, dashboard
from carenav.caseloads.rules import DISCIPLINE_LABELS, Discipline
from carenav.caseloads.services import (
    balancing_suggestions,
    caseload_reassign,
    caseload_rows,
    coverage_end,
    coverage_set,
    coverages_current,
    require_supervisor,
    team_resolve_for,
    team_users,
)
from carenav.errors import InvalidInput
from carenav.timekeeping.rules import Month
from carenav.web.database import REQUEST_SESSION
from carenav.web.dependencies import Login, current_login
from carenav.web.forms import form_date
from carenav.web.rendering import render

router = APIRouter()


def _month(session: Session, login: Login, text: str) -> Month:
    return Month.parse(text) if text else Month.of(org_today(session, login.actor.org_id))


def _teams(session: Session, login: Login) -> list[Team]:
    if login.actor.role == "supervisor":
        return []
    return list(session.scalars(select(Team).where(Team.org_id == login.actor.org_id).order_by(Team.name)))


@router.get("/caseloads")
def caseloads_page(
    request: Request,
    team: str = "",
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    actor = login.actor
    require_supervisor(actor)
    chosen = team_resolve_for(session, actor, team or None)
    users = team_users(session, actor, chosen)
    today = org_today(session, actor.org_id)
    credentials: dict[int, list[Credential]] = {}
    for credential in session.scalars(
        select(Credential).where(Credential.user_id.in_([u.id for u in users])).order_by(Credential.kind)
    ):
        credentials.setdefault(credential.user_id, []).append(credential)
    names = {u.id: u for u in session.scalars(select(User).where(User.org_id == actor.org_id))}
    context: dict[str, Any] = {
        "team": chosen,
        "teams": _teams(session, login),
        "rows": caseload_rows(session, actor, users),
        "credentials": credentials,
        "today": today,
        "warn_days": CREDENTIAL_EXPIRY_WARNING_DAYS,
        "suggestions": balancing_suggestions(
            session=session, actor=actor, team=chosen.id if chosen else None
        ),
        "coverages": coverages_current(session=session, actor=actor, on=today),
        "users": users,
        "names": names,
        "labels": {d.value: label for d, label in DISCIPLINE_LABELS.items()},
        "disciplines": list(Discipline),
    }
    return render(request, "caseloads/caseloads.html", context, nav_key="caseloads")


@router.post("/caseloads/reassign")
def caseloads_reassign(
    patient: str = Form(""),
    to: str = Form(""),
    reason: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    caseload_reassign(session=session, actor=login.actor, patient_uuid=patient, to_username=to, reason=reason)
    return RedirectResponse("/caseloads", status_code=303)


@router.post("/caseloads/coverage")
def caseloads_coverage(
    username: str = Form(""),
    covered_by: str = Form(""),
    starts_on: str = Form(""),
    ends_on: str = Form(""),
    note: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    start = form_date(starts_on, "starts_on")
    end = form_date(ends_on, "ends_on")
    if start is None or end is None:
        raise InvalidInput("a coverage needs its first and last day", where="coverage")
    coverage_set(
        session=session,
        actor=login.actor,
        username=username,
        covered_by=covered_by,
        starts_on=start,
        ends_on=end,
        note=note,
    )
    return RedirectResponse("/caseloads", status_code=303)


@router.post("/caseloads/coverage/{coverage_uuid}/end")
def caseloads_coverage_end(
    coverage_uuid: str, login: Login = Depends(current_login), session: Session = REQUEST_SESSION
) -> Response:
    coverage_end(session=session, actor=login.actor, coverage_uuid=coverage_uuid)
    return RedirectResponse("/caseloads", status_code=303)


def _charts(board: Dashboard) -> dict[str, Any]:
    users = [r.user.username for r in board.caseloads]
    tiers = sorted({t for r in board.caseloads for t in r.tiers}, key=lambda t: (t is None, t or 0))
    return {
        "caseloads": {
            "type": "bar",
            "stacked": True,
            "counts": True,
            "labels": users,
            "datasets": [
                {
                    "label": f"Tier {t}" if t is not None else "No tier",
                    "data": [r.tiers.get(t, 0) for r in board.caseloads],
                }
                for t in tiers
            ],
        },
        "rates": {
            "type": "bar",
            "labels": ["Contact rate", "2-business-day contact", "30-day readmissions"],
            "yMax": 100,
            "datasets": [
                {
                    "label": "%",
                    "data": [
                        round((r.rate or 0) * 100)
                        for r in (board.contact_rate, board.transition_contact_rate, board.readmissions)
                    ],
                }
            ],
        },
        "enrolment": {
            "type": "bar",
            "counts": True,
            "labels": list(board.enrolment),
            "datasets": [
                {"label": "Enrolled now", "data": [v[0] for v in board.enrolment.values()]},
                {"label": "Enrolled this month", "data": [v[1] for v in board.enrolment.values()]},
            ],
        },
        "minutes": {
            "type": "bar",
            "labels": [
                f"{m.program} (≥ {m.threshold} min)" if m.threshold else m.program for m in board.minutes
            ],
            "yTitle": "patients",
            "counts": True,
            "datasets": [
                {"label": "Patients with time", "data": [m.with_time for m in board.minutes]},
                {"label": "At or above the first threshold", "data": [m.at_threshold for m in board.minutes]},
            ],
        },
        "timeliness": {
            "type": "bar",
            "labels": ["Queue age", "First contact, new enrolees", "First contact, discharges"],
            "yTitle": "days",
            "datasets": [
                {
                    "label": "Days",
                    "data": [
                        board.queue_age_days,
                        board.first_contact_enrolees.mean_days,
                        board.first_contact_discharges.mean_days,
                    ],
                }
            ],
        },
        "overdue": {
            "type": "bar",
            "labels": [o.username for o in board.overdue_by_care_manager],
            "yTitle": "items",
            "counts": True,
            "datasets": [
                {"label": "Overdue items", "data": [o.overdue for o in board.overdue_by_care_manager]}
            ],
        },
    }


def _board(
    session: Session, login: Login, team: str, month: str, care_manager: str
) -> tuple[Month, Dashboard]:
    """The month asked for and its dashboard: of a team, or of one care manager of it (page and CSV)."""
    chosen = _month(session, login, month)
    board = dashboard(
        session=session,
        actor=login.actor,
        team=team or None,
        month=chosen,
        care_manager=care_manager or None,
    )
    return chosen, board


@router.get("/dashboard")
def dashboard_page(
    request: Request,
    team: str = "",
    month: str = "",
    care_manager: str = "",
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    """The dashboard of a team (a supervisor: their own) and month, or of one care manager of the team."""
    chosen, board = _board(session, login, team, month, care_manager)
    context = {
        "board": board,
        "month": chosen,
        "teams": _teams(session, login),
        "team_param": str(board.team.id) if board.team else "",
        "care_manager_param": board.care_manager.username if board.care_manager else "",
        "charts": _charts(board),
        "figures": FIGURES,
    }
    return render(request, "caseloads/dashboard.html", context, nav_key="reports")


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@router.get("/dashboard.csv")
def dashboard_csv(
    team: str = "",
    month: str = "",
    care_manager: str = "",
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    chosen, board = _board(session, login, team, month, care_manager)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(("month", "team", "care_manager", "figure", "detail", "value"))
    team_name = board.team.name if board.team else ""
    narrowed = board.care_manager.username if board.care_manager else ""
    for figure, detail, value in board.csv_rows():
        writer.writerow((str(chosen), _cell(team_name), _cell(narrowed), figure, _cell(detail), _cell(value)))
    filename = f"dashboard-{chosen}{'-' + narrowed if narrowed else ''}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
