"""RelatedPerson: family, caregivers and emergency contacts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from carenav.fhir.mappers.common import (
    CONTACT_ROLE,
    V3_ROLE_CODE,
    FHIRDict,
    Refs,
    compact,
    concept,
    reference,
    resource,
)

if TYPE_CHECKING:
    from carenav.patients.models import RelatedPerson


def related_person_resource(row: RelatedPerson, refs: Refs) -> FHIRDict:
    relationship = compact(
        [
            concept(
                V3_ROLE_CODE if row.relationship_code else None,
                row.relationship_code,
                row.relationship_display,
            ),
            concept(CONTACT_ROLE, "C", "Emergency Contact") if row.is_emergency_contact else None,
            concept(V3_ROLE_CODE, "CAREGIVER", "caregiver") if row.is_caregiver else None,
        ]
    )
    telecom = []
    if row.phone:
        telecom.append({"system": "phone", "value": row.phone})
    if row.email:
        telecom.append({"system": "email", "value": row.email})
    return resource(
        "RelatedPerson",
        row.uuid,
        row.updated_at,
        active=True,
        patient=reference("Patient", refs.patients.get(row.patient_id)) or {"display": "unknown patient"},
        relationship=relationship,
        name=[{"text": row.name}],
        telecom=telecom,
        address=[{"text": row.address}] if row.address else None,
    )
