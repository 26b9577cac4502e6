"""A referral as the SDOH Clinical Care IG shapes one: a ServiceRequest (what is asked, of whom, why) and a
Task that tracks its fulfilment (``SDOHCC Task For Referral Management``). Pure: no SQL, no HTTP.

- **ServiceRequest** ``<referral id>``: ``status`` draft | active | completed | revoked (the requester's
  view); ``intent`` order; ``category`` the SDOH domain for a social referral (SDOHCC temporary codes);
  ``code`` the kind in ``https://carenav.org/fhir/CodeSystem/referral-kind`` with the reason as text;
  ``performer`` the organization (display, and its directory id as identifier); ``supportingInfo`` the
  care-plan Goal it serves; ``occurrencePeriod.end`` the expected-by date.
- **Task** ``<fulfilment id>``: ``intent`` order, ``code`` fulfill, ``focus`` the ServiceRequest, ``for`` the
  patient, ``owner`` the organization, ``requester`` who made the referral. ``status`` follows the IG's
  referral machine; carenav's ``received`` (acknowledged, not yet accepted) has no status of its own in
  the IG's value set, so it is ``requested`` with ``businessStatus`` received. A decline or cancellation
  carries its reason in ``statusReason.text``; a completion its outcome as a ``resulting-activity``
  output. Every step and note is a ``note`` with its author and time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from carenav.fhir.mappers.common import FHIRDict, Refs, concept, day, instant, reference, resource

if TYPE_CHECKING:
    from carenav.referrals.models import Referral

SERVICE_REQUEST = "ServiceRequest"
REFERRAL_KIND_SYSTEM = "https://carenav.org/fhir/CodeSystem/referral-kind"
DIRECTORY_ORGANIZATION_SYSTEM = "https://carenav.org/fhir/sid/resource-organization"
SDOHCC_CODES = "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes"
TASK_CODE_SYSTEM = "http://hl7.org/fhir/CodeSystem/task-code"
BUSINESS_STATUS_SYSTEM = "https://carenav.org/fhir/CodeSystem/referral-status"

SDOH_CATEGORY = {
    "food": ("food-insecurity", "Food Insecurity"),
    "transportation": ("transportation-insecurity", "Transportation Insecurity"),
    "housing": ("housing-instability", "Housing Instability"),
    "utilities": ("utility-insecurity", "Utility Insecurity"),
    "financial": ("financial-insecurity", "Financial Insecurity"),
    "respite": ("sdoh-category-unspecified", "SDOH Category Unspecified"),
    "legal": ("sdoh-category-unspecified", "SDOH Category Unspecified"),
}
KIND_DISPLAY = {
    "specialist": "Specialist",
    "home-health": "Home health",
    "therapy": "Physical, occupational or speech therapy",
    "dme": "Durable medical equipment",
    "behavioral-health": "Behavioral health",
    "pharmacy": "Pharmacy / prescription delivery",
    "transportation": "Transportation",
    "food": "Food assistance",
    "housing": "Housing",
    "utilities": "Utilities assistance",
    "financial": "Financial assistance",
    "respite": "Caregiver respite",
    "legal": "Legal aid",
}

SERVICE_REQUEST_STATUS = {
    "draft": "draft",
    "sent": "active",
    "received": "active",
    "accepted": "active",
    "in-progress": "active",
    "completed": "completed",
    "declined": "revoked",
    "cancelled": "revoked",
}
TASK_STATUS = {
    "draft": "draft",
    "sent": "requested",
    "received": "requested",
    "accepted": "accepted",
    "in-progress": "in-progress",
    "completed": "completed",
    "declined": "rejected",
    "cancelled": "cancelled",
}
"""carenav's referral status → the Task status of the SDOH referral machine."""
REFERRAL_STEP_FOR_TASK = {
    "received": "received",
    "accepted": "accepted",
    "rejected": "declined",
    "in-progress": "in-progress",
    "completed": "completed",
    "cancelled": "cancelled",
}
"""A Task status an update may set → the referral step it records (``requested`` with ``businessStatus``
received is ``received`` too; on-hold and failed have no step in carenav's loop)."""


def _category(row: Referral) -> list[FHIRDict] | None:
    found = SDOH_CATEGORY.get(row.kind)
    if found is None:
        return None
    return [c for c in [concept(SDOHCC_CODES, found[0], found[1])] if c]


def _performer(row: Referral) -> FHIRDict:
    out: FHIRDict = {"display": row.recipient}
    organization = row.service.organization if row.service is not None else None
    if organization is not None:
        out["identifier"] = {"system": DIRECTORY_ORGANIZATION_SYSTEM, "value": organization.uuid}
    return out


def _patient(row: Referral, refs: Refs, patient_names: Mapping[int, str]) -> FHIRDict:
    return reference("Patient", refs.patients.get(row.patient_id), patient_names.get(row.patient_id)) or {
        "display": "unknown patient"
    }


def service_request_resource(
    row: Referral, refs: Refs, patient_names: Mapping[int, str] | None = None
) -> FHIRDict:
    goal = row.goal
    return resource(
        SERVICE_REQUEST,
        row.uuid,
        row.status_at,
        status=SERVICE_REQUEST_STATUS[row.status],
        intent="order",
        category=_category(row),
        code=concept(REFERRAL_KIND_SYSTEM, row.kind, KIND_DISPLAY.get(row.kind), text=row.reason),
        subject=_patient(row, refs, patient_names or {}),
        occurrencePeriod={"end": day(row.expected_by)} if row.expected_by else None,
        authoredOn=instant(row.created_at),
        requester={"display": row.created_by},
        performer=[_performer(row)],
        supportingInfo=[reference("Goal", goal.uuid, goal.description)] if goal is not None else None,
        note=[{"text": row.reason}],
    )


def _notes(row: Referral) -> list[FHIRDict]:
    out = []
    for event in row.events:
        step = f"{event.from_status or 'new'} → {event.to_status}" if event.to_status else None
        text = ": ".join(t for t in (step, event.note) if t)
        if text:
            out.append({"authorString": event.actor, "time": instant(event.at), "text": text})
    return out


def _status_reason(row: Referral) -> FHIRDict | None:
    if row.status not in {"declined", "cancelled"}:
        return None
    last = next((e for e in reversed(row.events) if e.to_status == row.status), None)
    return {"text": last.note} if last is not None and last.note else None


def referral_task_resource(
    row: Referral, refs: Refs, patient_names: Mapping[int, str] | None = None
) -> FHIRDict:
    outcome = None
    if row.status == "completed" and row.outcome:
        outcome = [
            {
                "type": concept(SDOHCC_CODES, "resulting-activity", "Resulting Activity"),
                "valueCodeableConcept": {"text": row.outcome},
            }
        ]
    return resource(
        "Task",
        row.fulfilment_uuid,
        row.status_at,
        status=TASK_STATUS[row.status],
        businessStatus=concept(BUSINESS_STATUS_SYSTEM, row.status, row.status.replace("-", " ")),
        statusReason=_status_reason(row),
        intent="order",
        code=concept(TASK_CODE_SYSTEM, "fulfill", "Fulfill the focal request"),
        description=row.reason,
        focus=reference(SERVICE_REQUEST, row.uuid),
        **{"for": _patient(row, refs, patient_names or {})},
        authoredOn=instant(row.created_at),
        lastModified=instant(row.status_at),
        requester={"display": row.created_by},
        owner=_performer(row),
        restriction={"period": {"end": day(row.expected_by)}} if row.expected_by else None,
        note=_notes(row),
        output=outcome,
    )
