"""Patient education through the services (SQLite and PostgreSQL), on real Synthea patients: topics
suggested from the record, assigned in the patient's language, taught with teach-back, reinforcement
scheduled by the topic's window, completed; what is due across a care manager's reach (and nothing of
anyone else's); the medication schedule from the record; every write audited; bad input refused whole."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.accounts.models import Organization
from carenav.audit.models import AuditEvent
from carenav.clock import frozen_at
from carenav.education.medication_schedule import ASK_WHY
from carenav.education.models import EducationAssignment, EducationSession
from carenav.education.rules import EducationStatus, Learner, TeachBack, TeachMethod
from carenav.education.services import (
    education_assign,
    education_assignments,
    education_complete,
    education_due,
    education_reschedule,
    education_stop,
    education_suggestions,
    education_teach,
    medication_schedule_for,
)
from carenav.errors import Conflict, InvalidInput, NotFound, RuleViolation
from carenav.ingest.fhir.driver import ImportLimits, fhir_import
from carenav.patients.models import Patient
from carenav.patients.services import RecordKind, RecordUnit, SourceRecord, patient_record_upsert
from tests.builders import BUILDER_SOURCE, builder_actor, make_org, make_patient
from tests.web.users import actor_of, assign, cheap_passwords, make_user

__all__ = ["cheap_passwords"]
MONDAY = datetime(2025, 6, 2, 14, 0, tzinfo=UTC)
CRUZ = "Cruz_Halvorson_4550efe0-f978-4387-a384-486d859fbf4c.json"  # warfarin, inhaler, nitroglycerin; COPD
ANTONIO = "Antonio_Castellanos_6d2eba67-5b4a-403f-a29f-e6da3f1ea963.json"  # Spanish; hypertension
VERBAL = (TeachMethod.VERBAL, TeachMethod.WRITTEN)


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
def clinic(
    session: Session, shared_data: Path, cheap_passwords: object
) -> tuple[Actor, Actor, Patient, Patient]:
    org = make_org(session)
    cruz = _import(session, shared_data, org.id, CRUZ)
    antonio = _import(session, shared_data, org.id, ANTONIO)
    casey = make_user(session, org, "casey.cm")
    assign(session, org, casey, cruz)
    assign(session, org, casey, antonio)
    return actor_of(casey), actor_of(make_user(session, org, "drew.cm")), cruz, antonio


def test_topics_are_suggested_from_the_record_and_taught_round_to_completion(
    session: Session, clinic: tuple[Actor, Actor, Patient, Patient]
) -> None:
    casey, _drew, cruz, _antonio = clinic
    suggested = {
        s.topic.id: s for s in education_suggestions(session=session, actor=casey, patient_uuid=cruz.uuid)
    }
    assert set(suggested) >= {
        "warfarin-safety",
        "inhaler-technique",
        "copd-action-plan",
        "nitroglycerin-chest-pain",
        "medicine-routine",
    }
    assert suggested["warfarin-safety"].reasons == ("Warfarin Sodium 5 MG Oral Tablet",)
    assert suggested["warfarin-safety"].language == "en"
    assert "diabetes-hypoglycemia" not in suggested
    with frozen_at(MONDAY):
        warfarin = education_assign(
            session=session,
            actor=casey,
            patient_uuid=cruz.uuid,
            topic_id="warfarin-safety",
            reason="; ".join(suggested["warfarin-safety"].reasons),
            due_on=date(2025, 6, 4),
        )
        assert (warfarin.status, warfarin.language, warfarin.due_on) == ("assigned", "en", date(2025, 6, 4))
        with pytest.raises(Conflict, match="'Taking warfarin safely' is already assigned"):
            education_assign(session=session, actor=casey, patient_uuid=cruz.uuid, topic_id="warfarin-safety")
        again = {
            s.topic.id for s in education_suggestions(session=session, actor=casey, patient_uuid=cruz.uuid)
        }
        assert "warfarin-safety" not in again

        first = education_teach(
            session=session,
            actor=casey,
            assignment_uuid=warfarin.uuid,
            methods=VERBAL,
            result=TeachBack.NEEDS_REINFORCEMENT,
            notes="mixed up INR and the dose",
        )
        assert (warfarin.status, warfarin.due_on) == ("reinforcing", date(2025, 6, 9)), (
            "7 days: the topic's window"
        )
        assert first.next_due_on == date(2025, 6, 9)
        with pytest.raises(RuleViolation, match="within 7 days of teaching"):
            education_teach(
                session=session,
                actor=casey,
                assignment_uuid=warfarin.uuid,
                methods=VERBAL,
                result=TeachBack.NEEDS_REINFORCEMENT,
                next_on=date(2025, 6, 30),
            )
        assert len(warfarin.sessions) == 1, "nothing half-written"
        with pytest.raises(RuleViolation, match="only an understood topic is completed"):
            education_complete(session=session, actor=casey, assignment_uuid=warfarin.uuid)
    with frozen_at(datetime(2025, 6, 6, 15, 0, tzinfo=UTC)):
        education_teach(
            session=session,
            actor=casey,
            assignment_uuid=warfarin.uuid,
            methods=(TeachMethod.VERBAL, TeachMethod.CAREGIVER_TEACH_BACK),
            learner=Learner.BOTH,
            result=TeachBack.UNDERSTOOD,
        )
        assert (warfarin.status, warfarin.due_on) == ("understood", date(2025, 9, 4)), "review after 90 days"
        education_complete(
            session=session, actor=casey, assignment_uuid=warfarin.uuid, note="daughter fills the box"
        )
        assert (warfarin.status, warfarin.due_on, warfarin.closing_note) == (
            "completed",
            None,
            "daughter fills the box",
        )
        with pytest.raises(RuleViolation, match="assign it anew"):
            education_teach(
                session=session,
                actor=casey,
                assignment_uuid=warfarin.uuid,
                methods=VERBAL,
                result=TeachBack.UNDERSTOOD,
            )
        refresher = education_assign(
            session=session, actor=casey, patient_uuid=cruz.uuid, topic_id="warfarin-safety"
        )
        assert refresher.status == "assigned", "a completed topic may be assigned anew"
    session.expire_all()
    stored = session.scalars(
        select(EducationSession).where(EducationSession.assignment_id == warfarin.id)
    ).all()
    assert [(s.taught_on, s.result, s.methods, s.learner) for s in stored] == [
        (date(2025, 6, 2), "needs-reinforcement", ["verbal", "written-handout"], "patient"),
        (date(2025, 6, 6), "understood", ["verbal", "teach-back-with-caregiver"], "patient-and-caregiver"),
    ]
    assert all(s.taught_by == "user:casey.cm" for s in stored)
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.entity_id == warfarin.uuid).order_by(AuditEvent.id)
    ).all()
    assert actions == ["education-assign", "education-teach", "education-teach", "education-complete"]
    listed = education_assignments(session=session, actor=casey, patient_uuid=cruz.uuid)
    assert [a.uuid for a in listed] == [refresher.uuid, warfarin.uuid], "open first, then closed"


def test_a_device_topic_is_understood_only_when_shown_back(
    session: Session, clinic: tuple[Actor, Actor, Patient, Patient]
) -> None:
    casey, _drew, cruz, _antonio = clinic
    with frozen_at(MONDAY):
        inhaler = education_assign(
            session=session, actor=casey, patient_uuid=cruz.uuid, topic_id="inhaler-technique"
        )
        with pytest.raises(RuleViolation, match="shows it back"):
            education_teach(
                session=session,
                actor=casey,
                assignment_uuid=inhaler.uuid,
                methods=(TeachMethod.DEMONSTRATION, TeachMethod.VIDEO),
                result=TeachBack.UNDERSTOOD,
            )
        assert (inhaler.status, inhaler.sessions) == ("assigned", [])
        education_teach(
            session=session,
            actor=casey,
            assignment_uuid=inhaler.uuid,
            methods=(TeachMethod.DEMONSTRATION,),
            result=TeachBack.NOT_UNDERSTOOD,
        )
        assert inhaler.due_on == date(2025, 6, 4), "not understood: re-teach within 2 days"
        with pytest.raises(InvalidInput, match="before the last session"):
            education_teach(
                session=session,
                actor=casey,
                assignment_uuid=inhaler.uuid,
                methods=(TeachMethod.DEMONSTRATION, TeachMethod.RETURN_DEMONSTRATION),
                result=TeachBack.UNDERSTOOD,
                taught_on=date(2025, 5, 30),
            )
        education_teach(
            session=session,
            actor=casey,
            assignment_uuid=inhaler.uuid,
            methods=(TeachMethod.DEMONSTRATION, TeachMethod.RETURN_DEMONSTRATION),
            result=TeachBack.UNDERSTOOD,
        )
        assert inhaler.status == "understood"


def test_due_across_the_reach_reschedule_stop_and_nobody_else_s_patients(
    session: Session, clinic: tuple[Actor, Actor, Patient, Patient]
) -> None:
    casey, drew, cruz, antonio = clinic
    with frozen_at(MONDAY):
        copd = education_assign(
            session=session, actor=casey, patient_uuid=cruz.uuid, topic_id="copd-action-plan"
        )
        education_teach(
            session=session,
            actor=casey,
            assignment_uuid=copd.uuid,
            methods=VERBAL,
            result=TeachBack.NEEDS_REINFORCEMENT,
            next_on=date(2025, 6, 5),
        )
        salt = education_assign(
            session=session,
            actor=casey,
            patient_uuid=antonio.uuid,
            topic_id="low-sodium-diet",
            due_on=date(2025, 6, 3),
        )
        unscheduled = education_assign(
            session=session, actor=casey, patient_uuid=cruz.uuid, topic_id="fall-prevention"
        )
        assert education_due(session=session, actor=casey) == []
        assert [a.uuid for a in education_due(session=session, actor=casey, within_days=3)] == [
            salt.uuid,
            copd.uuid,
        ]
        assert unscheduled.uuid not in {
            a.uuid for a in education_due(session=session, actor=casey, within_days=365)
        }
        with pytest.raises(InvalidInput, match="not a number of days ahead"):
            education_due(session=session, actor=casey, within_days=-1)
        assert education_due(session=session, actor=drew, within_days=30) == []
        for attempt in (
            lambda: education_teach(
                session=session,
                actor=drew,
                assignment_uuid=copd.uuid,
                methods=VERBAL,
                result=TeachBack.UNDERSTOOD,
            ),
            lambda: education_stop(session=session, actor=drew, assignment_uuid=copd.uuid, reason="x"),
            lambda: education_assign(
                session=session, actor=drew, patient_uuid=cruz.uuid, topic_id="insulin-pen"
            ),
            lambda: medication_schedule_for(session=session, actor=drew, patient_uuid=cruz.uuid),
        ):
            with pytest.raises(NotFound):
                attempt()
    with frozen_at(datetime(2025, 6, 7, 14, 0, tzinfo=UTC)):
        assert [a.uuid for a in education_due(session=session, actor=casey)] == [salt.uuid, copd.uuid]
        with pytest.raises(RuleViolation, match="say why the date moves later"):
            education_reschedule(
                session=session, actor=casey, assignment_uuid=copd.uuid, due_on=date(2025, 6, 12)
            )
        education_reschedule(
            session=session,
            actor=casey,
            assignment_uuid=copd.uuid,
            due_on=date(2025, 6, 12),
            note="in hospital",
        )
        education_stop(session=session, actor=casey, assignment_uuid=salt.uuid, reason="declined for now")
        assert salt.status == EducationStatus.STOPPED.value
        assert education_due(session=session, actor=casey) == []
    count = session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "education-reschedule")
    )
    assert count == 1


def test_language_interpreter_and_bad_input(
    session: Session, clinic: tuple[Actor, Actor, Patient, Patient]
) -> None:
    casey, _drew, _cruz, antonio = clinic
    assert antonio.preferred_language == "es"
    suggested = {
        s.topic.id: s for s in education_suggestions(session=session, actor=casey, patient_uuid=antonio.uuid)
    }
    assert suggested["bp-home-monitoring"].language == "es"
    assert suggested["low-sodium-diet"].language == "es"
    with frozen_at(MONDAY):
        bp = education_assign(
            session=session, actor=casey, patient_uuid=antonio.uuid, topic_id="bp-home-monitoring"
        )
        assert bp.language == "es", "the patient's own language, which the topic has"
        with pytest.raises(InvalidInput, match="has no Chinese text \\(it has English, Spanish\\)"):
            education_assign(
                session=session,
                actor=casey,
                patient_uuid=antonio.uuid,
                topic_id="low-sodium-diet",
                language="zh",
            )
        with pytest.raises(InvalidInput, match="which has passed"):
            education_assign(
                session=session,
                actor=casey,
                patient_uuid=antonio.uuid,
                topic_id="low-sodium-diet",
                due_on=date(2025, 5, 1),
            )
        with pytest.raises(NotFound, match="no education topic 'gout'"):
            education_assign(session=session, actor=casey, patient_uuid=antonio.uuid, topic_id="gout")
        antonio.interpreter_needed = True
        with pytest.raises(RuleViolation, match="the patient needs an interpreter"):
            education_teach(
                session=session,
                actor=casey,
                assignment_uuid=bp.uuid,
                methods=(TeachMethod.DEMONSTRATION, TeachMethod.RETURN_DEMONSTRATION),
                result=TeachBack.UNDERSTOOD,
                language="en",
            )
        taught = education_teach(
            session=session,
            actor=casey,
            assignment_uuid=bp.uuid,
            methods=(TeachMethod.DEMONSTRATION, TeachMethod.RETURN_DEMONSTRATION),
            result=TeachBack.UNDERSTOOD,
            language="en",
            interpreter=True,
        )
        assert (taught.language, taught.interpreter, bp.status) == ("en", True, "understood")
    rows = session.scalars(
        select(EducationAssignment).where(EducationAssignment.patient_id == antonio.id)
    ).all()
    assert len(rows) == 1, "the refused assignments wrote nothing"


def test_the_medication_schedule_comes_from_the_record(
    session: Session, clinic: tuple[Actor, Actor, Patient, Patient]
) -> None:
    casey, _drew, cruz, _antonio = clinic
    rows = medication_schedule_for(session=session, actor=casey, patient_uuid=cruz.uuid)
    by_what = {r.what: r for r in rows}
    assert set(by_what) == {
        "Amlodipine 5 mg tablet",
        "Clopidogrel 75 mg tablet",
        "Digoxin 0.125 mg tablet",
        "Fluticasone propionate 0.25 mg per puff and salmeterol 0.05 mg per puff (powder inhaler)",
        "Nitroglycerin 0.4 mg per spray (mouth spray)",
        "Simvastatin 20 mg tablet",
        "Verapamil hydrochloride 40 mg",
        "Warfarin sodium 5 mg tablet",
    }
    assert by_what["Warfarin sodium 5 mg tablet"].why == ASK_WHY, "Synthea gives no reason the record keeps"

    org = session.get_one(Organization, cruz.org_id)
    patient = make_patient(session, org, family="Moreno")
    patient_record_upsert(
        session=session,
        actor=builder_actor(org),
        units=[
            RecordUnit(
                [
                    SourceRecord(
                        RecordKind.MEDICATION,
                        f"{patient.source_id}/medication/{number}",
                        {
                            "status": status,
                            "code_system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                            **values,
                        },
                        patient=patient.source_id,
                    )
                    for number, (status, values) in enumerate(
                        [
                            (
                                "active",
                                {
                                    "code": "197361",
                                    "display": "Amlodipine 5 MG Oral Tablet",
                                    "dosage_text": "1 tab PO qd",
                                    "reason_code": "38341003",
                                    "reason_display": "Hypertension",
                                },
                            ),
                            ("on-hold", {"code": "855332", "display": "Warfarin Sodium 5 MG Oral Tablet"}),
                            ("stopped", {"code": "259255", "display": "Atorvastatin 80 MG Oral Tablet"}),
                        ]
                    )
                ],
                label="medicines",
            )
        ],
        source_system=BUILDER_SOURCE,
    )
    made = medication_schedule_for(session=session, actor=builder_actor(org), patient_uuid=patient.uuid)
    assert [(r.what, r.when, r.why) for r in made] == [
        ("Amlodipine 5 mg tablet", "1 tablet by mouth once a day", "High blood pressure"),
        (
            "Warfarin sodium 5 mg tablet",
            "On hold: do not take it until your care team tells you to start again",
            ASK_WHY,
        ),
    ]
