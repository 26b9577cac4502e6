"""The resource directory on screen (SQLite and PostgreSQL): a search for a patient starts from their ZIP
code, results nearest first; referring the patient to a service found, recording their consent, and taking the
referral round its loop from the patient page."""

from __future__ import annotations

from html import unescape

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.accounts.models import Organization, User
from carenav.careplans.services import goal_add, plan_create
from carenav.patients.models import Patient, PatientAddress
from carenav.referrals.models import PatientResource, Referral
from tests.builders import make_patient
from tests.web.conftest import hidden_value, page_csrf, sign_in
from tests.web.users import actor_of, assign, make_user


def _world(session: Session, miami_org_id: int) -> Patient:
    """A patient in Miami on casey's caseload, in the organization holding the Miami 211 directory."""
    org = session.get_one(Organization, miami_org_id)
    patient = make_patient(session, org)
    patient.addresses.append(
        PatientAddress(rank=0, lines="1 Main St", city="Miami", state="FL", postal_code="33157")
    )
    casey = make_user(session, org, "casey.cm", display_name="Casey Morgan")
    assign(session, org, casey, patient)
    make_user(session, org, "drew.cm")
    session.commit()
    return patient


def test_find_refer_consent_and_close_the_loop(
    client: TestClient, session: Session, miami_org_id: int
) -> None:
    patient = _world(session, miami_org_id)
    sign_in(client, "casey.cm")
    page = unescape(client.get(f"/resources?patient={patient.uuid}&need=food").text)
    assert 'name="zip" value="33157"' in page, "the patient's ZIP code to start from"
    first = page.split('<li class="resource">')[1]
    assert " mi</strong>" in first
    fragment = client.get("/resources?need=transportation&zip=33157", headers={"HX-Request": "true"}).text
    assert fragment.lstrip().startswith('<section id="results"')
    assert "<html" not in fragment

    service_uuid = first.split('name="service" value="')[1].split('"')[0]
    token = page_csrf(client, f"/patients/{patient.uuid}")
    made = client.post(
        f"/patients/{patient.uuid}/referrals",
        data={
            "csrf_token": token,
            "service": service_uuid,
            "kind": "food",
            "reason": "Food ran out each month",
        },
    )
    assert made.status_code == 303
    referral = session.scalars(select(Referral).where(Referral.patient_id == patient.id)).one()
    refused = client.post(f"/referrals/{referral.uuid}/step", data={"csrf_token": token, "to": "sent"})
    assert refused.status_code == 422
    assert "consent" in refused.text
    consent = client.post(
        f"/patients/{patient.uuid}/sharing-consents",
        data={"csrf_token": token, "recipient": referral.recipient, "method": "verbal"},
    )
    assert consent.status_code == 303
    for step, note in (("sent", ""), ("accepted", ""), ("completed", "Weekly pantry box")):
        done = client.post(
            f"/referrals/{referral.uuid}/step", data={"csrf_token": token, "to": step, "note": note}
        )
        assert done.status_code == 303, done.text
    section = (
        unescape(client.get(f"/patients/{patient.uuid}").text)
        .split('id="referrals"')[1]
        .split("</section>")[0]
    )
    assert "outcome: Weekly pantry box" in section
    assert "accepted → completed" in section


def _switch(client: TestClient, username: str) -> None:
    client.post("/logout", data={"csrf_token": page_csrf(client, "/referrals")})
    client.cookies.clear()
    sign_in(client, username)


def test_a_referral_for_a_goal_the_board_and_the_printable_resource_list(
    client: TestClient, session: Session, miami_org_id: int
) -> None:
    patient = _world(session, miami_org_id)
    casey = actor_of(session.scalars(select(User).where(User.username == "casey.cm")).one())
    plan = plan_create(session=session, actor=casey, patient_uuid=patient.uuid, title="Food security")
    goal = goal_add(session=session, actor=casey, plan_uuid=plan.uuid, description="Enough food every week")
    session.commit()
    sign_in(client, "casey.cm")
    page = unescape(client.get(f"/resources?patient={patient.uuid}&need=food").text)
    assert f'<option value="{goal.uuid}">Enough food every week</option>' in page, "refer for a goal"
    first = page.split('<li class="resource">')[1]
    service_uuid = first.split('name="service" value="')[1].split('"')[0]
    token = page_csrf(client, f"/patients/{patient.uuid}")
    client.post(
        f"/patients/{patient.uuid}/referrals",
        data={
            "csrf_token": token,
            "service": service_uuid,
            "kind": "food",
            "reason": "Pantry",
            "goal": goal.uuid,
        },
    )
    referral = session.scalars(select(Referral).where(Referral.patient_id == patient.id)).one()
    assert referral.goal_id == goal.id
    plan_page = unescape(client.get(f"/careplans/{plan.uuid}").text)
    served = plan_page.split('aria-label="Referrals for this goal"')[1].split("</ul>")[0]
    assert referral.recipient in served
    assert "draft" in served

    board = unescape(client.get("/referrals").text)
    drafts = board.split('id="lane-draft"')[1].split("</section>")[0]
    assert f'id="board-{referral.uuid}"' in drafts
    assert "Enough food every week" in drafts
    assert "None." in board.split('id="lane-overdue"')[1].split("</section>")[0]
    _switch(client, "drew.cm")
    assert referral.uuid not in client.get("/referrals").text, "another care manager's board"

    _switch(client, "casey.cm")
    token = page_csrf(client, f"/patients/{patient.uuid}")
    for note in ("Go on Thursday mornings", "Bring your ID"):
        added = client.post(
            f"/patients/{patient.uuid}/resource-list",
            data={
                "csrf_token": token,
                "service": service_uuid,
                "note": note,
                "back": "https://evil.example/",
            },
        )
        assert added.status_code == 303
        assert added.headers["location"].startswith("/patients/")
    missing = client.post(
        f"/patients/{patient.uuid}/resource-list", data={"csrf_token": token, "service": "no-such-service"}
    )
    assert missing.status_code == 404
    assert "no service no-such-service" in missing.text
    printable = unescape(client.get(f"/patients/{patient.uuid}/resource-list").text)
    assert printable.count('class="resource-entry"') == 1, "added twice: one entry, the note updated"
    assert "Bring your ID" in printable
    assert "Go on Thursday mornings" not in printable
    assert "Hours" in printable or "Phone" in printable
    entry = session.scalars(select(PatientResource).where(PatientResource.patient_id == patient.id)).one()
    _switch(client, "drew.cm")
    assert client.get(f"/patients/{patient.uuid}/resource-list").status_code == 404
    _switch(client, "casey.cm")
    token = page_csrf(client, f"/patients/{patient.uuid}")
    client.post(f"/patient-resources/{entry.uuid}/remove", data={"csrf_token": token})
    assert "No resources on the list yet" in client.get(f"/patients/{patient.uuid}/resource-list").text


def test_a_supervisor_keeps_the_directory_on_screen(
    client: TestClient, session: Session, miami_org_id: int
) -> None:
    patient = _world(session, miami_org_id)
    make_user(session, session.get_one(Organization, patient.org_id), "sam.sup", "supervisor")
    session.commit()
    sign_in(client, "casey.cm")
    assert "Edit this service" not in client.get("/resources?need=food&zip=33157").text
    assert client.get("/resources/services/new").status_code == 403
    _switch(client, "sam.sup")
    page = unescape(client.get("/resources?need=food&zip=33157").text)
    edit_path = page.split('<a href="/resources/services/')[2].split('"')[0]
    service_uuid = edit_path.split("/")[0]
    form = unescape(client.get(f"/resources/services/{service_uuid}/edit").text)
    assert "Imported from <strong>hsds:open211-miami</strong>" in form
    token = hidden_value(form, "csrf_token")
    name = form.split('id="svc-name" name="name" value="')[1].split('"')[0]
    refused = client.post(
        f"/resources/services/{service_uuid}/edit",
        data={"csrf_token": token, "name": name, "minimum_age": "70", "maximum_age": "sixty"},
    )
    assert refused.status_code == 400
    assert "'sixty' is not a whole number" in unescape(refused.text)
    saved = client.post(
        f"/resources/services/{service_uuid}/edit",
        data={
            "csrf_token": token,
            "name": name,
            "served_counties": "Broward County",
            "income_limit_fpl": "150",
        },
    )
    assert saved.status_code == 303
    assert service_uuid not in client.get("/resources?need=food&zip=33157").text, (
        "not for Miami-Dade residents"
    )
    added = client.post(
        "/resources/services/new",
        data={
            "csrf_token": token,
            "organization": "St. Luke's Parish",
            "address_1": "9000 SW 152nd St",
            "city": "Palmetto Bay",
            "postal_code": "33157",
            "name": "Saturday grocery pantry",
            "needs": ["food"],
        },
    )
    assert added.status_code == 303, added.text
    assert "Saturday grocery pantry" in client.get("/resources?need=food&zip=33157").text


def test_a_referral_carries_its_documents(client: TestClient, session: Session, miami_org_id: int) -> None:
    patient = _world(session, miami_org_id)
    sign_in(client, "casey.cm")
    token = page_csrf(client, f"/patients/{patient.uuid}")
    client.post(
        f"/patients/{patient.uuid}/referrals",
        data={
            "csrf_token": token,
            "kind": "home-health",
            "recipient": "Sunrise Home Health",
            "reason": "Wound care",
        },
    )
    referral = session.scalars(select(Referral).where(Referral.patient_id == patient.id)).one()
    letter = b"%PDF-1.7\n1 0 obj <<>> endobj\n"
    sent = client.post(
        f"/referrals/{referral.uuid}/attachments",
        data={"csrf_token": token, "description": "Discharge summary"},
        files={"document": ("C:\\scans\\discharge.pdf", letter, "application/pdf")},
    )
    assert sent.status_code == 303, sent.text
    refused = client.post(
        f"/referrals/{referral.uuid}/attachments",
        data={"csrf_token": token},
        files={"document": ("setup.exe", b"MZ\x90\x00", "application/octet-stream")},
    )
    assert refused.status_code == 400
    assert "a .exe file is not kept" in unescape(refused.text)
    page = unescape(client.get(f"/patients/{patient.uuid}").text)
    link = page.split('<a href="/referral-attachments/')[1].split('"')[0]
    assert "discharge.pdf</a> (Discharge summary)" in page
    got = client.get(f"/referral-attachments/{link}")
    assert got.content == letter
    assert got.headers["content-disposition"] == "attachment; filename*=UTF-8''discharge.pdf"
    assert got.headers["cache-control"] == "no-store"
    _switch(client, "drew.cm")
    assert client.get(f"/referral-attachments/{link}").status_code == 404
