"""The resource directory on screen (SQLite and PostgreSQL): a search for a patient starts from their ZIP
code, results nearest first; referring the patient to a service found, recording their consent, and taking the
referral round its loop from the patient page."""

from __future__ import annotations

from html import unescape
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.patients.models import Patient, PatientAddress
from carenav.referrals.models import Referral
from carenav.resources.importer import resources_import
from tests.builders import make_org, make_patient
from tests.web.conftest import page_csrf, sign_in
from tests.web.users import assign, make_user


def _world(session: Session, shared_data: Path) -> Patient:
    org = make_org(session)
    resources_import(
        session=session,
        actor=Actor.operator(org.id, "tests"),
        folder=shared_data / "hsds/open211-miami",
    )
    patient = make_patient(session, org)
    patient.addresses.append(
        PatientAddress(rank=0, lines="1 Main St", city="Miami", state="FL", postal_code="33157")
    )
    casey = make_user(session, org, "casey.cm", display_name="Casey Morgan")
    assign(session, org, casey, patient)
    session.commit()
    return patient


def test_find_refer_consent_and_close_the_loop(
    client: TestClient, session: Session, shared_data: Path
) -> None:
    patient = _world(session, shared_data)
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
