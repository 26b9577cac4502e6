"""Patient search, summary and timeline pages: scoped, audited, HTMX fragments and plain pages."""

from __future__ import annotations

from datetime import UTC, date, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.audit.models import AuditEvent
from carenav.patients.models import Medication, Observation, ObservationComponent, Patient
from tests.builders import make_org, make_patient
from tests.web.conftest import sign_in
from tests.web.users import assign, make_user


def _world(session: Session) -> dict:
    org = make_org(session)
    amy = make_user(session, org, "amy.cm", display_name="Amy Care")
    make_user(session, org, "ada.admin", "admin")
    make_user(session, org, "al.audit", "auditor")
    shaw = make_patient(
        session,
        org,
        family="Shaw",
        given="Amy",
        birth_date=date(1957, 3, 2),
        identifiers=[("mrn", "MRN-12345")],
        conditions=[
            {
                "code": "44054006",
                "display": "Diabetes mellitus type 2",
                "onset_at": datetime(2015, 5, 1, tzinfo=UTC),
            },
            {
                "code": "195662009",
                "display": "Acute viral pharyngitis",
                "clinical_status": "resolved",
                "abatement_at": datetime(2019, 1, 9, tzinfo=UTC),
                "onset_at": datetime(2019, 1, 1, tzinfo=UTC),
            },
        ],
        coverages=[{"plan_type": "medicare_ffs", "payer_name": "Medicare"}],
        encounters=[
            {
                "encounter_class": "IMP",
                "type_display": "Hospital admission",
                "period_start": datetime(2024, 2, 1, 15, tzinfo=UTC),
                "period_end": datetime(2024, 2, 4, 15, tzinfo=UTC),
                "discharge_disposition_code": "01",
                "discharge_disposition_display": "Discharged to home",
            },
        ],
        preferred_language="es",
        preferred_language_display="Spanish",
        interpreter_needed=True,
    )
    other = make_patient(session, org, family="Sherwood", given="Bob", birth_date=date(1960, 1, 1))
    assign(session, org, amy, shaw)
    session.add_all(
        [
            Observation(
                org_id=org.id,
                patient_id=shaw.id,
                status="final",
                category="laboratory",
                code="4548-4",
                display="Hemoglobin A1c",
                value_quantity=8.1,
                value_unit="%",
                effective_at=datetime(2024, 1, 10, tzinfo=UTC),
            ),
            Observation(
                org_id=org.id,
                patient_id=shaw.id,
                status="final",
                category="laboratory",
                code="4548-4",
                display="Hemoglobin A1c",
                value_quantity=7.25,
                value_unit="%",
                effective_at=datetime(2024, 3, 10, tzinfo=UTC),
            ),
            Observation(
                org_id=org.id,
                patient_id=shaw.id,
                status="final",
                category="vital-signs",
                code="85354-9",
                display="Blood pressure panel",
                effective_at=datetime(2024, 3, 10, tzinfo=UTC),
                components=[
                    ObservationComponent(rank=0, code="8480-6", value_quantity=142, value_unit="mm[Hg]"),
                    ObservationComponent(rank=1, code="8462-4", value_quantity=91, value_unit="mm[Hg]"),
                ],
            ),
            Medication(
                org_id=org.id,
                patient_id=shaw.id,
                status="active",
                display="Metformin 500 MG",
                authored_at=datetime(2015, 5, 2, tzinfo=UTC),
            ),
            Medication(
                org_id=org.id,
                patient_id=shaw.id,
                status="stopped",
                display="Amoxicillin 250 MG",
                authored_at=datetime(2019, 1, 2, tzinfo=UTC),
            ),
        ]
    )
    session.flush()
    return {"org": org, "shaw": shaw, "other": other}


def test_care_manager_searches_their_caseload_by_name_birth_date_and_identifier(
    client: TestClient, session: Session
) -> None:
    world = _world(session)
    sign_in(client, "amy.cm")
    assert "Shaw, Amy" in client.get("/patients?name=sh").text
    assert "Sherwood" not in client.get("/patients?name=sh").text, "not on her caseload"
    assert "Shaw, Amy" in client.get("/patients?birth_date=1957-03-02").text
    assert "Shaw, Amy" not in client.get("/patients?birth_date=1957-03-03").text
    assert "Shaw, Amy" in client.get("/patients?identifier=MRN-12345").text
    searched = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "search", AuditEvent.patient_uuid == world["shaw"].uuid)
    ).all()
    assert searched, "search results are audited"


def test_admin_search_reaches_the_whole_organization(client: TestClient, session: Session) -> None:
    _world(session)
    sign_in(client, "ada.admin")
    page = client.get("/patients?name=sh").text
    assert "Shaw, Amy" in page
    assert "Sherwood, Bob" in page


def test_htmx_search_returns_only_the_results_fragment(client: TestClient, session: Session) -> None:
    _world(session)
    sign_in(client, "amy.cm")
    fragment = client.get("/patients?name=sha", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "Shaw, Amy" in fragment.text
    assert "<html" not in fragment.text
    assert 'role="search"' not in fragment.text
    full = client.get("/patients?name=sha")
    assert "<html" in full.text
    assert 'role="search"' in full.text


def test_a_bad_birth_date_is_a_400_page_that_says_what_was_wrong(
    client: TestClient, session: Session
) -> None:
    _world(session)
    sign_in(client, "amy.cm")
    response = client.get("/patients?birth_date=03/02/1957")
    assert response.status_code == 400
    assert "birth date" in response.text
    assert "is not a date" in response.text


def test_summary_shows_the_record_and_is_audited(client: TestClient, session: Session) -> None:
    world = _world(session)
    sign_in(client, "amy.cm")
    response = client.get(f"/patients/{world['shaw'].uuid}")
    assert response.status_code == 200
    page = response.text
    assert "Amy Shaw" in page
    assert "Spanish" in page
    assert "interpreter needed" in page
    assert "MRN-12345" in page
    assert "Medicare" in page
    problems = page.split('id="active-problems"')[1].split("</ul>")[0]
    assert "Diabetes mellitus type 2" in problems
    assert "pharyngitis" not in problems, "resolved problems are not active"
    assert "Discharged to home" in page
    assert "Metformin" in page
    assert "Amoxicillin" not in page
    assert "7.25 %" in page
    assert "8.1 %" not in page, "only the latest result of each test"
    assert "142/91 mm[Hg]" in page
    assert "Amy Care" in page, "the care manager is on the care team"
    assert "2024-02-01 10:00 EST" in page, "times in the organization's zone"
    reads = session.scalars(
        select(AuditEvent.detail).where(
            AuditEvent.action == "read", AuditEvent.patient_uuid == world["shaw"].uuid
        )
    ).all()
    assert "summary" in reads


def test_patients_outside_reach_are_404_never_403(client: TestClient, session: Session) -> None:
    world = _world(session)
    elsewhere = make_patient(session, make_org(session), family="Faraway")
    sign_in(client, "amy.cm")
    for patient in (world["other"], elsewhere):
        for path in (f"/patients/{patient.uuid}", f"/patients/{patient.uuid}/timeline"):
            response = client.get(path)
            assert response.status_code == 404, path
            assert patient.names[0].family not in response.text
    assert client.get("/patients/no-such-patient").status_code == 404


def test_auditors_see_no_patients(client: TestClient, session: Session) -> None:
    world = _world(session)
    sign_in(client, "al.audit")
    assert client.get(f"/patients/{world['shaw'].uuid}").status_code == 404
    assert "Shaw" not in client.get("/patients?name=sh").text


def test_timeline_lists_events_newest_first_and_pages(client: TestClient, session: Session) -> None:
    world = _world(session)
    shaw: Patient = world["shaw"]
    session.add_all(
        Observation(
            org_id=world["org"].id,
            patient_id=shaw.id,
            status="final",
            category="vital-signs",
            code="29463-7",
            display="Body weight",
            value_quantity=70 + n,
            value_unit="kg",
            effective_at=datetime(2020, 1, 1 + n, tzinfo=UTC),
        )
        for n in range(28)
    )
    session.flush()
    sign_in(client, "amy.cm")
    first = client.get(f"/patients/{shaw.uuid}/timeline")
    assert first.status_code == 200
    text = first.text
    # newest first: the A1c of March 2024, then the admission of February, then the A1c of January
    assert text.index("2024-03-10") < text.index("Hospital admission") < text.index("2024-01-10")
    assert "Page 1 of 2" in text
    second = client.get(f"/patients/{shaw.uuid}/timeline?page=2", headers={"HX-Request": "true"})
    assert "<html" not in second.text
    assert "Page 2 of 2" in second.text
    assert "Diabetes mellitus type 2" in second.text, "condition onset (2015) on the last page"
    assert "Metformin" in second.text
