"""CarePlan: a care plan with its problems (``addresses``), goals and interventions (``activity``, as
Task references), the patient's care team, and a generated narrative of the whole plan.

Our statuses are FHIR's. The category is US Core's ``assess-plan``. The author is the Practitioner or
RelatedPerson an imported plan named, else a display (the carenav user who made it, or the source's
words). A problem that is one of the record's conditions is a Condition reference, else its words.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from carenav.fhir.mappers.common import (
    FHIRDict,
    Refs,
    compact,
    concept,
    day,
    period,
    reference,
    resource,
)

if TYPE_CHECKING:
    from carenav.careplans.models import CarePlan

CARE_PLAN = "CarePlan"
US_CORE_CAREPLAN_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/careplan-category"
ASSESS_PLAN = "assess-plan"
ASSESS_PLAN_DISPLAY = "Assessment and Plan of Treatment"
XHTML = "http://www.w3.org/1999/xhtml"


def _author(plan: CarePlan, refs: Refs) -> FHIRDict:
    if plan.author_practitioner_id is not None and plan.author_practitioner_id in refs.practitioners:
        return reference("Practitioner", refs.practitioners[plan.author_practitioner_id], plan.author) or {}
    if plan.author_related_person_id is not None and plan.author_related_person_id in refs.related_persons:
        return (
            reference("RelatedPerson", refs.related_persons[plan.author_related_person_id], plan.author) or {}
        )
    return {"display": plan.author}


def _section(title: str, items: list[str]) -> str:
    if not items:
        return ""
    listed = "".join(f"<li>{escape(item)}</li>" for item in items)
    return f"<p>{escape(title)}</p><ul>{listed}</ul>"


def care_plan_narrative(plan: CarePlan) -> FHIRDict:
    """The plan as a person reads it (US Core asks for a narrative): title, status, the problems, goals
    (with their targets' words and status), steps and barriers."""
    head = f"<p><b>{escape(plan.title)}</b> ({escape(plan.status)})</p>"
    if plan.status_reason:
        head += f"<p>Status reason: {escape(plan.status_reason)}</p>"
    if plan.description:
        head += f"<p>{escape(plan.description)}</p>"
    problems = [p.text + (" (resolved)" if p.status == "resolved" else "") for p in plan.problems]
    goals = [f"{g.description} ({g.lifecycle})" for g in plan.goals]
    steps = [f"{i.text} ({i.status})" for i in plan.interventions]
    barriers = [b.text + (f" (mitigation: {b.mitigation})" if b.mitigation else "") for b in plan.barriers]
    body = (
        _section("Problems", problems)
        + _section("Goals", goals)
        + _section("Interventions", steps)
        + _section("Barriers", barriers)
    )
    return {"status": "generated", "div": f'<div xmlns="{XHTML}">{head}{body}</div>'}


def care_plan_resource(plan: CarePlan, refs: Refs) -> FHIRDict:
    patient = refs.patients.get(plan.patient_id)
    addresses = [
        reference("Condition", refs.conditions.get(p.condition_id) if p.condition_id else None, p.text)
        for p in plan.problems
    ]
    care_team = reference("CareTeam", patient) if patient and plan.patient_id in refs.care_teams else None
    return resource(
        CARE_PLAN,
        plan.uuid,
        plan.updated_at,
        text=care_plan_narrative(plan),
        status=plan.status,
        intent=plan.intent,
        category=[concept(US_CORE_CAREPLAN_CATEGORY, ASSESS_PLAN, ASSESS_PLAN_DISPLAY)],
        title=plan.title,
        description=plan.description,
        subject=reference("Patient", patient) or {"display": "unknown patient"},
        period=period(day(plan.period_start), day(plan.period_end)),
        author=_author(plan, refs),
        careTeam=[care_team] if care_team else None,
        addresses=compact(addresses),
        goal=[{"reference": f"Goal/{g.uuid}", "display": g.description} for g in plan.goals],
        activity=[
            {"reference": {"reference": f"Task/{i.uuid}", "display": i.text}} for i in plan.interventions
        ],
    )
