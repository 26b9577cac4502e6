"""Outreach on both databases: follow-ups generated from the cadence rules for a CCM patient and kept in
step when the tier changes, the care plan is put on hold or the enrolment ends; the post-discharge steps,
a missed one; a reached heart-failure call with a 3 lb gain makes an urgent task and records goal
progress; the unable-to-reach protocol exhausted makes the letter and the supervisor review tasks, once;
bad input named; nobody outside the caseload reaches any of it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.accounts.models import Organization, User
from carenav.audit.models import AuditEvent
from carenav.careplans.models import Goal
from carenav.careplans.rules import Achievement, GoalLifecycle, PlanStatus
from carenav.careplans.services import (
    goal_status_change,
    plan_create,
    plan_status_change,
    plan_template_apply,
)
from carenav.clock import frozen_at
from carenav.errors import InvalidInput, NotFound, RuleViolation
from carenav.outreach.models import Contact, FollowUp, FollowUpStatus
from carenav.outreach.rules import ContactKind, Direction, Outcome, Party, ReachState, UnableToReach
from carenav.outreach.services import (
    ContactLogged,
    GoalUpdate,
    contact_log,
    followup_reschedule,
    followups_due,
    followups_sync,
    followups_sync_all,
    unable_to_reach_of,
)
from carenav.patients.models import Encounter, Patient
from carenav.programs.models import ProgramEnrolment
from carenav.programs.schemas import ConsentInput
from carenav.programs.services import enrolment_discharge, enrolment_enrol, enrolment_identify
from carenav.settings import get_settings
from carenav.stratification.models import StratificationResult, StratificationRun
from carenav.tasks.models import PatientAlert, Task
from carenav.transitions.services import transition_open_for_discharge
from tests.builders import make_org, make_patient
from tests.web.users import actor_of, assign, cheap_passwords, make_user

__all__ = ["Clinic", "cheap_passwords", "enrol", "set_tier"]

MAY_1 = datetime(2025, 5, 1, 14, 0, tzinfo=UTC)  # a Thursday, 10:00 in New York
MONDAY = datetime(2025, 6, 2, 14, 0, tzinfo=UTC)


def at(day: date, hour: int = 14) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@pytest.fixture(autouse=True)
def default_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No organization has its own program rules file: the shipped default applies."""
    directory = tmp_path / "rules"
    directory.mkdir()
    monkeypatch.setenv("CARENAV_RULES_DIR", str(directory))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def enrol(session: Session, patient: Patient, program: str = "ccm", on: datetime = MAY_1) -> None:
    operator = Actor.operator(patient.org_id, "tests")
    kw = {"session": session, "actor": operator, "patient_uuid": patient.uuid, "program_code": program}
    with frozen_at(on):
        enrolment_identify(**kw)
        enrolment_enrol(
            **kw, consent=ConsentInput(kind="verbal", given_on=on.date(), obtained_by="Nurse Ann")
        )


def set_tier(session: Session, patient: Patient, tier: int, when: datetime) -> None:
    """A stratification run in which the patient is at ``tier`` (the organization's latest run)."""
    run = StratificationRun(
        org_id=patient.org_id,
        as_of=when.date(),
        engine="test",
        rules_version="test",
        started_at=when,
        finished_at=when,
        patient_count=1,
    )
    session.add(run)
    session.flush()
    session.add(StratificationResult(run_id=run.id, patient_id=patient.id, scores={"tier": tier}, tier=tier))
    session.flush()


class Clinic:
    def __init__(self, session: Session, **patient: object) -> None:
        self.org: Organization = make_org(session)
        self.patient = make_patient(session, self.org, **patient)  # type: ignore[arg-type]
        self.supervisor: User = make_user(session, self.org, "sam.sup", "supervisor", team="north")
        self.casey_user: User = make_user(session, self.org, "casey.cm", team="north")
        assign(session, self.org, self.casey_user, self.patient)
        self.casey: Actor = actor_of(self.casey_user)
        self.drew: Actor = actor_of(make_user(session, self.org, "drew.cm"))


@pytest.fixture
def clinic(session: Session, cheap_passwords: object) -> Clinic:
    return Clinic(session, conditions=["I50.9"])


def scheduled(session: Session, patient: Patient) -> list[tuple[str, date, str | None, int | None]]:
    rows = session.scalars(
        select(FollowUp)
        .where(FollowUp.patient_id == patient.id, FollowUp.status == "scheduled")
        .order_by(FollowUp.due_on, FollowUp.id)
    )
    return [(r.rule_key, r.due_on, r.program_code, r.tier) for r in rows]


def closed(session: Session, patient: Patient, status: FollowUpStatus) -> list[tuple[str, str | None]]:
    rows = session.scalars(
        select(FollowUp)
        .where(FollowUp.patient_id == patient.id, FollowUp.status == status.value)
        .order_by(FollowUp.id)
    )
    return [(r.rule_key, r.status_reason) for r in rows]


def test_follow_ups_of_a_ccm_patient_kept_in_step_with_tier_and_enrolment(
    session: Session, clinic: Clinic
) -> None:
    patient, casey = clinic.patient, clinic.casey
    enrol(session, patient, "ccm", MAY_1)
    set_tier(session, patient, 1, MAY_1)
    with frozen_at(MAY_1):
        followups_sync(session=session, actor=casey, patient_uuid=patient.uuid)
    assert scheduled(session, patient) == [("ccm-monthly", date(2025, 6, 1), "ccm", None)]

    audits = session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.patient_uuid == patient.uuid))
    with frozen_at(MAY_1 + timedelta(days=3)):
        followups_sync(session=session, actor=casey, patient_uuid=patient.uuid)
    assert scheduled(session, patient) == [("ccm-monthly", date(2025, 6, 1), "ccm", None)], "idempotent"
    assert (
        session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.patient_uuid == patient.uuid))
        == audits
    ), "a sync that changes nothing writes nothing"

    set_tier(session, patient, 4, MAY_1 + timedelta(days=5))  # the highest risk: weekly wins over monthly
    with frozen_at(MAY_1 + timedelta(days=5)):
        followups_sync(session=session, actor=casey, patient_uuid=patient.uuid)
    assert scheduled(session, patient) == [("tier-4-weekly", date(2025, 5, 8), None, 4)]
    assert closed(session, patient, FollowUpStatus.CANCELLED) == [
        ("ccm-monthly", "Highest-risk patients: weekly applies instead (more frequent)")
    ]

    set_tier(session, patient, 3, MAY_1 + timedelta(days=6))
    with frozen_at(MAY_1 + timedelta(days=6)):
        followups_sync(session=session, actor=casey, patient_uuid=patient.uuid)
    assert scheduled(session, patient) == [("tier-3-biweekly", date(2025, 5, 15), None, 3)]
    assert closed(session, patient, FollowUpStatus.CANCELLED)[-1] == (
        "tier-4-weekly",
        "the patient's tier is now 3",
    )

    with frozen_at(MAY_1 + timedelta(days=7)):
        enrolment_discharge(
            session=session,
            actor=Actor.operator(patient.org_id),
            patient_uuid=patient.uuid,
            program_code="ccm",
            reason="moved away",
        )
        followups_sync(session=session, actor=casey, patient_uuid=patient.uuid)
    assert scheduled(session, patient) == []
    assert closed(session, patient, FollowUpStatus.CANCELLED)[-1] == (
        "tier-3-biweekly",
        "no active program enrolment",
    )


def test_a_care_plan_on_hold_stops_its_program_follow_ups(session: Session, clinic: Clinic) -> None:
    patient, casey = clinic.patient, clinic.casey
    enrol(session, patient, "ccm", MAY_1)
    with frozen_at(MAY_1):
        row = session.scalars(select(ProgramEnrolment).where(ProgramEnrolment.patient_id == patient.id)).one()
        plan = plan_create(
            session=session, actor=casey, patient_uuid=patient.uuid, title="CCM plan", enrolment_uuid=row.uuid
        )
        plan_template_apply(session=session, actor=casey, plan_uuid=plan.uuid, template_id="heart-failure")
        plan_status_change(session=session, actor=casey, plan_uuid=plan.uuid, to=PlanStatus.ACTIVE)
        followups_sync(session=session, actor=casey, patient_uuid=patient.uuid)
        assert [r[0] for r in scheduled(session, patient)] == ["ccm-monthly"]
        plan_status_change(
            session=session, actor=casey, plan_uuid=plan.uuid, to=PlanStatus.ON_HOLD, reason="in rehab"
        )
        followups_sync(session=session, actor=casey, patient_uuid=patient.uuid)
    assert scheduled(session, patient) == []
    assert closed(session, patient, FollowUpStatus.CANCELLED) == [
        ("ccm-monthly", "no active program enrolment (the ccm care plan is on-hold)")
    ]


def test_post_discharge_steps_a_missed_one_and_the_worklist(
    session: Session, cheap_passwords: object
) -> None:
    clinic = Clinic(
        session,
        encounters=[
            {
                "encounter_class": "IMP",
                "period_start": datetime(2025, 5, 26, 15, tzinfo=UTC),
                "period_end": datetime(2025, 5, 30, 16, tzinfo=UTC),  # a Friday
                "discharge_disposition_code": "01",
            }
        ],
    )
    patient, casey = clinic.patient, clinic.casey
    enrol(session, patient, "ccm", MAY_1)
    stay = session.scalars(select(Encounter).where(Encounter.patient_id == patient.id)).one()
    with frozen_at(MONDAY):
        followups_sync(session=session, actor=casey, patient_uuid=patient.uuid)
        assert [r[0] for r in scheduled(session, patient)] == ["ccm-monthly"], "no transition episode yet"
        # the discharge arrives (as the feed and the import bring it): a transition episode opens
        operator = Actor.operator(patient.org_id, "tests")
        assert transition_open_for_discharge(session=session, actor=operator, encounter=stay) is not None
        followups_sync(session=session, actor=casey, patient_uuid=patient.uuid)
    assert scheduled(session, patient) == [
        ("ccm-monthly", date(2025, 6, 1), "ccm", None),
        ("post-discharge", date(2025, 6, 3), None, None),  # 2 business days after Friday: Tuesday
    ]
    with frozen_at(datetime(2025, 6, 10, 14, tzinfo=UTC)):  # day 7 (June 6) passed: step 1 missed
        followups_sync(session=session, actor=casey, patient_uuid=patient.uuid)
        assert scheduled(session, patient) == [
            ("ccm-monthly", date(2025, 6, 1), "ccm", None),
            ("post-discharge", date(2025, 6, 6), None, None),
        ]
        assert closed(session, patient, FollowUpStatus.MISSED) == [
            ("post-discharge", "step 1 was not done before step 2 fell due")
        ]
        due = followups_due(session=session, actor=casey)
        assert [(d.followup.rule_key, d.overdue_days) for d in due] == [
            ("ccm-monthly", 9),
            ("post-discharge", 4),
        ]
        assert followups_due(session=session, actor=clinic.drew) == []
        assert followups_sync_all(session=session, actor=Actor.operator(patient.org_id)) == 1
        logged = contact_log(
            session=session,
            actor=casey,
            patient_uuid=patient.uuid,
            kind=ContactKind.CALL,
            direction=Direction.OUTBOUND,
            party=Party.CAREGIVER,
            party_name="Ann (daughter)",
            outcome=Outcome.REACHED,
        )
        assert sorted(f.rule_key for f in logged.followups_done) == ["ccm-monthly", "post-discharge"]
        assert scheduled(session, patient) == [
            ("post-discharge", date(2025, 6, 13), None, None),
            ("ccm-monthly", date(2025, 7, 10), "ccm", None),
        ]
        moved = followup_reschedule(
            session=session,
            actor=casey,
            followup_uuid=session.scalars(
                select(FollowUp).where(FollowUp.rule_key == "ccm-monthly", FollowUp.status == "scheduled")
            )
            .one()
            .uuid,
            due_on=date(2025, 7, 14),
            reason="patient away until the 14th",
        )
        followups_sync(session=session, actor=casey, patient_uuid=patient.uuid)
        assert moved.status == "scheduled", "a day chosen by hand stays"


def test_a_reached_heart_failure_call_with_a_3_lb_gain(session: Session, clinic: Clinic) -> None:
    patient, casey = clinic.patient, clinic.casey
    enrol(session, patient, "ccm", MAY_1)
    with frozen_at(MAY_1):
        plan = plan_create(session=session, actor=casey, patient_uuid=patient.uuid, title="Heart failure")
        plan_template_apply(session=session, actor=casey, plan_uuid=plan.uuid, template_id="heart-failure")
        followups_sync(session=session, actor=casey, patient_uuid=patient.uuid)
    weights = session.scalars(select(Goal).where(Goal.template_ref == "heart-failure:hf-weight")).one()
    pressure = session.scalars(select(Goal).where(Goal.template_ref == "heart-failure:hf-bp")).one()
    with frozen_at(MONDAY):
        with pytest.raises(RuleViolation, match="accept it first"):
            contact_log(
                session=session,
                actor=casey,
                patient_uuid=patient.uuid,
                kind=ContactKind.CALL,
                direction=Direction.OUTBOUND,
                party=Party.PATIENT,
                outcome=Outcome.REACHED,
                goal_updates=[GoalUpdate(pressure.uuid, "128/78 at home", Achievement.IMPROVING)],
            )
        assert session.scalar(select(func.count(Contact.id)).where(Contact.patient_id == patient.id)) == 0
        goal_status_change(session=session, actor=casey, goal_uuid=weights.uuid, to=GoalLifecycle.ACCEPTED)
        logged = contact_log(
            session=session,
            actor=casey,
            patient_uuid=patient.uuid,
            kind=ContactKind.CALL,
            direction=Direction.OUTBOUND,
            party=Party.PATIENT,
            outcome=Outcome.REACHED,
            program_code="ccm",
            minutes=18,
            note="Feels more tired; ankles a bit puffy.",
            answers={
                "general": {"overall": "worse", "ed_or_admission": "no"},
                "heart-failure": {"weight_gain_day_lb": "3", "breathlessness": "usual", "swelling": "same"},
            },
            goal_updates=[GoalUpdate(weights.uuid, "Weighing daily; up 3 lb since yesterday")],
            plan_adjustments="Ask the cardiologist about the diuretic dose",
        )
    contact = logged.contact
    assert [f.key for f in logged.flags] == ["hf-weight-day"]
    task = session.scalars(
        select(Task).where(Task.source_type == "Contact", Task.source_id == contact.uuid)
    ).one()
    assert (task.priority, task.due_on, task.assigned_user_id) == (
        "urgent",
        date(2025, 6, 2),
        clinic.casey_user.id,
    )
    assert "weight up 3 lb in a day" in task.title
    assert "clinician review" in (task.reason or "")
    assert contact.red_flags[0]["words"] == task.title
    assert contact.answers["heart-failure"]["weight_gain_day_lb"] == 3.0
    assert contact.answers["general"]["ed_or_admission"] is False
    assert contact.plan_adjustments == "Ask the cardiologist about the diuretic dose"
    session.refresh(weights)
    assert weights.notes[-1].text == "Weighing daily; up 3 lb since yesterday"
    assert [u.goal_description for u in contact.goal_updates] == [weights.description]
    assert [f.rule_key for f in logged.followups_done] == ["ccm-monthly"], "June 1 follow-up done on June 2"
    assert scheduled(session, patient) == [("ccm-monthly", date(2025, 7, 2), "ccm", None)]


def test_phq9_item_9_raises_the_suicide_risk_alert(session: Session, cheap_passwords: object) -> None:
    clinic = Clinic(session, conditions=["F32.1"])
    enrol(session, clinic.patient, "bhi", MAY_1)
    with frozen_at(MONDAY):
        logged = contact_log(
            session=session,
            actor=clinic.casey,
            patient_uuid=clinic.patient.uuid,
            kind=ContactKind.VIDEO,
            direction=Direction.OUTBOUND,
            party=Party.PATIENT,
            outcome=Outcome.REACHED,
            answers={"depression": {"phq9_total": "12", "phq9_item9": "1"}},
        )
    assert [f.key for f in logged.flags] == ["phq9-item9"]
    alert = session.scalars(select(PatientAlert).where(PatientAlert.patient_id == clinic.patient.id)).one()
    assert alert.kind == "suicide-risk"


def call(
    session: Session, clinic: Clinic, when: datetime, outcome: Outcome = Outcome.NO_ANSWER
) -> ContactLogged:
    with frozen_at(when):
        return contact_log(
            session=session,
            actor=clinic.casey,
            patient_uuid=clinic.patient.uuid,
            kind=ContactKind.CALL,
            direction=Direction.OUTBOUND,
            party=Party.PATIENT,
            outcome=outcome,
        )


def state(logged: ContactLogged) -> UnableToReach:
    assert logged.protocol is not None
    return logged.protocol


def test_unable_to_reach_exhausted_makes_the_letter_and_the_supervisor_review(
    session: Session, clinic: Clinic
) -> None:
    enrol(session, clinic.patient, "ccm", MAY_1)
    first = call(session, clinic, at(date(2025, 6, 2), 13))
    call(session, clinic, at(date(2025, 6, 2), 18))
    second_day = call(session, clinic, at(date(2025, 6, 4)), Outcome.VOICEMAIL)
    assert state(first).state is ReachState.IN_PROTOCOL
    assert (state(second_day).state, state(second_day).attempts, state(second_day).days) == (
        ReachState.IN_PROTOCOL,
        3,
        2,
    ), "three attempts on two days are not enough"
    assert second_day.protocol_tasks == []
    third_day = call(session, clinic, at(date(2025, 6, 13)))  # the 10th business day from June 2
    assert state(third_day).exhausted
    assert [t.title for t in third_day.protocol_tasks] == [
        "Send the unable-to-reach letter",
        "Supervisor review: patient unable to reach",
    ]
    letter, review = third_day.protocol_tasks
    assert (letter.assigned_user_id, letter.due_on) == (clinic.casey_user.id, date(2025, 6, 16))
    assert (review.assigned_user_id, review.due_on) == (clinic.supervisor.id, date(2025, 6, 17))
    again = call(session, clinic, at(date(2025, 6, 16)))
    assert state(again).exhausted
    assert again.protocol_tasks == [], "made once"
    reached = call(session, clinic, at(date(2025, 6, 17)), Outcome.REACHED)
    assert state(reached).state is ReachState.NONE
    assert unable_to_reach_of(session, clinic.patient).state is ReachState.NONE


def test_bad_input_is_named(session: Session, clinic: Clinic) -> None:
    patient, casey = clinic.patient, clinic.casey
    base = {
        "session": session,
        "actor": casey,
        "patient_uuid": patient.uuid,
        "kind": ContactKind.CALL,
        "direction": Direction.OUTBOUND,
        "party": Party.PATIENT,
        "outcome": Outcome.REACHED,
    }
    with frozen_at(MONDAY):
        with pytest.raises(RuleViolation, match="home-visit cannot end voicemail") as outcome:
            contact_log(**{**base, "kind": ContactKind.HOME_VISIT, "outcome": Outcome.VOICEMAIL})
        assert outcome.value.where == "contact outcome"
        with pytest.raises(InvalidInput, match="name the provider") as party:
            contact_log(**{**base, "party": Party.PROVIDER})
        assert party.value.where == "contact with"
        with pytest.raises(InvalidInput, match="'three' is not a number") as number:
            contact_log(**base, answers={"heart-failure": {"weight_gain_day_lb": "three"}})
        assert number.value.where == "Heart failure: Weight gain since yesterday"
        with pytest.raises(InvalidInput, match="outside") as far:
            contact_log(**base, answers={"depression": {"phq9_item9": "4"}})
        assert (
            far.value.where
            == "Depression (PHQ-9): PHQ-9 item 9: thoughts of being better off dead or of hurting yourself"
        )
        with pytest.raises(RuleViolation, match="need the patient or caregiver reached"):
            contact_log(
                **{**base, "outcome": Outcome.NO_ANSWER},
                answers={"heart-failure": {"weight_gain_day_lb": "3"}},
            )
        with pytest.raises(InvalidInput, match="no open ccm enrolment") as program:
            contact_log(**base, program_code="ccm")
        assert program.value.where == "contact program"
        with pytest.raises(NotFound, match="no note template 'gout'"):
            contact_log(**base, answers={"gout": {"pain": "3"}})
        with pytest.raises(InvalidInput, match="in the future"):
            contact_log(**base, at=MONDAY + timedelta(hours=2))
        with pytest.raises(InvalidInput, match="minutes"):
            contact_log(**base, minutes=2000)
        with pytest.raises(RuleViolation, match="inbound"):
            contact_log(**{**base, "direction": Direction.INBOUND, "outcome": Outcome.NO_ANSWER})
        with pytest.raises(NotFound, match="goal"):
            contact_log(**base, goal_updates=[GoalUpdate("00000000-0000-0000-0000-000000000000", "x")])
    assert session.scalar(select(func.count(Contact.id)).where(Contact.patient_id == patient.id)) == 0


def test_nobody_outside_the_caseload_reaches_it(session: Session, clinic: Clinic) -> None:
    patient, drew = clinic.patient, clinic.drew
    enrol(session, patient, "ccm", MAY_1)
    with frozen_at(MONDAY):
        followups_sync(session=session, actor=clinic.casey, patient_uuid=patient.uuid)
        with pytest.raises(NotFound):
            followups_sync(session=session, actor=drew, patient_uuid=patient.uuid)
        with pytest.raises(NotFound):
            contact_log(
                session=session,
                actor=drew,
                patient_uuid=patient.uuid,
                kind=ContactKind.CALL,
                direction=Direction.OUTBOUND,
                party=Party.PATIENT,
                outcome=Outcome.REACHED,
            )
        row = session.scalars(select(FollowUp).where(FollowUp.patient_id == patient.id)).one()
        with pytest.raises(NotFound):
            followup_reschedule(
                session=session, actor=drew, followup_uuid=row.uuid, due_on=date(2025, 6, 20), reason="x"
            )
        assert followups_due(session=session, actor=drew) == []
        assert [d.followup.patient_id for d in followups_due(session=session, actor=clinic.casey)] == [
            patient.id
        ]
        supervisor = actor_of(clinic.supervisor)
        assert [d.followup.patient_id for d in followups_due(session=session, actor=supervisor)] == [
            patient.id
        ]
