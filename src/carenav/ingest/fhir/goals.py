"""Goal to a ``care_plan_goals`` row (with its notes as progress notes).

A Goal says nothing of the plan it belongs to: its plan is the CarePlan that lists it
(``ReferenceIndex.plans`` when that CarePlan was read first in the run; the CarePlan's claim otherwise).
Its ``addresses`` becomes the problem of that plan that is the same Condition. Only the first target is
kept.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from carenav.careplans.rules import Achievement, GoalLifecycle, GoalPriority, Target, TargetKind, target_make
from carenav.errors import InvalidInput
from carenav.ingest.fhir.datatypes import (
    ResourceProblem,
    as_list,
    as_object,
    as_text,
    clip,
    codings,
    concept_text,
    first_coding,
    parse_date,
    parse_instant,
)
from carenav.ingest.fhir.references import ReferenceIndex
from carenav.patients.rules import LOINC, SNOMED, UCUM
from carenav.patients.services import Lookup, RecordKind, Ref, SourceRecord, plan_of_patient, problem_of_plan

GOAL_ACHIEVEMENT = "http://terminology.hl7.org/CodeSystem/goal-achievement"
GOAL_PRIORITY = "http://terminology.hl7.org/CodeSystem/goal-priority"
LIFECYCLES = frozenset({*(s.value for s in GoalLifecycle), "entered-in-error"})
IMPORTED_AUTHOR = "imported"


def map_goal(resource: dict[str, Any], refs: ReferenceIndex, source_id: str) -> list[SourceRecord]:
    plan = refs.plans.get(("Goal", source_id))
    listed = plan_of_patient(Ref(RecordKind.CARE_PLAN, plan)) if plan else None
    return [goal_record(resource, refs, source_id, plan=listed)]


def goal_record(
    resource: dict[str, Any],
    refs: ReferenceIndex,
    source_id: str,
    *,
    plan: Ref | Lookup | None,
    patient: str | None = None,
) -> SourceRecord:
    """The goal row of ``resource``; ``patient``: the patient it must belong to (a contained Goal)."""
    owner = refs.patient_id(resource.get("subject"), "subject")
    if patient is not None and owner != patient:
        raise ResourceProblem(f"subject is Patient/{owner}, not the care plan's patient (Patient/{patient})")
    lifecycle = resource.get("lifecycleStatus")
    if lifecycle is None:
        raise ResourceProblem("lifecycleStatus is missing")
    if lifecycle not in LIFECYCLES:
        raise ResourceProblem(f"lifecycleStatus {lifecycle!r} is not one of {', '.join(sorted(LIFECYCLES))}")
    description = concept_text(resource.get("description"), "description")
    if not description:
        raise ResourceProblem("description has neither text nor a coding with a display")
    targets = as_list(resource.get("target"), "target")
    expressed = refs.target(resource.get("expressedBy"), "expressedBy")
    values: dict[str, Any] = {
        "plan_id": plan,
        "problem_id": _problem(resource, refs),
        "description": description,
        "patient_stated": expressed == ("Patient", owner),
        "priority": _code_in(resource.get("priority"), "priority", GOAL_PRIORITY, frozenset(GoalPriority)),
        "lifecycle": lifecycle,
        "achievement": _code_in(
            resource.get("achievementStatus"), "achievementStatus", GOAL_ACHIEVEMENT, frozenset(Achievement)
        ),
        "status_reason": as_text(resource.get("statusReason"), "statusReason"),
        "status_date": parse_date(resource.get("statusDate"), "statusDate"),
        "start_on": parse_date(resource.get("startDate"), "startDate"),
        **(_target(as_object(targets[0], "target[0]"), "target[0]", description) if targets else {}),
    }
    notes = _notes(resource, values["status_date"] or values["start_on"])
    return SourceRecord(RecordKind.GOAL, source_id, values, patient=owner, children={"notes": notes})


def _code_in(concept: Any, element: str, system: str, allowed: frozenset[str]) -> str | None:
    """The code of ``concept`` in ``system`` (or a coding without a system), which must be one of
    ``allowed``; None when the concept has no such coding (text alone, another system: not kept)."""
    for number, coding in enumerate(codings(concept, element)):
        if coding["code"] and coding["system"] in (system, None):
            if coding["code"] not in allowed:
                raise ResourceProblem(
                    f"{element}.coding[{number}].code {coding['code']!r} is not one of "
                    f"{', '.join(sorted(allowed))}"
                )
            return str(coding["code"])
    return None


def _problem(resource: dict[str, Any], refs: ReferenceIndex) -> Any:
    """The problem of the goal's plan that is the first Condition the goal addresses (found once written)."""
    for number, reference in enumerate(as_list(resource.get("addresses"), "addresses")):
        target = refs.target(reference, f"addresses[{number}]")
        if target is not None and target[0] == "Condition":
            return problem_of_plan(Ref(RecordKind.CONDITION, target[1]))
    return None


def _target(target: dict[str, Any], element: str, description: str) -> dict[str, Any]:
    """The measure, target and due date of one Goal.target. A measure that is only the goal's own words
    is how carenav writes a target without a measure (a detail needs a measure in FHIR): not a measure."""
    measure = target.get("measure")
    coding = first_coding(measure, f"{element}.measure", (LOINC, SNOMED))
    words = concept_text(measure, f"{element}.measure")
    if coding is None and words == description:
        words = None
    values: dict[str, Any] = {
        "measure_system": coding["system"] if coding else None,
        "measure_code": coding["code"] if coding else None,
        "measure_display": clip((coding and coding["display"]) or words, 300),
        "due_on": parse_date(target.get("dueDate"), f"{element}.dueDate"),
    }
    made = _detail(target, element)
    if made is not None:
        values.update(
            target_kind=made.kind.value,
            target_comparator=made.comparator if made.kind is TargetKind.QUANTITY else None,
            target_value=_text(made.value),
            target_low=_text(made.low),
            target_high=_text(made.high),
            target_unit=clip(made.unit, 40),
            target_text=made.text,
        )
    return values


def _detail(target: dict[str, Any], element: str) -> Target | None:
    """detailQuantity, detailRange, detailString or detailInteger as a checked ``Target``; other kinds of
    detail (CodeableConcept, Boolean, Ratio) are not kept."""
    try:
        if "detailQuantity" in target:
            where = f"{element}.detailQuantity"
            quantity = as_object(target["detailQuantity"], where)
            comparator = as_text(quantity.get("comparator"), f"{where}.comparator")
            return target_make(
                "quantity",
                value=_number(quantity.get("value"), f"{where}.value"),
                comparator=comparator or "=",
                unit=_unit(quantity, where),
                where=where,
            )
        if "detailRange" in target:
            where = f"{element}.detailRange"
            bounds = as_object(target["detailRange"], where)
            low = as_object(bounds.get("low") or {}, f"{where}.low")
            high = as_object(bounds.get("high") or {}, f"{where}.high")
            return target_make(
                "range",
                low=_number(low.get("value"), f"{where}.low.value"),
                high=_number(high.get("value"), f"{where}.high.value"),
                unit=_unit(low, f"{where}.low") or _unit(high, f"{where}.high"),
                where=where,
            )
        if "detailString" in target:
            text = as_text(target["detailString"], f"{element}.detailString")
            return target_make("text", text=text, where=f"{element}.detailString")
        if "detailInteger" in target:
            where = f"{element}.detailInteger"
            return target_make("quantity", value=_number(target["detailInteger"], where), where=where)
    except InvalidInput as exc:
        if isinstance(exc, ResourceProblem):
            raise
        raise ResourceProblem(str(exc)) from None
    return None


def _number(value: Any, element: str) -> str | None:
    """A JSON number as the decimal text it was written as (``7.0`` stays ``7.0``)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ResourceProblem(f"{element} must be a number, not {value!r}")
    return repr(value) if isinstance(value, float) else str(value)


def _unit(quantity: dict[str, Any], element: str) -> str | None:
    """The UCUM code when the quantity gives one, else its unit as written."""
    code = as_text(quantity.get("code"), f"{element}.code")
    if code and quantity.get("system") == UCUM:
        return code
    return as_text(quantity.get("unit"), f"{element}.unit")


def _text(number: Decimal | None) -> str | None:
    return None if number is None else format(number, "f")


def _notes(resource: dict[str, Any], fallback: date | None) -> list[dict[str, Any]]:
    """Goal.note as progress notes: the note's time, else the goal's status or start date (a note with
    no time at all is dated the day the goal was last updated at the source: its statusDate)."""
    notes = []
    for number, note in enumerate(as_list(resource.get("note"), "note")):
        element = f"note[{number}]"
        note = as_object(note, element)
        text = as_text(note.get("text"), f"{element}.text")
        if not text:
            raise ResourceProblem(f"{element}.text is missing")
        at = parse_instant(note.get("time"), f"{element}.time")
        if at is None and fallback is not None:
            at = datetime(fallback.year, fallback.month, fallback.day, tzinfo=UTC)
        if at is None:
            raise ResourceProblem(
                f"{element} has no time, and the goal no statusDate or startDate to date it by"
            )
        author = note.get("authorString")
        if author is None and isinstance(note.get("authorReference"), dict):
            author = note["authorReference"].get("display")
        notes.append(
            {
                "at": at,
                "author": clip(author if isinstance(author, str) else None, 200) or IMPORTED_AUTHOR,
                "text": text,
                "achievement": None,
            }
        )
    return notes
