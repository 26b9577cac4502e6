"""Caseload pages (SQLite and PostgreSQL): /caseloads with credentials flagged, suggestions and a Reassign
button that moves the patient; coverage set on screen; /dashboard with its charts and no inline script;
/dashboard.csv; care managers are refused."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from html import unescape

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.accounts.services import credential_add, user_set_discipline
from carenav.caseloads.models import CaseloadChange, Coverage
from carenav.clock import frozen_at
from tests.builders import make_patient
from tests.caseloads.helpers import FOOD_NEED, make_team
from tests.caseloads.test_dashboard import JUNE_25, build
from tests.web.conftest import page_csrf, sign_in
from tests.web.users import assign


def test_caseloads_page_reassigns_and_sets_coverage(client: TestClient, session: Session) -> None:
    with frozen_at(JUNE_25):
        team = make_team(session)
        credential_add(
            session=session,
            actor=team.operator,
            username="nina.rn",
            kind="RN license",
            expires_on=date(2025, 7, 1),
        )
        user_set_discipline(
            session=session, actor=team.operator, username="nina.rn", discipline="nurse", max_caseload=1
        )
        carried = make_patient(session, team.org, given="Cat")
        food = make_patient(session, team.org, given="Fay", conditions=[FOOD_NEED])
        assign(session, team.org, team.nina, carried)
        assign(session, team.org, team.nina, food)
        session.commit()
        sign_in(client, "sam.sup")
        page = client.get("/caseloads")
        assert page.status_code == 200, page.text
        assert "⚠ expiring" in page.text
        assert "Nurse" in page.text
        assert '<a href="/caseloads"' in page.text
        assert '<a href="/dashboard"' in page.text
        assert "nina.rn is over capacity" in page.text
        assert "Reassign to " in page.text
        token = page_csrf(client, "/caseloads")
        moved = client.post(
            "/caseloads/reassign",
            data={"csrf_token": token, "patient": food.uuid, "to": "sol.sw", "reason": "balancing"},
        )
        assert moved.status_code == 303, moved.text
        change = session.scalar(select(CaseloadChange).where(CaseloadChange.patient_id == food.id))
        assert change is not None
        assert change.to_user_id == team.sol.id
        covered = client.post(
            "/caseloads/coverage",
            data={
                "csrf_token": token,
                "username": "nina.rn",
                "covered_by": "sol.sw",
                "starts_on": "2025-06-25",
                "ends_on": "2025-06-27",
                "note": "leave",
            },
        )
        assert covered.status_code == 303, covered.text
        assert session.scalar(select(Coverage.note).where(Coverage.user_id == team.nina.id)) == "leave"
        assert "sol.sw covers nina.rn" in client.get("/caseloads").text


def test_dashboard_page_and_csv(client: TestClient, session: Session) -> None:
    with frozen_at(JUNE_25):
        build(session)
        session.commit()
        sign_in(client, "sam.sup")
        page = client.get("/dashboard?month=2025-06")
        assert page.status_code == 200, page.text
        assert "data-bar-chart=" in page.text
        assert '<script src="/static/dashboard-charts.js" defer></script>' in page.text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text), "no inline script (CSP)"
        assert "67% (2/3)" in page.text
        assert client.get("/static/dashboard-charts.js").status_code == 200
        got = client.get("/dashboard.csv?month=2025-06")
        assert got.status_code == 200
        assert got.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(got.text)))
        by = {(r["figure"], r["detail"]): r["value"] for r in rows}
        assert by[("contact_rate", "2/3")] == "0.667"
        assert by[("overdue", "")] == "1"
        assert rows[0]["team"] == "north"


def test_care_managers_are_refused(client: TestClient, session: Session) -> None:
    with frozen_at(JUNE_25):
        make_team(session)
        session.commit()
        sign_in(client, "nina.rn")
        assert client.get("/caseloads").status_code == 403
        assert client.get("/dashboard").status_code == 403
        assert client.get("/dashboard.csv").status_code == 403
        assert '<a href="/caseloads"' not in client.get("/patients").text


def test_dashboard_narrowed_to_one_care_manager_with_its_charts_and_csv(
    client: TestClient, session: Session
) -> None:
    with frozen_at(JUNE_25):
        build(session)
        session.commit()
        sign_in(client, "sam.sup")
        whole = client.get("/dashboard?month=2025-06")
        assert 'value="sol.sw"' in whole.text
        assert "Sol Social (sol.sw)</option>" in whole.text
        charts = {
            name: json.loads(unescape(raw))
            for name, raw in re.findall(r"aria-label=\"([^\"]+)\" data-bar-chart='([^']*)'", whole.text)
        }
        minutes = charts["Patients with time and at the first threshold, per program"]
        assert minutes["labels"] == ["ccm (≥ 20 min)"]
        assert [d["data"] for d in minutes["datasets"]] == [[2], [1]]
        timeliness = charts["Queue age and mean days to first contact"]
        assert timeliness["datasets"][0]["data"] == [24, 2.0, 1.0]
        overdue = charts["Overdue items per care manager"]
        assert dict(zip(overdue["labels"], overdue["datasets"][0]["data"], strict=True)) == {
            "nina.rn": 1,
            "sol.sw": 0,
            "sam.sup": 0,
        }
        page = client.get("/dashboard?month=2025-06&care_manager=sol.sw")
        assert page.status_code == 200, page.text
        assert "Supervisor dashboard — north, Sol Social, June 2025" in unescape(page.text)
        assert '<option value="sol.sw" selected>' in page.text
        assert 'href="/dashboard.csv?team=' in page.text
        assert "care_manager=sol.sw" in page.text
        got = client.get("/dashboard.csv?month=2025-06&care_manager=sol.sw")
        assert got.status_code == 200
        assert 'filename="dashboard-2025-06-sol.sw.csv"' in got.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(got.text)))
        assert {r["care_manager"] for r in rows} == {"sol.sw"}
        by = {(r["figure"], r["detail"]): r["value"] for r in rows}
        assert by[("transition_contact_rate", "0/1")] == "0.0"
        assert by[("caseload_size", "sol.sw")] == "1"
        assert ("caseload_size", "nina.rn") not in by
        assert client.get("/dashboard?month=2025-06&care_manager=otto.cm").status_code == 404
        assert client.get("/dashboard.csv?month=2025-06&care_manager=otto.cm").status_code == 404
