"""Rules of the HL7 v2 ADT feed: which events we take, what each does to an encounter, how v2 codes map
to ours, which identifiers match a patient, and what acknowledgement each outcome earns. Pure: no SQL.

Table letters and code lists marked "unverified" in the project's standards reference (§7) are used as
the reference gives them; ``docs/hl7v2.md`` says which.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from carenav.patients.rules import (
    ICD10,
    ICD10CM,
    NUBC_DISCHARGE,
    SNOMED,
    AdministrativeSex,
    EncounterClass,
    EncounterStatus,
    IdentifierKind,
    PlanType,
)

MESSAGE_TYPE = "ADT"
ICD9CM = "http://hl7.org/fhir/sid/icd-9-cm"
V2_DISCHARGE_DISPOSITION = "http://terminology.hl7.org/CodeSystem/v2-0112"
V2_HOSPITAL_SERVICE = "http://terminology.hl7.org/CodeSystem/v2-0069"
US_SSN = "http://hl7.org/fhir/sid/us-ssn"
SOURCE_PREFIX = "hl7v2:"
"""``source_system`` of records made from a feed is this prefix and the sending (or visit) facility."""


class Event(StrEnum):
    """The ADT trigger events carenav applies (MSH-9.2)."""

    ADMIT = "A01"
    TRANSFER = "A02"
    DISCHARGE = "A03"
    REGISTER = "A04"
    UPDATE = "A08"
    CANCEL_ADMIT = "A11"
    CANCEL_DISCHARGE = "A13"


SUPPORTED_EVENTS = frozenset(e.value for e in Event)
EVENTS_THAT_FIND_AN_ENCOUNTER = frozenset({Event.TRANSFER, Event.CANCEL_ADMIT, Event.CANCEL_DISCHARGE})
"""Events that act on an encounter that must already exist (the others may create it)."""
EVENTS_THAT_CREATE_AN_ENCOUNTER = frozenset({Event.ADMIT, Event.REGISTER, Event.DISCHARGE, Event.TRANSFER})


class MessageStatus(StrEnum):
    """Life of an inbound message. received -> applied | unmatched | rejected | error;
    unmatched -> applied (a person linked or created the patient) | dismissed."""

    RECEIVED = "received"
    APPLIED = "applied"
    UNMATCHED = "unmatched"
    REJECTED = "rejected"
    ERROR = "error"
    DISMISSED = "dismissed"


class AckCode(StrEnum):
    """MSA-1 (HL7 table 0008, original mode)."""

    ACCEPT = "AA"
    ERROR = "AE"
    REJECT = "AR"


def ack_code_for(status: MessageStatus) -> AckCode:
    """AA once a message is applied or safely queued; AE if stored but not applied; AR if refused."""
    if status is MessageStatus.REJECTED:
        return AckCode.REJECT
    if status in (MessageStatus.ERROR, MessageStatus.RECEIVED):
        return AckCode.ERROR
    return AckCode.ACCEPT


def unsupported_reason(message_type: str, trigger_event: str) -> str | None:
    """Why a message of this type cannot be taken, or None when it can."""
    if message_type != MESSAGE_TYPE:
        return f"message type {message_type or '(empty)'} is not supported; carenav takes ADT only"
    if trigger_event not in SUPPORTED_EVENTS:
        events = ", ".join(sorted(SUPPORTED_EVENTS))
        return f"event ADT^{trigger_event or '(empty)'} is not supported; carenav takes {events}"
    return None


# PV1-2 patient class (HL7 table 0004) -> FHIR v3 ActCode. R (recurring) and B (obstetrics) are our choice.
_PATIENT_CLASS = {
    "I": EncounterClass.INPATIENT,
    "E": EncounterClass.EMERGENCY,
    "O": EncounterClass.AMBULATORY,
    "P": EncounterClass.PREADMISSION,
    "R": EncounterClass.AMBULATORY,
    "B": EncounterClass.INPATIENT,
}


def encounter_class_for(patient_class: str, event: Event) -> EncounterClass:
    """The encounter class of PV1-2; when it is empty or unknown (C, N, U), what the event implies."""
    known = _PATIENT_CLASS.get(patient_class.strip().upper())
    if known is not None:
        return known
    return EncounterClass.AMBULATORY if event is Event.REGISTER else EncounterClass.INPATIENT


def encounter_status_after(event: Event, current: str | None, *, discharged: bool) -> str | None:
    """The encounter status after ``event``; None leaves it as it is.

    A01 -> in-progress, A04 -> planned (v2-to-FHIR), either -> finished when PV1-45 is valued; A02 keeps
    a finished or cancelled visit as it is, else in-progress; A03 -> finished; A11 -> cancelled;
    A13 -> in-progress; A08 never infers a status.
    """
    if event is Event.UPDATE:
        return None
    if event is Event.CANCEL_ADMIT:
        return EncounterStatus.CANCELLED
    if event is Event.CANCEL_DISCHARGE:
        return EncounterStatus.IN_PROGRESS
    if event is Event.DISCHARGE or discharged:
        return EncounterStatus.FINISHED
    if event is Event.TRANSFER:
        if current in (EncounterStatus.FINISHED, EncounterStatus.CANCELLED):
            return None
        return EncounterStatus.IN_PROGRESS
    if event is Event.REGISTER:
        return EncounterStatus.PLANNED if current is None else None
    return EncounterStatus.IN_PROGRESS


def is_stale(incoming: datetime | None, on_record: datetime | None) -> bool:
    """Is a message recorded at ``incoming`` older than what the record already reflects?

    Messages without a time, and records no message has touched, are never stale; equal times are not
    stale (a message of the same instant applies).
    """
    return incoming is not None and on_record is not None and incoming < on_record


def encounter_key(facility: str | None, visit_number: str | None) -> tuple[str, str | None]:
    """(source_system, source_id) of a feed encounter: the visit number PV1-19 at its facility."""
    return f"{SOURCE_PREFIX}{facility or 'unknown'}", visit_number or None


# --- identifiers -------------------------------------------------------------------------------------------

# CX-5 identifier types (HL7 table 0203) that name a patient's record at the authority; only these match.
MATCHING_TYPE_CODES = frozenset({"", "MR", "MRT", "PI", "PT", "PN", "EPI"})
_KIND_BY_TYPE = {
    "MR": IdentifierKind.MRN,
    "MRT": IdentifierKind.MRN,
    "PI": IdentifierKind.MRN,
    "PT": IdentifierKind.MRN,
    "EPI": IdentifierKind.MRN,
    "SS": IdentifierKind.SSN,
    "DL": IdentifierKind.DRIVERS_LICENSE,
    "PPN": IdentifierKind.PASSPORT,
    "MB": IdentifierKind.MEMBER_ID,
    "SN": IdentifierKind.MEMBER_ID,
    "MC": IdentifierKind.MBI,
}
_WELL_KNOWN_AUTHORITIES = {"USSSA": US_SSN, "SSA": US_SSN}


def identifier_kind_for(type_code: str) -> IdentifierKind:
    if not type_code:
        return IdentifierKind.MRN
    return _KIND_BY_TYPE.get(type_code.upper(), IdentifierKind.OTHER)


def identifier_matches_patients(type_code: str) -> bool:
    """Record numbers match; SSNs, licences, insurance and account numbers are kept but never match."""
    return type_code.upper() in MATCHING_TYPE_CODES


def assigning_system(
    *,
    namespace: str,
    universal_id: str,
    universal_id_type: str,
    fallback: str,
) -> str:
    """PatientIdentifier.system for an assigning authority (CX-4, an HD).

    An ISO OID becomes ``urn:oid:...``, a UUID ``urn:uuid:...``, a URI stays as it is; otherwise the
    namespace id (HD-1) is the system (``USSSA`` becomes the FHIR US SSN system). With no authority at
    all, ``fallback`` (the assigning facility CX-6, else the sending facility MSH-4) is the system: an
    MRN without an authority is local to whoever sent it.
    """
    kind = universal_id_type.upper()
    if universal_id:
        if kind == "ISO":
            return f"urn:oid:{universal_id}"
        if kind == "UUID":
            return f"urn:uuid:{universal_id.lower()}"
        if kind in {"URI", "URL"}:
            return universal_id
    if namespace:
        return _WELL_KNOWN_AUTHORITIES.get(namespace.upper(), namespace)
    if universal_id:
        return universal_id
    return fallback


def sex_from_hl7(code: str) -> AdministrativeSex | None:
    """PID-8 (HL7 table 0001) -> administrative sex; empty -> None (unknown to the message)."""
    value = code.strip().upper()
    if not value:
        return None
    return {
        "M": AdministrativeSex.MALE,
        "F": AdministrativeSex.FEMALE,
        "O": AdministrativeSex.OTHER,
        "A": AdministrativeSex.OTHER,
        "N": AdministrativeSex.OTHER,
    }.get(value, AdministrativeSex.UNKNOWN)


# --- codes -------------------------------------------------------------------------------------------------


def diagnosis_system(coding_system: str) -> str | None:
    """DG1-3.3 (or the old DG1-2 coding method) -> code system URI."""
    value = coding_system.strip().upper().replace("-", "")
    if value in {"I10", "I10C", "ICD10CM", "I10CM"}:
        return ICD10CM
    if value in {"ICD10", "I10W"}:
        return ICD10
    if value in {"I9", "I9C", "ICD9", "ICD9CM", "I9CM"}:
        return ICD9CM
    if value in {"SCT", "SNM", "SNOMED", "SNOMEDCT"}:
        return SNOMED
    return None


def diagnosis_use(diagnosis_type: str) -> str | None:
    """DG1-6: A admitting -> AD (diagnosis-role); F final -> DD; W working -> working (unverified)."""
    return {"A": "AD", "F": "DD", "W": "working"}.get(diagnosis_type.strip().upper())


def discharge_disposition_system(code: str) -> str:
    """US feeds carry NUBC patient status codes (two digits) in PV1-36; others are table 0112 codes."""
    return NUBC_DISCHARGE if len(code) == 2 and code.isdigit() else V2_DISCHARGE_DISPOSITION


def plan_type_for(*names: str | None) -> PlanType:
    """A coverage's plan type from the IN1 plan and payer names; OTHER unless a name says which."""
    text = " ".join(n for n in names if n).upper()
    if "SELF PAY" in text or "SELF-PAY" in text or "SELFPAY" in text:
        return PlanType.UNINSURED
    if "MEDICAID" in text or "MEDI-CAL" in text:
        return PlanType.DUAL if "MEDICARE" in text else PlanType.MEDICAID
    if "MEDICARE" in text:
        return PlanType.MEDICARE_ADVANTAGE if "ADVANTAGE" in text else PlanType.MEDICARE_FFS
    return PlanType.OTHER


def is_emergency_contact(role_code: str, role_text: str) -> bool:
    """NK1-7 contact role: EMC/C/E (table 0131), or a text saying so."""
    return role_code.strip().upper() in {"EMC", "C", "E"} or "EMERGENCY" in f"{role_code} {role_text}".upper()
