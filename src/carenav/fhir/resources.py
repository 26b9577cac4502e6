"""The resource types we expose, each with its table and its mapper.

One registry serves the REST facade (reads, ``$everything``) and the bulk export; a feature that adds
a kind of record adds one ``ResourceKind`` here (and, if it is searchable, its parameters in
``search.SEARCH_PARAMETERS``).

QuestionnaireResponse (an assessment) is a kind of its own, outside ``RESOURCE_KINDS``: the facade reads,
searches and lists it through the assessment queries (``fhir/questionnaire_responses.py``), not the
patient record's; the export streams it like any table. Task is another: its rows come from more than one
table (``fhir/tasks.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from carenav.assessments.models import Assessment
from carenav.careplans.models import CarePlan, Goal
from carenav.fhir.mappers.allergy_intolerance import allergy_intolerance_resource
from carenav.fhir.mappers.care_plan import care_plan_resource
from carenav.fhir.mappers.common import FHIRDict, Refs
from carenav.fhir.mappers.condition import condition_resource
from carenav.fhir.mappers.coverage import coverage_resource
from carenav.fhir.mappers.encounter import encounter_resource
from carenav.fhir.mappers.goal import goal_resource
from carenav.fhir.mappers.medication_request import medication_request_resource
from carenav.fhir.mappers.observation import observation_resource
from carenav.fhir.mappers.organization import organization_resource
from carenav.fhir.mappers.patient import patient_resource
from carenav.fhir.mappers.practitioner import practitioner_resource
from carenav.fhir.mappers.procedure import procedure_resource
from carenav.fhir.mappers.questionnaire_response import (
    QUESTIONNAIRE_RESPONSE,
    questionnaire_response_resource,
)
from carenav.fhir.mappers.referral import service_request_resource
from carenav.fhir.mappers.related_person import related_person_resource
from carenav.patients.models import (
    Allergy,
    CareTeamMember,
    Condition,
    Coverage,
    Encounter,
    Facility,
    Medication,
    Observation,
    Patient,
    Practitioner,
    Procedure,
    RelatedPerson,
)
from carenav.referrals.models import Referral


@dataclass(frozen=True)
class ResourceKind:
    """A FHIR resource type backed by one table, one row per resource.

    ``scope``: ``patient`` (a row of one patient's record, reached through the patient gatekeeper),
    ``organization`` (shared reference data of the tenant: facilities, practitioners), or ``self``
    (the Patient table itself).
    """

    resource_type: str
    model: type[Any]
    to_fhir: Callable[[Any, Refs], FHIRDict]
    scope: str = "patient"


def _ignore_refs(mapper: Callable[[Any], FHIRDict]) -> Callable[[Any, Refs], FHIRDict]:
    def mapped(row: Any, _refs: Refs) -> FHIRDict:
        return mapper(row)

    return mapped


RESOURCE_KINDS: dict[str, ResourceKind] = {
    kind.resource_type: kind
    for kind in (
        ResourceKind("Organization", Facility, _ignore_refs(organization_resource), scope="organization"),
        ResourceKind("Practitioner", Practitioner, _ignore_refs(practitioner_resource), scope="organization"),
        ResourceKind("Patient", Patient, _ignore_refs(patient_resource), scope="self"),
        ResourceKind("RelatedPerson", RelatedPerson, related_person_resource),
        ResourceKind("Coverage", Coverage, coverage_resource),
        ResourceKind("Encounter", Encounter, encounter_resource),
        ResourceKind("Condition", Condition, condition_resource),
        ResourceKind("Observation", Observation, observation_resource),
        ResourceKind("MedicationRequest", Medication, medication_request_resource),
        ResourceKind("AllergyIntolerance", Allergy, allergy_intolerance_resource),
        ResourceKind("Procedure", Procedure, procedure_resource),
        ResourceKind("CarePlan", CarePlan, care_plan_resource),
        ResourceKind("Goal", Goal, goal_resource),
        ResourceKind("ServiceRequest", Referral, service_request_resource),
    )
}

CARE_TEAM = "CareTeam"
"""CareTeam is built from all ``CareTeamMember`` rows of one patient; its id is the patient's id."""
CARE_TEAM_MODEL = CareTeamMember

PATIENT_RECORD_TYPES = [k.resource_type for k in RESOURCE_KINDS.values() if k.scope == "patient"]

QUESTIONNAIRE_RESPONSE_KIND = ResourceKind(
    QUESTIONNAIRE_RESPONSE, Assessment, questionnaire_response_resource
)
"""One QuestionnaireResponse per assessment; its id is the assessment's."""
