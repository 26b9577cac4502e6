"""Loading the public ids a batch of rows points at, so the pure mappers can write references."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.accounts.queries import user_display_names
from carenav.careplans.models import CarePlan, PlanProblem
from carenav.fhir.mappers.common import ProblemRef, Refs
from carenav.patients.models import (
    CareTeamMember,
    Condition,
    Encounter,
    Facility,
    Patient,
    Practitioner,
    RelatedPerson,
)

_CHUNK = 900

# the row attribute -> the kind of row it points at
_POINTERS = {
    "patient_id": "patient",
    "encounter_id": "encounter",
    "facility_id": "facility",
    "practitioner_id": "practitioner",
    "author_practitioner_id": "practitioner",
    "related_person_id": "related_person",
    "author_related_person_id": "related_person",
    "condition_id": "condition",
    "started_by_user_id": "user",
    "plan_id": "plan",
    "problem_id": "problem",
    "owner_member_id": "member",
}


def _chunks(ids: set[int]) -> Iterable[list[int]]:
    ordered = sorted(ids)
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start : start + _CHUNK]


def _lookup(session: Session, key: Any, value: Any, ids: set[int]) -> dict[int, str]:
    """``value`` by ``key`` for the given keys, a chunk at a time."""
    found: dict[int, str] = {}
    for chunk in _chunks(ids):
        for one, text in session.execute(select(key, value).where(key.in_(chunk))):
            found[one] = text
    return found


def _uuids(session: Session, model: type[Any], ids: set[int]) -> dict[int, str]:
    return _lookup(session, model.id, model.uuid, ids)


def _problems(session: Session, ids: set[int]) -> dict[int, ProblemRef]:
    found: dict[int, ProblemRef] = {}
    for chunk in _chunks(ids):
        statement = (
            select(PlanProblem.id, PlanProblem.text, Condition.uuid)
            .outerjoin(Condition, Condition.id == PlanProblem.condition_id)
            .where(PlanProblem.id.in_(chunk))
        )
        for key, text, condition in session.execute(statement):
            found[key] = ProblemRef(text, condition)
    return found


def _members(session: Session, ids: set[int]) -> dict[int, tuple[str, str]]:
    """Care-team members who are a Practitioner, a RelatedPerson or the patient: (type, id)."""
    found: dict[int, tuple[str, str]] = {}
    for chunk in _chunks(ids):
        statement = (
            select(
                CareTeamMember.id,
                Practitioner.uuid,
                RelatedPerson.uuid,
                CareTeamMember.is_patient,
                Patient.uuid,
            )
            .join(Patient, Patient.id == CareTeamMember.patient_id)
            .outerjoin(Practitioner, Practitioner.id == CareTeamMember.practitioner_id)
            .outerjoin(RelatedPerson, RelatedPerson.id == CareTeamMember.related_person_id)
            .where(CareTeamMember.id.in_(chunk))
        )
        for key, practitioner, related, is_patient, patient in session.execute(statement):
            if practitioner:
                found[key] = ("Practitioner", practitioner)
            elif related:
                found[key] = ("RelatedPerson", related)
            elif is_patient:
                found[key] = ("Patient", patient)
    return found


def _with_care_team(session: Session, patient_ids: set[int]) -> set[int]:
    found: set[int] = set()
    for chunk in _chunks(patient_ids):
        found.update(
            session.scalars(
                select(CareTeamMember.patient_id).where(CareTeamMember.patient_id.in_(chunk)).distinct()
            )
        )
    return found


def refs_for(session: Session, rows: Iterable[Any]) -> Refs:
    """Refs for every patient, encounter, condition, facility, practitioner, related person, care plan,
    problem and care-team member the rows (their encounter diagnoses, a plan's problems) point at, the
    names of the users who started them (assessments), and which patients have a care team (plans)."""
    wanted: dict[str, set[int]] = {kind: set() for kind in _POINTERS.values()}
    plan_patients: set[int] = set()
    for row in rows:
        for attribute, kind in _POINTERS.items():
            key = getattr(row, attribute, None)
            if key is not None:
                wanted[kind].add(key)
        if isinstance(row, Encounter):
            wanted["condition"].update(d.condition_id for d in row.diagnoses if d.condition_id)
        if isinstance(row, CarePlan):
            wanted["condition"].update(p.condition_id for p in row.problems if p.condition_id)
            plan_patients.add(row.patient_id)
    return Refs(
        patients=_uuids(session, Patient, wanted["patient"]),
        encounters=_uuids(session, Encounter, wanted["encounter"]),
        conditions=_uuids(session, Condition, wanted["condition"]),
        facilities=_uuids(session, Facility, wanted["facility"]),
        practitioners=_uuids(session, Practitioner, wanted["practitioner"]),
        related_persons=_uuids(session, RelatedPerson, wanted["related_person"]),
        users=user_display_names(session, wanted["user"]),
        plans=_uuids(session, CarePlan, wanted["plan"]),
        problems=_problems(session, wanted["problem"]) if wanted["problem"] else {},
        members=_members(session, wanted["member"]) if wanted["member"] else {},
        care_teams=_with_care_team(session, plan_patients) if plan_patients else frozenset(),
    )
