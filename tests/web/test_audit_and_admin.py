"""The audit browser (auditors and admins, filters, paging, read-only) and the admin users page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.accounts.models import User
from carenav.clock import frozen_at
from tests.builders import make_org, make_patient
from tests.web.conftest import MAX_FAILED, hidden_value, page_csrf, sign_in
from tests.web.users import assign, make_user


def _world(session: Session) -> dict:
    org = make_org(session)
    amy = make_user(session, org, "amy.cm")
    make_user(session, org, "ada.admin", "admin")
    make_user(session, org, "al.audit", "auditor")
    shaw = make_patient(session, org, family="Shaw")
    assign(session, org, amy, shaw)
    return {"org": org, "shaw": shaw}


def test_auditor_browses_and_filters_the_trail(client: TestClient, session: Session) -> None:
    world = _world(session)
    with frozen_at(datetime(2024, 5, 1, 14, tzinfo=UTC)):
        sign_in(client, "amy.cm")
        client.get(f"/patients/{world['shaw'].uuid}")
        client.post("/logout", data={"csrf_token": page_csrf(client)})
    with frozen_at(datetime(2024, 5, 3, 14, tzinfo=UTC)):
        sign_in(client, "al.audit")
        page = client.get("/audit")
        assert page.status_code == 200
        assert "user:amy.cm" in page.text
        by_patient = client.get(f"/audit?patient={world['shaw'].uuid}&action=read").text
        assert "summary" in by_patient
        assert "logout" not in by_patient.split('id="events"')[1]
        by_user = client.get("/audit?user=al.audit").text.split('id="events"')[1]
        assert "user:al.audit" in by_user
        assert "user:amy.cm" not in by_user
        may_first = client.get("/audit?user=amy.cm&date_from=2024-05-01&date_to=2024-05-01").text
        assert "2024-05-01 10:00 EDT" in may_first, "times in the organization's zone"
        may_second = client.get("/audit?user=amy.cm&date_from=2024-05-02&date_to=2024-05-02").text
        assert "0 events" in may_second
        fragment = client.get("/audit?action=login", headers={"HX-Request": "true"})
        assert "<html" not in fragment.text
        assert client.get("/audit?date_from=2024-05-03&date_to=2024-05-01").status_code == 400


def test_audit_trail_pages(client: TestClient, session: Session) -> None:
    world = _world(session)
    sign_in(client, "ada.admin")
    for _ in range(30):
        client.get(f"/patients/{world['shaw'].uuid}")
    first = client.get("/audit?action=read").text
    assert "30 events" in first
    assert "Page 1 of" not in first  # 50 a page: one page only, no pager
    for _ in range(25):
        client.get(f"/patients/{world['shaw'].uuid}")
    assert "Page 1 of 2" in client.get("/audit?action=read").text
    assert "Page 2 of 2" in client.get("/audit?action=read&page=2").text


def test_care_managers_may_not_read_the_trail_and_nothing_edits_it(
    client: TestClient, session: Session
) -> None:
    _world(session)
    sign_in(client, "amy.cm")
    assert client.get("/audit").status_code == 403
    assert "Audit" not in client.get("/patients").text.split("</nav>")[0], "no Audit item for care managers"
    for method in ("PUT", "PATCH", "DELETE", "POST"):
        assert (
            client.request(method, "/audit", headers={"X-CSRF-Token": page_csrf(client)}).status_code == 405
        )


def test_admin_unlocks_a_locked_user_through_the_page(client: TestClient, session: Session) -> None:
    _world(session)
    token = hidden_value(client.get("/login").text, "csrf_token")
    for _ in range(MAX_FAILED):
        client.post(
            "/login", data={"username": "amy.cm", "password": "wrong wrong wrong", "csrf_token": token}
        )
    sign_in(client, "ada.admin")
    page = client.get("/admin/users").text
    assert "locked" in page
    csrf = hidden_value(page, "csrf_token")
    response = client.post("/admin/users/amy.cm/unlock", data={"csrf_token": csrf})
    assert response.status_code == 303
    assert "unlocked" in client.get(response.headers["location"]).text
    amy = session.scalars(select(User).where(User.username == "amy.cm")).one()
    assert amy.locked_until is None
    assert amy.failed_login_count == 0


def test_admin_deactivates_a_user_whose_sessions_then_end(app: FastAPI, session: Session) -> None:
    _world(session)
    with (
        TestClient(app, follow_redirects=False) as amy_browser,
        TestClient(app, follow_redirects=False) as admin,
    ):
        sign_in(amy_browser, "amy.cm")
        sign_in(admin, "ada.admin")
        csrf = page_csrf(admin, "/admin/users")
        assert admin.post("/admin/users/amy.cm/deactivate", data={"csrf_token": csrf}).status_code == 303
        assert amy_browser.get("/patients").status_code == 303
        assert "deactivated" in admin.get("/admin/users").text
        response = admin.post("/admin/users/ada.admin/deactivate", data={"csrf_token": csrf})
        assert response.status_code == 422, "an admin cannot lock themselves out"


def test_only_admins_reach_the_admin_page(client: TestClient, session: Session) -> None:
    _world(session)
    sign_in(client, "al.audit")
    assert client.get("/admin/users").status_code == 403
    csrf = page_csrf(client, "/audit")
    assert client.post("/admin/users/amy.cm/unlock", data={"csrf_token": csrf}).status_code == 403


def test_unknown_pages_are_html_404s(client: TestClient, session: Session) -> None:
    _world(session)
    sign_in(client, "amy.cm")
    response = client.get("/nothing-here")
    assert response.status_code == 404
    assert "<main" in response.text


def test_lockout_is_audited_for_the_auditor(client: TestClient, session: Session) -> None:
    _world(session)
    token = hidden_value(client.get("/login").text, "csrf_token")
    start = datetime.now(UTC)
    with frozen_at(start):
        for _ in range(MAX_FAILED):
            client.post(
                "/login", data={"username": "amy.cm", "password": "wrong wrong wrong", "csrf_token": token}
            )
    with frozen_at(start + timedelta(minutes=1)):
        sign_in(client, "al.audit")
        page = client.get("/audit?action=lockout").text
    assert "1 event;" in page
    assert "locked for 15 minutes" in page
