"""CarePlan to a ``care_plans`` row with its problems, and the goals and interventions it holds.

- ``addresses``: one problem per Condition (linked to it when the Condition is in the record; a contained
  or unresolvable Condition gives a problem in words: the reference's display, else the Condition's text).
- ``goal``: a contained Goal becomes a goal of the plan (source id ``<plan id>#<contained id>``); a
  referenced Goal is claimed (its ``plan_id`` set to this plan once both are written) and remembered in
  ``ReferenceIndex.plans`` for a Goal read later in the run.
- ``activity``: a ``reference`` to a Task is claimed the same way; an inline ``detail`` becomes an
  intervention of the plan (source id ``<plan id>/activity/<n>``). References to other kinds of request
  (ServiceRequest, Appointment...) are not kept.
- The title is the CarePlan's title, else its first category's words, else its description, else
  "Care plan"; the author the author's display (or name), linked to a Practitioner or RelatedPerson of the
  record, else "imported". Statuses: see ``care_plan_vocabulary``.
"""

from __future__ import annotations

from typing import Any

from carenav.careplans.rules import InterventionIntent, PlanIntent
from carenav.ingest.fhir.care_plan_vocabulary import activity_status, intervention_kind, plan_status
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
from carenav.ingest.fhir.goals import IMPORTED_AUTHOR, goal_record
from carenav.ingest.fhir.references import ReferenceIndex, contained
from carenav.ingest.fhir.tasks import owner_values
from carenav.patients.services import Claim, RecordKind, Ref, SourceRecord

DEFAULT_TITLE = "Care plan"
US_CORE_CAREPLAN_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/careplan-category"
MAX_SOURCE_ID = 200
_INTENTS = frozenset(PlanIntent)
_AUTHOR_KINDS = {"Practitioner": "author_practitioner_id", "RelatedPerson": "author_related_person_id"}
_AUTHOR_RECORDS = {"Practitioner": RecordKind.PRACTITIONER, "RelatedPerson": RecordKind.RELATED_PERSON}


def map_care_plan(resource: dict[str, Any], refs: ReferenceIndex, source_id: str) -> list[SourceRecord]:
    patient = refs.patient_id(resource.get("subject"), "subject")
    status, reason = plan_status(resource.get("status"))
    intent = resource.get("intent", PlanIntent.PLAN.value)
    if intent not in _INTENTS:
        raise ResourceProblem(f"intent {intent!r} is not one of {', '.join(sorted(_INTENTS))}")
    if len(source_id) > MAX_SOURCE_ID - 20:
        raise ResourceProblem(
            f"id is too long to name the plan's goals and activities by (over {MAX_SOURCE_ID - 20})"
        )
    period = as_object(resource.get("period") or {}, "period")
    start = parse_date(period.get("start"), "period.start")
    end = parse_date(period.get("end"), "period.end")
    if start is not None and end is not None and end < start:
        raise ResourceProblem(f"period ends ({period.get('end')}) before it starts ({period.get('start')})")
    description = as_text(resource.get("description"), "description")
    values: dict[str, Any] = {
        "title": clip(_title(resource, description), 200),
        "status": status,
        "status_reason": reason,
        "period_start": start,
        "period_end": end,
        "intent": intent,
        **_author(resource.get("author"), refs),
        "description": description,
    }
    plan = Ref(RecordKind.CARE_PLAN, source_id)
    records = [SourceRecord(RecordKind.CARE_PLAN, source_id, values, patient=patient)]
    records += _contained_goals(resource, refs, source_id, plan, patient)
    claims: list[Claim] = []
    listed: list[tuple[str, str]] = []  # the Goals and Tasks it lists, remembered once it is all read
    for number, reference in enumerate(as_list(resource.get("goal"), "goal")):
        element = f"goal[{number}]"
        if contained(resource, reference) is not None:
            continue  # a contained Goal: made above
        target = refs.target(reference, element)
        if target is None:
            continue  # display only, or nothing to find it by: not kept
        if target[0] != "Goal":
            raise ResourceProblem(f"{element} references a {target[0]}, not a Goal")
        claims.append(Claim(Ref(RecordKind.GOAL, target[1]), "plan_id"))
        listed.append(target)
    for number, activity in enumerate(as_list(resource.get("activity"), "activity")):
        element = f"activity[{number}]"
        activity = as_object(activity, element)
        if activity.get("reference") is not None:
            target = refs.target(activity["reference"], f"{element}.reference")
            if target is not None and target[0] == "Task":
                claims.append(Claim(Ref(RecordKind.INTERVENTION, target[1]), "plan_id"))
                listed.append(target)
            continue
        if activity.get("detail") is not None:
            records.append(
                _activity(activity["detail"], f"{element}.detail", resource, refs, source_id, number, patient)
            )
    records[0].children = {"problems": _problems(resource, refs)}
    records[0].claims = claims
    refs.plans.update(dict.fromkeys(listed, source_id))
    return records


def _title(resource: dict[str, Any], description: str | None) -> str:
    title = as_text(resource.get("title"), "title")
    if title:
        return title
    for number, concept in enumerate(as_list(resource.get("category"), "category")):
        element = f"category[{number}]"
        if any(c["system"] == US_CORE_CAREPLAN_CATEGORY for c in codings(concept, element)):
            continue  # "assess-plan" says what kind of resource this is, not what the plan is about
        words = concept_text(concept, element)
        if words:
            return words
    return description or DEFAULT_TITLE


def _author(reference: Any, refs: ReferenceIndex) -> dict[str, Any]:
    values: dict[str, Any] = {
        "author": IMPORTED_AUTHOR,
        "author_practitioner_id": None,
        "author_related_person_id": None,
    }
    if reference is None:
        return values
    reference = as_object(reference, "author")
    target = refs.target(reference, "author")
    display = reference.get("display")
    name = display if isinstance(display, str) else person_name(refs.resource(target))
    values["author"] = clip(name, 200) or IMPORTED_AUTHOR
    if target is not None and target[0] in _AUTHOR_KINDS:
        values[_AUTHOR_KINDS[target[0]]] = Ref(_AUTHOR_RECORDS[target[0]], target[1])
    return values


def _problems(resource: dict[str, Any], refs: ReferenceIndex) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    seen: set[Any] = set()
    for number, reference in enumerate(as_list(resource.get("addresses"), "addresses")):
        element = f"addresses[{number}]"
        reference = as_object(reference, element)
        inner = contained(resource, reference)
        target = None if inner is not None else refs.target(reference, element)
        if target is not None and target[0] != "Condition":
            raise ResourceProblem(f"{element} references a {target[0]}, not a Condition")
        found = inner if inner is not None else refs.resource(target)
        display = reference.get("display")
        text = display if isinstance(display, str) and display else None
        if text is None and found is not None:
            text = concept_text(found.get("code"), f"{element} (its Condition's code)")
        if text is None and target is not None:
            text = f"Condition/{target[1]}"
        if text is None:
            continue  # an empty reference: nothing to keep
        key = target or text
        if key in seen:
            continue  # the same condition is not a problem twice
        seen.add(key)
        rows.append(
            {
                "text": clip(text, 300),
                "detail": None,
                "condition_id": Ref(RecordKind.CONDITION, target[1]) if target is not None else None,
                "status": "active",
                "template_ref": None,
            }
        )
    return rows


def _contained_goals(
    resource: dict[str, Any], refs: ReferenceIndex, source_id: str, plan: Ref, patient: str
) -> list[SourceRecord]:
    records = []
    for number, inner in enumerate(as_list(resource.get("contained"), "contained")):
        inner = as_object(inner, f"contained[{number}]")
        if inner.get("resourceType") != "Goal":
            continue  # contained Conditions become problems in words; other contained resources are not kept
        inner_id = inner.get("id")
        if not isinstance(inner_id, str) or not inner_id:
            raise ResourceProblem(f"contained[{number}] (a Goal) has no id")
        if len(source_id) + 1 + len(inner_id) > MAX_SOURCE_ID:
            raise ResourceProblem(
                f"contained Goal #{inner_id}: the plan's id and its id are longer than {MAX_SOURCE_ID}"
            )
        try:
            records.append(goal_record(inner, refs, f"{source_id}#{inner_id}", plan=plan, patient=patient))
        except ResourceProblem as exc:
            raise ResourceProblem(f"contained Goal #{inner_id}: {exc.message}") from None
    return records


def _goal(
    reference: Any, element: str, refs: ReferenceIndex, resource: dict[str, Any], plan_id: str
) -> Ref | None:
    """The Goal a reference names: one contained in the plan, or a Goal of the source."""
    inner = contained(resource, reference)
    if inner is not None:
        return (
            Ref(RecordKind.GOAL, f"{plan_id}#{inner.get('id')}")
            if inner.get("resourceType") == "Goal"
            else None
        )
    target = refs.target(reference, element)
    return Ref(RecordKind.GOAL, target[1]) if target is not None and target[0] == "Goal" else None


def _activity(
    detail: Any,
    element: str,
    resource: dict[str, Any],
    refs: ReferenceIndex,
    plan_id: str,
    number: int,
    patient: str,
) -> SourceRecord:
    """An inline activity as an intervention of the plan: kind from the kind of request or the code's
    words (else coordination), words from the code's text or display, else the description."""
    detail = as_object(detail, element)
    status, reason = activity_status(detail.get("status"), element)
    code = detail.get("code")
    description = as_text(detail.get("description"), f"{element}.description")
    code_words = concept_text(code, f"{element}.code")
    text = code_words or description
    if not text:
        raise ResourceProblem(
            f"{element} has neither a code with words nor a description: nothing says what it is"
        )
    scheduled = as_object(detail.get("scheduledPeriod") or {}, f"{element}.scheduledPeriod")
    performers = as_list(detail.get("performer"), f"{element}.performer")
    owner = owner_values(
        performers[0] if performers else None, f"{element}.performer[0]", refs, patient, resource
    )
    goals = []
    for index, reference in enumerate(as_list(detail.get("goal"), f"{element}.goal")):
        goal = _goal(reference, f"{element}.goal[{index}]", refs, resource, plan_id)
        if goal is not None:
            goals.append({"goal_id": goal})
    values = {
        "plan_id": Ref(RecordKind.CARE_PLAN, plan_id),
        "kind": intervention_kind(
            ((c["system"], c["code"]) for c in codings(code, f"{element}.code")),
            (code_words, description),
            detail.get("kind"),
        ).value,
        "text": text,
        **owner,
        "due_on": parse_date(scheduled.get("end"), f"{element}.scheduledPeriod.end"),
        "status": status,
        "intent": InterventionIntent.PLAN.value,
        "status_reason": concept_text(detail.get("statusReason"), f"{element}.statusReason") or reason,
    }
    return SourceRecord(
        RecordKind.INTERVENTION,
        f"{plan_id}/activity/{number}",
        values,
        patient=patient,
        children={"goals": goals},
    )
