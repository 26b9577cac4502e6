"""Care plans for the demo population (``carenav demo load``, never production): for the first patients of
each care manager's caseload whose conditions call for a template, a plan from that template with its goals
accepted and activated, a patient-stated goal, and the patient's agreement — made through the services, as
a care manager would."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.careplans.models import CarePlan
from carenav.careplans.rules import GoalLifecycle, PlanStatus
from carenav.careplans.services import (
    goal_add,
    goal_status_change,
    plan_agreement_record,
    plan_create,
    plan_status_change,
    plan_template_apply,
    templates_for_patient,
)
from carenav.clock import frozen_at, today
from carenav.patients.models import Patient

OWN_GOAL = "Stay well enough to keep doing what I enjoy at home"


def demo_plans_record(
    *, session: Session, actors: Sequence[tuple[Actor, Sequence[str]]], as_of: date, per_caseload: int = 4
) -> int:
    """A plan for up to ``per_caseload`` patients of each care manager (those with a template and no plan
    yet); returns how many were made."""
    made = 0
    with frozen_at(datetime.combine(as_of, time(16), tzinfo=UTC)):
        for actor, patient_uuids in actors:
            planned = 0  # the caseload's first patients a template fits, with a plan already or made now
            for patient_uuid in patient_uuids:
                if planned >= per_caseload:
                    break
                outcome = _plan(session, actor, patient_uuid)
                planned += outcome in ("made", "had one")
                made += outcome == "made"
    return made


def _plan(session: Session, actor: Actor, patient_uuid: str) -> str:
    """``made``, ``had one`` (left alone), or ``no template`` (none of their conditions calls for one)."""
    patient = session.scalar(select(Patient).where(Patient.uuid == patient_uuid))
    if patient is None:
        return "no template"
    if session.scalar(select(CarePlan.id).where(CarePlan.patient_id == patient.id).limit(1)):
        return "had one"
    templates = templates_for_patient(session, patient.id)
    if not templates:
        return "no template"
    template = templates[0]
    plan = plan_create(
        session=session, actor=actor, patient_uuid=patient_uuid, title=f"{template.title} care"
    )
    plan_template_apply(session=session, actor=actor, plan_uuid=plan.uuid, template_id=template.id)
    goal_add(session=session, actor=actor, plan_uuid=plan.uuid, description=OWN_GOAL, patient_stated=True)
    session.refresh(plan)
    for goal in plan.goals:
        goal_status_change(session=session, actor=actor, goal_uuid=goal.uuid, to=GoalLifecycle.ACCEPTED)
        goal_status_change(session=session, actor=actor, goal_uuid=goal.uuid, to=GoalLifecycle.ACTIVE)
    plan_status_change(session=session, actor=actor, plan_uuid=plan.uuid, to=PlanStatus.ACTIVE)
    plan_agreement_record(
        session=session,
        actor=actor,
        plan_uuid=plan.uuid,
        agreed_on=plan.period_start or today(),
        method="in-person",
    )
    return "made"
