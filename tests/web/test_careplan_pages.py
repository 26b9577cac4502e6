"""Care plan screens through the real app (SQLite and PostgreSQL), on a Synthea patient with heart failure:
start a plan from the suggested template, read it as one tree, edit a goal in place (HTMX), give a step
to a family caregiver, record the agreement, print the patient's copy (its text read back from the PDF),
and find the changes in the history; nobody outside the caseload reaches any of it."""

from __future__ import annotations

import io
import re
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.careplans.models import CarePlan, Goal, Intervention
from carenav.ingest.fhir.driver import ImportLimits, fhir_import
from carenav.patients.models import CareTeamMember, Medication, Patient
from carenav.patients.rules import RXNORM
from tests.builders import make_org
from tests.web.conftest import page_csrf, sign_in
from tests.web.users import assign, make_user

HEART_FAILURE = "Dennis_Durgan_78f005f3-7b33-4a5b-84d9-28417b36dbab.json"


@pytest.fixture
def dennis(session: Session, shared_data: Path) -> Patient:
    org = make_org(session)
    fhir_import(
        session=session,
        actor=Actor.operator(org.id, "tests"),
        paths=[shared_data / "synthea-r4" / HEART_FAILURE],
        limits=ImportLimits(max_file_bytes=64 * 1024 * 1024, max_line_bytes=16 * 1024 * 1024),
    )
    patient = session.scalars(select(Patient).where(Patient.org_id == org.id)).one()
    casey = make_user(session, org, "casey.cm", display_name="Casey Morgan")
    make_user(session, org, "drew.cm")
    assign(session, org, casey, patient)
    session.commit()
    return patient


def _start(client: TestClient, patient: Patient) -> str:
    page = client.get(f"/patients/{patient.uuid}").text
    picker = page.split('id="plan-template"')[1].split("</select>")[0]
    assert '<option value="heart-failure">Heart failure (suggested)</option>' in picker
    started = client.post(
        f"/patients/{patient.uuid}/careplans",
        data={"csrf_token": page_csrf(client), "title": "Heart failure care", "template": "heart-failure"},
    )
    assert started.status_code == 303, started.text
    location: str = started.headers["location"]
    return location


def test_a_plan_from_the_suggested_template_edited_agreed_printed_and_in_the_history(
    client: TestClient, dennis: Patient, session: Session
) -> None:
    sign_in(client, "casey.cm")
    path = _start(client, dennis)
    page = unescape(client.get(path).text)
    assert "<h1>Heart failure care</h1>" in page
    tree = page.split('id="plan-tree"')[1].split('id="h-add"')[0]
    assert "<h3>Chronic congestive heart failure (disorder)" in tree
    assert "Keep my weight steady" in tree
    assert 'Target: <strong class="target-value">< 130 mm[Hg]</strong>' in tree
    assert re.search(r"Latest: <strong>\d+(\.\d+)? mm\[Hg\]</strong>", tree), "the last systolic pressure"
    assert "Not yet agreed" in page
    assert "Made by Casey Morgan</p>" in page

    plan = session.scalars(
        select(CarePlan).where(CarePlan.patient_id == dennis.id, CarePlan.title == "Heart failure care")
    ).one()
    bp = session.scalars(
        select(Goal).where(Goal.plan_id == plan.id, Goal.template_ref == "heart-failure:hf-bp")
    ).one()
    token = page_csrf(client, path)
    htmx = {"HX-Request": "true", "X-CSRF-Token": token}
    form = client.get(f"/careplans/goals/{bp.uuid}/edit", headers={"HX-Request": "true"}).text
    assert f'hx-post="/careplans/goals/{bp.uuid}"' in form
    assert "<html" not in form, "a fragment"
    card = client.post(
        f"/careplans/goals/{bp.uuid}",
        data={"target_kind": "quantity", "comparator": "<", "value": "140", "unit": "mm[Hg]"},
        headers=htmx,
    )
    assert card.status_code == 200
    assert "&lt; 140 mm[Hg]" in card.text
    assert card.text.lstrip().startswith(f'<article class="goal lifecycle-proposed" id="goal-{bp.uuid}">')
    bad = client.post(
        f"/careplans/goals/{bp.uuid}", data={"target_kind": "range", "low": "9", "high": "2"}, headers=htmx
    )
    assert bad.status_code == 400
    assert "the range&#39;s low 9 is above its high 2" in bad.text

    added = client.post(
        f"/patients/{dennis.uuid}/care-team",
        data={
            "csrf_token": token,
            "role": "caregiver",
            "name": "Maria Durgan",
            "role_detail": "daughter",
            "phone": "555-0134",
            "back": path,
        },
    )
    assert added.status_code == 303
    maria = session.scalars(select(CareTeamMember).where(CareTeamMember.name == "Maria Durgan")).one()
    salt = session.scalars(
        select(Intervention).where(Intervention.template_ref == "heart-failure:hf-low-salt")
    ).one()
    step = client.post(
        f"/careplans/interventions/{salt.uuid}", data={"owner": f"member:{maria.uuid}"}, headers=htmx
    )
    assert "Maria Durgan" in step.text
    agreed = client.post(
        f"{path}/agreement",
        data={"csrf_token": token, "method": "in-person", "agreed_by": "patient"},
    )
    assert agreed.status_code == 303
    page = unescape(client.get(path).text)
    assert "Agreed to this version on" in page
    assert "Maria Durgan" in page.split('id="care-team"')[1]

    pdf = client.get(f"{path}/print")
    assert pdf.headers["content-type"] == "application/pdf"
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    text = re.sub(r"\s+", " ", text)
    assert "My care plan: Dennis" in text
    assert "Blood pressure under 130/80 (target: below 140 mm[Hg])" in text
    assert "What I do each day" in text
    assert "Weigh every morning" in text
    assert "Maria Durgan: Low-salt eating" in text
    assert "Call first: Casey Morgan" in text
    assert "call 911" in text
    medicines = text.split("My medicines What When Why ")[1].split("Who to call")[0]
    assert "Metoprolol succinate 100 mg extended-release tablet (Toprol)" in medicines
    assert "Diphenhydramine hydrochloride 25 mg tablet Only when needed" in medicines
    assert "Ask your care team what it is for" in medicines, "Synthea's reasons are not in the record"
    assert "MG" not in medicines

    history = unescape(client.get(f"{path}/history").text)
    assert 'Goal "Blood pressure under 130/80": target "< 130 mm[Hg]" → "< 140 mm[Hg]"' in history
    assert 'owner "Casey Morgan" → "Maria Durgan"' in history, "the step given to the daughter"
    assert "Agreed on" in history


def test_nobody_outside_the_caseload_reaches_a_plan(client: TestClient, dennis: Patient) -> None:
    sign_in(client, "casey.cm")
    path = _start(client, dennis)
    client.post("/logout", data={"csrf_token": page_csrf(client)})
    sign_in(client, "drew.cm")
    assert client.get(path).status_code == 404
    assert client.get(f"{path}/print").status_code == 404
    assert client.get(f"{path}/history").status_code == 404
    token = page_csrf(client)
    refused = client.post(f"{path}/template", data={"csrf_token": token, "template": "copd"})
    assert refused.status_code == 404


def test_preferences_are_kept_shown_and_printed(client: TestClient, dennis: Patient) -> None:
    sign_in(client, "casey.cm")
    path = _start(client, dennis)
    token = page_csrf(client, path)
    saved = client.post(
        f"/patients/{dennis.uuid}/preferences",
        data={
            "csrf_token": token,
            "contact_methods": ["phone", "text"],
            "contact_times": "mornings",
            "language": "English",
            "advance_directive": "yes",
            "advance_directive_location": "in the kitchen drawer",
            "back": path,
        },
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == path
    panel = unescape(client.get(path).text).split('id="preferences"')[1]
    assert "a phone call, a text message, mornings" in panel
    assert "yes (in the kitchen drawer)" in panel
    refused = client.post(
        f"/patients/{dennis.uuid}/preferences", data={"csrf_token": token, "contact_methods": "pigeon"}
    )
    assert refused.status_code == 400
    pdf = client.get(f"{path}/print")
    text = re.sub(r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages))
    assert "Reach me by a phone call, a text message, mornings" in text
    assert "I have an advance directive, kept in the kitchen drawer" in text


def test_a_review_moves_the_next_review_a_year_on_and_an_overdue_one_says_so(
    client: TestClient, dennis: Patient, session: Session
) -> None:
    sign_in(client, "casey.cm")
    path = _start(client, dennis)
    plan = session.scalars(
        select(CarePlan).where(CarePlan.patient_id == dennis.id, CarePlan.title == "Heart failure care")
    ).one()
    plan.next_review_on = plan.period_start.replace(year=plan.period_start.year - 1)
    session.commit()
    assert "(review overdue)" in client.get(path).text
    done = client.post(
        f"{path}/reviewed", data={"csrf_token": page_csrf(client, path), "note": "with Dennis"}
    )
    assert done.status_code == 303
    session.refresh(plan)
    assert plan.next_review_on == plan.last_reviewed_on.replace(year=plan.last_reviewed_on.year + 1)
    assert "(review overdue)" not in client.get(path).text
    assert "plan reviewed: with Dennis" in client.get(f"{path}/history").text


def test_the_printed_medicines_say_what_when_and_why_in_plain_words(
    client: TestClient, dennis: Patient, session: Session
) -> None:
    session.add_all(
        [
            Medication(
                org_id=dennis.org_id,
                patient_id=dennis.id,
                source_system="test",
                source_id=f"{dennis.uuid}/lisinopril",
                status="active",
                code_system=RXNORM,
                code="314076",
                display="Lisinopril 10 MG Oral Tablet",
                dosage_text="1 tab PO qd",
                reason_code="38341003",
                reason_display="Hypertension",
            ),
            Medication(
                org_id=dennis.org_id,
                patient_id=dennis.id,
                source_system="test",
                source_id=f"{dennis.uuid}/warfarin",
                status="on-hold",
                code_system=RXNORM,
                code="855332",
                display="Warfarin Sodium 5 MG Oral Tablet",
            ),
        ]
    )
    session.commit()
    sign_in(client, "casey.cm")
    path = _start(client, dennis)
    pdf = client.get(f"{path}/print")
    text = re.sub(r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages))
    medicines = text.split("My medicines What When Why ")[1].split("Who to call")[0]
    assert "Lisinopril 10 mg tablet 1 tablet by mouth once a day High blood pressure" in medicines
    assert medicines.index("Lisinopril") < medicines.index("Diphenhydramine") < medicines.index("Warfarin"), (
        "taken regularly, then when needed, then on hold"
    )
    assert (
        "Warfarin sodium 5 mg tablet On hold: do not take it until your care team tells you to start again"
        in medicines
    )
