"""Observation: vital signs, labs, survey answers and scores, with components for panels."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from carenav.fhir.mappers.common import (
    OBSERVATION_CATEGORY,
    OBSERVATION_INTERPRETATION,
    UCUM,
    FHIRDict,
    Refs,
    concept,
    instant,
    reference,
    required_concept,
    resource,
)

if TYPE_CHECKING:
    from carenav.patients.models import Observation, ObservationComponent

CATEGORY_DISPLAY = {
    "social-history": "Social History",
    "vital-signs": "Vital Signs",
    "imaging": "Imaging",
    "laboratory": "Laboratory",
    "procedure": "Procedure",
    "survey": "Survey",
    "exam": "Exam",
    "therapy": "Therapy",
    "activity": "Activity",
}


def _quantity(value: float, unit: str | None) -> FHIRDict:
    out: FHIRDict = {"value": value}
    if unit:
        out.update(unit=unit, system=UCUM, code=unit)
    return out


def _value(row: Observation | ObservationComponent) -> dict[str, Any]:
    """The one value[x] a row holds, as ``{"valueX": ...}``; empty when it holds none."""
    if row.value_quantity is not None:
        return {"valueQuantity": _quantity(row.value_quantity, row.value_unit)}
    value_concept = concept(row.value_code_system, row.value_code, row.value_display)
    if value_concept:
        return {"valueCodeableConcept": value_concept}
    if row.value_string is not None:
        return {"valueString": row.value_string}
    boolean = getattr(row, "value_boolean", None)
    if boolean is not None:
        return {"valueBoolean": boolean}
    return {}


def _component(row: ObservationComponent) -> FHIRDict:
    return {
        "code": required_concept(row.code_system, row.code, row.display, what="component"),
        **_value(row),
    }


def observation_resource(row: Observation, refs: Refs) -> FHIRDict:
    """Our observation as FHIR R4. Loads ``components``."""
    category = None
    if row.category:
        system = OBSERVATION_CATEGORY if row.category in CATEGORY_DISPLAY else None
        category = [concept(system, row.category, CATEGORY_DISPLAY.get(row.category))]
    interpretation = None
    if row.interpretation:
        interpretation = [concept(OBSERVATION_INTERPRETATION, row.interpretation)]
    encounter_id = refs.encounters.get(row.encounter_id) if row.encounter_id else None
    return resource(
        "Observation",
        row.uuid,
        row.updated_at,
        status=row.status,
        category=category,
        code=required_concept(row.code_system, row.code, row.display, what="observation"),
        subject=reference("Patient", refs.patients.get(row.patient_id)),
        encounter=reference("Encounter", encounter_id),
        effectiveDateTime=instant(row.effective_at),
        issued=instant(row.issued_at),
        **_value(row),
        interpretation=interpretation,
        component=[_component(c) for c in row.components],
    )
