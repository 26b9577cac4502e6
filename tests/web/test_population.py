"""The population page and the risk panel: filters and counts against the run's rows, scope, bulk actions
(per-patient outcomes, audited), CSRF; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from html import unescape as html_unescape
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.audit.models import AuditEvent
from carenav.programs.models import ProgramEnrolment
from carenav.stratification.services import stratification_run_save
from tests.builders import make_org, make_patient
from tests.web.conftest import hidden_value, page_csrf, sign_in
from tests.web.users import assign, make_user

# name, age, tier, programs, charlson, hcc_v28, lace, chronic conditions, codes, plan type
PEOPLE: list[tuple[str, int, int, str, int, float, int | None, str, str, str]] = [
    (
        "Avery",
        72,
        4,
        "ccm;ccm_complex;case_mgmt",
        6,
        3.2,
        12,
        "heart_failure;diabetes",
        "I509;E119",
        "medicare_ffs",
    ),
    ("Blake", 68, 3, "ccm", 3, 1.7, 7, "copd;heart_failure", "J449;I509", "medicare_ffs"),
    ("Casey", 55, 3, "ccm", 2, 1.1, None, "diabetes;hypertension", "E1165;I10", "commercial"),
    ("Devon", 44, 2, "bhi", 1, 0.6, 3, "depression", "F329", "medicaid"),
    ("Emery", 81, 2, "pcm", 2, 1.0, None, "ckd", "N183", "medicare_advantage"),
    ("Finley", 30, 1, "", 0, 0.3, None, "", "", "commercial"),
]


def _scores(uuid: str, person: tuple[Any, ...]) -> dict[str, Any]:
    _name, age, tier, programs, charlson, hcc, lace, conditions, codes, _plan = person
    return {
        "patient_id": uuid,
        "age": age,
        "tier": tier,
        "programs": programs,
        "charlson": charlson,
        "charlson_quan2011": charlson,
        "charlson_age_adjusted": charlson + 2,
        "charlson_categories": "chf" if "heart_failure" in conditions else "",
        "hcc_v28": hcc,
        "hccs_v28": "HCC226" if "heart_failure" in conditions else "",
        "hcc_segment": "CNA",
        "hcc_v24": hcc,
        "hccs_v24": "",
        "lace_last_discharge": lace,
        "last_discharge_date": "2024-04-20" if lace is not None else None,
        "chronic_condition_count": len([c for c in conditions.split(";") if c]),
        "chronic_conditions": conditions,
        "chronic_condition_codes": codes,
        "ip_admits_6m": 2 if tier == 4 else 0,
        "ed_visits_6m": 1,
        "ip_admits_12m": 2 if tier == 4 else 0,
        "ed_visits_12m": 1,
        "active_medications": 3,
        "polypharmacy": False,
    }


def _world(session: Session, *, runs: int = 1) -> dict[str, Any]:
    org = make_org(session)
    other_org = make_org(session)
    amy = make_user(session, org, "amy.cm", team="North", display_name="Amy Care")
    bo = make_user(session, org, "bo.cm", team="North", display_name="Bo Care")
    cy = make_user(session, org, "cy.cm", team="South", display_name="Cy Care")
    make_user(session, org, "sam.sup", "supervisor", team="North", display_name="Sam Lead")
    make_user(session, org, "ada.admin", "admin")
    patients = {}
    for person in PEOPLE:
        patients[person[0]] = make_patient(
            session,
            org,
            family=person[0],
            given="Pat",
            birth_date=date(2024 - person[1], 1, 1),
            coverages=[{"plan_type": person[9], "payer_name": person[9]}],
        )
    stranger = make_patient(session, other_org, family="Stranger", given="Out")
    assign(session, org, amy, patients["Avery"])
    assign(session, org, cy, patients["Casey"])
    admin = Actor.operator(org.id, "tests")
    for n in range(runs):
        people = [(p[0], p[1], p[2] if n == runs - 1 else 1, *p[3:]) for p in PEOPLE]
        stratification_run_save(
            session=session,
            actor=admin,
            as_of=date(2024, 5, 1 + n),
            engine="duckdb",
            rules_version=f"rules{n}",
            started_at=datetime(2024, 5, 1 + n, 2, tzinfo=UTC),
            finished_at=datetime(2024, 5, 1 + n, 2, 5, tzinfo=UTC),
            scores=[_scores(patients[p[0]].uuid, p) for p in people],
            evidence=[
                {
                    "patient_id": patients["Avery"].uuid,
                    "model": "hcc_v28",
                    "component": "HCC226",
                    "points": 0.406,
                    "evidence": "Heart Failure: I509 (onset 2020-05-25, from SNOMED CT 88805009)",
                },
                {
                    "patient_id": patients["Avery"].uuid,
                    "model": "programs",
                    "component": "program:ccm",
                    "points": 0.0,
                    "evidence": "program ccm: chronic_condition_count >= 2 [chronic_condition_count=2]",
                },
            ],
            summary={},
        )
    session.flush()
    return {"org": org, "patients": patients, "stranger": stranger, "amy": amy, "bo": bo, "cy": cy}


def _listed(html: str) -> list[str]:
    """The family names of the patients in the registry table, in order."""
    return re.findall(r'<th scope="row"><a href="/patients/[^"]+">Pat (\w+)</a>', html)


def _expected(keep: Any) -> set[str]:
    return {p[0] for p in PEOPLE if keep(p)}


def _count(html: str, attribute: str, value: str) -> int:
    match = re.search(rf'<td {attribute}="{value}">(\d+)</td>', html)
    assert match, f"no count {attribute}={value}"
    return int(match.group(1))


def test_no_run_yet_says_how_to_run_one(client: TestClient, session: Session) -> None:
    org = make_org(session)
    make_user(session, org, "ada.admin", "admin")
    sign_in(client, "ada.admin")
    page = client.get("/population")
    assert page.status_code == 200
    assert "No stratification run yet" in page.text
    assert "carenav stratify" in page.text
    assert 'href="/population" aria-current="page"' in page.text, "Population is switched on"


def test_filters_combine_and_counts_match_the_runs_rows(client: TestClient, session: Session) -> None:
    world = _world(session)
    sign_in(client, "ada.admin")
    page = client.get("/population").text
    assert "rules version <code>rules0</code>" in page
    assert set(_listed(page)) == {p[0] for p in PEOPLE}
    assert _listed(page)[:3] == ["Avery", "Blake", "Casey"], "risk order: tier, then HCC"
    for tier in (1, 2, 3, 4):
        assert _count(page, "data-tier", str(tier)) == sum(1 for p in PEOPLE if p[2] == tier)
    assert _count(page, "data-program", "ccm") == 3
    assert _count(page, "data-program", "bhi") == 1

    cases: list[tuple[str, Any]] = [
        ("program=ccm", lambda p: "ccm" in p[3].split(";")),
        ("program=ccm&tier=3", lambda p: "ccm" in p[3].split(";") and p[2] == 3),
        ("condition=heart_failure", lambda p: "heart_failure" in p[7].split(";")),
        ("condition=e11", lambda p: any(c.startswith("E11") for c in p[8].split(";"))),
        ("condition=I50.9", lambda p: "I509" in p[8]),
        ("plan_type=medicare_ffs", lambda p: p[9] == "medicare_ffs"),
        ("age_band=65-74", lambda p: 65 <= p[1] <= 74),
        ("age_band=85%2B", lambda p: p[1] >= 85),
        ("unassigned=1", lambda p: p[0] not in {"Avery", "Casey"}),
        ("program=ccm&unassigned=1", lambda p: "ccm" in p[3].split(";") and p[0] not in {"Avery", "Casey"}),
        ("age_band=65-74&plan_type=medicare_ffs&tier=4", lambda p: p[0] == "Avery"),
    ]
    for query, keep in cases:
        html = client.get(f"/population?{query}").text
        expected = _expected(keep)
        assert set(_listed(html)) == expected, query
        assert int(re.search(r"<td data-total>(\d+)</td>", html).group(1)) == len(expected), query  # type: ignore[union-attr]
        for tier in (1, 2, 3, 4):
            assert _count(html, "data-tier", str(tier)) == len(
                _expected(lambda p, t=tier, k=keep: k(p) and p[2] == t)
            ), query
        assert _count(html, "data-program", "ccm") == len(
            _expected(lambda p, k=keep: k(p) and "ccm" in p[3].split(";"))
        ), query

    lace_order = _listed(client.get("/population?sort=lace").text)
    assert lace_order[:3] == ["Avery", "Blake", "Devon"], "LACE highest first, patients without LACE last"
    assert _listed(client.get("/population?sort=charlson").text)[0] == "Avery"

    fragment = client.get("/population?program=bhi", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text
    assert _listed(fragment.text) == ["Devon"]

    # Enrolment status: after outreach for Blake in CCM, 'outreach' finds only Blake; 'none' the others.
    token = page_csrf(client, "/population")
    blake = world["patients"]["Blake"].uuid
    client.post(
        "/population/bulk",
        data={"csrf_token": token, "action": "outreach", "patient": [blake], "outreach_program": "ccm"},
    )
    assert _listed(client.get("/population?program=ccm&enrolment=outreach").text) == ["Blake"]
    assert set(_listed(client.get("/population?program=ccm&enrolment=none").text)) == {"Avery", "Casey"}
    assert set(_listed(client.get("/population?enrolment=none").text)) == {p[0] for p in PEOPLE} - {"Blake"}

    for bad in ("tier=9", "program=nope", "condition=12%25", "age_band=old", "sort=name", "enrolment=x"):
        assert client.get(f"/population?{bad}").status_code == 400, bad


def test_care_managers_see_their_caseload_supervisors_their_team(
    client: TestClient, session: Session
) -> None:
    world = _world(session)
    patients = world["patients"]
    sign_in(client, "amy.cm")
    html = client.get("/population").text
    assert _listed(html) == ["Avery"]
    assert _count(html, "data-program", "ccm") == 1
    assert "Assign to care manager" not in html, "care managers do not assign"
    assert client.get(f"/patients/{patients['Casey'].uuid}").status_code == 404
    assert client.get(f"/patients/{world['stranger'].uuid}").status_code == 404
    client.post("/logout", data={"csrf_token": page_csrf(client)})

    sign_in(client, "sam.sup")  # leads North: amy and bo, not cy (South)
    html = client.get("/population").text
    assert _listed(html) == ["Avery"]
    options = re.findall(r'<option value="([a-z.]+)">', html.split('id="username"')[1].split("</select>")[0])
    assert set(options) == {"amy.cm", "bo.cm", "sam.sup"}


def test_bulk_assign_and_outreach_report_each_patient_and_are_audited(
    client: TestClient, session: Session
) -> None:
    world = _world(session)
    patients = world["patients"]
    sign_in(client, "ada.admin")
    page = client.get("/population?program=ccm&unassigned=1").text
    token = hidden_value(page, "csrf_token")
    back = html_unescape(hidden_value(page, "back"))
    chosen = [patients["Blake"].uuid, world["stranger"].uuid]
    response = client.post(
        "/population/bulk",
        data={
            "csrf_token": token,
            "action": "assign",
            "patient": chosen,
            "username": "bo.cm",
            "assign_program": "ccm",
            "back": back,
        },
    )
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/population?program=ccm&unassigned=1&done=")
    result = client.get(location).text
    assert "Assign: 1 done, 1 not done" in result
    assert "Pat Blake: done \u2013 assigned to bo.cm (no open ccm episode)" in result
    assert f"{world['stranger'].uuid}: not done \u2013 Patient: no patient" in result, (
        "another organization's patient"
    )
    assert "Blake" not in _listed(result), "assigned: no longer unassigned"
    # The signed outcome cannot be forged.
    forged = re.sub(r"\.[0-9a-f]+$", ".0000", location)
    assert "bulk-result" not in client.get(forged).text

    outreach = client.post(
        "/population/bulk",
        data={
            "csrf_token": token,
            "action": "outreach",
            "patient": [patients["Casey"].uuid, patients["Finley"].uuid],
            "outreach_program": "ccm",
            "back": "program=ccm",
        },
        headers={"HX-Request": "true"},
    )
    assert outreach.status_code == 200
    assert "<html" not in outreach.text
    assert "Start outreach: 2 done" in outreach.text
    states = dict(
        session.execute(
            select(ProgramEnrolment.patient_id, ProgramEnrolment.state).where(
                ProgramEnrolment.program_code == "ccm"
            )
        ).all()
    )
    assert states == {patients["Casey"].id: "outreach", patients["Finley"].id: "outreach"}
    actions = {
        (e.action, e.patient_uuid)
        for e in session.scalars(select(AuditEvent).where(AuditEvent.actor == "user:ada.admin"))
    }
    assert ("assign", patients["Blake"].uuid) in actions
    assert ("program-start-outreach", patients["Casey"].uuid) in actions
    assert ("search", patients["Blake"].uuid) in actions, "patients shown are audited"

    empty = client.post(
        "/population/bulk", data={"csrf_token": token, "action": "assign", "username": "bo.cm"}
    )
    assert empty.status_code == 400


def test_supervisors_assign_within_their_team_only(client: TestClient, session: Session) -> None:
    world = _world(session)
    avery = world["patients"]["Avery"].uuid
    sign_in(client, "sam.sup")
    token = page_csrf(client, "/population")
    client.post(
        "/population/bulk",
        data={"csrf_token": token, "action": "assign", "patient": [avery], "username": "bo.cm"},
    )
    refused = client.post(
        "/population/bulk",
        data={"csrf_token": token, "action": "assign", "patient": [avery], "username": "cy.cm"},
        headers={"HX-Request": "true"},
    )
    assert "cy.cm&#39; is not in the team you lead" in refused.text
    names = re.search(r'data-patient="' + avery + r'".*?</tr>', refused.text, re.S)
    assert names
    assert "Amy Care, Bo Care" in names.group(0)


def test_bulk_actions_refuse_a_form_without_the_token(client: TestClient, session: Session) -> None:
    world = _world(session)
    sign_in(client, "ada.admin")
    blake = world["patients"]["Blake"].uuid
    for token in ("", "forged"):
        response = client.post(
            "/population/bulk",
            data={"csrf_token": token, "action": "assign", "patient": [blake], "username": "bo.cm"},
        )
        assert response.status_code == 403
        assert "did not come from carenav" in response.text
    row = re.search(r'data-patient="' + blake + r'".*?</tr>', client.get("/population?tier=3").text, re.S)
    assert row
    assert "<td>unassigned</td>" in row.group(0), "nothing was assigned"


@pytest.mark.parametrize("runs", [2])
def test_risk_panel_explains_scores_flags_enrolments_and_history(
    client: TestClient, session: Session, runs: int
) -> None:
    world = _world(session, runs=runs)
    avery = world["patients"]["Avery"]
    sign_in(client, "amy.cm")
    html = client.get(f"/patients/{avery.uuid}").text
    panel = html.split('id="risk-panel"')[1]
    assert "rules version <code>rules1</code>" in panel, "the latest run"
    assert "HCC226" in panel
    assert "from SNOMED CT 88805009" in panel
    assert "program ccm: chronic_condition_count &gt;= 2 [chronic_condition_count=2]" in panel
    history = panel.split('id="score-history"')[1].split("</table>")[0]
    assert "2024-05-01" in history
    assert "2024-05-02" in history
    assert re.search(r"<td>2024-05-01</td><td>1</td>", history), "the first run's tier"
    assert re.search(r"<td>2024-05-02</td><td>4</td>", history), "the latest run's tier"
    chart = json.loads(html_unescape(panel.split("data-line-chart='")[1].split("'")[0]))
    assert len(chart["labels"]) == 2
    assert chart["labels"] == sorted(chart["labels"])
    assert chart["datasets"][0] == {"label": "Tier", "data": [1, 4], "stepped": True}
    assert '<script src="/static/line-chart.js" defer></script>' in panel
    assert "Not in any program" in panel

    client.post("/logout", data={"csrf_token": page_csrf(client)})
    sign_in(client, "ada.admin")
    token = page_csrf(client, "/population")
    client.post(
        "/population/bulk",
        data={"csrf_token": token, "action": "outreach", "patient": [avery.uuid], "outreach_program": "ccm"},
    )
    enrolments = client.get(f"/patients/{avery.uuid}").text.split('id="enrolments"')[1].split("</table>")[0]
    assert "<td>ccm</td><td>1</td><td>outreach</td>" in enrolments
    unscored = make_patient(session, world["org"], family="New")
    assert "Not scored yet" in client.get(f"/patients/{unscored.uuid}").text
