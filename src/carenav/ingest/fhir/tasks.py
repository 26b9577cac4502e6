"""Task to a ``care_plan_interventions`` row, with the goals it serves.

The plan is the CarePlan named by ``basedOn`` or ``focus``, else the CarePlan that lists the Task as an
activity (``ReferenceIndex.plans``, or its claim) — only ever a plan of the same patient. The owner is
the care-team member who is the Practitioner or RelatedPerson the Task names (found once written), the
patient themself, or, for anyone else, their name. The goals: ``input[].valueReference``,
``reasonReference`` and the extension ``resource-pertainsToGoal`` that reference a Goal.
"""

from __future__ import annotations

from typing import Any

from carenav.careplans.rules import InterventionIntent, InterventionStatus
from carenav.careplans.templates import PATIENT_OWNER
from carenav.ingest.fhir.care_plan_vocabulary import intervention_kind
from carenav.ingest.fhir.datatypes import (
    ResourceProblem,
    as_list,
    as_object,
    as_text,
    clip,
    codings,
    concept_text,
    parse_date,
    person_name,
)
from carenav.ingest.fhir.references import ReferenceIndex, contained
from carenav.patients.rules import CareTeamRole
from carenav.patients.services import (
    Lookup,
    RecordKind,
    Ref,
    SourceRecord,
    member_of_patient,
    plan_of_patient,
)

CARE_TEAM_ROLE_SYSTEM = "https://carenav.org/fhir/CodeSystem/care-team-role"
PERTAINS_TO_GOAL = "http://hl7.org/fhir/StructureDefinition/resource-pertainsToGoal"
_STATUSES = frozenset(InterventionStatus)
_INTENTS = frozenset(InterventionIntent)
_ROLES = frozenset(CareTeamRole)
_MEMBER_KINDS = {"Practitioner": RecordKind.PRACTITIONER, "RelatedPerson": RecordKind.RELATED_PERSON}


def map_task(resource: dict[str, Any], refs: ReferenceIndex, source_id: str) -> list[SourceRecord]:
    patient = refs.patient_id(resource.get("for"), "for")
    status = resource.get("status")
    if status is None:
        raise ResourceProblem("status is missing")
    if status not in _STATUSES:
        raise ResourceProblem(f"status {status!r} is not a Task status")
    intent = resource.get("intent", InterventionIntent.PLAN.value)
    if intent not in _INTENTS:
        raise ResourceProblem(f"intent {intent!r} is not one of {', '.join(sorted(_INTENTS))}")
    code = resource.get("code")
    description = as_text(resource.get("description"), "description")
    code_words = concept_text(code, "code")
    text = description or code_words
    if not text:
        raise ResourceProblem("has neither a description nor a code with text: nothing says what the task is")
    restriction = as_object(resource.get("restriction") or {}, "restriction")
    period = as_object(restriction.get("period") or {}, "restriction.period")
    owner = owner_values(resource.get("owner"), "owner", refs, patient, resource)
    role = _role(resource)
    if role is not None and owner["owner_role"] is None:
        owner["owner_role"] = role
    values = {
        "plan_id": _plan(resource, refs, source_id),
        "kind": intervention_kind(
            ((c["system"], c["code"]) for c in codings(code, "code")), (code_words, description)
        ).value,
        "text": text,
        **owner,
        "due_on": parse_date(period.get("end"), "restriction.period.end"),
        "status": status,
        "intent": intent,
        "status_reason": concept_text(resource.get("statusReason"), "statusReason"),
    }
    return [
        SourceRecord(
            RecordKind.INTERVENTION,
            source_id,
            values,
            patient=patient,
            children={"goals": _goals(resource, refs)},
        )
    ]


def _plan(resource: dict[str, Any], refs: ReferenceIndex, source_id: str) -> Lookup | None:
    """The plan named (only if it is the same patient's, found once written)."""
    named = [(f"basedOn[{n}]", ref) for n, ref in enumerate(as_list(resource.get("basedOn"), "basedOn"))]
    if resource.get("focus") is not None:
        named.append(("focus", resource["focus"]))
    for element, reference in named:
        target = refs.target(reference, element)
        if target is not None and target[0] == "CarePlan":
            return plan_of_patient(Ref(RecordKind.CARE_PLAN, target[1]))
    listed = refs.plans.get(("Task", source_id))
    return plan_of_patient(Ref(RecordKind.CARE_PLAN, listed)) if listed else None


def _role(resource: dict[str, Any]) -> str | None:
    """The owner's care-team role, when performerType gives one in carenav's code system."""
    for number, concept in enumerate(as_list(resource.get("performerType"), "performerType")):
        for coding in codings(concept, f"performerType[{number}]"):
            if coding["system"] == CARE_TEAM_ROLE_SYSTEM and coding["code"] in _ROLES:
                return str(coding["code"])
    return None


def owner_values(
    reference: Any, element: str, refs: ReferenceIndex, patient: str, holder: dict[str, Any]
) -> dict[str, Any]:
    """The owner columns for a reference to who does the step: the patient (a self-management step), a
    Practitioner or RelatedPerson (the care-team member who is them, found once written), or anyone
    else by name."""
    if reference is None:
        return {"owner_role": None, "owner_member_id": None, "owner_name": None}
    reference = as_object(reference, element)
    target = refs.target(reference, element)
    display = reference.get("display")
    name = (
        display
        if isinstance(display, str)
        else person_name(refs.resource(target) or contained(holder, reference))
    )
    if target == ("Patient", patient):
        return {"owner_role": PATIENT_OWNER, "owner_member_id": None, "owner_name": clip(name, 300)}
    member = None
    if target is not None and target[0] in _MEMBER_KINDS:
        member = member_of_patient(Ref(_MEMBER_KINDS[target[0]], target[1]))
    return {"owner_role": None, "owner_member_id": member, "owner_name": clip(name, 300)}


def _goals(resource: dict[str, Any], refs: ReferenceIndex) -> list[dict[str, Any]]:
    found: list[tuple[str, Any]] = []
    for number, given in enumerate(as_list(resource.get("input"), "input")):
        given = as_object(given, f"input[{number}]")
        if "valueReference" in given:
            found.append((f"input[{number}].valueReference", given["valueReference"]))
    if resource.get("reasonReference") is not None:
        found.append(("reasonReference", resource["reasonReference"]))
    for number, extension in enumerate(as_list(resource.get("extension"), "extension")):
        extension = as_object(extension, f"extension[{number}]")
        if extension.get("url") == PERTAINS_TO_GOAL and "valueReference" in extension:
            found.append((f"extension[{number}].valueReference", extension["valueReference"]))
    rows: list[dict[str, Any]] = []
    for element, reference in found:
        goal = refs.target(reference, element)
        if goal is not None and goal[0] == "Goal":
            rows.append({"goal_id": Ref(RecordKind.GOAL, goal[1])})
    return rows
