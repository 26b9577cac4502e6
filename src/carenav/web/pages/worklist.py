"""The worklist on screen: ``/worklist``, the care manager's ranked queue (filterable by kind) with each
item's reason, due date and one-click actions (log contact and open plan: the patient page's sections;
start timer: the time page's own timer route; reschedule: the outreach page's follow-up route; hand off,
release: here); ``/worklist/pools/{key}``, a team pool's queue with Claim and its trail."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from carenav.accounts.queries import org_today
from carenav.errors import InvalidInput
from carenav.web.database import REQUEST_SESSION
from carenav.web.dependencies import Login, current_login
from carenav.web.rendering import is_htmx, render
from carenav.worklist.queries import PAGE_SIZE, hand_off_targets, pool_queue, pools_for, worklist_for
from carenav.worklist.rules import ItemKind, label_of, priorities
from carenav.worklist.services import task_claim, task_hand_off, task_in_reach, task_release

router = APIRouter()


@router.get("/worklist")
def worklist_page(
    request: Request,
    kind: str = "",
    offset: int = 0,
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    """The signed-in person's queue, ranked, a page at a time (``offset``: where the page starts; HTMX asks
    for the next page's items alone); ``kind`` narrows it to one kind of item."""
    try:
        wanted = ItemKind(kind) if kind else None
    except ValueError:
        raise InvalidInput(f"{kind!r} is not a kind of work item", where="kind") from None
    page = worklist_for(session, login.actor, kind=wanted, offset=offset, limit=PAGE_SIZE)
    p = priorities()
    more = {**({"kind": kind} if kind else {}), "offset": page.next_offset}
    context = {
        "page": page,
        "kind": kind,
        "more_url": f"/worklist?{urlencode(more)}",
        "kinds": [(k.value, p.weight(k).label, page.counts.get(k, 0)) for k in ItemKind],
        "label_of": label_of,
    }
    if is_htmx(request) and offset > 0:
        return render(request, "worklist/worklist.html", context, block="items", nav_key="worklist")
    context |= {
        "today": org_today(session, login.actor.org_id),
        "my_pools": pools_for(session, login.actor),
    }
    return render(request, "worklist/worklist.html", context, nav_key="worklist")


@router.get("/worklist/pools/{pool_key}")
def pool_page(
    request: Request,
    pool_key: str,
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    queue = pool_queue(session, login.actor, pool_key)
    return render(request, "worklist/pool.html", {"queue": queue}, nav_key="worklist")


def _back(to: str) -> Response:
    return RedirectResponse(to if to.startswith("/worklist") else "/worklist", status_code=303)


@router.post("/worklist/tasks/{task_uuid}/claim")
def claim_page(
    task_uuid: str,
    back: str = Form("/worklist"),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    task_claim(session=session, actor=login.actor, task_uuid=task_uuid)
    return _back(back)


@router.post("/worklist/tasks/{task_uuid}/release")
def release_page(
    task_uuid: str,
    note: str = Form(""),
    back: str = Form("/worklist"),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    task_release(session=session, actor=login.actor, task_uuid=task_uuid, note=note)
    return _back(back)


@router.get("/worklist/tasks/{task_uuid}/hand-off")
def hand_off_form(
    request: Request,
    task_uuid: str,
    back: str = "/worklist",
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    """The hand-off form of one task: whom to hand it to (people and pools). The worklist fetches it into
    the item when "Hand off" is opened (HTMX); without scripts it is a page of its own."""
    task, patient = task_in_reach(session, login.actor, task_uuid)
    users, pools = hand_off_targets(session, login.actor)
    context = {
        "task": task,
        "patient_uuid": patient.uuid,
        "patient_name": patient.name_shown,
        "users": users,
        "pools": pools,
        "back": back if back.startswith("/worklist") else "/worklist",
    }
    block = "hand_off_form" if is_htmx(request) else None
    return render(request, "worklist/hand_off.html", context, block=block, nav_key="worklist")


@router.post("/worklist/tasks/{task_uuid}/hand-off")
def hand_off_page(
    task_uuid: str,
    to: str = Form(""),
    note: str = Form(""),
    back: str = Form("/worklist"),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    """``to``: ``user:<username>`` or ``pool:<key>``."""
    what, _, name = to.partition(":")
    task_hand_off(
        session=session,
        actor=login.actor,
        task_uuid=task_uuid,
        note=note,
        to_username=name if what == "user" else None,
        to_pool_key=name if what == "pool" else None,
    )
    return _back(back)
