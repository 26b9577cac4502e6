"""The education panel through the real app (SQLite and PostgreSQL), on Synthea patients: the medication
schedule in plain words, topics suggested from the record, assigning one, recording teaching with the
teach-back result and the reinforcement date it sets, refusals that say what is wrong, a handout printed in
the patient's language (its text read back from the PDF), and nobody outside the caseload reaches any of
it."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.audit.models import AuditEvent
from carenav.clock import today
from carenav.education.models import EducationAssignment
from carenav.ingest.fhir.driver import ImportLimits, fhir_import
from carenav.patients.models import Patient
from tests.builders import make_org
from tests.web.conftest import page_csrf, sign_in
from tests.web.users import assign, make_user

CRUZ = "Cruz_Halvorson_4550efe0-f978-4387-a384-486d859fbf4c.json"
ANTONIO = "Antonio_Castellanos_6d2eba67-5b4a-403f-a29f-e6da3f1ea963.json"


def _import(session: Session, shared_data: Path, org_id: int, name: str) -> Patient:
    before = set(session.scalars(select(Patient.id).where(Patient.org_id == org_id)))
    fhir_import(
        session=session,
        actor=Actor.operator(org_id, "tests"),
        paths=[shared_data / "synthea-r4" / name],
        limits=ImportLimits(max_file_bytes=64 * 1024 * 1024, max_line_bytes=16 * 1024 * 1024),
    )
    return session.scalars(
        select(Patient).where(Patient.org_id == org_id, Patient.id.not_in(before or {0}))
    ).one()


@pytest.fixture
def patients(session: Session, shared_data: Path) -> tuple[Patient, Patient]:
    org = make_org(session)
    cruz = _import(session, shared_data, org.id, CRUZ)
    antonio = _import(session, shared_data, org.id, ANTONIO)
    casey = make_user(session, org, "casey.cm", display_name="Casey Morgan")
    make_user(session, org, "drew.cm")
    assign(session, org, casey, cruz)
    assign(session, org, casey, antonio)
    session.commit()
    return cruz, antonio


def _panel(client: TestClient, patient: Patient) -> str:
    page = unescape(client.get(f"/patients/{patient.uuid}").text)
    return page.split('<section aria-labelledby="h-education" id="education">')[1].split("</section>")[0]


def _pdf_text(content: bytes) -> str:
    return re.sub(r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages))


def _assignment(session: Session, patient: Patient, topic: str) -> EducationAssignment:
    session.expire_all()
    return session.scalars(
        select(EducationAssignment).where(
            EducationAssignment.patient_id == patient.id, EducationAssignment.topic_id == topic
        )
    ).one()


def test_schedule_suggestions_assign_teach_and_print(
    client: TestClient, session: Session, patients: tuple[Patient, Patient]
) -> None:
    cruz, _antonio = patients
    sign_in(client, "casey.cm")
    panel = _panel(client, cruz)
    schedule = panel.split('id="medication-schedule"')[1].split("</table>")[0]
    assert "<td>Warfarin sodium 5 mg tablet</td>" in schedule
    assert "<td>Nitroglycerin 0.4 mg per spray (mouth spray)</td>" in schedule
    assert "<em>Ask your care team what it is for</em>" in schedule, "said so, not guessed"
    suggested = panel.split('id="h-education-suggested"')[1]
    assert (
        "<strong>Taking warfarin safely</strong> <small>(English) · "
        "for Warfarin Sodium 5 MG Oral Tablet</small>" in suggested
    )
    assert "<strong>How to use your inhaler</strong>" in suggested

    token = page_csrf(client, f"/patients/{cruz.uuid}")
    made = client.post(
        f"/patients/{cruz.uuid}/education",
        data={
            "csrf_token": token,
            "topic": "warfarin-safety",
            "language": "en",
            "reason": "Warfarin Sodium 5 MG Oral Tablet",
        },
    )
    assert made.status_code == 303
    assert made.headers["location"] == f"/patients/{cruz.uuid}#education"
    warfarin = _assignment(session, cruz, "warfarin-safety")
    twice = client.post(
        f"/patients/{cruz.uuid}/education", data={"csrf_token": token, "topic": "warfarin-safety"}
    )
    assert twice.status_code == 409
    assert "already assigned" in twice.text

    refused = client.post(
        f"/education/{warfarin.uuid}/teach", data={"csrf_token": token, "result": "understood"}
    )
    assert refused.status_code == 400
    assert "say how the topic was taught (at least one method)" in unescape(refused.text)
    unknown = client.post(
        f"/education/{warfarin.uuid}/teach",
        data={"csrf_token": token, "method": "telepathy", "result": "understood"},
    )
    assert unknown.status_code == 400
    assert "&#39;telepathy&#39; is not one of verbal" in unknown.text
    taught = client.post(
        f"/education/{warfarin.uuid}/teach",
        data={
            "csrf_token": token,
            "method": ["verbal", "written-handout"],
            "result": "needs-reinforcement",
            "learner": "patient",
            "taught_on": today().isoformat(),
            "notes": "mixed up the INR and the dose",
        },
    )
    assert taught.status_code == 303, taught.text
    item = _panel(client, cruz).split(f'id="education-{warfarin.uuid}"')[1].split("</li>\n  </ul>")[0]
    due = today() + timedelta(days=7)
    assert f"reinforcing · reinforce by {due}" in item
    assert (
        f"Last taught {today()} to the patient (talked it through, written handout): "
        '<strong class="teach-back">needs reinforcement</strong>: mixed up the INR and the dose'
    ) in item
    late = client.post(
        f"/education/{warfarin.uuid}/teach",
        data={
            "csrf_token": token,
            "method": "verbal",
            "result": "needs-reinforcement",
            "next_on": (today() + timedelta(days=30)).isoformat(),
        },
    )
    assert late.status_code == 422
    assert "reinforcement is due within 7 days of teaching" in late.text
    assert client.post(f"/education/{warfarin.uuid}/complete", data={"csrf_token": token}).status_code == 422

    client.post(f"/patients/{cruz.uuid}/education", data={"csrf_token": token, "topic": "inhaler-technique"})
    inhaler = _assignment(session, cruz, "inhaler-technique")
    shown = client.post(
        f"/education/{inhaler.uuid}/teach",
        data={"csrf_token": token, "method": ["demonstration", "video"], "result": "understood"},
    )
    assert shown.status_code == 422
    assert "a device topic is understood only when the learner shows it back" in shown.text

    handout = client.get(f"/education/{warfarin.uuid}/handout")
    assert handout.headers["content-type"] == "application/pdf"
    text = _pdf_text(handout.content)
    assert "Taking warfarin safely" in text
    assert "For: Cruz" in text
    assert "Get your INR blood test when you are told." in text
    assert "Check yourself" in text
    audited = session.scalars(
        select(AuditEvent.action).where(AuditEvent.entity_id == warfarin.uuid).order_by(AuditEvent.id)
    ).all()
    assert audited == ["education-assign", "education-teach", "education-handout"]

    stopped = client.post(f"/education/{inhaler.uuid}/stop", data={"csrf_token": token, "reason": ""})
    assert stopped.status_code == 422
    assert (
        client.post(
            f"/education/{inhaler.uuid}/stop", data={"csrf_token": token, "reason": "uses a nebulizer now"}
        ).status_code
        == 303
    )
    assert "stopped" in _panel(client, cruz).split(f'id="education-{inhaler.uuid}"')[1]


def test_a_spanish_speaker_gets_spanish_topics_and_handout(
    client: TestClient, session: Session, patients: tuple[Patient, Patient]
) -> None:
    _cruz, antonio = patients
    sign_in(client, "casey.cm")
    suggested = _panel(client, antonio).split('id="h-education-suggested"')[1]
    assert "<strong>Cómo tomarse la presión en casa</strong> <small>(Spanish)" in suggested
    token = page_csrf(client, f"/patients/{antonio.uuid}")
    client.post(
        f"/patients/{antonio.uuid}/education", data={"csrf_token": token, "topic": "bp-home-monitoring"}
    )
    bp = _assignment(session, antonio, "bp-home-monitoring")
    assert bp.language == "es"
    text = _pdf_text(client.get(f"/education/{bp.uuid}/handout").content)
    assert "Cómo tomarse la presión en casa" in text
    assert "Muéstreme cómo se sienta y cómo se pone el brazalete." in text
    english = _pdf_text(client.get(f"/education/{bp.uuid}/handout?language=en").content)
    assert "Checking your blood pressure at home" in english
    missing = client.get(f"/education/{bp.uuid}/handout?language=zh")
    assert missing.status_code == 404
    assert "has no Chinese text" in missing.text


def test_nobody_outside_the_caseload_reaches_education(
    client: TestClient, session: Session, patients: tuple[Patient, Patient]
) -> None:
    cruz, _antonio = patients
    sign_in(client, "casey.cm")
    token = page_csrf(client, f"/patients/{cruz.uuid}")
    client.post(f"/patients/{cruz.uuid}/education", data={"csrf_token": token, "topic": "copd-action-plan"})
    copd = _assignment(session, cruz, "copd-action-plan")
    client.post("/logout", data={"csrf_token": token})
    sign_in(client, "drew.cm")
    token = page_csrf(client)
    assert client.get(f"/education/{copd.uuid}/handout").status_code == 404
    for path, data in (
        (f"/education/{copd.uuid}/teach", {"method": "verbal", "result": "understood"}),
        (f"/education/{copd.uuid}/stop", {"reason": "x"}),
        (f"/education/{copd.uuid}/reschedule", {"due_on": today().isoformat(), "note": "x"}),
        (f"/patients/{cruz.uuid}/education", {"topic": "insulin-pen"}),
    ):
        assert client.post(path, data={"csrf_token": token, **data}).status_code == 404, path
    assert _assignment(session, cruz, "copd-action-plan").status == "assigned"


def test_a_topic_gone_from_the_library_still_shows_and_can_be_stopped(
    client: TestClient, session: Session, patients: tuple[Patient, Patient]
) -> None:
    cruz, _antonio = patients
    sign_in(client, "casey.cm")
    token = page_csrf(client, f"/patients/{cruz.uuid}")
    client.post(f"/patients/{cruz.uuid}/education", data={"csrf_token": token, "topic": "fall-prevention"})
    retired = _assignment(session, cruz, "fall-prevention")
    retired.topic_id = "fall-prevention-2019"
    session.commit()
    item = _panel(client, cruz).split(f'id="education-{retired.uuid}"')[1]
    assert "<strong>fall-prevention-2019</strong> <small>(no longer in the library" in item
    assert f'action="/education/{retired.uuid}/teach"' not in item
    taught = client.post(
        f"/education/{retired.uuid}/teach",
        data={"csrf_token": token, "method": "verbal", "result": "understood"},
    )
    assert taught.status_code == 404
    assert "no education topic &#39;fall-prevention-2019&#39;" in taught.text
    stopped = client.post(
        f"/education/{retired.uuid}/stop", data={"csrf_token": token, "reason": "topic retired"}
    )
    assert stopped.status_code == 303
