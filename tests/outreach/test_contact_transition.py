"""A contact logged in the contact log and the transition of care it falls in (SQLite and PostgreSQL): a
reached call with the caregiver the day after the discharge does the interactive contact, on time, in the
same action (the attempt and the task at the contact's time, audited with the contact); on time or late is
judged by the contact's day in the organization's zone, not by when it was logged; unanswered calls are
attempts that leave the task open; a letter, a call with the provider, a talk before the discharge, a
closed episode or a task already done are left alone."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.audit.models import AuditEvent
from carenav.clock import frozen_at
from carenav.outreach.models import Contact
from carenav.outreach.rules import ContactKind, Direction, Outcome, Party
from carenav.outreach.services import ContactLogged, contact_log
from carenav.patients.models import Encounter
from carenav.transitions.models import TransitionEpisode, TransitionTask
from carenav.transitions.rules import CloseReason, TaskKind
from carenav.transitions.services import transition_close, transition_open_for_discharge
from tests.outreach.test_outreach import Clinic, default_rules
from tests.web.users import cheap_passwords

__all__ = ["cheap_passwords", "default_rules"]

DISCHARGED = datetime(2026, 3, 4, 15, 15, tzinfo=UTC)  # Wednesday 10:15 in New York
DAY_AFTER = datetime(2026, 3, 5, 15, 0, tzinfo=UTC)  # Thursday 10:00 in New York
DEADLINE = date(2026, 3, 6)  # 2 business days after Wednesday: Friday


@pytest.fixture
def discharged(session: Session, cheap_passwords: object) -> Clinic:
    """Casey's patient, discharged home (01) on Wednesday March 4 2026: the episode open, its contact due
    Friday March 6."""
    clinic = Clinic(
        session,
        conditions=["I50.9"],
        encounters=[
            {
                "encounter_class": "IMP",
                "period_start": datetime(2026, 3, 1, 12, tzinfo=UTC),
                "period_end": DISCHARGED,
                "discharge_disposition_code": "01",
            }
        ],
    )
    stay = session.scalars(select(Encounter).where(Encounter.patient_id == clinic.patient.id)).one()
    with frozen_at(DAY_AFTER):
        episode = transition_open_for_discharge(
            session=session, actor=Actor.operator(clinic.org.id, "tests"), encounter=stay
        )
    assert episode is not None
    assert contact_task(session, clinic).due_on == DEADLINE
    return clinic


def contact_task(session: Session, clinic: Clinic) -> TransitionTask:
    return session.scalars(
        select(TransitionTask).where(
            TransitionTask.patient_id == clinic.patient.id,
            TransitionTask.kind == TaskKind.INTERACTIVE_CONTACT.value,
        )
    ).one()


def log(
    session: Session,
    clinic: Clinic,
    clock: datetime,
    *,
    kind: ContactKind = ContactKind.CALL,
    party: Party = Party.PATIENT,
    outcome: Outcome = Outcome.REACHED,
    at: datetime | None = None,
    party_name: str | None = None,
) -> ContactLogged:
    with frozen_at(clock):
        return contact_log(
            session=session,
            actor=clinic.casey,
            patient_uuid=clinic.patient.uuid,
            kind=kind,
            direction=Direction.OUTBOUND,
            party=party,
            party_name=party_name,
            outcome=outcome,
            at=at,
        )


def test_a_reached_call_with_the_caregiver_does_the_interactive_contact(
    session: Session, discharged: Clinic
) -> None:
    logged = log(session, discharged, DAY_AFTER, party=Party.CAREGIVER, party_name="Ann (daughter)")
    task = contact_task(session, discharged)
    contact = logged.contact
    assert logged.transition is not None
    assert (logged.transition.task.id, logged.transition.done, logged.transition.on_time) == (
        task.id,
        True,
        True,
    )
    assert (task.status, task.done_at, task.done_by) == ("done", contact.at, discharged.casey.label)
    assert task.note == (
        "Done by the outbound call with the caregiver (Ann (daughter)) on 2026-03-05 10:00 (contact log)"
    )
    assert [(a.outcome, a.at, a.by) for a in task.attempts] == [("reached", contact.at, contact.staff)]
    trail = {
        e.action: e.detail or ""
        for e in session.scalars(select(AuditEvent).where(AuditEvent.patient_uuid == discharged.patient.uuid))
    }
    assert contact.uuid in trail["transition-attempt"], "the attempt names the contact that made it"
    assert trail["transition-task-done"] == "tcm-interactive-contact on time"
    others = {t.kind: t.status for t in task.episode.tasks if t.id != task.id}
    assert set(others.values()) == {"open"}, (
        "the medication reconciliation and the rest are not done by a call"
    )

    again = log(session, discharged, datetime(2026, 3, 6, 15, tzinfo=UTC))
    assert again.transition is None, "the task is done already"
    assert len(contact_task(session, discharged).attempts) == 1


def test_on_time_is_judged_by_the_day_of_the_contact_in_the_organizations_zone(
    session: Session, discharged: Clinic
) -> None:
    # logged on Tuesday March 10 (the deadline passed), for a video call on Friday March 6 at 23:30 in New
    # York — Saturday 04:30 in UTC
    logged = log(
        session,
        discharged,
        datetime(2026, 3, 10, 14, tzinfo=UTC),
        kind=ContactKind.VIDEO,
        at=datetime(2026, 3, 7, 4, 30, tzinfo=UTC),
    )
    assert logged.transition is not None
    assert logged.transition.on_time
    task = contact_task(session, discharged)
    assert (task.status, task.done_at) == ("done", datetime(2026, 3, 7, 4, 30, tzinfo=UTC))


def test_a_contact_after_the_deadline_does_it_late(session: Session, discharged: Clinic) -> None:
    logged = log(session, discharged, datetime(2026, 3, 9, 15, tzinfo=UTC), kind=ContactKind.HOME_VISIT)
    assert logged.transition is not None
    assert (logged.transition.done, logged.transition.on_time) == (True, False)
    assert contact_task(session, discharged).status == "late-done"


def test_unanswered_calls_are_attempts_and_what_is_no_try_at_it(session: Session, discharged: Clinic) -> None:
    no_answer = log(session, discharged, DAY_AFTER, outcome=Outcome.NO_ANSWER)
    assert no_answer.transition is not None
    assert (no_answer.transition.done, no_answer.transition.attempt.outcome) == (False, "no-answer")
    voicemail = log(
        session,
        discharged,
        datetime(2026, 3, 5, 19, tzinfo=UTC),
        party=Party.CAREGIVER,
        party_name="Ann",
        outcome=Outcome.VOICEMAIL,
    )
    assert voicemail.transition is not None
    assert contact_task(session, discharged).status == "open"

    letter = log(session, discharged, datetime(2026, 3, 5, 20, tzinfo=UTC), kind=ContactKind.LETTER)
    provider = log(session, discharged, DAY_AFTER, party=Party.PROVIDER, party_name="Dr Lee")
    before = log(session, discharged, DAY_AFTER, at=DISCHARGED.replace(hour=13))  # on the ward, by phone
    assert (letter.transition, provider.transition, before.transition) == (None, None, None)
    task = contact_task(session, discharged)
    assert [a.outcome for a in task.attempts] == ["no-answer", "voicemail"]
    assert task.status == "open"

    reached = log(session, discharged, datetime(2026, 3, 6, 14, tzinfo=UTC), kind=ContactKind.MESSAGE)
    assert reached.transition is not None
    assert reached.transition.done
    assert [a.outcome for a in contact_task(session, discharged).attempts] == [
        "no-answer",
        "voicemail",
        "reached",
    ]


def test_a_closed_episode_is_left_alone(session: Session, discharged: Clinic) -> None:
    episode = session.scalars(
        select(TransitionEpisode).where(TransitionEpisode.patient_id == discharged.patient.id)
    ).one()
    with frozen_at(DAY_AFTER):
        transition_close(
            session=session,
            actor=discharged.casey,
            episode_uuid=episode.uuid,
            reason=CloseReason.NOT_A_TRANSITION,
            note="went to a skilled nursing facility",
        )
    logged = log(session, discharged, DAY_AFTER)
    assert logged.transition is None
    task = contact_task(session, discharged)
    assert (task.status, task.attempts) == ("cancelled", [])
    assert session.scalars(select(Contact).where(Contact.patient_id == discharged.patient.id)).one()
