"""CareTeam: one team per patient, one participant per care-team member.

The team has no row of its own: its id is the patient's id (one care team per patient). A member is a
reference to the Practitioner or RelatedPerson they are, or to the Patient (``is_patient``), else their
name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from carenav.fhir.mappers.common import (
    FHIRDict,
    Refs,
    concept,
    day,
    period,
    reference,
    resource,
)

if TYPE_CHECKING:
    from carenav.patients.models import CareTeamMember

ROLE_SYSTEM = "https://carenav.org/fhir/CodeSystem/care-team-role"
ROLE_DISPLAY = {
    "care_manager": "Care manager",
    "primary_care": "Primary care provider",
    "specialist": "Specialist",
    "caregiver": "Caregiver",
    "social_worker": "Social worker",
    "pharmacist": "Pharmacist",
    "home_health": "Home health",
    "community_organization": "Community organization",
    "other": "Other",
}


def _member(row: CareTeamMember, refs: Refs) -> FHIRDict:
    if row.practitioner_id and row.practitioner_id in refs.practitioners:
        member = reference("Practitioner", refs.practitioners[row.practitioner_id], row.name)
    elif row.related_person_id and row.related_person_id in refs.related_persons:
        member = reference("RelatedPerson", refs.related_persons[row.related_person_id], row.name)
    elif row.is_patient and row.patient_id in refs.patients:
        member = reference("Patient", refs.patients[row.patient_id], row.name)
    else:
        member = {"display": row.name}
    out: FHIRDict = {
        "role": [concept(ROLE_SYSTEM, row.role, row.role_display or ROLE_DISPLAY.get(row.role))],
        "member": member,
    }
    if row.organization_name:
        out["onBehalfOf"] = {"display": row.organization_name}
    span = period(day(row.period_start), day(row.period_end))
    if span:
        out["period"] = span
    return out


def care_team_resource(patient_uuid: str, members: Sequence[CareTeamMember], refs: Refs) -> FHIRDict:
    """The care team of one patient from their member rows (active and past)."""
    active = any(m.active for m in members)
    updated = max((m.updated_at for m in members), default=None)
    return resource(
        "CareTeam",
        patient_uuid,
        updated,
        status="active" if active else "inactive",
        name="Care team",
        subject=reference("Patient", patient_uuid),
        participant=[_member(m, refs) for m in members],
    )
