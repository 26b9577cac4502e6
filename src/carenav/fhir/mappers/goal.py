"""Goal: a care plan's goal (or one that stands on its own), with its lifecycle and achievement kept
apart, priority, target, progress notes, and the condition of its problem as ``addresses``.

The target: a quantity (with its comparator), a range or words, with the measure and the due date. FHIR
wants a measure beside any detail (invariant gol-1): a target without a measure is given the goal's own
words as its measure (the import reads that back as "no measure"). A patient-stated goal is
``expressedBy`` the patient.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from carenav.fhir.mappers.common import (
    UCUM,
    FHIRDict,
    Refs,
    concept,
    day,
    instant,
    reference,
    resource,
)

if TYPE_CHECKING:
    from carenav.careplans.models import Goal

GOAL = "Goal"
GOAL_ACHIEVEMENT = "http://terminology.hl7.org/CodeSystem/goal-achievement"
GOAL_PRIORITY = "http://terminology.hl7.org/CodeSystem/goal-priority"
GOAL_LIFECYCLE = "http://hl7.org/fhir/goal-status"
ACHIEVEMENT_DISPLAY = {
    "in-progress": "In Progress",
    "improving": "Improving",
    "worsening": "Worsening",
    "no-change": "No Change",
    "achieved": "Achieved",
    "sustaining": "Sustaining",
    "not-achieved": "Not Achieved",
    "no-progress": "No Progress",
    "not-attainable": "Not Attainable",
}
PRIORITY_DISPLAY = {
    "high-priority": "High Priority",
    "medium-priority": "Medium Priority",
    "low-priority": "Low Priority",
}
FHIR_COMPARATORS = frozenset({"<", "<=", ">=", ">"})


def json_number(text: str) -> int | float:
    """A decimal kept as text as a JSON number: whole numbers written without a point stay integers."""
    number = Decimal(text)
    if number == number.to_integral_value() and "." not in text and "e" not in text.lower():
        return int(number)
    return float(text)


def _quantity(value: str | None, unit: str | None, comparator: str | None = None) -> FHIRDict | None:
    if value is None:
        return None
    out: FHIRDict = {"value": json_number(value)}
    if comparator in FHIR_COMPARATORS:
        out["comparator"] = comparator
    if unit:
        out.update(unit=unit, system=UCUM, code=unit)
    return out


def _detail(goal: Goal) -> FHIRDict:
    if goal.target_kind == "quantity":
        quantity = _quantity(goal.target_value, goal.target_unit, goal.target_comparator)
        return {"detailQuantity": quantity} if quantity else {}
    if goal.target_kind == "range":
        bounds = {
            key: value
            for key, value in (
                ("low", _quantity(goal.target_low, goal.target_unit)),
                ("high", _quantity(goal.target_high, goal.target_unit)),
            )
            if value
        }
        return {"detailRange": bounds} if bounds else {}
    if goal.target_kind == "text" and goal.target_text:
        return {"detailString": goal.target_text}
    return {}


def goal_target(goal: Goal) -> list[FHIRDict]:
    """The goal's one target: measure, detail and due date (none when it has none of them)."""
    measure = concept(goal.measure_system, goal.measure_code, goal.measure_display)
    out: FHIRDict = {}
    detail = _detail(goal)
    if measure is None and detail:
        measure = {"text": goal.description}  # gol-1: a detail needs a measure
    if measure is not None:
        out["measure"] = measure
    out.update(detail)
    if goal.due_on is not None:
        out["dueDate"] = day(goal.due_on)
    return [out] if out else []


def _addresses(goal: Goal, refs: Refs) -> list[FHIRDict] | None:
    problem = refs.problems.get(goal.problem_id) if goal.problem_id is not None else None
    if problem is None:
        return None
    found = reference("Condition", problem.condition, problem.text)
    return [found] if found else None


def _notes(goal: Goal) -> list[FHIRDict]:
    return [{"authorString": note.author, "time": instant(note.at), "text": note.text} for note in goal.notes]


def goal_resource(goal: Goal, refs: Refs) -> FHIRDict:
    patient = refs.patients.get(goal.patient_id)
    subject = reference("Patient", patient) or {"display": "unknown patient"}
    elements: dict[str, Any] = {
        "lifecycleStatus": goal.lifecycle,
        "achievementStatus": concept(
            GOAL_ACHIEVEMENT, goal.achievement, ACHIEVEMENT_DISPLAY.get(goal.achievement or "")
        ),
        "priority": concept(GOAL_PRIORITY, goal.priority, PRIORITY_DISPLAY.get(goal.priority or "")),
        "description": {"text": goal.description},
        "subject": subject,
        "startDate": day(goal.start_on),
        "target": goal_target(goal),
        "statusDate": day(goal.status_date),
        "statusReason": goal.status_reason,
        "expressedBy": subject if goal.patient_stated and patient else None,
        "addresses": _addresses(goal, refs),
        "note": _notes(goal),
    }
    return resource(GOAL, goal.uuid, goal.updated_at, **elements)
