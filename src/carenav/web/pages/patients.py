"""Patient search, summary and timeline."""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from carenav.assessments.instruments import Instrument, instruments
from carenav.assessments.panels import TrendPoint, assessment_panel
from carenav.assessments.rules import Channel, sdoh_domains
from carenav.errors import InvalidInput
from carenav.patients.queries import PatientCriteria, patient_search
from carenav.patients.summary import encounter_is_inpatient, patient_summary, patient_timeline
from carenav.stratification.queries import (
    risk_panel_sections,
    score_history_series,
    stratification_risk_panel,
)
from carenav.tasks.queries import patient_alerts_standing, patient_tasks_open
from carenav.web.database import REQUEST_SESSION
from carenav.web.dependencies import Login, current_login
from carenav.web.pages.authorizations import authorization_panel
from carenav.web.pages.careplans import care_plan_panel
from carenav.web.pages.education import education_panel
from carenav.web.pages.outreach import outreach_panel
from carenav.web.pages.resources import referral_panel
from carenav.web.pages.time import time_panel
from carenav.web.pages.transitions import transition_panel
from carenav.web.paging import Paging
from carenav.web.rendering import is_htmx, render

router = APIRouter()


SEARCH_PAGE_SIZE = 25
TIMELINE_PAGE_SIZE = 30


def parse_birth_date(text: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{text!r} is not a date like 1961-04-23", where="birth date") from None


def instrument_choices() -> list[Instrument]:
    """The instruments a care manager can start, the comprehensive assessment first."""
    return sorted(instruments(), key=lambda i: (not i.sections, i.title.lower()))


def short_title(title: str) -> str:
    """An instrument's abbreviation where its title ends with one (``PHQ-9``), else the title."""
    match = re.search(r"\(([A-Z][A-Z0-9-]*)\)$", title)
    return match.group(1) if match else title


def trend_chart(trends: dict[str, list[TrendPoint]], zone: ZoneInfo) -> dict[str, Any]:
    """Score trends as one line chart (``line-chart.js``): a label per day any score was taken, a dataset
    per instrument (gaps where it was not)."""
    days = sorted({p.at.astimezone(zone).date().isoformat() for points in trends.values() for p in points})
    datasets = []
    for title, points in trends.items():
        by_day = {p.at.astimezone(zone).date().isoformat(): p.value for p in points}
        data = [by_day.get(d) for d in days]
        datasets.append({"label": short_title(title), "data": data, "spanGaps": True})
    return {"labels": days, "datasets": datasets, "yMin": 0}


@router.get("/patients")
def patients_search(
    request: Request,
    name: str = "",
    birth_date: str = "",
    identifier: str = "",
    page: int = Query(1, ge=1),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    criteria = PatientCriteria(
        name=name.strip() or None,
        birth_date=parse_birth_date(birth_date),
        identifier=identifier.strip() or None,
    )
    paging = Paging(page=page, size=SEARCH_PAGE_SIZE)
    result = patient_search(
        session=session, actor=login.actor, criteria=criteria, offset=paging.offset, limit=paging.size
    )
    context = {
        "criteria": criteria,
        "form": {"name": name, "birth_date": birth_date, "identifier": identifier},
        "result": result,
        "paging": paging.with_total(result.total),
        "query": {"name": name, "birth_date": birth_date, "identifier": identifier},
    }
    block = "results" if is_htmx(request) else None
    return render(request, "patients/search.html", context, block=block, nav_key="patients")


@router.get("/patients/{patient_uuid}")
def patient_summary_page(
    request: Request,
    patient_uuid: str,
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    summary = patient_summary(session=session, actor=login.actor, patient_uuid=patient_uuid)
    risk = stratification_risk_panel(session=session, actor=login.actor, patient_uuid=patient_uuid)
    assessments = assessment_panel(session=session, actor=login.actor, patient_uuid=patient_uuid)
    return render(
        request,
        "patients/summary.html",
        {
            "summary": summary,
            "patient": summary.patient,
            "patient_name": summary.patient.name_shown,
            "is_inpatient": encounter_is_inpatient,
            "risk": risk,
            "risk_sections": risk_panel_sections(risk),
            "risk_series": score_history_series(risk.history),
            "alerts": patient_alerts_standing(session=session, actor=login.actor, patient_uuid=patient_uuid),
            "tasks": patient_tasks_open(session=session, actor=login.actor, patient_uuid=patient_uuid),
            "assessments": assessments,
            "trend_chart": trend_chart(assessments.trends, login.timezone),
            "instrument_choices": instrument_choices(),
            "instrument_titles": {i.id: i.title for i in instruments()},
            "channels": [c.value for c in Channel],
            "domains": sdoh_domains(),
            "short_title": short_title,
            "careplans": care_plan_panel(session, login, summary.patient),
            "referrals": referral_panel(session, login, summary.patient),
            "transitions": transition_panel(session, login, summary.patient),
            "authorizations": authorization_panel(session, login, summary.patient),
            "education": education_panel(session, login, summary.patient),
            "outreach": outreach_panel(session, login, summary.patient),
            "time": time_panel(session, login, summary.patient),
        },
        nav_key="patients",
    )


@router.get("/patients/{patient_uuid}/timeline")
def patient_timeline_page(
    request: Request,
    patient_uuid: str,
    page: int = Query(1, ge=1),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    paging = Paging(page=page, size=TIMELINE_PAGE_SIZE)
    timeline = patient_timeline(
        session=session, actor=login.actor, patient_uuid=patient_uuid, offset=paging.offset, limit=paging.size
    )
    block = "entries" if is_htmx(request) else None
    return render(
        request,
        "patients/timeline.html",
        {
            "timeline": timeline,
            "patient": timeline.patient,
            "patient_name": timeline.patient.name_shown,
            "paging": paging.with_total(timeline.total),
            "query": {},
        },
        block=block,
        nav_key="patients",
    )
