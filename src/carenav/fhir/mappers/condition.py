"""Condition: problem-list items, encounter diagnoses and health concerns, with every source coding."""

from __future__ import annotations

from typing import TYPE_CHECKING

from carenav.fhir.mappers.common import (
    CONDITION_CATEGORY,
    CONDITION_CLINICAL,
    CONDITION_VER_STATUS,
    US_CORE_CONDITION_CATEGORY,
    FHIRDict,
    Refs,
    concept,
    instant,
    reference,
    resource,
)

if TYPE_CHECKING:
    from carenav.patients.models import Condition

CATEGORY_DISPLAY = {
    "problem-list-item": (CONDITION_CATEGORY, "Problem List Item"),
    "encounter-diagnosis": (CONDITION_CATEGORY, "Encounter Diagnosis"),
    "health-concern": (US_CORE_CONDITION_CATEGORY, "Health Concern"),
}


def condition_code(row: Condition) -> FHIRDict:
    """Every coding we hold (the primary one first), or text only."""
    codings: list[FHIRDict] = []
    seen: set[tuple[str | None, str | None]] = set()
    primary = {"system": row.code_system, "code": row.code, "display": row.display}
    for one in [primary, *(row.codings or [])]:
        key = (one.get("system"), one.get("code"))
        if not key[1] or key in seen:
            continue
        seen.add(key)
        codings.append({k: one[k] for k in ("system", "code", "display") if one.get(k)})
    out: FHIRDict = {}
    if codings:
        out["coding"] = codings
    if row.display:
        out["text"] = row.display
    return out or {"text": "unknown condition"}


US_CORE_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-category"
SDOH_DOMAIN = "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes"


def condition_categories(row: Condition) -> list[FHIRDict] | None:
    """The category, and for a social-needs concern US Core's ``sdoh`` and its SDOH domain (the SDOH
    Clinical Care IG asks for both: SDOH-Con-3)."""
    if not row.category:
        return None
    system, display = CATEGORY_DISPLAY.get(row.category, (CONDITION_CATEGORY, None))
    categories = [concept(system, row.category, display)]
    if row.sdoh_domain:
        categories.append(concept(US_CORE_CATEGORY, "sdoh", "SDOH"))
        categories.append(concept(SDOH_DOMAIN, row.sdoh_domain))
    return [c for c in categories if c is not None]


def condition_resource(row: Condition, refs: Refs) -> FHIRDict:
    encounter_id = refs.encounters.get(row.encounter_id) if row.encounter_id else None
    return resource(
        "Condition",
        row.uuid,
        row.updated_at,
        clinicalStatus=concept(CONDITION_CLINICAL, row.clinical_status),
        verificationStatus=concept(CONDITION_VER_STATUS, row.verification_status),
        category=condition_categories(row),
        code=condition_code(row),
        subject=reference("Patient", refs.patients.get(row.patient_id)),
        encounter=reference("Encounter", encounter_id),
        onsetDateTime=instant(row.onset_at),
        abatementDateTime=instant(row.abatement_at),
        recordedDate=instant(row.recorded_at),
    )
