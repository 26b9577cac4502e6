"""Procedure."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from carenav.fhir.mappers.common import (
    FHIRDict,
    Refs,
    instant,
    reference,
    required_concept,
    resource,
)

if TYPE_CHECKING:
    from carenav.patients.models import Procedure


def procedure_resource(row: Procedure, refs: Refs) -> FHIRDict:
    performed: dict[str, Any] = {}
    start, end = instant(row.performed_start), instant(row.performed_end)
    if start and end and start != end:
        performed["performedPeriod"] = {"start": start, "end": end}
    elif start or end:
        performed["performedDateTime"] = start or end
    encounter_id = refs.encounters.get(row.encounter_id) if row.encounter_id else None
    return resource(
        "Procedure",
        row.uuid,
        row.updated_at,
        status=row.status,
        code=required_concept(row.code_system, row.code, row.display, what="procedure"),
        subject=reference("Patient", refs.patients.get(row.patient_id)),
        encounter=reference("Encounter", encounter_id),
        **performed,
    )
