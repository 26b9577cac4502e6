"""Pure rules turning the codes of CarePlan, Goal and Task into carenav's value sets: plan statuses, the
status of a CarePlan's inline activity as a Task status, and the kind of an intervention."""

from __future__ import annotations

import re
from collections.abc import Iterable

from carenav.careplans.rules import InterventionKind, InterventionStatus, PlanStatus
from carenav.ingest.fhir.datatypes import ResourceProblem

INTERVENTION_KIND_SYSTEM = "https://carenav.org/fhir/CodeSystem/intervention-kind"
"""carenav's own code system for the kind of an intervention (Task.code)."""

ENTERED_IN_ERROR_REASON = "entered in error at the source"
STOPPED_REASON = "stopped before it was done (CarePlan activity status 'stopped')"

_PLAN_STATUSES = frozenset(PlanStatus)
_PLAN_STATUS_NAMES = ", ".join(s.value for s in PlanStatus)


def plan_status(code: object) -> tuple[str, str | None]:
    """Our status (and a reason) for a FHIR CarePlan status. ``entered-in-error`` becomes ``revoked``
    (the plan is withdrawn, and a re-import withdraws a plan imported before); ``unknown`` is refused:
    carenav cannot guess where a plan stands."""
    if code is None:
        raise ResourceProblem("status is missing")
    if code == "entered-in-error":
        return PlanStatus.REVOKED.value, ENTERED_IN_ERROR_REASON
    if code == "unknown":
        raise ResourceProblem(
            f"status 'unknown' is not imported: a care plan's status must be one of {_PLAN_STATUS_NAMES} "
            "(or entered-in-error, kept as revoked)"
        )
    if code not in _PLAN_STATUSES:
        raise ResourceProblem(f"status {code!r} is not a CarePlan status")
    return str(code), None


# CarePlan.activity.detail.status (care-plan-activity-status) -> the Task status of our intervention
ACTIVITY_STATUS: dict[str, tuple[InterventionStatus, str | None]] = {
    "not-started": (InterventionStatus.READY, None),
    "scheduled": (InterventionStatus.ACCEPTED, None),
    "in-progress": (InterventionStatus.IN_PROGRESS, None),
    "on-hold": (InterventionStatus.ON_HOLD, None),
    "completed": (InterventionStatus.COMPLETED, None),
    "cancelled": (InterventionStatus.CANCELLED, None),
    "stopped": (InterventionStatus.CANCELLED, STOPPED_REASON),
    "entered-in-error": (InterventionStatus.ENTERED_IN_ERROR, ENTERED_IN_ERROR_REASON),
}


def activity_status(code: object, element: str) -> tuple[str, str | None]:
    """The Task status (and a default reason) of an inline activity; ``unknown`` is refused."""
    if code is None:
        raise ResourceProblem(f"{element}.status is missing")
    found = ACTIVITY_STATUS.get(code) if isinstance(code, str) else None
    if found is None:
        known = ", ".join(ACTIVITY_STATUS)
        raise ResourceProblem(
            f"{element}.status {code!r} cannot be kept: an activity's status must be one of {known}"
        )
    return found[0].value, found[1]


# CarePlan.activity.detail.kind (the kind of request the activity would be) -> our kind
ACTIVITY_KIND: dict[str, InterventionKind] = {
    "MedicationRequest": InterventionKind.MEDICATION_MANAGEMENT,
    "ServiceRequest": InterventionKind.REFERRAL,
    "VisionPrescription": InterventionKind.REFERRAL,
    "NutritionOrder": InterventionKind.SELF_MANAGEMENT,
    "DeviceRequest": InterventionKind.MONITORING,
    "Appointment": InterventionKind.COORDINATION,
    "CommunicationRequest": InterventionKind.COORDINATION,
    "Task": InterventionKind.COORDINATION,
}

# Words of a code's text or displays (starts of words, lower case) that say what kind of step it is,
# tried in this order.
KIND_WORDS: tuple[tuple[tuple[str, ...], InterventionKind], ...] = (
    (("educat", "teach", "counsel", "advice", "advis", "recommend", "instruct"), InterventionKind.EDUCATION),
    (("referral", "refer", "consult"), InterventionKind.REFERRAL),
    (
        ("medication", "drug", "pharmac", "prescri", "inhaler", "insulin"),
        InterventionKind.MEDICATION_MANAGEMENT,
    ),
    (("monitor", "measur", "check", "weigh", "track", "log"), InterventionKind.MONITORING),
    (
        ("social", "housing", "food", "transport", "financ", "benefit", "community"),
        InterventionKind.SOCIAL_SERVICE,
    ),
    (
        ("self", "exercise", "exercises", "diet", "rest", "stretch", "physical", "lifestyle", "walk"),
        InterventionKind.SELF_MANAGEMENT,
    ),
)
_KINDS = frozenset(InterventionKind)
_WORD = re.compile(r"[a-z]+")


def intervention_kind(
    codings: Iterable[tuple[str | None, str | None]], words: Iterable[str | None], request_kind: object = None
) -> InterventionKind:
    """The kind of an intervention: carenav's own coding, else the kind of request an activity names,
    else the words of its code and description, else ``coordination``."""
    for system, code in codings:
        if system == INTERVENTION_KIND_SYSTEM and code in _KINDS:
            return InterventionKind(code)
    if isinstance(request_kind, str) and request_kind in ACTIVITY_KIND:
        return ACTIVITY_KIND[request_kind]
    tokens = [token for text in words if text for token in _WORD.findall(text.lower())]
    for starts, kind in KIND_WORDS:
        if any(token.startswith(start) for token in tokens for start in starts):
            return kind
    return InterventionKind.COORDINATION
