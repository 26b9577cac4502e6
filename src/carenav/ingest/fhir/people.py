"""Patient, RelatedPerson, Practitioner and Organization (-> facility) to record rows."""

from __future__ import annotations

from typing import Any

from carenav.ingest.fhir.datatypes import (
    ResourceProblem,
    address_text,
    as_bool,
    as_list,
    as_object,
    clip,
    codings,
    concept_text,
    first_coding,
    first_telecom,
    human_name,
    parse_date,
    parse_instant,
)
from carenav.ingest.fhir.references import ReferenceIndex
from carenav.ingest.fhir.vocabulary import (
    BIRTH_SEX,
    INTERPRETER_REQUIRED,
    US_CORE_BIRTHSEX,
    US_CORE_ETHNICITY,
    US_CORE_RACE,
    US_NPI,
    identifier_kind,
)
from carenav.patients.rules import AdministrativeSex
from carenav.patients.services import RecordKind, SourceRecord

_SEXES = frozenset(AdministrativeSex)
_TELECOM_SYSTEMS = frozenset({"phone", "fax", "email", "pager", "url", "sms", "other"})


def map_patient(resource: dict[str, Any], refs: ReferenceIndex, source_id: str) -> list[SourceRecord]:
    gender = resource.get("gender", "unknown")
    if gender not in _SEXES:
        raise ResourceProblem(f"gender {gender!r} is not one of male, female, other, unknown")
    deceased_at = parse_instant(resource.get("deceasedDateTime"), "deceasedDateTime")
    deceased = deceased_at is not None or bool(as_bool(resource.get("deceasedBoolean"), "deceasedBoolean"))
    values: dict[str, Any] = {
        "birth_date": parse_date(resource.get("birthDate"), "birthDate"),
        "administrative_sex": gender,
        "deceased": deceased,
        "deceased_at": deceased_at,
        "marital_status": _code_or_text(resource.get("maritalStatus"), "maritalStatus", 50),
    }
    for number, extension in enumerate(as_list(resource.get("extension"), "extension")):
        extension = as_object(extension, f"extension[{number}]")
        url = extension.get("url")
        if url == US_CORE_RACE:
            values["race"] = clip(_omb_text(extension), 200)
        elif url == US_CORE_ETHNICITY:
            values["ethnicity"] = clip(_omb_text(extension), 200)
        elif url == US_CORE_BIRTHSEX:
            code = extension.get("valueCode")
            values["birth_sex"] = BIRTH_SEX.get(code, clip(code, 16)) if isinstance(code, str) else None
        elif url == INTERPRETER_REQUIRED:
            values["interpreter_needed"] = as_bool(extension.get("valueBoolean"), "interpreterRequired")
    _language(resource, values)
    return [
        SourceRecord(
            RecordKind.PATIENT,
            source_id,
            values,
            children={
                "names": _names(resource),
                "identifiers": _identifiers(resource),
                "addresses": _addresses(resource),
                "telecoms": _telecoms(resource),
            },
        )
    ]


def _code_or_text(concept: Any, element: str, size: int) -> str | None:
    coding = first_coding(concept, element)
    return clip(coding["code"] if coding else concept_text(concept, element), size)


def _omb_text(extension: dict[str, Any]) -> str | None:
    """The ``text`` part of a US Core race/ethnicity extension, else its category displays."""
    displays = []
    for part in extension.get("extension") or ():
        if not isinstance(part, dict):
            continue
        if part.get("url") == "text" and isinstance(part.get("valueString"), str):
            return str(part["valueString"])
        coding = part.get("valueCoding")
        if isinstance(coding, dict) and isinstance(coding.get("display"), str):
            displays.append(coding["display"])
    return ", ".join(displays) or None


def _language(resource: dict[str, Any], values: dict[str, Any]) -> None:
    chosen = None
    for number, communication in enumerate(as_list(resource.get("communication"), "communication")):
        communication = as_object(communication, f"communication[{number}]")
        if chosen is None or communication.get("preferred") is True:
            chosen = (number, communication)
        if communication.get("preferred") is True:
            break
    if chosen is None:
        return
    number, communication = chosen
    element = f"communication[{number}].language"
    coding = first_coding(communication.get("language"), element, prefer=("urn:ietf:bcp:47",))
    code = coding["code"] if coding else None
    if code is not None and len(code) > 35:
        raise ResourceProblem(f"{element} code {code!r} is not a BCP-47 language tag")
    values["preferred_language"] = code
    values["preferred_language_display"] = clip(concept_text(communication.get("language"), element), 100)


def _names(resource: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for number, name in enumerate(as_list(resource.get("name"), "name")):
        name = as_object(name, f"name[{number}]")
        family, given, prefix, suffix = human_name(name)
        rows.append(
            {
                "use": clip(name.get("use"), 20),
                "family": clip(family, 200),
                "given": clip(given, 200),
                "prefix": clip(prefix, 50),
                "suffix": clip(suffix, 50),
            }
        )
    return rows


def _identifiers(resource: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for number, identifier in enumerate(as_list(resource.get("identifier"), "identifier")):
        identifier = as_object(identifier, f"identifier[{number}]")
        value = identifier.get("value")
        if not isinstance(value, str) or not value:
            continue
        if len(value) > 200:
            raise ResourceProblem(f"identifier[{number}].value is longer than 200 characters")
        system = identifier.get("system")
        types = [
            (c["system"], c["code"]) for c in codings(identifier.get("type"), f"identifier[{number}].type")
        ]
        assigner = identifier.get("assigner")
        rows.append(
            {
                "kind": identifier_kind(system, types).value,
                "system": clip(system, 200) if isinstance(system, str) else None,
                "value": value,
                "assigner": clip(assigner.get("display"), 200) if isinstance(assigner, dict) else None,
            }
        )
    return rows


def _addresses(resource: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for number, address in enumerate(as_list(resource.get("address"), "address")):
        address = as_object(address, f"address[{number}]")
        period = address.get("period") or {}
        rows.append(
            {
                "use": clip(address.get("use"), 20),
                "lines": "\n".join(line for line in address.get("line") or () if isinstance(line, str))
                or None,
                "city": clip(address.get("city"), 100),
                "district": clip(address.get("district"), 100),
                "state": clip(address.get("state"), 50),
                "postal_code": clip(address.get("postalCode"), 20),
                "country": clip(address.get("country"), 50),
                "period_start": parse_date(period.get("start"), f"address[{number}].period.start"),
                "period_end": parse_date(period.get("end"), f"address[{number}].period.end"),
            }
        )
    return rows


def _telecoms(resource: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for number, contact in enumerate(as_list(resource.get("telecom"), "telecom")):
        contact = as_object(contact, f"telecom[{number}]")
        value = contact.get("value")
        if not isinstance(value, str) or not value:
            continue
        system = contact.get("system") if contact.get("system") in _TELECOM_SYSTEMS else "other"
        rows.append({"system": system, "value": clip(value, 200), "use": clip(contact.get("use"), 20)})
    return rows


def map_related_person(resource: dict[str, Any], refs: ReferenceIndex, source_id: str) -> list[SourceRecord]:
    patient = refs.patient_id(resource.get("patient"), "patient")
    relationship = None
    codes: set[str] = set()
    for number, concept in enumerate(as_list(resource.get("relationship"), "relationship")):
        found = codings(concept, f"relationship[{number}]")
        codes.update(c["code"] for c in found if c["code"])
        if relationship is None and found:
            relationship = (found[0]["code"], concept_text(concept, f"relationship[{number}]"))
    names = as_list(resource.get("name"), "name")
    name = None
    if names:
        family, given, _, _ = human_name(as_object(names[0], "name[0]"))
        name = " ".join(part for part in (given, family) if part)
    addresses = as_list(resource.get("address"), "address")
    values = {
        "relationship_code": relationship[0] if relationship else None,
        "relationship_display": clip(relationship[1], 500) if relationship else None,
        "is_caregiver": bool(codes & {"CAREGIVER", "CGV"}),
        "is_emergency_contact": bool(codes & {"C", "ECON", "EP"}),
        "name": clip(name, 300) or "(no name)",
        "phone": clip(first_telecom(resource.get("telecom"), "phone"), 50),
        "email": clip(first_telecom(resource.get("telecom"), "email"), 200),
        "address": address_text(as_object(addresses[0], "address[0]")) if addresses else None,
    }
    return [SourceRecord(RecordKind.RELATED_PERSON, source_id, values, patient=patient)]


def _npi(resource: dict[str, Any]) -> str | None:
    for identifier in resource.get("identifier") or ():
        if isinstance(identifier, dict) and identifier.get("system") == US_NPI:
            value = identifier.get("value")
            return clip(value, 20) if isinstance(value, str) else None
    return None


def map_practitioner(resource: dict[str, Any], refs: ReferenceIndex, source_id: str) -> list[SourceRecord]:
    names = as_list(resource.get("name"), "name")
    family, given, prefix, _ = human_name(as_object(names[0], "name[0]")) if names else (None,) * 4
    values = {
        "family_name": clip(family, 200),
        "given_names": clip(given, 200),
        "prefix": clip(prefix, 50),
        "npi": _npi(resource),
        "phone": clip(first_telecom(resource.get("telecom"), "phone"), 50),
        "email": clip(first_telecom(resource.get("telecom"), "email"), 200),
    }
    return [SourceRecord(RecordKind.PRACTITIONER, source_id, values)]


def map_organization(resource: dict[str, Any], refs: ReferenceIndex, source_id: str) -> list[SourceRecord]:
    name = resource.get("name")
    if name is not None and not isinstance(name, str):
        raise ResourceProblem(f"name must be a string, not {name!r}")
    types = as_list(resource.get("type"), "type")
    addresses = as_list(resource.get("address"), "address")
    values = {
        "name": clip(name, 300) or f"(unnamed organization {source_id})",
        "npi": _npi(resource),
        "kind": clip(concept_text(types[0], "type[0]"), 100) if types else None,
        "address": address_text(as_object(addresses[0], "address[0]")) if addresses else None,
        "phone": clip(first_telecom(resource.get("telecom"), "phone"), 50),
    }
    return [SourceRecord(RecordKind.FACILITY, source_id, values)]
