"""Practitioner."""

from __future__ import annotations

from typing import TYPE_CHECKING

from carenav.fhir.mappers.common import FHIRDict, resource
from carenav.fhir.mappers.organization import NPI

if TYPE_CHECKING:
    from carenav.patients.models import Practitioner


def practitioner_resource(row: Practitioner) -> FHIRDict:
    name: FHIRDict = {}
    if row.family_name:
        name["family"] = row.family_name
    if row.given_names:
        name["given"] = row.given_names.split()
    if row.prefix:
        name["prefix"] = row.prefix.split()
    telecom = []
    if row.phone:
        telecom.append({"system": "phone", "value": row.phone})
    if row.email:
        telecom.append({"system": "email", "value": row.email})
    return resource(
        "Practitioner",
        row.uuid,
        row.updated_at,
        identifier=[{"system": NPI, "value": row.npi}] if row.npi else None,
        active=True,
        name=[name] if name else None,
        telecom=telecom,
    )
