"""Organization: the facilities care happens at (not our tenants)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from carenav.fhir.mappers.common import FHIRDict, resource

if TYPE_CHECKING:
    from carenav.patients.models import Facility

NPI = "http://hl7.org/fhir/sid/us-npi"


def organization_resource(row: Facility) -> FHIRDict:
    return resource(
        "Organization",
        row.uuid,
        row.updated_at,
        identifier=[{"system": NPI, "value": row.npi}] if row.npi else None,
        active=True,
        type=[{"text": row.kind}] if row.kind else None,
        name=row.name,
        telecom=[{"system": "phone", "value": row.phone}] if row.phone else None,
        address=[{"text": row.address}] if row.address else None,
    )
