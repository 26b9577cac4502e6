"""Browser security: the session cookie, CSRF tokens, and the headers every response carries.

- The session cookie holds a random secret; the database keeps only its SHA-256 (``WebSession``).
  It is HttpOnly, SameSite=Lax, and Secure when ``secure_cookies`` is set.
- Every unsafe request (POST, PUT, PATCH, DELETE) of a signed-in user must carry the session's CSRF
  token, in the ``csrf_token`` form field or the ``X-CSRF-Token`` header (HTMX sends it from
  ``hx-headers`` on ``<body>``). The login form, which has no session yet, uses a double-submit cookie.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable

from fastapi import Request, Response

from carenav.accounts.services import LoginPolicy
from carenav.errors import Forbidden
from carenav.settings import Settings

SESSION_COOKIE = "carenav_session"
LOGIN_CSRF_COOKIE = "carenav_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


def login_policy(settings: Settings) -> LoginPolicy:
    return LoginPolicy(
        max_failed_logins=settings.max_failed_logins,
        lockout_minutes=settings.lockout_minutes,
        session_hours=settings.session_hours,
    )


def app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def client_addr(request: Request) -> str | None:
    return request.client.host if request.client else None


def set_session_cookie(response: Response, settings: Settings, secret: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=int(settings.session_hours * 3600),
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        SESSION_COOKIE, httponly=True, samesite="lax", secure=settings.secure_cookies, path="/"
    )


def login_csrf_token(request: Request) -> str:
    """The login form's token: the one in the browser's cookie, or a new one (set by ``set_login_csrf``)."""
    return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)


def set_login_csrf(response: Response, settings: Settings, token: str) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
        path="/login",
    )


async def submitted_csrf_token(request: Request) -> str | None:
    """The CSRF token an unsafe request carries (header first, then form field); None for safe methods."""
    if request.method in SAFE_METHODS:
        return None
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


def csrf_check(*, method: str, expected: str, submitted: str | None) -> None:
    """Refuse an unsafe request whose token is missing or wrong (Forbidden, 403)."""
    if method in SAFE_METHODS:
        return
    if not submitted or not hmac.compare_digest(submitted.encode(), expected.encode()):
        raise Forbidden(
            "this form has expired or did not come from carenav; reload the page and try again",
            where="csrf",
        )


async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """HTTP middleware: a strict Content-Security-Policy and friends on every response; pages with
    patient data are not cached."""
    response = await call_next(request)
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if not request.url.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response
