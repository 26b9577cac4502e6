"""The team pools page (SQLite and PostgreSQL): an administrator creates a pool with whom it serves, adds
and removes members and renames it through plain POST forms with CSRF; a bad key is refused with nothing
stored; a supervisor sees the set-up without the forms and may not change it; care managers are refused."""

from __future__ import annotations

import re
from html import unescape

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.worklist.models import WorkPool
from carenav.worklist.services import pool_create
from tests.caseloads.helpers import make_team
from tests.web.conftest import page_csrf, sign_in
from tests.web.users import make_user


def _members(html: str) -> list[str]:
    """The members the page offers to remove (their Remove forms' hidden values)."""
    return re.findall(r'<input type="hidden" name="member" value="([^"]+)">', html)


def _pool(session: Session, key: str) -> WorkPool | None:
    session.expire_all()
    return session.scalar(select(WorkPool).where(WorkPool.key == key))


def test_an_admin_sets_up_a_pool_on_screen(client: TestClient, session: Session) -> None:
    team = make_team(session)
    make_user(session, team.org, "ada.admin", "admin")
    session.commit()
    sign_in(client, "ada.admin")
    page = client.get("/admin/pools")
    assert page.status_code == 200, page.text
    assert "No team pools yet." in page.text
    assert '<a href="/admin/pools">Team pools</a>' in client.get("/admin/users").text
    token = page_csrf(client, "/admin/pools")
    created = client.post(
        "/admin/pools",
        data={
            "csrf_token": token,
            "key": "Social-Work",
            "name": "Social work",
            "member": "discipline:social-worker",
        },
    )
    assert created.status_code == 303, created.text
    assert created.headers["location"] == "/admin/pools?done=created+pool+social-work"
    added = client.post(
        "/admin/pools/social-work/members", data={"csrf_token": token, "member": "user:nina.rn"}
    )
    assert added.status_code == 303, added.text
    renamed = client.post(
        "/admin/pools/social-work/rename", data={"csrf_token": token, "name": "Social care"}
    )
    assert renamed.status_code == 303, renamed.text
    html = unescape(client.get("/admin/pools").text)
    assert "Social care" in html
    assert _members(html) == ["discipline:social-worker", "user:nina.rn"]
    assert "<li>every social worker" in html
    assert "<li>Nina Nurse (nina.rn)" in html
    removed = client.post(
        "/admin/pools/social-work/members/remove",
        data={"csrf_token": token, "member": "discipline:social-worker"},
    )
    assert removed.status_code == 303, removed.text
    assert _members(client.get("/admin/pools").text) == ["user:nina.rn"]
    refused = client.post("/admin/pools", data={"csrf_token": token, "key": "rn line", "name": "RN line"})
    assert refused.status_code == 400
    assert "a pool key is 1 to 40 lower-case letters" in unescape(refused.text)
    assert _pool(session, "rn line") is None
    duplicate = client.post(
        "/admin/pools/social-work/members", data={"csrf_token": token, "member": "user:nina.rn"}
    )
    assert duplicate.status_code == 409
    assert "user:nina.rn is already a member of pool social-work" in unescape(duplicate.text)
    assert client.post("/admin/pools", data={"key": "x", "name": "X"}).status_code == 403, "CSRF"
    assert _pool(session, "x") is None


def test_a_supervisor_sees_the_pools_and_may_not_change_them(client: TestClient, session: Session) -> None:
    team = make_team(session)
    pool_create(session=session, actor=team.operator, key="rn-line", name="RN line", roles=["care_manager"])
    session.commit()
    sign_in(client, "sam.sup")
    assert '<a href="/admin/pools">Team pools</a>' in client.get("/caseloads").text
    page = unescape(client.get("/admin/pools").text)
    assert "RN line" in page
    assert "<li>every care manager" in page
    assert _members(page) == [], "no Remove buttons"
    assert 'href="/worklist/pools/rn-line"' in page
    assert 'action="/admin/pools"' not in page
    token = page_csrf(client, "/admin/pools")
    refused = client.post("/admin/pools/rn-line/rename", data={"csrf_token": token, "name": "Mine"})
    assert refused.status_code == 403
    refused = client.post("/admin/pools/rn-line/members", data={"csrf_token": token, "member": "junk"})
    assert refused.status_code == 403, "refused before the member is even read"
    pool = _pool(session, "rn-line")
    assert pool is not None
    assert pool.name == "RN line"


def test_care_managers_are_refused(client: TestClient, session: Session) -> None:
    make_team(session)
    session.commit()
    sign_in(client, "nina.rn")
    assert client.get("/admin/pools").status_code == 403
