"""The worklist on screen (SQLite and PostgreSQL): a care manager lands on it after signing in and sees
their items ranked with reasons; a filter by kind; Start timer posts to the time page's timer route and
Reschedule to the outreach route; Hand off to a pool, the pool page with Claim and its trail; a
non-member is refused the pool page."""

from __future__ import annotations

import re
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.clock import frozen_at
from carenav.outreach.models import FollowUp
from carenav.tasks.services import task_create
from carenav.timekeeping.models import RunningTimer
from carenav.web.pages import worklist as worklist_pages
from carenav.worklist.services import pool_create
from tests.outreach.test_outreach import default_rules
from tests.web.conftest import page_csrf, sign_in
from tests.worklist.test_worklist import MONDAY, Caseload, _build

__all__ = ["default_rules"]


def test_the_ranked_worklist_and_its_actions(client: TestClient, session: Session) -> None:
    c = Caseload(session)
    patients = _build(c)
    session.commit()
    with frozen_at(MONDAY):
        assert sign_in(client, "casey.cm") == "/worklist"
        page = client.get("/worklist")
        assert page.status_code == 200
        html = unescape(page.text)
        order = [html.index(name) for name in ("Cal Alert", "Ben Transit", "Amy Follow", "Dee Referral")]
        assert order == sorted(order)
        assert "Overdue follow-up" in html
        assert "1 day overdue" in html
        assert 'href="/worklist"' in html, "the nav item is live"
        only = unescape(client.get("/worklist?kind=followup").text)
        assert "Amy Follow" in only
        assert "Cal Alert" not in only
        amy = patients["follow"]
        assert f'action="/patients/{amy.uuid}/timer/start"' in html
        assert f'href="/patients/{amy.uuid}#outreach"' in html
        token = page_csrf(client, "/worklist")
        started = client.post(
            f"/patients/{amy.uuid}/timer/start",
            data={"csrf_token": token, "program": "ccm", "activity": "patient-contact"},
        )
        assert started.status_code == 303
        assert started.headers["location"].endswith("#time")
        assert session.scalar(select(RunningTimer).where(RunningTimer.patient_id == amy.id)) is not None
        followup = session.scalars(
            select(FollowUp).where(FollowUp.patient_id == amy.id, FollowUp.status == "scheduled")
        ).first()
        assert followup is not None
        assert f'action="/followups/{followup.uuid}/reschedule"' in html
        moved = client.post(
            f"/followups/{followup.uuid}/reschedule",
            data={"csrf_token": token, "due_on": "2025-06-04", "reason": "patient asked"},
        )
        assert moved.status_code == 303
        assert "Amy Follow" not in unescape(client.get("/worklist?kind=followup").text)


def test_the_worklist_a_page_at_a_time(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worklist_pages, "PAGE_SIZE", 4)
    c = Caseload(session)
    _build(c)
    session.commit()
    with frozen_at(MONDAY):
        sign_in(client, "casey.cm")
        first = unescape(client.get("/worklist").text)
        assert "6 items need you" in first
        assert "Cal Alert" in first
        assert "Eve Screen" not in first
        assert "Fay Tier" not in first
        assert "Show the next 2 of 2 more items" in first
        assert 'hx-get="/worklist?offset=4"' in first
        # HTMX fetches the next items alone, to take the place of the link
        rest = client.get("/worklist?offset=4", headers={"HX-Request": "true"})
        assert rest.status_code == 200
        text = unescape(rest.text)
        assert "<html" not in text
        assert "Eve Screen" in text
        assert "Fay Tier" in text
        assert "Cal Alert" not in text
        assert "Show the next" not in text
        # without HTMX the same address is a whole page, with the way back to the top
        whole = unescape(client.get("/worklist?offset=4").text)
        assert "<html" in whole
        assert "Back to the top of the list" in whole
        assert 'start="5"' in whole
        refused = client.get("/worklist?kind=nonsense")
        assert refused.status_code == 400
        assert "&#39;nonsense&#39; is not a kind of work item" in refused.text


def test_hand_off_to_a_pool_claim_and_trail(client: TestClient, session: Session) -> None:
    c = Caseload(session)
    patient = c.patient("Gus", "Pool")
    with frozen_at(MONDAY):
        pool_create(
            session=session, actor=c.operator, key="social-work", name="Social work", usernames=["sam.sw"]
        )
        task = task_create(
            session=session, actor=c.operator, patient=patient, title="Housing", due_on=MONDAY.date()
        )
        session.commit()
        sign_in(client, "casey.cm")
        html = client.get("/worklist").text
        assert f'hx-get="/worklist/tasks/{task.uuid}/hand-off"' in html
        assert 'value="pool:social-work"' not in html, "whom to hand off to comes when the form is opened"
        fragment = client.get(f"/worklist/tasks/{task.uuid}/hand-off", headers={"HX-Request": "true"}).text
        assert f'action="/worklist/tasks/{task.uuid}/hand-off"' in fragment
        assert 'value="pool:social-work"' in fragment
        assert "<html" not in fragment
        page = client.get(f"/worklist/tasks/{task.uuid}/hand-off").text  # without scripts: a whole page
        assert "<html" in page
        assert 'value="pool:social-work"' in page
        assert client.get("/worklist/tasks/no-such-task/hand-off").status_code == 404
        token = page_csrf(client, "/worklist")
        refused = client.post(
            f"/worklist/tasks/{task.uuid}/hand-off", data={"csrf_token": token, "to": "pool:social-work"}
        )
        assert refused.status_code == 400
        handed = client.post(
            f"/worklist/tasks/{task.uuid}/hand-off",
            data={"csrf_token": token, "to": "pool:social-work", "note": "eviction notice"},
        )
        assert handed.status_code == 303
        assert client.get("/worklist/pools/social-work").status_code == 404, "casey is no member"
        client.cookies.clear()
        sign_in(client, "sam.sw")
        pool_page = client.get("/worklist/pools/social-work")
        assert pool_page.status_code == 200
        assert f'action="/worklist/tasks/{task.uuid}/claim"' in pool_page.text
        token = page_csrf(client, "/worklist/pools/social-work")
        claimed = client.post(
            f"/worklist/tasks/{task.uuid}/claim",
            data={"csrf_token": token, "back": "/worklist/pools/social-work"},
        )
        assert claimed.status_code == 303
        assert claimed.headers["location"] == "/worklist/pools/social-work"
        after = unescape(client.get("/worklist/pools/social-work").text)
        assert re.search(r"claimed by Sam Social", after)
        assert "user:sam.sw claimed from pool Social work to Sam Social" in after
        assert "handed-off from" in after
        assert "to pool Social work: eviction notice" in after
        assert "Gus Pool" in unescape(client.get("/worklist").text)
