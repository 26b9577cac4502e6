"""Task: an intervention of a care plan (a step: education, a referral, monitoring...).

- ``status`` is ours (the Task machine); ``intent`` ``plan`` for steps made in carenav (an imported Task
  keeps its own).
- ``code``: the kind, in carenav's code system ``https://carenav.org/fhir/CodeSystem/intervention-kind``;
  ``description``: the step in words.
- ``basedOn``: the CarePlan the step carries out; ``for``: the patient.
- ``owner``: the care-team member's Practitioner or RelatedPerson, or the Patient (a self-management
  step), with their name; else the name alone. ``performerType``: the care-team role the step is for
  (care-team-role code system), also when nobody is assigned yet.
- ``restriction.period.end``: the due date. ``authoredOn``/``lastModified``: when the row was made and
  last changed.
- The goals the step serves: one ``input`` each, type ``goal`` in
  ``https://carenav.org/fhir/CodeSystem/task-input-type``, ``valueReference`` the Goal (Task.input is
  0..*, so a step serving several goals says so; ``reasonReference`` holds one only).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from carenav.fhir.mappers.care_team import ROLE_DISPLAY, ROLE_SYSTEM
from carenav.fhir.mappers.common import (
    FHIRDict,
    Refs,
    concept,
    day,
    instant,
    reference,
    resource,
)

if TYPE_CHECKING:
    from carenav.careplans.models import Intervention

TASK = "Task"
GOAL = "Goal"
INTERVENTION_KIND_SYSTEM = "https://carenav.org/fhir/CodeSystem/intervention-kind"
TASK_INPUT_TYPE = "https://carenav.org/fhir/CodeSystem/task-input-type"
GOAL_INPUT = "goal"
PATIENT_OWNER = "patient"
KIND_DISPLAY = {
    "education": "Education",
    "medication-management": "Medication management",
    "monitoring": "Monitoring",
    "referral": "Referral",
    "coordination": "Care coordination",
    "self-management": "Self-management",
    "social-service": "Social service",
}


def _owner(row: Intervention, refs: Refs) -> FHIRDict | None:
    if row.owner_member_id is not None and row.owner_member_id in refs.members:
        resource_type, resource_id = refs.members[row.owner_member_id]
        return reference(resource_type, resource_id, row.owner_name)
    if row.owner_role == PATIENT_OWNER:
        return reference("Patient", refs.patients.get(row.patient_id), row.owner_name)
    return {"display": row.owner_name} if row.owner_name else None


def _goal_inputs(row: Intervention) -> list[FHIRDict]:
    kind = concept(TASK_INPUT_TYPE, GOAL_INPUT, "Goal")
    return [{"type": kind, "valueReference": reference(GOAL, g.uuid, g.description)} for g in row.goals]


def task_resource(row: Intervention, refs: Refs) -> FHIRDict:
    plan = refs.plans.get(row.plan_id) if row.plan_id is not None else None
    role = row.owner_role if row.owner_role in ROLE_DISPLAY else None
    authored = row.created_at
    modified = max(row.updated_at, authored) if row.updated_at and authored else row.updated_at
    return resource(
        TASK,
        row.uuid,
        row.updated_at,
        basedOn=[reference("CarePlan", plan)] if plan else None,
        status=row.status,
        statusReason={"text": row.status_reason} if row.status_reason else None,
        intent=row.intent,
        code=concept(INTERVENTION_KIND_SYSTEM, row.kind, KIND_DISPLAY.get(row.kind)),
        description=row.text,
        **{"for": reference("Patient", refs.patients.get(row.patient_id)) or {"display": "unknown patient"}},
        authoredOn=instant(authored),
        lastModified=instant(modified),
        performerType=[concept(ROLE_SYSTEM, role, ROLE_DISPLAY[role])] if role else None,
        owner=_owner(row, refs),
        restriction={"period": {"end": day(row.due_on)}} if row.due_on else None,
        input=_goal_inputs(row),
    )
