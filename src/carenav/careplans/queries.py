"""Reads of care plans, through the access gate on patients (NotFound outside reach): a patient's plans,
one plan (audited), its history with what changed in each version, the latest measured value of each
measured goal, and the agreements recorded."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor, patient_visible
from carenav.accounts.queries import user_display_names
from carenav.audit.services import audit_record
from carenav.careplans.models import CarePlan, CarePlanAgreement, CarePlanVersion, Goal
from carenav.careplans.rules import OPEN_GOAL, OPEN_PLAN
from carenav.careplans.services import ENTITY, plan_for_change
from carenav.careplans.templates import measure_codes
from carenav.careplans.versions import plan_diff
from carenav.db.session import kept_for_reads
from carenav.patients.models import Observation, ObservationComponent, Patient

FINAL = ("final", "amended", "corrected")


def plans_for_patient(*, session: Session, actor: Actor, patient_uuid: str) -> list[CarePlan]:
    """The patient's care plans: open ones first, then by start, newest first."""
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    closed = CarePlan.status.in_(("completed", "revoked"))
    return list(
        session.scalars(
            select(CarePlan)
            .where(CarePlan.patient_id == patient.id)
            .order_by(closed, CarePlan.period_start.desc(), CarePlan.id.desc())
        )
    )


@kept_for_reads
def open_goals(session: Session, patient_id: int) -> tuple[Goal, ...]:
    """The goals a referral, a step, an alternative or a contact's progress note may serve: the open goals
    of the patient's open plans, in plan order. A page's panels share one read."""
    return tuple(
        session.scalars(
            select(Goal)
            .join(CarePlan, CarePlan.id == Goal.plan_id)
            .where(
                CarePlan.patient_id == patient_id,
                CarePlan.status.in_([s.value for s in OPEN_PLAN]),
                Goal.lifecycle.in_([s.value for s in OPEN_GOAL]),
            )
            .order_by(CarePlan.id, Goal.id)
        )
    )


def plan_read(
    *, session: Session, actor: Actor, plan_uuid: str, what: str = "care plan"
) -> tuple[CarePlan, Patient]:
    """One plan and its patient, audited as a read of ``what``."""
    plan, patient = plan_for_change(session, actor, plan_uuid)
    audit_record(
        session=session,
        actor=actor,
        action="read",
        patient_uuid=patient.uuid,
        entity_type=ENTITY,
        entity_id=plan.uuid,
        detail=what,
    )
    return plan, patient


@dataclass(frozen=True)
class VersionView:
    version: int
    at: datetime
    actor: str
    summary: str
    changes: list[str]


def plan_history(*, session: Session, plan: CarePlan) -> list[VersionView]:
    """Every version of the plan, newest first, each with what changed from the one before."""
    versions = list(
        session.scalars(
            select(CarePlanVersion)
            .where(CarePlanVersion.plan_id == plan.id)
            .order_by(CarePlanVersion.version)
        )
    )
    out: list[VersionView] = []
    previous: dict[str, object] = {}
    for version in versions:
        out.append(
            VersionView(
                version.version,
                version.at,
                version.actor,
                version.summary,
                plan_diff(previous, version.snapshot),
            )
        )
        previous = version.snapshot
    return list(reversed(out))


def plan_agreements(*, session: Session, plan: CarePlan) -> list[CarePlanAgreement]:
    return list(
        session.scalars(
            select(CarePlanAgreement)
            .where(CarePlanAgreement.plan_id == plan.id)
            .order_by(CarePlanAgreement.agreed_on.desc(), CarePlanAgreement.id.desc())
        )
    )


@dataclass(frozen=True)
class Measured:
    value: float
    unit: str | None
    at: datetime | None


def latest_measured(*, session: Session, plan: CarePlan) -> dict[int, Measured]:
    """The latest final value of each measured goal's measure in the patient's record, by goal id: an
    observation of that code, or the component of a panel (systolic blood pressure is a component of the
    blood pressure panel); equivalent codes count (``templates.measure_codes``: Synthea's MDRD eGFR for a
    CKD-EPI 2021 goal). Two queries for the whole plan, whatever its number of goals."""
    wanted = {
        goal.id: [
            (goal.measure_system, code) for code in measure_codes(goal.measure_system, goal.measure_code)
        ]
        for goal in plan.goals
        if goal.measure_code is not None
    }
    pairs = {pair for pairs in wanted.values() for pair in pairs}
    if not pairs:
        return {}
    codes = sorted({code for _system, code in pairs})
    final = (Observation.patient_id == plan.patient_id, Observation.status.in_(FINAL))
    whole = select(
        Observation.code_system, Observation.code, Observation.value_quantity, Observation.value_unit,
        Observation.effective_at, Observation.id,
    ).where(*final, Observation.code.in_(codes), Observation.value_quantity.is_not(None))  # fmt: skip
    part = (
        select(
            ObservationComponent.code_system,
            ObservationComponent.code,
            ObservationComponent.value_quantity,
            ObservationComponent.value_unit,
            Observation.effective_at,
            Observation.id,
        )
        .join(Observation, Observation.id == ObservationComponent.observation_id)
        .where(*final, ObservationComponent.code.in_(codes), ObservationComponent.value_quantity.is_not(None))
    )
    newest: dict[tuple[str | None, str | None], tuple[Any, ...]] = {}
    for row in [*session.execute(whole), *session.execute(part)]:
        key = (row[0], row[1])
        if key in pairs and (key not in newest or _later(row, newest[key])):
            newest[key] = tuple(row)
    out: dict[int, Measured] = {}
    for goal_id, goal_pairs in wanted.items():
        found = [newest[pair] for pair in goal_pairs if pair in newest]
        if found:
            _system, _code, value, unit, at, _id = max(found, key=_recency)
            out[goal_id] = Measured(float(value), unit, at)
    return out


def _recency(row: Sequence[Any]) -> tuple[bool, datetime, int]:
    """Newest first by effective time (rows without one last), then by id."""
    return (row[4] is not None, row[4] or datetime.min.replace(tzinfo=UTC), row[5])


def _later(row: Sequence[Any], than: Sequence[Any]) -> bool:
    return _recency(row) > _recency(than)


def plan_contributors(*, session: Session, plan: CarePlan) -> list[str]:
    """Who has worked on the plan (its author first, then everyone who changed it), by name."""
    rows = session.execute(
        select(CarePlanVersion.user_id, CarePlanVersion.actor)
        .where(CarePlanVersion.plan_id == plan.id)
        .order_by(CarePlanVersion.version)
    ).all()
    names = user_display_names(session, [plan.author_user_id, *(user_id for user_id, _ in rows)])
    ordered = [names.get(plan.author_user_id or 0, plan.author)]
    ordered += [names.get(user_id or 0, actor) for user_id, actor in rows]
    return list(dict.fromkeys(ordered))
