"""The follow-up schedule kept in step by the writes it depends on, never by a page view (SQLite and
PostgreSQL): enrolling schedules; a stratification run that moves the tier moves the follow-up (one that
moves nothing, or that is not the latest, writes nothing); a care plan put on hold and back; an enrolment
paused and resumed; a discharge home adds the post-discharge step and its cancellation (A13) takes it
away; the enrolment ended cancels the rest — each without a sync called by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.audit.models import AuditEvent
from carenav.careplans.rules import PlanStatus
from carenav.careplans.services import plan_create, plan_status_change, plan_template_apply
from carenav.clock import frozen_at
from carenav.outreach.models import FollowUpStatus
from carenav.patients.models import Encounter, Patient
from carenav.programs.models import ProgramEnrolment
from carenav.programs.services import enrolment_discharge, enrolment_pause, enrolment_resume
from carenav.stratification.models import StratificationRun
from carenav.stratification.services import stratification_run_save
from carenav.transitions.services import transition_open_for_discharge, transitions_on_encounter
from tests.outreach.test_outreach import MAY_1, Clinic, closed, default_rules, enrol, scheduled
from tests.web.users import cheap_passwords

__all__ = ["cheap_passwords", "default_rules"]


def at(day: int, month: int = 5) -> datetime:
    return datetime(2025, month, day, 14, tzinfo=UTC)


def save_run(session: Session, patient: Patient, tier: int, finished: datetime) -> StratificationRun:
    """A stratification run saved through the service, in which the patient is at ``tier``."""
    return stratification_run_save(
        session=session,
        actor=Actor.operator(patient.org_id, "tests"),
        as_of=finished.date(),
        engine="test",
        rules_version="test",
        started_at=finished,
        finished_at=finished,
        scores=[{"patient_id": patient.uuid, "tier": tier}],
        evidence=[],
        summary={},
    )


def followup_audits(session: Session, patient: Patient) -> int:
    return (
        session.scalar(
            select(func.count(AuditEvent.id)).where(
                AuditEvent.patient_uuid == patient.uuid, AuditEvent.action.like("followup-%")
            )
        )
        or 0
    )


def test_each_write_the_schedule_depends_on_moves_it(session: Session, cheap_passwords: object) -> None:
    clinic = Clinic(
        session,
        conditions=["I50.9"],
        encounters=[
            {
                "encounter_class": "IMP",
                "period_start": at(6),
                "period_end": datetime(2025, 5, 9, 16, tzinfo=UTC),  # a Friday
                "discharge_disposition_code": "01",
            }
        ],
    )
    patient, casey = clinic.patient, clinic.casey
    operator = Actor.operator(patient.org_id, "tests")

    enrol(session, patient, "ccm", MAY_1)
    assert scheduled(session, patient) == [("ccm-monthly", date(2025, 6, 1), "ccm", None)]

    with frozen_at(at(6)):
        save_run(session, patient, 4, at(6))  # the highest risk: weekly from the enrolment
    assert scheduled(session, patient) == [("tier-4-weekly", date(2025, 5, 8), None, 4)]
    assert closed(session, patient, FollowUpStatus.CANCELLED) == [
        ("ccm-monthly", "Highest-risk patients: weekly applies instead (more frequent)")
    ]
    writes = followup_audits(session, patient)
    with frozen_at(at(7)):
        save_run(session, patient, 4, at(7))  # the same tier again
        save_run(session, patient, 1, at(1, 4))  # a run of April, saved late: not the latest
    assert scheduled(session, patient) == [("tier-4-weekly", date(2025, 5, 8), None, 4)]
    assert followup_audits(session, patient) == writes, "a run that moves no tier writes nothing"

    enrolment = session.scalars(
        select(ProgramEnrolment).where(ProgramEnrolment.patient_id == patient.id)
    ).one()
    with frozen_at(at(7)):
        plan = plan_create(
            session=session,
            actor=casey,
            patient_uuid=patient.uuid,
            title="CCM",
            enrolment_uuid=enrolment.uuid,
        )
        plan_template_apply(session=session, actor=casey, plan_uuid=plan.uuid, template_id="heart-failure")
        plan_status_change(session=session, actor=casey, plan_uuid=plan.uuid, to=PlanStatus.ACTIVE)
        assert followup_audits(session, patient) == writes, "a draft or active plan pauses nothing"
        plan_status_change(
            session=session, actor=casey, plan_uuid=plan.uuid, to=PlanStatus.ON_HOLD, reason="in rehab"
        )
        assert scheduled(session, patient) == []
        assert closed(session, patient, FollowUpStatus.CANCELLED)[-1] == (
            "tier-4-weekly",
            "no active program enrolment (the ccm care plan is on-hold)",
        )
        plan_status_change(session=session, actor=casey, plan_uuid=plan.uuid, to=PlanStatus.ACTIVE)
        assert scheduled(session, patient) == [("tier-4-weekly", date(2025, 5, 8), None, 4)]

        kw = {"session": session, "actor": operator, "patient_uuid": patient.uuid, "program_code": "ccm"}
        enrolment_pause(**kw, reason="travelling")
        assert scheduled(session, patient) == []
        assert closed(session, patient, FollowUpStatus.CANCELLED)[-1] == (
            "tier-4-weekly",
            "no active program enrolment (the ccm enrolment is paused)",
        )
        enrolment_resume(**kw)
        assert scheduled(session, patient) == [("tier-4-weekly", date(2025, 5, 8), None, 4)]

    stay = session.scalars(select(Encounter).where(Encounter.patient_id == patient.id)).one()
    with frozen_at(at(12)):  # Monday: the discharge of Friday arrives
        assert transition_open_for_discharge(session=session, actor=operator, encounter=stay) is not None
        assert scheduled(session, patient) == [
            ("tier-4-weekly", date(2025, 5, 8), None, 4),
            ("post-discharge", date(2025, 5, 13), None, None),  # 2 business days after Friday
        ]
        stay.status = "cancelled"  # the discharge cancelled (ADT^A13)
        transitions_on_encounter(session=session, actor=operator, encounter=stay)
        assert scheduled(session, patient) == [("tier-4-weekly", date(2025, 5, 8), None, 4)]
        assert closed(session, patient, FollowUpStatus.CANCELLED)[-1] == (
            "post-discharge",
            "no discharge to the community within 30 days",
        )

        enrolment_discharge(**kw, reason="goals met")
    assert scheduled(session, patient) == []
    assert ("tier-4-weekly", "no active program enrolment") in closed(
        session, patient, FollowUpStatus.CANCELLED
    )
