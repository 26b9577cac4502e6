"""MedicationRequest: a medication order or statement, RxNorm coded where the source allows."""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import TYPE_CHECKING

import orjson
from fhir.resources.R4B.dosage import Dosage as R4Dosage
from pydantic import ValidationError

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


def dosage_instruction(row: Medication) -> FHIRDict | None:
    """The order's Dosage: the one stored at import when it is a valid R4 ``Dosage``, with the record's
    dosage text and as-needed flag; those two alone otherwise."""
    stored = row.dosage_instruction
    dosage: FHIRDict = copy.deepcopy(stored) if isinstance(stored, dict) and _valid_dosage(stored) else {}
    if row.dosage_text:
        dosage["text"] = row.dosage_text
    if row.as_needed is not None and "asNeededCodeableConcept" not in dosage:
        dosage["asNeededBoolean"] = row.as_needed
    return dosage or None


def _valid_dosage(dosage: FHIRDict) -> bool:
    return _valid_dosage_json(orjson.dumps(dosage, option=orjson.OPT_SORT_KEYS))


@lru_cache(maxsize=4096)
def _valid_dosage_json(document: bytes) -> bool:
    """Whether a Dosage validates (``fhir.resources`` R4B); by its JSON, as orders repeat a few dosages."""
    try:
        R4Dosage.model_validate_json(document)
    except ValidationError:
        return False
    return True


def medication_request_resource(row: Medication, refs: Refs) -> FHIRDict:
    dosage = dosage_instruction(row)
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
