"""MedicationRequest: a medication order or statement, RxNorm coded where the source allows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from carenav.fhir.mappers.common import (
    FHIRDict,
    Refs,
    compact,
    concept,
    instant,
    reference,
    required_concept,
    resource,
)

if TYPE_CHECKING:
    from carenav.patients.models import Medication

INTENTS = {
    "proposal",
    "plan",
    "order",
    "original-order",
    "reflex-order",
    "filler-order",
    "instance-order",
    "option",
}


def medication_request_resource(row: Medication, refs: Refs) -> FHIRDict:
    dosage: FHIRDict = {}
    if row.dosage_text:
        dosage["text"] = row.dosage_text
    if row.as_needed is not None:
        dosage["asNeededBoolean"] = row.as_needed
    encounter_id = refs.encounters.get(row.encounter_id) if row.encounter_id else None
    return resource(
        "MedicationRequest",
        row.uuid,
        row.updated_at,
        status=row.status,
        intent=row.intent if row.intent in INTENTS else "order",
        medicationCodeableConcept=required_concept(row.code_system, row.code, row.display, what="medication"),
        subject=reference("Patient", refs.patients.get(row.patient_id)),
        encounter=reference("Encounter", encounter_id),
        authoredOn=instant(row.authored_at),
        requester=reference("Practitioner", None, row.requester),
        reasonCode=compact([concept(None, row.reason_code, row.reason_display)]),
        dosageInstruction=[dosage] if dosage else None,
    )
