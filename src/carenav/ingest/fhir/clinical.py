"""Encounter, Condition, Observation, MedicationRequest, AllergyIntolerance and Procedure to record rows."""

from __future__ import annotations

from typing import Any

from carenav.education.medication_schedule import dosage_from_fhir
from carenav.errors import InvalidInput
from carenav.ingest.fhir.datatypes import (
    ResourceProblem,
    as_bool,
    as_list,
    as_number,
    as_object,
    as_text,
    clip,
    codings,
    concept_code,
    concept_text,
    first_coding,
    human_name,
    parse_instant,
    period_bounds,
)
from carenav.ingest.fhir.references import ReferenceIndex, contained
from carenav.patients.rules import (
    ICD10,
    ICD10CM,
    KNOWN_DIAGNOSIS_SYSTEMS,
    LOINC,
    RXNORM,
    SNOMED,
    UCUM,
    ConditionCategory,
    EncounterClass,
    EncounterStatus,
    MedicationStatus,
    ObservationStatus,
)
from carenav.patients.services import RecordKind, Ref, SourceRecord

_ENCOUNTER_STATUSES = frozenset(EncounterStatus)
_ENCOUNTER_CLASSES = frozenset(EncounterClass)
_OBSERVATION_STATUSES = frozenset(ObservationStatus)
_MEDICATION_STATUSES = frozenset(MedicationStatus)
_CONDITION_CATEGORIES = frozenset(ConditionCategory)
_PROCEDURE_STATUSES = frozenset(
    {
        "preparation",
        "in-progress",
        "not-done",
        "on-hold",
        "stopped",
        "completed",
        "entered-in-error",
        "unknown",
    }
)
DIAGNOSIS_PREFERENCE = (ICD10CM, SNOMED, ICD10)


def _status(resource: dict[str, Any], allowed: frozenset[str], default: str | None = None) -> str:
    status = resource.get("status", default)
    if status is None:
        raise ResourceProblem("status is missing")
    if status not in allowed:
        raise ResourceProblem(f"status {status!r} is not one of {', '.join(sorted(allowed))}")
    return str(status)


def _encounter_ref(resource: dict[str, Any], refs: ReferenceIndex) -> Ref | None:
    target = refs.target(resource.get("encounter"), "encounter")
    return Ref(RecordKind.ENCOUNTER, target[1]) if target and target[0] == "Encounter" else None


def _coded(concept: Any, element: str, prefer: tuple[str, ...] = ()) -> dict[str, Any]:
    coding = first_coding(concept, element, prefer)
    return {
        "code_system": coding["system"] if coding else None,
        "code": coding["code"] if coding else None,
        "display": clip((coding and coding["display"]) or concept_text(concept, element), 500),
    }


def map_encounter(resource: dict[str, Any], refs: ReferenceIndex, source_id: str) -> list[SourceRecord]:
    patient = refs.patient_id(resource.get("subject"), "subject")
    status = _status(resource, _ENCOUNTER_STATUSES)
    encounter_class = resource.get("class")
    if encounter_class is None:
        raise ResourceProblem("class is missing")
    code = as_object(encounter_class, "class").get("code")
    if code not in _ENCOUNTER_CLASSES:
        raise ResourceProblem(
            f"class code {code!r} is not a v3 ActCode encounter class "
            f"({', '.join(sorted(_ENCOUNTER_CLASSES))})"
        )
    start, end = period_bounds(resource.get("period"), "period")
    types = as_list(resource.get("type"), "type")
    kind = _coded(types[0], "type[0]") if types else {"code_system": None, "code": None, "display": None}
    provider = resource.get("serviceProvider")
    provider_target = refs.target(provider, "serviceProvider")
    facility_name = provider.get("display") if isinstance(provider, dict) else None
    if facility_name is None and provider_target is not None:
        facility_name = (refs.resource(provider_target) or {}).get("name")
    hospitalization = as_object(resource.get("hospitalization") or {}, "hospitalization")
    disposition = first_coding(
        hospitalization.get("dischargeDisposition"), "hospitalization.dischargeDisposition"
    )
    reasons = as_list(resource.get("reasonCode"), "reasonCode")
    locations = as_list(resource.get("location"), "location")
    location = as_object(locations[0], "location[0]").get("location") if locations else None
    identifiers = as_list(resource.get("identifier"), "identifier")
    values: dict[str, Any] = {
        "status": status,
        "encounter_class": code,
        "type_system": kind["code_system"],
        "type_code": kind["code"],
        "type_display": kind["display"],
        "period_start": start,
        "period_end": end,
        "facility_id": Ref(RecordKind.FACILITY, provider_target[1])
        if provider_target and provider_target[0] == "Organization"
        else None,
        "facility_name": clip(facility_name if isinstance(facility_name, str) else None, 300),
        "location": clip(location.get("display"), 200) if isinstance(location, dict) else None,
        "admit_source": concept_code(hospitalization.get("admitSource"), "hospitalization.admitSource"),
        "admission_type": concept_code(resource.get("priority"), "priority"),
        "discharge_disposition_system": disposition["system"] if disposition else None,
        "discharge_disposition_code": disposition["code"] if disposition else None,
        "discharge_disposition_display": clip(disposition["display"], 500) if disposition else None,
        "reason_code": concept_code(reasons[0], "reasonCode[0]") if reasons else None,
        "reason_display": clip(concept_text(reasons[0], "reasonCode[0]"), 500) if reasons else None,
        "visit_number": clip(as_object(identifiers[0], "identifier[0]").get("value"), 100)
        if identifiers
        else None,
        "attending": clip(_attending(resource), 300),
    }
    return [
        SourceRecord(
            RecordKind.ENCOUNTER,
            source_id,
            values,
            patient=patient,
            children={"diagnoses": _diagnoses(resource, refs)},
        )
    ]


def _attending(resource: dict[str, Any]) -> str | None:
    first = None
    for number, participant in enumerate(as_list(resource.get("participant"), "participant")):
        participant = as_object(participant, f"participant[{number}]")
        individual = participant.get("individual")
        display = individual.get("display") if isinstance(individual, dict) else None
        if not isinstance(display, str):
            continue
        first = first or display
        for concept in participant.get("type") or ():
            if any(c["code"] == "ATND" for c in codings(concept, f"participant[{number}].type")):
                return display
    return first


def _diagnoses(resource: dict[str, Any], refs: ReferenceIndex) -> list[dict[str, Any]]:
    rows = []
    for number, diagnosis in enumerate(as_list(resource.get("diagnosis"), "diagnosis")):
        element = f"diagnosis[{number}]"
        diagnosis = as_object(diagnosis, element)
        condition = diagnosis.get("condition")
        target = refs.target(condition, f"{element}.condition")
        coded: dict[str, Any] = {"code_system": None, "code": None, "display": None}
        found = refs.resource(target) or contained(resource, condition)
        if found is not None and isinstance(found.get("code"), dict):
            coded = _coded(found["code"], f"{element}.condition.code", DIAGNOSIS_PREFERENCE)
        if coded["display"] is None and isinstance(condition, dict):
            coded["display"] = clip(condition.get("display"), 500)
        rank = diagnosis.get("rank")
        if rank is not None and (not isinstance(rank, int) or isinstance(rank, bool) or rank < 1):
            raise ResourceProblem(f"{element}.rank must be a positive integer, not {rank!r}")
        rows.append(
            {
                "condition_id": Ref(RecordKind.CONDITION, target[1])
                if target and target[0] == "Condition"
                else None,
                "rank": rank if rank is not None else number + 1,
                "use": concept_code(diagnosis.get("use"), f"{element}.use"),
                **coded,
            }
        )
    return rows


def map_condition(resource: dict[str, Any], refs: ReferenceIndex, source_id: str) -> list[SourceRecord]:
    patient = refs.patient_id(resource.get("subject"), "subject")
    all_codings = codings(resource.get("code"), "code")
    known = [c for c in all_codings if c["system"] in KNOWN_DIAGNOSIS_SYSTEMS and c["code"]]
    if not known:
        systems = ", ".join(sorted({str(c["system"]) for c in all_codings})) or "no coding"
        raise ResourceProblem(
            f"code has no coding in a known diagnosis system (SNOMED CT, ICD-10-CM, ICD-10); found: {systems}"
        )
    primary = next(c for system in DIAGNOSIS_PREFERENCE for c in known if c["system"] == system)
    category = ConditionCategory.PROBLEM_LIST.value
    for number, concept in enumerate(as_list(resource.get("category"), "category")):
        found = [
            c["code"] for c in codings(concept, f"category[{number}]") if c["code"] in _CONDITION_CATEGORIES
        ]
        if found:
            category = found[0]
            break
    onset = resource.get("onsetDateTime")
    if onset is None and isinstance(resource.get("onsetPeriod"), dict):
        onset = resource["onsetPeriod"].get("start")
    abatement = resource.get("abatementDateTime")
    if abatement is None and isinstance(resource.get("abatementPeriod"), dict):
        abatement = resource["abatementPeriod"].get("start")
    values = {
        "encounter_id": _encounter_ref(resource, refs),
        "code_system": primary["system"],
        "code": primary["code"],
        "display": clip(primary["display"] or concept_text(resource.get("code"), "code"), 500),
        "codings": all_codings,
        "clinical_status": concept_code(resource.get("clinicalStatus"), "clinicalStatus"),
        "verification_status": concept_code(resource.get("verificationStatus"), "verificationStatus"),
        "category": category,
        "onset_at": parse_instant(onset, "onset"),
        "abatement_at": parse_instant(abatement, "abatement"),
        "recorded_at": parse_instant(resource.get("recordedDate"), "recordedDate"),
    }
    return [SourceRecord(RecordKind.CONDITION, source_id, values, patient=patient)]


def _value(holder: dict[str, Any], element: str) -> dict[str, Any]:
    """The value[x] columns of an Observation or one of its components."""
    values: dict[str, Any] = {}
    if "valueQuantity" in holder:
        quantity = as_object(holder["valueQuantity"], f"{element}Quantity")
        values["value_quantity"] = as_number(quantity.get("value"), f"{element}Quantity.value")
        unit = quantity.get("code") if quantity.get("system") == UCUM else None
        values["value_unit"] = clip(unit or quantity.get("unit"), 50)
    elif "valueCodeableConcept" in holder:
        coded = _coded(holder["valueCodeableConcept"], f"{element}CodeableConcept")
        values.update(
            value_code_system=coded["code_system"], value_code=coded["code"], value_display=coded["display"]
        )
    elif "valueString" in holder:
        values["value_string"] = as_text(holder["valueString"], f"{element}String")
    elif "valueInteger" in holder:
        values["value_quantity"] = as_number(holder["valueInteger"], f"{element}Integer")
    elif "valueBoolean" in holder:
        values["value_boolean"] = as_bool(holder["valueBoolean"], f"{element}Boolean")
    elif "valueDateTime" in holder:
        instant = parse_instant(holder["valueDateTime"], f"{element}DateTime")
        values["value_string"] = instant.isoformat() if instant else None
    return values


def map_observation(resource: dict[str, Any], refs: ReferenceIndex, source_id: str) -> list[SourceRecord]:
    patient = refs.patient_id(resource.get("subject"), "subject")
    status = _status(resource, _OBSERVATION_STATUSES)
    if resource.get("code") is None:
        raise ResourceProblem("code is missing")
    categories = as_list(resource.get("category"), "category")
    effective = resource.get("effectiveDateTime", resource.get("effectiveInstant"))
    if effective is None and isinstance(resource.get("effectivePeriod"), dict):
        effective = resource["effectivePeriod"].get("start")
    interpretations = as_list(resource.get("interpretation"), "interpretation")
    values: dict[str, Any] = {
        "encounter_id": _encounter_ref(resource, refs),
        "status": status,
        "category": clip(concept_code(categories[0], "category[0]"), 40) if categories else None,
        **_coded(resource.get("code"), "code", (LOINC,)),
        **_value(resource, "value"),
        "interpretation": clip(concept_code(interpretations[0], "interpretation[0]"), 20)
        if interpretations
        else None,
        "effective_at": parse_instant(effective, "effective"),
        "issued_at": parse_instant(resource.get("issued"), "issued"),
    }
    components = []
    for number, component in enumerate(as_list(resource.get("component"), "component")):
        element = f"component[{number}]"
        component = as_object(component, element)
        if component.get("code") is None:
            raise ResourceProblem(f"{element}.code is missing")
        components.append(
            {
                **_coded(component["code"], f"{element}.code", (LOINC,)),
                **_value(component, f"{element}.value"),
            }
        )
    return [
        SourceRecord(
            RecordKind.OBSERVATION, source_id, values, patient=patient, children={"components": components}
        )
    ]


def map_medication_request(
    resource: dict[str, Any], refs: ReferenceIndex, source_id: str
) -> list[SourceRecord]:
    patient = refs.patient_id(resource.get("subject"), "subject")
    status = _status(resource, _MEDICATION_STATUSES)
    concept = resource.get("medicationCodeableConcept")
    if concept is None and "medicationReference" in resource:
        reference = resource["medicationReference"]
        medication = contained(resource, reference) or refs.resource(
            refs.target(reference, "medicationReference")
        )
        if medication is None:
            raise ResourceProblem(
                "medicationReference names a Medication that is neither contained nor in the bundle"
            )
        concept = medication.get("code")
    if concept is None:
        raise ResourceProblem("has neither medicationCodeableConcept nor a resolvable medicationReference")
    dosages = as_list(resource.get("dosageInstruction"), "dosageInstruction")
    dosage = as_object(dosages[0], "dosageInstruction[0]") if dosages else {}
    if dosage:
        try:
            dosage_from_fhir(dosage, "dosageInstruction[0]")
        except InvalidInput as exc:
            raise ResourceProblem(str(exc)) from exc
    requester = resource.get("requester")
    requester_name = requester.get("display") if isinstance(requester, dict) else None
    if requester_name is None:
        found = refs.resource(refs.target(requester, "requester"))
        if found is not None and found.get("resourceType") == "Practitioner" and found.get("name"):
            family, given, prefix, _ = _name_of(found)
            requester_name = " ".join(part for part in (prefix, given, family) if part) or None
    values = {
        "encounter_id": _encounter_ref(resource, refs),
        "status": status,
        "intent": clip(as_text(resource.get("intent"), "intent") or "order", 20),
        **_coded(concept, "medication", (RXNORM,)),
        "authored_at": parse_instant(resource.get("authoredOn"), "authoredOn"),
        "dosage_text": as_text(dosage.get("text"), "dosageInstruction[0].text"),
        "as_needed": as_bool(dosage.get("asNeededBoolean"), "dosageInstruction[0].asNeededBoolean"),
        "dosage_instruction": dosage or None,
        "requester": clip(requester_name if isinstance(requester_name, str) else None, 300),
        **_medication_reason(resource, refs),
    }
    return [SourceRecord(RecordKind.MEDICATION, source_id, values, patient=patient)]


def _medication_reason(resource: dict[str, Any], refs: ReferenceIndex) -> dict[str, str | None]:
    """Why a medicine is ordered: its first ``reasonCode``; else the first ``reasonReference`` that names
    a Condition of the same bundle (or contained), read as the Condition row reads its code; else the
    display of the first reference that has one."""
    reasons = as_list(resource.get("reasonCode"), "reasonCode")
    if reasons:
        return {
            "reason_code": concept_code(reasons[0], "reasonCode[0]"),
            "reason_display": clip(concept_text(reasons[0], "reasonCode[0]"), 500),
        }
    shown = None
    for number, reference in enumerate(as_list(resource.get("reasonReference"), "reasonReference")):
        element = f"reasonReference[{number}]"
        found = contained(resource, reference) or refs.resource(refs.target(reference, element))
        if found is not None and found.get("resourceType") == "Condition" and found.get("code") is not None:
            coded = _coded(found["code"], f"{element} Condition.code", DIAGNOSIS_PREFERENCE)
            if coded["code"] or coded["display"]:
                return {"reason_code": coded["code"], "reason_display": coded["display"]}
        display = as_object(reference, element).get("display")
        if shown is None and isinstance(display, str) and display.strip():
            shown = display.strip()
    return {"reason_code": None, "reason_display": clip(shown, 500)}


def _name_of(resource: dict[str, Any]) -> tuple[str | None, str | None, str | None, str | None]:
    names = resource.get("name")
    if isinstance(names, list) and names and isinstance(names[0], dict):
        return human_name(names[0])
    return None, None, None, None


def map_allergy(resource: dict[str, Any], refs: ReferenceIndex, source_id: str) -> list[SourceRecord]:
    patient = refs.patient_id(resource.get("patient"), "patient")
    reactions = []
    for number, reaction in enumerate(as_list(resource.get("reaction"), "reaction")):
        reaction = as_object(reaction, f"reaction[{number}]")
        for index, manifestation in enumerate(as_list(reaction.get("manifestation"), f"reaction[{number}]")):
            text = concept_text(manifestation, f"reaction[{number}].manifestation[{index}]")
            if text:
                reactions.append(text)
    categories = as_list(resource.get("category"), "category")
    values = {
        **_coded(resource.get("code"), "code", (SNOMED, RXNORM)),
        "clinical_status": concept_code(resource.get("clinicalStatus"), "clinicalStatus"),
        "verification_status": concept_code(resource.get("verificationStatus"), "verificationStatus"),
        "allergy_type": clip(as_text(resource.get("type"), "type"), 20),
        "category": clip(as_text(categories[0], "category[0]"), 20) if categories else None,
        "criticality": clip(as_text(resource.get("criticality"), "criticality"), 20),
        "reaction": "; ".join(reactions) or None,
        "recorded_at": parse_instant(resource.get("recordedDate"), "recordedDate"),
    }
    return [SourceRecord(RecordKind.ALLERGY, source_id, values, patient=patient)]


def map_procedure(resource: dict[str, Any], refs: ReferenceIndex, source_id: str) -> list[SourceRecord]:
    patient = refs.patient_id(resource.get("subject"), "subject")
    status = _status(resource, _PROCEDURE_STATUSES)
    if "performedPeriod" in resource:
        start, end = period_bounds(resource["performedPeriod"], "performedPeriod")
    else:
        start = parse_instant(resource.get("performedDateTime"), "performedDateTime")
        end = None
    values = {
        "encounter_id": _encounter_ref(resource, refs),
        "status": status,
        **_coded(resource.get("code"), "code", (SNOMED,)),
        "performed_start": start,
        "performed_end": end,
    }
    return [SourceRecord(RecordKind.PROCEDURE, source_id, values, patient=patient)]
