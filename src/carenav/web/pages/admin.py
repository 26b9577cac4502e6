"""Administration (plain POST forms with CSRF): the organization's users, unlock and deactivate; the team
pools (``/admin/pools``: supervisors see how they are set up, administrators create and rename them and
change their members)."""

from __future__ import annotations

from urllib.parse import quote_plus

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from carenav.accounts.queries import user_list
from carenav.accounts.services import user_deactivate, user_unlock
from carenav.caseloads.rules import Discipline
from carenav.clock import now
from carenav.web.database import REQUEST_SESSION
from carenav.web.dependencies import Login, current_login
from carenav.web.rendering import render
from carenav.worklist.queries import hand_off_targets
from carenav.worklist.rules import (
    WORKING_ROLES,
    PoolMemberKind,
    PoolMemberSpec,
    pool_member_label,
    pool_member_parse,
)
from carenav.worklist.services import (
    pool_admin,
    pool_create,
    pool_member_add,
    pool_member_remove,
    pool_rename,
    pools_overview,
    require_pool_admin,
)

router = APIRouter()


@router.get("/admin/users")
def admin_users(
    request: Request,
    done: str = "",
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    users = user_list(session=session, actor=login.actor)
    return render(request, "admin/users.html", {"users": users, "now": now(), "done": done}, nav_key="admin")


@router.post("/admin/users/{username}/unlock")
def admin_user_unlock(
    username: str, login: Login = Depends(current_login), session: Session = REQUEST_SESSION
) -> Response:
    user_unlock(session=session, actor=login.actor, username=username)
    return RedirectResponse(f"/admin/users?done=unlocked+{username}", status_code=303)


@router.post("/admin/users/{username}/deactivate")
def admin_user_deactivate(
    username: str, login: Login = Depends(current_login), session: Session = REQUEST_SESSION
) -> Response:
    user_deactivate(session=session, actor=login.actor, username=username)
    return RedirectResponse(f"/admin/users?done=deactivated+{username}", status_code=303)


# --- team pools -------------------------------------------------------------------------------------


def _pools_done(what: str) -> Response:
    return RedirectResponse(f"/admin/pools?done={quote_plus(what)}", status_code=303)


@router.get("/admin/pools")
def admin_pools(
    request: Request,
    done: str = "",
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    """The organization's team pools with their members and open work."""
    overviews = pools_overview(session=session, actor=login.actor)
    users, _ = hand_off_targets(session, login.actor)
    groups = [
        ("Every user of a role", [PoolMemberSpec(PoolMemberKind.ROLE, r) for r in WORKING_ROLES], {}),
        (
            "Every user of a discipline",
            [PoolMemberSpec(PoolMemberKind.DISCIPLINE, d) for d in Discipline],
            {},
        ),
        (
            "One person",
            [PoolMemberSpec(PoolMemberKind.USER, u.username) for u in users],
            {u.username: u.display_name for u in users},
        ),
    ]
    context = {
        "overviews": overviews,
        "can_manage": pool_admin(login.actor),
        "done": done,
        "member_choices": [
            (group, [(str(s), pool_member_label(s, names.get(s.value))) for s in specs])
            for group, specs, names in groups
        ],
    }
    nav_key = "admin" if login.actor.role == "admin" else "caseloads"
    return render(request, "admin/pools.html", context, nav_key=nav_key)


@router.post("/admin/pools")
def admin_pool_create(
    key: str = Form(""),
    name: str = Form(""),
    member: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    """A new pool; ``member`` (optional): whom it serves, as ``role:…``, ``discipline:…`` or ``user:…``."""
    require_pool_admin(login.actor)
    members = [pool_member_parse(member)] if member.strip() else []
    pool = pool_create(session=session, actor=login.actor, key=key, name=name, members=members)
    return _pools_done(f"created pool {pool.key}")


@router.post("/admin/pools/{pool_key}/rename")
def admin_pool_rename(
    pool_key: str,
    name: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    pool = pool_rename(session=session, actor=login.actor, key=pool_key, name=name)
    return _pools_done(f"pool {pool.key} is named {pool.name}")


@router.post("/admin/pools/{pool_key}/members")
def admin_pool_member_add(
    pool_key: str,
    member: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    require_pool_admin(login.actor)
    spec = pool_member_parse(member)
    pool_member_add(session=session, actor=login.actor, key=pool_key, member=spec)
    return _pools_done(f"added {spec} to pool {pool_key}")


@router.post("/admin/pools/{pool_key}/members/remove")
def admin_pool_member_remove(
    pool_key: str,
    member: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    require_pool_admin(login.actor)
    spec = pool_member_parse(member)
    pool_member_remove(session=session, actor=login.actor, key=pool_key, member=spec)
    return _pools_done(f"removed {spec} from pool {pool_key}")
