"""Administration: the organization's users; unlock and deactivate (plain POST forms with CSRF)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from carenav.accounts.queries import user_list
from carenav.accounts.services import user_deactivate, user_unlock
from carenav.clock import now
from carenav.web.database import REQUEST_SESSION
from carenav.web.dependencies import Login, current_login
from carenav.web.rendering import render

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
