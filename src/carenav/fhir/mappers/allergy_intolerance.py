"""AllergyIntolerance."""

from __future__ import annotations

from typing import TYPE_CHECKING

from carenav.fhir.mappers.common import (
    ALLERGY_CLINICAL,
    ALLERGY_VERIFICATION,
    FHIRDict,
    Refs,
    concept,
    instant,
    reference,
    required_concept,
    resource,
)

if TYPE_CHECKING:
    from carenav.patients.models import Allergy

TYPES = {"allergy", "intolerance"}
CATEGORIES = {"food", "medication", "environment", "biologic"}
CRITICALITIES = {"low", "high", "unable-to-assess"}


def allergy_intolerance_resource(row: Allergy, refs: Refs) -> FHIRDict:
    reaction = None
    if row.reaction:
        reaction = [{"manifestation": [{"text": row.reaction}]}]
    return resource(
        "AllergyIntolerance",
        row.uuid,
        row.updated_at,
        clinicalStatus=concept(ALLERGY_CLINICAL, row.clinical_status),
        verificationStatus=concept(ALLERGY_VERIFICATION, row.verification_status),
        type=row.allergy_type if row.allergy_type in TYPES else None,
        category=[row.category] if row.category in CATEGORIES else None,
        criticality=row.criticality if row.criticality in CRITICALITIES else None,
        code=required_concept(row.code_system, row.code, row.display, what="substance"),
        patient=reference("Patient", refs.patients.get(row.patient_id)),
        recordedDate=instant(row.recorded_at),
        reaction=reaction,
    )
