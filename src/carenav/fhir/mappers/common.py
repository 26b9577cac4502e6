"""Data types shared by the mappers: instants, codings, references. Pure: no SQL, no HTTP."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

FHIRDict = dict[str, Any]

CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VER_STATUS = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
US_CORE_CONDITION_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/condition-category"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
OBSERVATION_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
CONTACT_ROLE = "http://terminology.hl7.org/CodeSystem/v2-0131"
V3_ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
V3_ACT_PRIORITY = "http://terminology.hl7.org/CodeSystem/v3-ActPriority"
V3_MARITAL_STATUS = "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus"
DIAGNOSIS_ROLE = "http://terminology.hl7.org/CodeSystem/diagnosis-role"
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
UCUM = "http://unitsofmeasure.org"
LANGUAGE = "urn:ietf:bcp:47"
US_CORE_RACE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
US_CORE_ETHNICITY = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity"
US_CORE_BIRTHSEX = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex"
US_CORE_GENDER_IDENTITY = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-genderIdentity"


@dataclass(frozen=True)
class ProblemRef:
    """A care plan's problem as a goal's ``addresses`` shows it: its words, and its Condition's id if it
    is one of the record's conditions."""

    text: str
    condition: str | None = None


@dataclass(frozen=True)
class Refs:
    """The public ids (UUIDs) of the rows a batch of records points at, by internal key.

    The edge that loads the rows fills this in; mappers only look ids up, so they stay pure.
    A key missing here makes the mapper fall back to a display-only reference.
    """

    patients: Mapping[int, str] = field(default_factory=dict)
    encounters: Mapping[int, str] = field(default_factory=dict)
    conditions: Mapping[int, str] = field(default_factory=dict)
    facilities: Mapping[int, str] = field(default_factory=dict)
    practitioners: Mapping[int, str] = field(default_factory=dict)
    related_persons: Mapping[int, str] = field(default_factory=dict)
    users: Mapping[int, str] = field(default_factory=dict)
    """Display names of carenav users (who started an assessment), by user key."""
    plans: Mapping[int, str] = field(default_factory=dict)
    problems: Mapping[int, ProblemRef] = field(default_factory=dict)
    members: Mapping[int, tuple[str, str]] = field(default_factory=dict)
    """Care-team members who are a Practitioner, RelatedPerson or the Patient: (resource type, id)."""
    care_teams: Collection[int] = frozenset()
    """Keys of the patients who have a care team (``CareTeam/<patient id>`` exists)."""


def instant(value: datetime | None) -> str | None:
    """An aware instant as FHIR ``instant``/``dateTime`` text in UTC (``...Z``)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: FHIR instants need a zone")
    text = value.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"


def day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def coding(system: str | None, code: str | None, display: str | None = None) -> FHIRDict | None:
    """A Coding, or None when there is neither a code nor a display."""
    if not code and not display:
        return None
    out: FHIRDict = {}
    if system:
        out["system"] = system
    if code:
        out["code"] = code
    if display:
        out["display"] = display
    return out


def concept(
    system: str | None, code: str | None, display: str | None = None, *, text: str | None = None
) -> FHIRDict | None:
    """A CodeableConcept of one coding (or text only), or None when there is nothing to say."""
    out: FHIRDict = {}
    if code:
        one = coding(system, code, display)
        if one:
            out["coding"] = [one]
    label = text or display
    if label:
        out["text"] = label
    return out or None


def required_concept(system: str | None, code: str | None, display: str | None, *, what: str) -> FHIRDict:
    """A CodeableConcept for an element FHIR requires: text ``unknown <what>`` when we know nothing."""
    return concept(system, code, display) or {"text": f"unknown {what}"}


def reference(resource_type: str, resource_id: str | None, display: str | None = None) -> FHIRDict | None:
    """``{"reference": "Type/id"}`` (with display), a display-only reference, or None."""
    out: FHIRDict = {}
    if resource_id:
        out["reference"] = f"{resource_type}/{resource_id}"
    if display:
        out["display"] = display
    return out or None


def period(start: str | None, end: str | None) -> FHIRDict | None:
    out = {k: v for k, v in (("start", start), ("end", end)) if v}
    return out or None


def meta(updated_at: datetime | None) -> FHIRDict:
    return {"lastUpdated": instant(updated_at)} if updated_at else {}


def resource(resource_type: str, resource_id: str, updated_at: datetime | None, **elements: Any) -> FHIRDict:
    """A resource dict with ``id`` and ``meta``, dropping elements that are None or empty."""
    out: FHIRDict = {"resourceType": resource_type, "id": resource_id}
    stamp = meta(updated_at)
    if stamp:
        out["meta"] = stamp
    for key, value in elements.items():
        if value is None or value == [] or value == {}:
            continue
        out[key] = value
    return out


def compact(items: list[FHIRDict | None]) -> list[FHIRDict]:
    return [item for item in items if item]
