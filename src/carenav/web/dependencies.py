"""FastAPI dependencies: who is signed in (as an ``Actor``), with CSRF checked on unsafe methods."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.accounts.models import User, WebSession
from carenav.accounts.services import user_actor, web_session_resume
from carenav.errors import Unauthenticated
from carenav.web.database import REQUEST_SESSION
from carenav.web.security import (
    SESSION_COOKIE,
    app_settings,
    client_addr,
    csrf_check,
    login_policy,
    submitted_csrf_token,
)


@dataclass(frozen=True)
class Login:
    """The signed-in person of a request. The plain fields are copied out of the rows so that error
    pages can still show the layout after the request's transaction has rolled back."""

    user: User
    actor: Actor
    web_session: WebSession
    timezone: ZoneInfo
    csrf_token: str
    username: str
    display_name: str
    role: str


class LoginRequired(Unauthenticated):
    """No live session: pages redirect to the login form."""

    def __init__(self) -> None:
        super().__init__("please sign in", where="login")


def login_optional(request: Request, session: Session = REQUEST_SESSION) -> Login | None:
    """The live login of this request, or None. Also kept on ``request.state.login`` for the layout."""
    settings = app_settings(request)
    web_session = web_session_resume(
        session=session, secret=request.cookies.get(SESSION_COOKIE, ""), policy=login_policy(settings)
    )
    if web_session is None:
        request.state.login = None
        return None
    user = web_session.user
    try:
        zone = ZoneInfo(user.organization.timezone)
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    login = Login(
        user=user,
        actor=user_actor(user, client_addr=client_addr(request)),
        web_session=web_session,
        timezone=zone,
        csrf_token=web_session.csrf_token,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
    )
    request.state.login = login
    return login


def current_login(
    request: Request,
    login: Login | None = Depends(login_optional),
    submitted: str | None = Depends(submitted_csrf_token),
) -> Login:
    """The signed-in person (else LoginRequired); an unsafe method must carry the session's CSRF token."""
    if login is None:
        raise LoginRequired()
    csrf_check(method=request.method, expected=login.csrf_token, submitted=submitted)
    return login


def current_actor(login: Login = Depends(current_login)) -> Actor:
    return login.actor
