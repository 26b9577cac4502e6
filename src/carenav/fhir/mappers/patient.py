"""Patient: demographics, names, identifiers, addresses, telecoms, US Core extensions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from carenav.fhir.mappers.common import (
    IDENTIFIER_TYPE,
    LANGUAGE,
    US_CORE_BIRTHSEX,
    US_CORE_ETHNICITY,
    US_CORE_GENDER_IDENTITY,
    US_CORE_RACE,
    V3_MARITAL_STATUS,
    FHIRDict,
    compact,
    concept,
    day,
    instant,
    period,
    resource,
)

if TYPE_CHECKING:
    from carenav.patients.models import (
        Patient,
        PatientAddress,
        PatientIdentifier,
        PatientName,
        PatientTelecom,
    )

# Our identifier kinds as HL7 v2 table 0203 identifier types.
IDENTIFIER_TYPES: dict[str, tuple[str, str]] = {
    "mrn": ("MR", "Medical record number"),
    "member_id": ("MB", "Member Number"),
    "mbi": ("MC", "Patient's Medicare number"),
    "ssn": ("SS", "Social Security number"),
    "drivers_license": ("DL", "Driver's license number"),
    "passport": ("PPN", "Passport number"),
}

MARITAL_STATUS: dict[str, str] = {
    "A": "Annulled",
    "D": "Divorced",
    "I": "Interlocutory",
    "L": "Legally Separated",
    "M": "Married",
    "P": "Polygamous",
    "S": "Never Married",
    "T": "Domestic partner",
    "U": "unmarried",
    "W": "Widowed",
    "UNK": "unknown",
}

NAME_USES = {"usual", "official", "temp", "nickname", "anonymous", "old", "maiden"}
ADDRESS_USES = {"home", "work", "temp", "old", "billing"}
TELECOM_SYSTEMS = {"phone", "fax", "email", "pager", "url", "sms", "other"}
TELECOM_USES = {"home", "work", "temp", "old", "mobile"}


def _name(row: PatientName) -> FHIRDict | None:
    out: FHIRDict = {}
    if row.use in NAME_USES:
        out["use"] = row.use
    if row.family:
        out["family"] = row.family
    if row.given:
        out["given"] = row.given.split()
    if row.prefix:
        out["prefix"] = row.prefix.split()
    if row.suffix:
        out["suffix"] = row.suffix.split()
    return out or None


def _identifier(row: PatientIdentifier) -> FHIRDict:
    out: FHIRDict = {}
    kind = IDENTIFIER_TYPES.get(row.kind)
    if kind:
        code, display = kind
        out["type"] = concept(IDENTIFIER_TYPE, code, display)
    if row.system:
        out["system"] = row.system
    out["value"] = row.value
    if row.assigner:
        out["assigner"] = {"display": row.assigner}
    return out


def _address(row: PatientAddress) -> FHIRDict | None:
    out: FHIRDict = {}
    if row.use in ADDRESS_USES:
        out["use"] = row.use
    if row.lines:
        out["line"] = [line for line in row.lines.splitlines() if line.strip()]
    for key, value in (
        ("city", row.city),
        ("district", row.district),
        ("state", row.state),
        ("postalCode", row.postal_code),
        ("country", row.country),
    ):
        if value:
            out[key] = value
    span = period(day(row.period_start), day(row.period_end))
    if span:
        out["period"] = span
    return out or None


def _telecom(row: PatientTelecom) -> FHIRDict:
    out: FHIRDict = {"system": row.system if row.system in TELECOM_SYSTEMS else "other", "value": row.value}
    if row.use in TELECOM_USES:
        out["use"] = row.use
    return out


def _text_extension(url: str, text: str) -> FHIRDict:
    return {"url": url, "extension": [{"url": "text", "valueString": text}]}


def _extensions(row: Patient) -> list[FHIRDict]:
    out: list[FHIRDict] = []
    if row.race:
        out.append(_text_extension(US_CORE_RACE, row.race))
    if row.ethnicity:
        out.append(_text_extension(US_CORE_ETHNICITY, row.ethnicity))
    if row.birth_sex:
        out.append({"url": US_CORE_BIRTHSEX, "valueCode": row.birth_sex})
    if row.gender_identity:
        out.append({"url": US_CORE_GENDER_IDENTITY, "valueCodeableConcept": {"text": row.gender_identity}})
    return out


def _marital_status(code: str | None) -> FHIRDict | None:
    if not code:
        return None
    if code in MARITAL_STATUS:
        return concept(V3_MARITAL_STATUS, code, MARITAL_STATUS[code])
    return {"text": code}


def _communication(row: Patient) -> list[FHIRDict]:
    if not row.preferred_language:
        return []
    language = concept(LANGUAGE, row.preferred_language, row.preferred_language_display)
    return [{"language": language, "preferred": True}]


def patient_resource(row: Patient) -> FHIRDict:
    """Our patient as a FHIR R4 Patient. Loads ``names``, ``identifiers``, ``addresses``, ``telecoms``."""
    deceased: dict[str, object] = {}
    if row.deceased_at is not None:
        deceased["deceasedDateTime"] = instant(row.deceased_at)
    elif row.deceased:
        deceased["deceasedBoolean"] = True
    return resource(
        "Patient",
        row.uuid,
        row.updated_at,
        extension=_extensions(row),
        identifier=[_identifier(i) for i in row.identifiers],
        active=True,
        name=compact([_name(n) for n in row.names]),
        telecom=[_telecom(t) for t in row.telecoms],
        gender=row.administrative_sex or "unknown",
        birthDate=day(row.birth_date),
        **deceased,
        address=compact([_address(a) for a in row.addresses]),
        maritalStatus=_marital_status(row.marital_status),
        communication=_communication(row),
    )
