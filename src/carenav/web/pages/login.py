"""Signing in and out."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from carenav.accounts.services import user_authenticate, web_session_close, web_session_open
from carenav.web.database import READS_FIRST_SESSION, REQUEST_SESSION
from carenav.web.dependencies import Login, current_login, login_optional
from carenav.web.navigation import home_path
from carenav.web.rendering import render
from carenav.web.security import (
    LOGIN_CSRF_COOKIE,
    app_settings,
    clear_session_cookie,
    client_addr,
    csrf_check,
    login_csrf_token,
    login_policy,
    set_login_csrf,
    set_session_cookie,
)

router = APIRouter()

FAILED_LOGIN_MESSAGE = (
    "Sign-in failed: the username or password is not right, or the account is locked. "
    "After {max} failed attempts in a row an account is locked for {minutes} minutes."
)


def safe_next(value: str | None) -> str | None:
    """A local path to return to after signing in; anything else (another site, a scheme) is dropped."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    return value


def _login_page(
    request: Request,
    *,
    next_path: str | None,
    username: str = "",
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    token = login_csrf_token(request)
    response = render(
        request,
        "login.html",
        {"next": next_path or "", "username": username, "error": error, "login_csrf": token},
        status_code=status_code,
    )
    set_login_csrf(response, app_settings(request), token)
    return response


@router.get("/login")
def login_form(
    request: Request, next: str | None = None, login: Login | None = Depends(login_optional)
) -> Response:
    if login is not None:
        return RedirectResponse(safe_next(next) or home_path(login.role), status_code=303)
    return _login_page(request, next_path=safe_next(next))


@router.post("/login")
def login_submit(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    csrf_token: str = Form(""),
    next: str = Form(""),
    session: Session = READS_FIRST_SESSION,
) -> Response:
    settings = app_settings(request)
    csrf_check(
        method="POST", expected=request.cookies.get(LOGIN_CSRF_COOKIE, ""), submitted=csrf_token or None
    )
    policy = login_policy(settings)
    attempt = user_authenticate(
        session=session, username=username, password=password, policy=policy, client_addr=client_addr(request)
    )
    if attempt.user is None:
        message = FAILED_LOGIN_MESSAGE.format(
            max=settings.max_failed_logins, minutes=settings.lockout_minutes
        )
        return _login_page(
            request, next_path=safe_next(next), username=username, error=message, status_code=401
        )
    opened = web_session_open(
        session=session,
        user=attempt.user,
        policy=policy,
        client_addr=client_addr(request),
        user_agent=request.headers.get("user-agent"),
    )
    response = RedirectResponse(safe_next(next) or home_path(attempt.user.role), status_code=303)
    set_session_cookie(response, settings, opened.secret)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(
    request: Request, login: Login = Depends(current_login), session: Session = REQUEST_SESSION
) -> Response:
    web_session_close(session=session, web_session=login.web_session, client_addr=client_addr(request))
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response, app_settings(request))
    return response


@router.get("/")
def home(login: Login = Depends(current_login)) -> Response:
    return RedirectResponse(home_path(login.role), status_code=303)
