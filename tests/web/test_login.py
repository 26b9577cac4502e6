"""Signing in and out, session cookies, CSRF on every form, lockout — through the pages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.accounts.models import User, WebSession
from carenav.audit.models import AuditEvent
from carenav.clock import frozen_at, now
from carenav.web.security import CONTENT_SECURITY_POLICY, SAFE_METHODS, SESSION_COOKIE
from tests.builders import make_org
from tests.web.conftest import LOCKOUT_MINUTES, MAX_FAILED, hidden_value, page_csrf, sign_in
from tests.web.users import PASSWORD, make_user


def _actions(session: Session, username: str) -> list[str]:
    return list(
        session.scalars(
            select(AuditEvent.action).where(AuditEvent.entity_id == username).order_by(AuditEvent.id)
        )
    )


def test_pages_need_a_login_and_come_back_after_it(client: TestClient, session: Session) -> None:
    org = make_org(session)
    make_user(session, org, "amy.cm")
    response = client.get("/patients?name=sm")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fpatients%3Fname%3Dsm"
    assert sign_in(client, "amy.cm", next_path="/patients?name=sm") == "/patients?name=sm"
    assert client.get("/patients").status_code == 200


def test_login_never_redirects_to_another_site(client: TestClient, session: Session) -> None:
    org = make_org(session)
    make_user(session, org, "amy.cm")
    assert sign_in(client, "amy.cm", next_path="//evil.example/x") == "/worklist"


def test_htmx_requests_without_login_are_told_where_to_sign_in(client: TestClient) -> None:
    response = client.get("/patients", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login?next=")


def test_session_cookie_is_httponly_lax_and_only_its_hash_is_stored(
    client: TestClient, session: Session
) -> None:
    org = make_org(session)
    user = make_user(session, org, "amy.cm")
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "username": "amy.cm",
            "password": PASSWORD,
            "csrf_token": hidden_value(page.text, "csrf_token"),
        },
    )
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE))
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie
    secret = client.cookies[SESSION_COOKIE]
    stored = session.scalars(select(WebSession).where(WebSession.user_id == user.id)).one()
    assert stored.secret_hash != secret
    assert len(stored.secret_hash) == 64
    assert _actions(session, "amy.cm")[-1] == "login"


def test_secure_cookies_setting_marks_the_cookie_secure(app: FastAPI, session: Session) -> None:
    app.state.settings = app.state.settings.model_copy(update={"secure_cookies": True})
    org = make_org(session)
    make_user(session, org, "amy.cm")
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        page = client.get("/login")
        response = client.post(
            "/login",
            data={
                "username": "amy.cm",
                "password": PASSWORD,
                "csrf_token": hidden_value(page.text, "csrf_token"),
            },
        )
        assert client.get("/patients").status_code == 200
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE))
    assert "Secure" in cookie


def test_wrong_password_and_unknown_user_get_the_same_answer(client: TestClient, session: Session) -> None:
    org = make_org(session)
    make_user(session, org, "amy.cm")
    token = hidden_value(client.get("/login").text, "csrf_token")
    wrong = client.post(
        "/login", data={"username": "amy.cm", "password": "not the password", "csrf_token": token}
    )
    unknown = client.post(
        "/login", data={"username": "nobody", "password": "not the password", "csrf_token": token}
    )
    assert wrong.status_code == unknown.status_code == 401
    message = 'role="alert"'
    assert message in wrong.text
    wrong_msg = wrong.text.split(message)[1].split("</p>")[0]
    unknown_msg = unknown.text.split(message)[1].split("</p>")[0]
    assert wrong_msg == unknown_msg
    assert "login-failed" in _actions(session, "amy.cm")
    assert "login-failed" in _actions(session, "nobody")


def test_lockout_after_repeated_failures_then_unlocks_after_the_time(
    client: TestClient, session: Session
) -> None:
    org = make_org(session)
    make_user(session, org, "amy.cm")
    token = hidden_value(client.get("/login").text, "csrf_token")
    start = now()
    with frozen_at(start):
        for _ in range(MAX_FAILED):
            response = client.post(
                "/login", data={"username": "amy.cm", "password": "guess guess guess", "csrf_token": token}
            )
            assert response.status_code == 401
        locked = client.post("/login", data={"username": "amy.cm", "password": PASSWORD, "csrf_token": token})
        assert locked.status_code == 401, "a locked account refuses even the right password"
    actions = _actions(session, "amy.cm")
    assert actions.count("lockout") == 1
    assert actions[-1] == "login-failed"
    user = session.scalars(select(User).where(User.username == "amy.cm")).one()
    assert user.locked_until == start + timedelta(minutes=LOCKOUT_MINUTES)
    with frozen_at(start + timedelta(minutes=LOCKOUT_MINUTES, seconds=1)):
        response = client.post(
            "/login", data={"username": "amy.cm", "password": PASSWORD, "csrf_token": token}
        )
        assert response.status_code == 303


def test_login_form_refuses_a_post_without_its_token(client: TestClient, session: Session) -> None:
    org = make_org(session)
    make_user(session, org, "amy.cm")
    client.get("/login")
    response = client.post(
        "/login", data={"username": "amy.cm", "password": PASSWORD, "csrf_token": "forged"}
    )
    assert response.status_code == 403
    assert SESSION_COOKIE not in client.cookies


def _all_routes(app: FastAPI) -> Iterator[tuple[str, set[str]]]:
    """(path, methods) of every route, looking inside included routers."""
    for route in app.routes:
        candidates = getattr(route, "effective_candidates", None)
        if candidates is not None:
            for candidate in candidates() if callable(candidates) else candidates:
                yield candidate.path, set(candidate.methods or ())
        elif hasattr(route, "methods"):
            yield route.path, set(route.methods or ())


def test_every_unsafe_page_route_refuses_a_request_without_the_csrf_token(
    app: FastAPI, client: TestClient, session: Session
) -> None:
    org = make_org(session)
    make_user(session, org, "ada.admin", "admin")
    make_user(session, org, "amy.cm")
    sign_in(client, "ada.admin")
    unsafe = [
        (path, method)
        for path, methods in _all_routes(app)
        for method in methods
        if method not in SAFE_METHODS and not path.startswith("/fhir")  # FHIR uses bearer tokens
    ]
    assert ("/logout", "POST") in unsafe
    for path, method in unsafe:
        url = path.replace("{username}", "amy.cm")
        response = client.request(method, url, data={"csrf_token": "wrong"})
        assert response.status_code == 403, f"{method} {path} accepted a request without the CSRF token"
    assert client.get("/patients").status_code == 200, "still signed in"


def test_htmx_header_token_is_accepted_for_unsafe_requests(client: TestClient, session: Session) -> None:
    org = make_org(session)
    make_user(session, org, "amy.cm")
    sign_in(client, "amy.cm")
    page = client.get("/patients").text
    assert 'hx-headers=\'{"X-CSRF-Token": "' in page
    token = page_csrf(client)
    response = client.post("/logout", headers={"X-CSRF-Token": token})
    assert response.status_code == 303


def test_logout_ends_the_session_and_is_audited(client: TestClient, session: Session) -> None:
    org = make_org(session)
    user = make_user(session, org, "amy.cm")
    sign_in(client, "amy.cm")
    old_cookie = client.cookies[SESSION_COOKIE]
    response = client.post("/logout", data={"csrf_token": page_csrf(client)})
    assert response.status_code == 303
    assert session.scalars(select(WebSession).where(WebSession.user_id == user.id)).all() == []
    assert _actions(session, "amy.cm")[-1] == "logout"
    client.cookies.set(SESSION_COOKIE, old_cookie)
    assert client.get("/patients").status_code == 303, "the old cookie no longer works"


def test_idle_sessions_expire(client: TestClient, session: Session) -> None:
    org = make_org(session)
    make_user(session, org, "amy.cm")
    start = now()
    with frozen_at(start):
        sign_in(client, "amy.cm")
    with frozen_at(start + timedelta(minutes=50)):
        assert client.get("/patients").status_code == 200  # activity moves the expiry on
    with frozen_at(start + timedelta(minutes=100)):
        assert client.get("/patients").status_code == 200
    with frozen_at(start + timedelta(minutes=100 + 61)):
        assert client.get("/patients").status_code == 303


def test_deactivated_users_cannot_sign_in(client: TestClient, session: Session) -> None:
    from carenav.access import Actor
    from carenav.accounts.services import user_deactivate

    org = make_org(session)
    make_user(session, org, "amy.cm")
    user_deactivate(session=session, actor=Actor.operator(org.id), username="amy.cm")
    token = hidden_value(client.get("/login").text, "csrf_token")
    response = client.post("/login", data={"username": "amy.cm", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 401


def test_every_page_carries_a_content_security_policy(client: TestClient) -> None:
    response = client.get("/login")
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "<script>" not in response.text, "no inline scripts"
    assert 'style="' not in response.text, "no inline styles"


def test_vendor_assets_are_served_locally(client: TestClient) -> None:
    page = client.get("/login").text
    assert "/static/vendor/htmx.min.js" in page
    assert "http://" not in page, "nothing from a CDN"
    assert "https://" not in page, "nothing from a CDN"
    assert client.get("/static/vendor/htmx.min.js").status_code == 200
    assert client.get("/static/carenav.css").status_code == 200
