"""The audit browser: auditors and administrators read (never change) their organization's trail."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from carenav.audit.queries import AuditCriteria, audit_action_list, audit_event_list
from carenav.errors import InvalidInput
from carenav.web.database import REQUEST_SESSION
from carenav.web.dependencies import Login, current_login
from carenav.web.paging import Paging
from carenav.web.rendering import is_htmx, render

router = APIRouter()

AUDIT_PAGE_SIZE = 50


def _day(text: str, where: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{text!r} is not a date like 2024-05-31", where=where) from None


@router.get("/audit")
def audit_events(
    request: Request,
    user: str = "",
    patient: str = "",
    action: str = "",
    date_from: str = "",
    date_to: str = "",
    page: int = Query(1, ge=1),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    zone = login.timezone
    first, last = _day(date_from, "from"), _day(date_to, "to")
    if first and last and last < first:
        raise InvalidInput("the end of the date range comes before its start", where="to")
    criteria = AuditCriteria(
        username=user.strip() or None,
        patient_uuid=patient.strip() or None,
        action=action.strip() or None,
        # Dates are days in the organization's zone; the range includes the whole of its last day.
        since=datetime.combine(first, time.min, zone) if first else None,
        before=datetime.combine(last + timedelta(days=1), time.min, zone) if last else None,
    )
    paging = Paging(page=page, size=AUDIT_PAGE_SIZE)
    result = audit_event_list(
        session=session, actor=login.actor, criteria=criteria, offset=paging.offset, limit=paging.size
    )
    query = {"user": user, "patient": patient, "action": action, "date_from": date_from, "date_to": date_to}
    context = {
        "result": result,
        "paging": paging.with_total(result.total),
        "query": query,
        "actions": audit_action_list(session=session, actor=login.actor),
    }
    block = "events" if is_htmx(request) else None
    return render(request, "audit/events.html", context, block=block, nav_key="audit")
