"""Which FHIR resource types are stored (and by which mapper), and why the others are not."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from carenav.ingest.fhir.care_plans import map_care_plan
from carenav.ingest.fhir.care_team import map_care_team
from carenav.ingest.fhir.clinical import (
    map_allergy,
    map_condition,
    map_encounter,
    map_medication_request,
    map_observation,
    map_procedure,
)
from carenav.ingest.fhir.coverage import map_coverage
from carenav.ingest.fhir.goals import map_goal
from carenav.ingest.fhir.people import map_organization, map_patient, map_practitioner, map_related_person
from carenav.ingest.fhir.references import ReferenceIndex
from carenav.ingest.fhir.tasks import map_task
from carenav.patients.services import SourceRecord

Mapper = Callable[[dict[str, Any], ReferenceIndex, str], list[SourceRecord]]

MAPPERS: dict[str, Mapper] = {
    "Organization": map_organization,
    "Practitioner": map_practitioner,
    "Patient": map_patient,
    "RelatedPerson": map_related_person,
    "Coverage": map_coverage,
    "Encounter": map_encounter,
    "Condition": map_condition,
    "Observation": map_observation,
    "MedicationRequest": map_medication_request,
    "AllergyIntolerance": map_allergy,
    "Procedure": map_procedure,
    "CareTeam": map_care_team,
    "CarePlan": map_care_plan,
    "Goal": map_goal,
    "Task": map_task,
}
STORED_TYPES = frozenset(MAPPERS)

# Order in which NDJSON files are read: what others reference comes first. CarePlans come before their
# Goals and Tasks, so that those know their plan (and a goal its problem) when they are written.
TYPE_ORDER = (
    "Organization",
    "Practitioner",
    "Patient",
    "RelatedPerson",
    "Coverage",
    "Encounter",
    "Condition",
    "Observation",
    "MedicationRequest",
    "AllergyIntolerance",
    "Procedure",
    "CareTeam",
    "CarePlan",
    "Goal",
    "Task",
    "ExplanationOfBenefit",
)

NOT_STORED_REASONS = {
    "Claim": "billing detail is not part of the care record",
    "ExplanationOfBenefit": "billing detail is not stored; its contained Coverage is imported as coverage",
    "ImagingStudy": "imaging studies are not part of the care-management record",
    "DiagnosticReport": "reports are not stored; their result Observations are",
    "Immunization": "immunizations are not stored yet",
    "Provenance": "provenance is not stored; every row keeps its source system and id instead",
    "Medication": "stored as part of the MedicationRequest that references it",
}
OTHER_TYPE_REASON = "this resource type is not stored by carenav"


def not_stored_reason(resource_type: str) -> str:
    return NOT_STORED_REASONS.get(resource_type, OTHER_TYPE_REASON)
