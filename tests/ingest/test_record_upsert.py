"""The record write service through the test builders: create, re-run unchanged, update, refuse."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carenav.audit.models import AuditEvent
from carenav.patients.identity import record_uuid
from carenav.patients.models import Condition, Encounter, Patient, PatientIdentifier
from carenav.patients.rules import ICD10CM, SNOMED
from carenav.patients.services import RecordKind, RecordUnit, SourceRecord, patient_record_upsert
from tests.builders import BUILDER_SOURCE, builder_actor, make_org, make_patient


def test_make_patient_writes_record_children_and_audit(session: Session) -> None:
    org = make_org(session)
    patient = make_patient(
        session,
        org,
        family="Shaw",
        given="Amy",
        birth_date=date(1957, 3, 2),
        sex="female",
        identifiers=[("mrn", "12345"), {"kind": "mbi", "value": "1EG4TE5MK73", "system": "x"}],
        conditions=["I50.9", {"code": "44054006", "display": "Diabetes type 2"}],
        encounters=[{"encounter_class": "IMP", "period_start": datetime(2024, 5, 1, tzinfo=UTC)}],
    )
    assert patient.primary_name is not None
    assert (patient.primary_name.family, patient.birth_date, patient.administrative_sex) == (
        "Shaw",
        date(1957, 3, 2),
        "female",
    )
    assert [(i.kind, i.value, i.org_id) for i in patient.identifiers] == [
        ("mrn", "12345", org.id),
        ("mbi", "1EG4TE5MK73", org.id),
    ]
    codes = session.execute(
        select(Condition.code, Condition.code_system)
        .where(Condition.patient_id == patient.id)
        .order_by(Condition.code)
    ).all()
    assert codes == [("44054006", SNOMED), ("I50.9", ICD10CM)]
    audits = session.scalars(select(AuditEvent).where(AuditEvent.patient_uuid == patient.uuid)).all()
    assert [(a.action, a.entity_id) for a in audits] == [("import", patient.source_id)]


def test_rewriting_the_same_record_changes_nothing_and_a_change_replaces_children(session: Session) -> None:
    org = make_org(session)
    patient = make_patient(session, org, identifiers=[("mrn", "A1"), ("ssn", "999-00-1111")])
    source_id = patient.source_id
    assert source_id is not None

    def write(identifiers: list[dict[str, str | None]]) -> list[str]:
        record = SourceRecord(
            RecordKind.PATIENT,
            source_id,
            {
                "birth_date": date(1950, 1, 1),
                "administrative_sex": "female",
                "deceased": False,
                "deceased_at": None,
            },
            children={
                "names": [{"use": "official", "family": "Doe", "given": "Jane"}],
                "identifiers": identifiers,
            },
        )
        outcome = patient_record_upsert(
            session=session,
            actor=builder_actor(org),
            units=[RecordUnit([record])],
            source_system=BUILDER_SOURCE,
        )
        return outcome[0].statuses

    same = [
        {"kind": "mrn", "value": "A1", "system": None},
        {"kind": "ssn", "value": "999-00-1111", "system": None},
    ]
    assert write(same) == ["unchanged"]
    assert write(same[:1]) == ["updated"]
    values = session.scalars(
        select(PatientIdentifier.value).where(PatientIdentifier.patient_id == patient.id)
    )
    assert list(values) == ["A1"]
    assert session.scalar(select(func.count()).select_from(Patient).where(Patient.org_id == org.id)) == 1
    session.refresh(patient)
    assert patient.uuid == record_uuid(
        org_uuid=org.uuid, source_system=BUILDER_SOURCE, resource_type="Patient", source_id=source_id
    )


def test_a_record_of_an_unknown_patient_fails_alone(session: Session) -> None:
    org = make_org(session)
    good = make_patient(session, org)
    records = [
        SourceRecord(
            RecordKind.CONDITION,
            "c-good",
            {"code": "38341003", "code_system": SNOMED},
            patient=good.source_id,
        ),
        SourceRecord(
            RecordKind.CONDITION, "c-orphan", {"code": "38341003", "code_system": SNOMED}, patient="nobody"
        ),
    ]
    outcome = patient_record_upsert(
        session=session, actor=builder_actor(org), units=[RecordUnit(records)], source_system=BUILDER_SOURCE
    )[0]
    assert outcome.statuses[0] == "created"
    assert outcome.statuses[1] == "references a patient that was not imported (Patient/nobody)"
    stored = session.scalars(select(Condition.source_id).where(Condition.org_id == org.id)).all()
    assert stored == ["c-good"]


def test_a_unit_the_database_refuses_fails_whole_and_the_others_go_in(session: Session) -> None:
    org = make_org(session)

    def unit(name: str, status: str | None) -> RecordUnit:
        return RecordUnit(
            [
                SourceRecord(RecordKind.PATIENT, name, {"administrative_sex": "male"}),
                SourceRecord(
                    RecordKind.ENCOUNTER,
                    f"{name}-enc",
                    {"status": status, "encounter_class": "AMB"},
                    patient=name,
                ),
            ]
        )

    outcomes = patient_record_upsert(
        session=session,
        actor=builder_actor(org),
        units=[unit("p-ok", "finished"), unit("p-bad", None)],
        source_system=BUILDER_SOURCE,
    )
    assert outcomes[0].statuses == ["created", "created"]
    assert all(status.startswith("the database refused this record") for status in outcomes[1].statuses)
    assert session.scalars(select(Patient.source_id).where(Patient.org_id == org.id)).all() == ["p-ok"]
    assert session.scalars(select(Encounter.source_id).where(Encounter.org_id == org.id)).all() == [
        "p-ok-enc"
    ]
