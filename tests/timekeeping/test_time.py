"""Time on both databases: a timer per user (start, stop to whole minutes, refusals that say why), entries by
hand checked (no day to come, 1 to 600 minutes, only a program the patient is enrolled in), edits and
deletions with a reason, kept with their trail and audited; monthly totals per program against the billing
thresholds; the patients close to a threshold near month end; another care manager's patient is NotFound."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.accounts.models import Organization, User
from carenav.audit.models import AuditEvent
from carenav.clock import frozen_at
from carenav.errors import Forbidden, InvalidInput, NotFound, RuleViolation
from carenav.patients.models import Patient
from carenav.programs.rules import ConsentKind
from carenav.programs.schemas import ConsentInput
from carenav.programs.services import enrolment_enrol, enrolment_identify
from carenav.timekeeping.models import RunningTimer, TimeEntry
from carenav.timekeeping.rules import ActivityType, Month, StaffRole, codes_text
from carenav.timekeeping.services import (
    entries_of_month,
    entry_add,
    entry_delete,
    entry_edit,
    monthly_totals,
    months_with_time,
    time_month,
    time_near_threshold,
    timer_discard,
    timer_running,
    timer_start,
    timer_stop,
)
from tests.builders import make_org, make_patient
from tests.web.users import actor_of, assign, cheap_passwords, make_user

__all__ = ["cheap_passwords", "enrol"]

MAY_1 = datetime(2025, 5, 1, 14, 0, tzinfo=UTC)
JUNE_10 = datetime(2025, 6, 10, 14, 0, tzinfo=UTC)  # 10:00 in New York
JUNE = Month(2025, 6)
CALL = ActivityType.PATIENT_CONTACT


def enrol(session: Session, org: Organization, patient: Patient, program: str, at: datetime = MAY_1) -> None:
    operator = Actor.operator(org.id, "tests")
    with frozen_at(at):
        enrolment_identify(session=session, actor=operator, patient_uuid=patient.uuid, program_code=program)
        enrolment_enrol(
            session=session,
            actor=operator,
            patient_uuid=patient.uuid,
            program_code=program,
            consent=ConsentInput(kind=ConsentKind.VERBAL, given_on=at.date(), obtained_by="Dr Who"),
        )


@dataclass
class Clinic:
    org: Organization
    jane: Patient
    john: Patient
    casey: Actor
    drew: Actor  # another care manager, John's only
    sam: Actor  # a supervisor


@pytest.fixture
def clinic(session: Session, cheap_passwords: object) -> Clinic:
    org = make_org(session)
    jane = make_patient(session, org, given="Jane", family="Doe")
    john = make_patient(session, org, given="John", family="Roe")
    casey = make_user(session, org, "casey.cm", display_name="Casey Morgan", team="North")
    drew = make_user(session, org, "drew.cm", display_name="Drew Park")
    sam = make_user(session, org, "sam.sup", role="supervisor", team="North")
    assign(session, org, casey, jane)
    assign(session, org, casey, john)
    assign(session, org, drew, john)
    enrol(session, org, jane, "ccm")
    enrol(session, org, jane, "bhi")
    enrol(session, org, john, "ccm")
    return Clinic(org, jane, john, actor_of(casey), actor_of(drew), actor_of(sam))


def test_timer_start_stop_in_whole_minutes(session: Session, clinic: Clinic) -> None:
    c = clinic
    with frozen_at(JUNE_10):
        timer = timer_start(
            session=session, actor=c.casey, patient_uuid=c.jane.uuid, program_code="ccm", activity=CALL
        )
        assert timer_running(session=session, actor=c.casey) is timer
        with pytest.raises(RuleViolation, match="timer running for Jane Doe"):
            timer_start(
                session=session, actor=c.casey, patient_uuid=c.john.uuid, program_code="ccm", activity=CALL
            )
        with pytest.raises(RuleViolation, match="CARENAV_FIXED_NOW"):
            timer_stop(session=session, actor=c.casey)
    with frozen_at(JUNE_10 + timedelta(seconds=40)), pytest.raises(RuleViolation, match="less than a minute"):
        timer_stop(session=session, actor=c.casey)
    # another user has a timer of their own
    with frozen_at(JUNE_10):
        timer_start(
            session=session, actor=c.drew, patient_uuid=c.john.uuid, program_code="ccm", activity=CALL
        )
    with frozen_at(JUNE_10 + timedelta(minutes=19, seconds=59)):
        entry = timer_stop(session=session, actor=c.casey, note="  symptom review ")
    assert (entry.minutes, entry.source, entry.on_date, entry.note) == (
        19,
        "timer",
        date(2025, 6, 10),
        "symptom review",
    )
    assert (entry.staff_name, entry.staff_role, entry.program_code) == (
        "Casey Morgan",
        "clinical-staff",
        "ccm",
    )
    assert entry.started_at == JUNE_10
    assert entry.enrolment_id is not None
    assert timer_running(session=session, actor=c.casey) is None
    with pytest.raises(NotFound, match="no timer running"):
        timer_stop(session=session, actor=c.casey)
    totals = {
        t.program: t
        for t in monthly_totals(session=session, actor=c.casey, patient_uuid=c.jane.uuid, month=JUNE)
    }
    assert totals["ccm"].progress.total == 19
    assert totals["ccm"].progress.billable == (), "19 minutes bill nothing"
    assert totals["ccm"].progress.to_next == 1


def test_a_timer_left_running_or_across_months(session: Session, clinic: Clinic) -> None:
    c = clinic
    with frozen_at(JUNE_10):
        timer_start(
            session=session, actor=c.casey, patient_uuid=c.jane.uuid, program_code="ccm", activity=CALL
        )
    with (
        frozen_at(JUNE_10 + timedelta(hours=12, minutes=5)),
        pytest.raises(RuleViolation, match="left running"),
    ):
        timer_stop(session=session, actor=c.casey)
    with frozen_at(JUNE_10 + timedelta(hours=13)):
        timer_discard(session=session, actor=c.casey)
    assert session.scalars(select(RunningTimer).where(RunningTimer.patient_id == c.jane.id)).all() == []
    assert session.scalars(select(TimeEntry).where(TimeEntry.patient_id == c.jane.id)).all() == []
    june_30_evening = datetime(2025, 7, 1, 3, 50, tzinfo=UTC)  # 23:50 on June 30 in New York
    with frozen_at(june_30_evening):
        timer_start(
            session=session, actor=c.casey, patient_uuid=c.jane.uuid, program_code="ccm", activity=CALL
        )
    with frozen_at(june_30_evening + timedelta(minutes=20)):  # July 1 in New York
        with pytest.raises(RuleViolation, match="June 2025 and it is now July 2025"):
            timer_stop(session=session, actor=c.casey)
        timer_discard(session=session, actor=c.casey)
    with frozen_at(JUNE_10), pytest.raises(RuleViolation, match="not enrolled in Principal Care Management"):
        timer_start(
            session=session, actor=c.casey, patient_uuid=c.jane.uuid, program_code="pcm", activity=CALL
        )


def test_manual_entries_are_checked(session: Session, clinic: Clinic) -> None:
    c = clinic
    kw: dict[str, Any] = {"session": session, "actor": c.casey, "patient_uuid": c.jane.uuid, "activity": CALL}
    with frozen_at(JUNE_10):
        with pytest.raises(InvalidInput, match="future"):
            entry_add(**kw, program_code="ccm", minutes=20, on=date(2025, 6, 11))
        with pytest.raises(InvalidInput, match="at least 1 minute"):
            entry_add(**kw, program_code="ccm", minutes=0, on=date(2025, 6, 10))
        with pytest.raises(InvalidInput, match="at most 600"):
            entry_add(**kw, program_code="ccm", minutes=601, on=date(2025, 6, 10))
        with pytest.raises(
            RuleViolation, match=r"not enrolled in Principal Care Management \(pcm\)"
        ) as caught:
            entry_add(**kw, program_code="pcm", minutes=20, on=date(2025, 6, 10))
        assert "Chronic Care Management (ccm)" in caught.value.message, "the programs they are enrolled in"
        with pytest.raises(RuleViolation, match="2025-04-30"):
            entry_add(**kw, program_code="ccm", minutes=20, on=date(2025, 4, 30))  # before the enrolment
        entry_add(**kw, program_code="ccm", minutes=600, on=date(2025, 6, 9))
        entry_add(**kw, program_code="bhi", minutes=600, on=date(2025, 6, 9))
        with pytest.raises(RuleViolation, match="1440 minutes of a day"):
            entry_add(**kw, program_code="ccm", minutes=241, on=date(2025, 6, 9))
        practitioner = entry_add(
            **kw,
            program_code="ccm",
            minutes=30,
            on=date(2025, 6, 10),
            staff_role=StaffRole.BILLING_PRACTITIONER,
            staff_user_uuid=_user_uuid(session, "sam.sup"),
        )
    assert (practitioner.staff_name, practitioner.recorded_by) == ("sam.sup", "user:casey.cm")
    assert practitioner.staff_role == "billing-practitioner"
    assert practitioner.source == "manual"


def _user_uuid(session: Session, username: str) -> str:
    return session.scalars(select(User.uuid).where(User.username == username)).one()


def test_edits_are_audited_with_a_trail_and_deletions_kept(session: Session, clinic: Clinic) -> None:
    c = clinic
    with frozen_at(JUNE_10):
        entry = entry_add(
            session=session,
            actor=c.casey,
            patient_uuid=c.john.uuid,
            program_code="ccm",
            minutes=20,
            activity=CALL,
            on=date(2025, 6, 10),
        )
        with pytest.raises(InvalidInput, match="say why"):
            entry_edit(session=session, actor=c.casey, entry_uuid=entry.uuid, reason=" ", minutes=25)
        with pytest.raises(InvalidInput, match="nothing is changed"):
            entry_edit(session=session, actor=c.casey, entry_uuid=entry.uuid, reason="typo", minutes=20)
        with pytest.raises(Forbidden, match="only the staff member"):
            entry_edit(session=session, actor=c.drew, entry_uuid=entry.uuid, reason="mine", minutes=45)
        entry_edit(
            session=session,
            actor=c.casey,
            entry_uuid=entry.uuid,
            reason="the call ran longer",
            minutes=25,
            activity=ActivityType.MEDICATION_MANAGEMENT,
        )
        entry_edit(
            session=session,
            actor=c.sam,
            entry_uuid=entry.uuid,
            reason="was the day before",
            on=date(2025, 6, 9),
        )
        with pytest.raises(InvalidInput, match="future"):
            entry_edit(
                session=session, actor=c.casey, entry_uuid=entry.uuid, reason="x", on=date(2025, 6, 12)
            )
        assert [(e.action, e.changes, e.reason, e.actor) for e in entry.edits] == [
            (
                "edit",
                {"minutes": [20, 25], "activity": ["patient-contact", "medication-management"]},
                "the call ran longer",
                "user:casey.cm",
            ),
            ("edit", {"on_date": ["2025-06-10", "2025-06-09"]}, "was the day before", "user:sam.sup"),
        ]
        totals = monthly_totals(session=session, actor=c.casey, patient_uuid=c.john.uuid, month=JUNE)
        assert codes_text(totals[0].progress.billable) == "99490"
        with pytest.raises(InvalidInput, match="say why"):
            entry_delete(session=session, actor=c.casey, entry_uuid=entry.uuid, reason="")
        entry_delete(
            session=session, actor=c.casey, entry_uuid=entry.uuid, reason="entered on the wrong patient"
        )
        with pytest.raises(RuleViolation, match="deleted"):
            entry_edit(session=session, actor=c.casey, entry_uuid=entry.uuid, reason="again", minutes=5)
    session.expire_all()
    kept = session.scalars(select(TimeEntry).where(TimeEntry.uuid == entry.uuid)).one()
    assert kept.deleted_at == JUNE_10
    assert kept.deleted_reason == "entered on the wrong patient"
    assert kept.edits[-1].action == "delete"
    assert kept.minutes == 25, "a deleted entry keeps its minutes, and stops counting"
    totals = monthly_totals(session=session, actor=c.casey, patient_uuid=c.john.uuid, month=JUNE)
    assert totals[0].progress.total == 0
    listed = entries_of_month(session=session, actor=c.casey, patient_uuid=c.john.uuid, month=JUNE)
    assert [e.uuid for e in listed] == [entry.uuid]
    assert (
        entries_of_month(session=session, actor=c.casey, patient_uuid=c.john.uuid, month=JUNE, deleted=False)
        == []
    )
    audit = session.execute(
        select(AuditEvent.action, AuditEvent.detail, AuditEvent.actor)
        .where(AuditEvent.entity_id == entry.uuid)
        .order_by(AuditEvent.id)
    ).all()
    assert [a.action for a in audit] == ["time-add-manual", "time-edit", "time-edit", "time-delete"]
    assert "minutes: 20 -> 25" in audit[1].detail
    assert "reason: the call ran longer" in audit[1].detail
    assert audit[2].actor == "user:sam.sup"


def test_monthly_totals_per_program(session: Session, clinic: Clinic) -> None:
    c = clinic
    kw: dict[str, Any] = {"session": session, "actor": c.casey, "patient_uuid": c.jane.uuid, "activity": CALL}
    with frozen_at(JUNE_10):
        for minutes, day in ((15, 2), (10, 5), (20, 9)):
            entry_add(**kw, program_code="ccm", minutes=minutes, on=date(2025, 6, day))
        entry_add(**kw, program_code="ccm", minutes=35, on=date(2025, 5, 20))  # last month
        entry_add(**kw, program_code="bhi", minutes=12, on=date(2025, 6, 3))
        totals = monthly_totals(session=session, actor=c.casey, patient_uuid=c.jane.uuid, month=JUNE)
    by_program = {t.program: t for t in totals}
    assert sorted(by_program) == ["bhi", "ccm"]
    ccm = by_program["ccm"]
    assert (ccm.name, ccm.entries, ccm.progress.total) == ("Chronic Care Management", 3, 45)
    assert ccm.billable_text == "99490 + 99439"
    assert (ccm.progress.to_next, ccm.progress.next_code) == (15, "99439")
    assert by_program["bhi"].progress.to_next == 8
    may = monthly_totals(session=session, actor=c.casey, patient_uuid=c.jane.uuid, month=Month(2025, 5))
    assert {t.program: t.progress.total for t in may} == {"ccm": 35, "bhi": 0}
    previous = months_with_time(session=session, actor=c.casey, patient_uuid=c.jane.uuid, before=JUNE)
    assert [m for m, _ in previous] == [Month(2025, 5)]


def test_near_threshold_at_month_end(session: Session, clinic: Clinic) -> None:
    c = clinic
    kw: dict[str, Any] = {"session": session, "actor": c.casey, "activity": CALL, "program_code": "ccm"}
    with frozen_at(JUNE_10):
        entry_add(**kw, patient_uuid=c.jane.uuid, minutes=15, on=date(2025, 6, 2))  # 5 to 99490
        entry_add(**kw, patient_uuid=c.john.uuid, minutes=25, on=date(2025, 6, 2))  # 15 to 99439
        assert time_near_threshold(session=session, actor=c.casey, month=JUNE) == [], "not yet month end"
    june_25 = datetime(2025, 6, 25, 14, 0, tzinfo=UTC)
    listed = select(AuditEvent).where(AuditEvent.action == "time-month-list")
    with frozen_at(june_25):
        before = len(session.scalars(listed).all())
        near = time_near_threshold(session=session, actor=c.casey, month=JUNE)
        session.flush()
        assert len(session.scalars(listed).all()) == before, "its caller audits what it shows"
        assert [(r.patient_name, r.program, r.progress.to_next) for r in near] == [("Jane Doe", "ccm", 5)]
        wider = time_near_threshold(session=session, actor=c.casey, month=JUNE, within_minutes=15)
        assert [(r.patient_name, r.progress.to_next) for r in wider] == [("Jane Doe", 5), ("John Roe", 15)]
        assert time_near_threshold(session=session, actor=c.casey, month=Month(2025, 5)) == [], (
            "a closed month"
        )
        assert [r.patient_name for r in time_near_threshold(session=session, actor=c.drew, month=JUNE)] == []
        rows = time_month(session=session, actor=c.casey, month=JUNE)
        # Jane's BHI (enrolled, no time yet) is listed too, after the ones close to a threshold
        assert [(r.patient_name, r.program, r.near, r.your_minutes) for r in rows] == [
            ("Jane Doe", "ccm", True, 15),
            ("John Roe", "ccm", False, 25),
            ("Jane Doe", "bhi", False, 0),
        ]
        assert [r.patient_name for r in time_month(session=session, actor=c.drew, month=JUNE)] == ["John Roe"]
    listed = session.scalars(
        select(AuditEvent.patient_uuid).where(AuditEvent.action == "time-month-list")
    ).all()
    assert c.jane.uuid in listed


def test_out_of_reach_is_not_found(session: Session, clinic: Clinic) -> None:
    c = clinic
    with frozen_at(JUNE_10):
        entry = entry_add(
            session=session,
            actor=c.casey,
            patient_uuid=c.jane.uuid,
            program_code="ccm",
            minutes=20,
            activity=CALL,
            on=date(2025, 6, 10),
        )
        with pytest.raises(NotFound):
            monthly_totals(session=session, actor=c.drew, patient_uuid=c.jane.uuid, month=JUNE)
        with pytest.raises(NotFound):
            entry_add(
                session=session,
                actor=c.drew,
                patient_uuid=c.jane.uuid,
                program_code="ccm",
                minutes=5,
                activity=CALL,
                on=date(2025, 6, 10),
            )
        with pytest.raises(NotFound):
            entry_edit(session=session, actor=c.drew, entry_uuid=entry.uuid, reason="x", minutes=5)
        with pytest.raises(NotFound):
            entry_delete(session=session, actor=c.drew, entry_uuid=entry.uuid, reason="x")
        with pytest.raises(NotFound):
            timer_start(
                session=session, actor=c.drew, patient_uuid=c.jane.uuid, program_code="ccm", activity=CALL
            )
        other_org = make_org(session)
        outsider = Actor.operator(other_org.id, "elsewhere")
        with pytest.raises(NotFound):
            monthly_totals(session=session, actor=outsider, patient_uuid=c.jane.uuid, month=JUNE)
