"""Vocabulary of the patient record: the value sets our columns accept, and pure rules over them.

FHIR R4 value sets are kept verbatim where FHIR defines them, so that mapping stays one-to-one.
"""

from __future__ import annotations

from enum import StrEnum


class AdministrativeSex(StrEnum):
    MALE = "male"
    FEMALE = "female"
    OTHER = "other"
    UNKNOWN = "unknown"


class PlanType(StrEnum):
    """What kind of coverage pays; drives program eligibility and the CMS-HCC segment."""

    MEDICARE_FFS = "medicare_ffs"
    MEDICARE_ADVANTAGE = "medicare_advantage"
    MEDICAID = "medicaid"
    DUAL = "dual"
    COMMERCIAL = "commercial"
    UNINSURED = "uninsured"
    OTHER = "other"


class EncounterClass(StrEnum):
    """HL7 v3 ActCode encounter classes used by FHIR R4 Encounter.class."""

    INPATIENT = "IMP"
    ACUTE = "ACUTE"
    NONACUTE = "NONAC"
    OBSERVATION = "OBSENC"
    EMERGENCY = "EMER"
    AMBULATORY = "AMB"
    HOME = "HH"
    VIRTUAL = "VR"
    FIELD = "FLD"
    PREADMISSION = "PRENC"
    SHORT_STAY = "SS"


INPATIENT_CLASSES = frozenset({EncounterClass.INPATIENT, EncounterClass.ACUTE, EncounterClass.NONACUTE})


class EncounterStatus(StrEnum):
    PLANNED = "planned"
    ARRIVED = "arrived"
    TRIAGED = "triaged"
    IN_PROGRESS = "in-progress"
    ONLEAVE = "onleave"
    FINISHED = "finished"
    CANCELLED = "cancelled"
    ENTERED_IN_ERROR = "entered-in-error"
    UNKNOWN = "unknown"


class ConditionClinicalStatus(StrEnum):
    ACTIVE = "active"
    RECURRENCE = "recurrence"
    RELAPSE = "relapse"
    INACTIVE = "inactive"
    REMISSION = "remission"
    RESOLVED = "resolved"


ACTIVE_CLINICAL_STATUSES = frozenset(
    {ConditionClinicalStatus.ACTIVE, ConditionClinicalStatus.RECURRENCE, ConditionClinicalStatus.RELAPSE}
)


class ConditionVerificationStatus(StrEnum):
    UNCONFIRMED = "unconfirmed"
    PROVISIONAL = "provisional"
    DIFFERENTIAL = "differential"
    CONFIRMED = "confirmed"
    REFUTED = "refuted"
    ENTERED_IN_ERROR = "entered-in-error"


class ConditionCategory(StrEnum):
    PROBLEM_LIST = "problem-list-item"
    ENCOUNTER_DIAGNOSIS = "encounter-diagnosis"
    HEALTH_CONCERN = "health-concern"


class ObservationStatus(StrEnum):
    REGISTERED = "registered"
    PRELIMINARY = "preliminary"
    FINAL = "final"
    AMENDED = "amended"
    CORRECTED = "corrected"
    CANCELLED = "cancelled"
    ENTERED_IN_ERROR = "entered-in-error"
    UNKNOWN = "unknown"


class MedicationStatus(StrEnum):
    ACTIVE = "active"
    ON_HOLD = "on-hold"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    ENTERED_IN_ERROR = "entered-in-error"
    STOPPED = "stopped"
    DRAFT = "draft"
    UNKNOWN = "unknown"


class IdentifierKind(StrEnum):
    """What an identifier is, whatever system issued it."""

    MRN = "mrn"
    MEMBER_ID = "member_id"
    MBI = "mbi"
    SSN = "ssn"
    DRIVERS_LICENSE = "drivers_license"
    PASSPORT = "passport"
    SOURCE = "source"
    OTHER = "other"


class CareTeamRole(StrEnum):
    CARE_MANAGER = "care_manager"
    PRIMARY_CARE = "primary_care"
    SPECIALIST = "specialist"
    CAREGIVER = "caregiver"
    SOCIAL_WORKER = "social_worker"
    PHARMACIST = "pharmacist"
    HOME_HEALTH = "home_health"
    COMMUNITY_ORGANIZATION = "community_organization"
    OTHER = "other"


# Code systems, by the URI FHIR uses for them.
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
CPT = "http://www.ama-assn.org/go/cpt"
NUBC_DISCHARGE = "https://www.nubc.org/CodeSystem/PatDischargeStatus"
V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"

KNOWN_DIAGNOSIS_SYSTEMS = frozenset({SNOMED, ICD10CM, ICD10})


def display_name(given: str | None, family: str | None) -> str:
    """How a person's name reads on screen: given names then family name."""
    return " ".join(part for part in (given, family) if part) or "(no name)"
