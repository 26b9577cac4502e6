"""The typed shape of one HL7 v2 ADT message, as the feed services use it.

The parser in ``carenav.ingest.hl7v2.parse`` builds it from the raw text; the services apply it. It is
plain data (no HL7 library types), kept alongside the raw message as JSON so that a message resolved
later from the unmatched queue is applied exactly as it was understood on arrival.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import msgspec


@dataclass(frozen=True)
class Coded:
    code: str
    display: str | None = None
    system: str | None = None


@dataclass(frozen=True)
class MessageIdentifier:
    """One PID-3 repetition (CX): value, what it is (CX-5) and who assigned it (CX-4, mapped)."""

    value: str
    type_code: str  # CX-5 identifier type code as sent (MR, SS, PI...), "" when absent
    kind: str  # carenav IdentifierKind value
    system: str | None  # the assigning authority as a system (see feeds.rules.assigning_system)
    assigner: str | None  # the authority's name as sent (HD-1), for people


@dataclass(frozen=True)
class MessageName:
    family: str | None
    given: str | None
    prefix: str | None = None
    suffix: str | None = None
    use: str | None = None


@dataclass(frozen=True)
class MessageAddress:
    lines: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    country: str | None
    use: str | None = None


@dataclass(frozen=True)
class MessageTelecom:
    system: str  # phone | email
    value: str
    use: str | None = None  # home | work | mobile


@dataclass(frozen=True)
class MessagePatient:
    """PID: who the message is about."""

    identifiers: tuple[MessageIdentifier, ...]
    names: tuple[MessageName, ...]
    birth_date: date | None
    sex: str | None  # carenav AdministrativeSex value, None when PID-8 is empty
    addresses: tuple[MessageAddress, ...] = ()
    telecoms: tuple[MessageTelecom, ...] = ()
    marital_status: str | None = None
    language: str | None = None
    deceased: bool | None = None
    deceased_at: datetime | None = None


@dataclass(frozen=True)
class MessageVisit:
    """PV1 (and PV2-3): the encounter the event is about."""

    patient_class: str  # PV1-2 as sent
    location: str | None  # PV1-3 for people: "point of care, room, bed"
    facility: str | None  # PV1-3.4, else MSH-4: with the visit number, the key of the encounter
    prior_facility: str | None  # PV1-6.4 (A02: the facility the patient came from)
    admission_type: str | None  # PV1-4
    attending: str | None  # PV1-7
    hospital_service: str | None  # PV1-10
    admit_source: str | None  # PV1-14
    visit_number: str | None  # PV1-19.1
    discharge_disposition: Coded | None  # PV1-36
    admit_at: datetime | None  # PV1-44
    discharge_at: datetime | None  # PV1-45
    reason: Coded | None = None  # PV2-3


@dataclass(frozen=True)
class MessageDiagnosis:
    """DG1."""

    rank: int
    code: str
    system: str | None
    display: str | None
    use: str | None  # FHIR diagnosis-role: AD (admitting), DD (final), working...
    at: datetime | None = None


@dataclass(frozen=True)
class MessageRelatedPerson:
    """NK1."""

    name: str
    relationship_code: str | None
    relationship_display: str | None
    phone: str | None
    address: str | None
    is_emergency_contact: bool


@dataclass(frozen=True)
class MessageCoverage:
    """IN1."""

    plan_type: str  # carenav PlanType value
    payer_name: str | None
    plan_name: str | None
    member_id: str | None
    period_start: date | None
    period_end: date | None


@dataclass(frozen=True)
class MessageHeader:
    """What MSH says: enough to store, deduplicate and acknowledge any message, applicable or not."""

    field_separator: str
    encoding_characters: str
    sending_application: str
    sending_facility: str
    receiving_application: str
    receiving_facility: str
    message_type: str
    trigger_event: str
    control_id: str
    processing_id: str
    version: str

    @property
    def type_label(self) -> str:
        return f"{self.message_type}^{self.trigger_event}"


@dataclass(frozen=True)
class AdtMessage:
    """One ADT message: its header, the event, the patient, the visit and what came with them."""

    sending_application: str
    sending_facility: str
    receiving_application: str
    receiving_facility: str
    message_type: str  # MSH-9.1: ADT
    trigger_event: str  # MSH-9.2 (EVN-1 is not trusted)
    control_id: str  # MSH-10
    processing_id: str  # MSH-11
    version: str  # MSH-12
    sent_at: datetime | None  # MSH-7
    recorded_at: datetime | None  # EVN-2
    occurred_at: datetime | None  # EVN-6
    patient: MessagePatient
    visit: MessageVisit | None
    diagnoses: tuple[MessageDiagnosis, ...] = ()
    related_persons: tuple[MessageRelatedPerson, ...] = ()
    coverages: tuple[MessageCoverage, ...] = ()
    segment_ids: tuple[str, ...] = field(default=())

    @property
    def as_of(self) -> datetime | None:
        """When the sender recorded this event: orders messages about the same record (EVN-2, else MSH-7)."""
        return self.recorded_at or self.sent_at

    @property
    def event_time(self) -> datetime | None:
        """When the event happened (EVN-6), else when it was recorded."""
        return self.occurred_at or self.recorded_at or self.sent_at


def adt_to_json(message: AdtMessage) -> dict[str, Any]:
    value: dict[str, Any] = msgspec.to_builtins(message)
    return value


def adt_from_json(value: dict[str, Any]) -> AdtMessage:
    return msgspec.convert(value, AdtMessage)
