"""Reads of care plans, through the access gate on patients (NotFound outside reach): a patient's plans,
one plan (audited), its history with what changed in each version, the latest measured value of each
measured goal, and the agreements recorded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor, patient_visible
from carenav.accounts.queries import user_display_names
from carenav.audit.services import audit_record
from carenav.careplans.models import CarePlan, CarePlanAgreement, CarePlanVersion, Goal
from carenav.careplans.services import ENTITY, plan_for_change
from carenav.careplans.templates import measure_codes
from carenav.careplans.versions import plan_diff
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
    """The latest final value of each measured goal's measure in the patient's record, by goal id."""
    out: dict[int, Measured] = {}
    for goal in plan.goals:
        found = _latest(session, goal)
        if found is not None:
            out[goal.id] = found
    return out


def _latest(session: Session, goal: Goal) -> Measured | None:
    """The newest value of the goal's measure: an observation of that code, or the component of a
    panel (systolic blood pressure is a component of the blood pressure panel); equivalent codes count
    (``templates.measure_codes``: Synthea's MDRD eGFR for a CKD-EPI 2021 goal)."""
    if goal.measure_code is None:
        return None
    codes = measure_codes(goal.measure_system, goal.measure_code)
    whole = (
        select(Observation.value_quantity, Observation.value_unit, Observation.effective_at, Observation.id)
        .where(
            Observation.patient_id == goal.patient_id,
            Observation.code_system == goal.measure_system,
            Observation.code.in_(codes),
            Observation.status.in_(FINAL),
            Observation.value_quantity.is_not(None),
        )
        .order_by(Observation.effective_at.desc(), Observation.id.desc())
        .limit(1)
    )
    part = (
        select(
            ObservationComponent.value_quantity,
            ObservationComponent.value_unit,
            Observation.effective_at,
            Observation.id,
        )
        .join(Observation, Observation.id == ObservationComponent.observation_id)
        .where(
            Observation.patient_id == goal.patient_id,
            ObservationComponent.code_system == goal.measure_system,
            ObservationComponent.code.in_(codes),
            Observation.status.in_(FINAL),
            ObservationComponent.value_quantity.is_not(None),
        )
        .order_by(Observation.effective_at.desc(), Observation.id.desc())
        .limit(1)
    )
    found = [
        row for row in (session.execute(whole).first(), session.execute(part).first()) if row is not None
    ]
    if not found:
        return None
    value, unit, at, _id = max(found, key=lambda r: (r[2] is not None, r[2] or datetime.min, r[3]))
    return None if value is None else Measured(float(value), unit, at)


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
