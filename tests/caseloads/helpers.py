"""A small team for caseload tests: a supervisor, a nurse who speaks Spanish, a social worker, and a care
manager outside the team."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.accounts.models import Organization, User
from carenav.accounts.services import user_set_discipline
from carenav.patients.models import Encounter, Patient
from carenav.transitions.models import TransitionEpisode, TransitionTask
from carenav.transitions.rules import TaskKind, TaskStatus
from tests.builders import make_org, make_patient
from tests.web.users import make_user

FOOD_NEED = {
    "code": "733423003",
    "display": "Food insecurity",
    "sdoh_domain": "food-insecurity",
    "category": "health-concern",
}
HEART_FAILURE = "I50.9"


@dataclass
class Team:
    org: Organization
    operator: Actor
    sam: User  # supervisor
    nina: User  # nurse, en + es
    sol: User  # social worker
    otto: User  # care manager, another team


def make_team(session: Session) -> Team:
    org = make_org(session)
    operator = Actor.operator(org.id, "tests")
    sam = make_user(session, org, "sam.sup", "supervisor", team="north")
    nina = make_user(session, org, "nina.rn", team="north", display_name="Nina Nurse")
    sol = make_user(session, org, "sol.sw", team="north", display_name="Sol Social")
    otto = make_user(session, org, "otto.cm", team="south")
    user_set_discipline(
        session=session, actor=operator, username="nina.rn", discipline="nurse", languages=["en", "es"]
    )
    user_set_discipline(session=session, actor=operator, username="sol.sw", discipline="social-worker")
    return Team(org, operator, sam, nina, sol, otto)


def open_episode(
    session: Session, patient: Patient, discharged_at: datetime, *, contact_due: date, status: str = "open"
) -> TransitionEpisode:
    """An episode with its interactive-contact task, written directly (the feed is tested elsewhere)."""
    encounter = session.scalar(select(Encounter).where(Encounter.patient_id == patient.id).limit(1))
    assert encounter is not None, "make the patient with an encounter"
    episode = TransitionEpisode(
        org_id=patient.org_id,
        patient_id=patient.id,
        encounter_id=encounter.id,
        discharged_at=discharged_at,
        discharged_on=discharged_at.date(),
        opened_by="tests",
    )
    session.add(episode)
    session.flush()
    task = TransitionTask(
        org_id=patient.org_id,
        patient_id=patient.id,
        episode_id=episode.id,
        kind=TaskKind.INTERACTIVE_CONTACT.value,
        due_on=contact_due,
        status=status,
    )
    if status in {TaskStatus.DONE.value, TaskStatus.LATE_DONE.value}:
        task.done_at = discharged_at + timedelta(days=1)
    session.add(task)
    session.flush()
    return episode


def inpatient(start: datetime) -> dict[str, object]:
    return {"encounter_class": "IMP", "period_start": start, "period_end": start + timedelta(days=2)}


__all__ = ["FOOD_NEED", "HEART_FAILURE", "UTC", "make_patient"]
