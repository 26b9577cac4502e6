"""Pure rules turning FHIR codes into carenav's value sets: identifier kinds, plan types, care team roles."""

from __future__ import annotations

from collections.abc import Iterable

from carenav.patients.rules import CareTeamRole, IdentifierKind, PlanType

V2_IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
US_MBI = "http://hl7.org/fhir/sid/us-mbi"
US_SSN = "http://hl7.org/fhir/sid/us-ssn"
US_NPI = "http://hl7.org/fhir/sid/us-npi"
CARENAV_PLAN_TYPE = "https://carenav.org/fhir/CodeSystem/plan-type"
SOURCE_OF_PAYMENT = ("https://nahdo.org/sopt", "urn:oid:2.16.840.1.113883.3.221.5")
INTERPRETER_REQUIRED = "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired"
US_CORE_RACE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
US_CORE_ETHNICITY = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity"
US_CORE_BIRTHSEX = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex"

IDENTIFIER_SYSTEMS = {US_MBI: IdentifierKind.MBI, US_SSN: IdentifierKind.SSN}
# HL7 v2 table 0203 identifier type codes.
IDENTIFIER_TYPE_CODES = {
    "MR": IdentifierKind.MRN,
    "MRT": IdentifierKind.MRN,
    "PI": IdentifierKind.MRN,
    "MB": IdentifierKind.MEMBER_ID,
    "SN": IdentifierKind.MEMBER_ID,
    "MA": IdentifierKind.MEMBER_ID,
    "MC": IdentifierKind.MBI,
    "SS": IdentifierKind.SSN,
    "DL": IdentifierKind.DRIVERS_LICENSE,
    "PPN": IdentifierKind.PASSPORT,
}

# Synthea v2's contained EOB Coverage carries only ``type.text``.
SYNTHEA_PLAN_TEXT = {
    "private": PlanType.COMMERCIAL,
    "medicare": PlanType.MEDICARE_FFS,
    "medicaid": PlanType.MEDICAID,
    "dual_eligible": PlanType.DUAL,
    "no_insurance": PlanType.UNINSURED,
}
_PLAN_TYPES = frozenset(PlanType)
BIRTH_SEX = {"M": "male", "F": "female", "UNK": "unknown", "OTH": "other"}


def identifier_kind(
    system: str | None, type_codes: Iterable[tuple[str | None, str | None]]
) -> IdentifierKind:
    """What an identifier is: by its system where that says (MBI, SSN), else by its v2-0203 type code."""
    if system in IDENTIFIER_SYSTEMS:
        return IDENTIFIER_SYSTEMS[system]
    for code_system, code in type_codes:
        if code and code_system in (V2_IDENTIFIER_TYPE, None) and code in IDENTIFIER_TYPE_CODES:
            return IDENTIFIER_TYPE_CODES[code]
    return IdentifierKind.OTHER


def source_of_payment_plan(code: str) -> PlanType:
    """PHDSC Source of Payment Typology: the hierarchy is read from the leading digits."""
    if code.startswith("14"):
        return PlanType.DUAL
    if code.startswith("11"):
        return PlanType.MEDICARE_ADVANTAGE
    if code.startswith("1"):
        return PlanType.MEDICARE_FFS
    if code.startswith("2"):
        return PlanType.MEDICAID
    if code.startswith(("5", "6", "7")):
        return PlanType.COMMERCIAL
    if code.startswith("8"):
        return PlanType.UNINSURED
    return PlanType.OTHER


def plan_type(codings: Iterable[tuple[str | None, str | None]], text: str | None) -> PlanType:
    """Plan type of a Coverage: carenav's own coding, else Synthea's ``type.text``, else the Source of
    Payment Typology, else ``other``."""
    codings = list(codings)
    for system, code in codings:
        if system == CARENAV_PLAN_TYPE and code is not None and code in _PLAN_TYPES:
            return PlanType(code)
    if text is not None and text.strip().lower() in SYNTHEA_PLAN_TEXT:
        return SYNTHEA_PLAN_TEXT[text.strip().lower()]
    for system, code in codings:
        if system in SOURCE_OF_PAYMENT and code:
            return source_of_payment_plan(code)
    return PlanType.OTHER


_ROLE_WORDS: tuple[tuple[tuple[str, ...], CareTeamRole], ...] = (
    (("care manager", "case manager", "care coordinator", "care-manager"), CareTeamRole.CARE_MANAGER),
    (("primary care", "pcp", "general practitioner", "family medicine"), CareTeamRole.PRIMARY_CARE),
    (("caregiver", "carer"), CareTeamRole.CAREGIVER),
    (("social worker",), CareTeamRole.SOCIAL_WORKER),
    (("pharmacist",), CareTeamRole.PHARMACIST),
    (("physician", "specialist", "surgeon", "doctor", "cardiolog", "nephrolog"), CareTeamRole.SPECIALIST),
)


def care_team_role(words: Iterable[str | None]) -> CareTeamRole:
    """A care team member's role from the codes and displays of its role concept."""
    text = " ".join(word.lower() for word in words if word)
    for needles, role in _ROLE_WORDS:
        if any(needle in text for needle in needles):
            return role
    return CareTeamRole.OTHER
