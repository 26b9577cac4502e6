"""CareTeam: one care_team_members row per participant, with source id ``<care team id>/participant/<n>``."""

from __future__ import annotations

from typing import Any

from carenav.ingest.fhir.datatypes import as_list, as_object, clip, codings, concept_text, parse_date
from carenav.ingest.fhir.references import ReferenceIndex
from carenav.ingest.fhir.vocabulary import care_team_role
from carenav.patients.services import RecordKind, Ref, SourceRecord

_MEMBER_KINDS = {"Practitioner": RecordKind.PRACTITIONER, "RelatedPerson": RecordKind.RELATED_PERSON}


def map_care_team(resource: dict[str, Any], refs: ReferenceIndex, source_id: str) -> list[SourceRecord]:
    patient = refs.patient_id(resource.get("subject"), "subject")
    active = resource.get("status") in (None, "active", "proposed")
    records = []
    for number, participant in enumerate(as_list(resource.get("participant"), "participant")):
        element = f"participant[{number}]"
        participant = as_object(participant, element)
        member = participant.get("member")
        target = refs.target(member, f"{element}.member")
        roles = as_list(participant.get("role"), f"{element}.role")
        words: list[str | None] = []
        for index, concept in enumerate(roles):
            found = codings(concept, f"{element}.role[{index}]")
            words.extend(c["display"] for c in found)
            words.extend(c["code"] for c in found)
            words.append(concept_text(concept, f"{element}.role[{index}]"))
        name = member.get("display") if isinstance(member, dict) else None
        if name is None:
            name = _name_from(refs.resource(target))
        on_behalf = participant.get("onBehalfOf")
        period = as_object(participant.get("period") or {}, f"{element}.period")
        member_kind = _MEMBER_KINDS.get(target[0]) if target else None
        values = {
            "role": care_team_role(words).value,
            "role_display": clip(concept_text(roles[0], f"{element}.role[0]"), 500) if roles else None,
            "practitioner_id": Ref(RecordKind.PRACTITIONER, target[1])
            if target and member_kind is RecordKind.PRACTITIONER
            else None,
            "related_person_id": Ref(RecordKind.RELATED_PERSON, target[1])
            if target and member_kind is RecordKind.RELATED_PERSON
            else None,
            "name": clip(name if isinstance(name, str) else None, 300) or "(unnamed member)",
            "organization_name": clip(on_behalf.get("display"), 300) if isinstance(on_behalf, dict) else None,
            "period_start": parse_date(period.get("start"), f"{element}.period.start"),
            "period_end": parse_date(period.get("end"), f"{element}.period.end"),
            "active": active,
        }
        records.append(
            SourceRecord(
                RecordKind.CARE_TEAM_MEMBER, f"{source_id}/participant/{number}", values, patient=patient
            )
        )
    return records


def _name_from(resource: dict[str, Any] | None) -> str | None:
    if resource is None:
        return None
    names = resource.get("name")
    if isinstance(names, str):
        return names
    if isinstance(names, list) and names and isinstance(names[0], dict):
        name = names[0]
        if isinstance(name.get("text"), str):
            return str(name["text"])
        given = " ".join(g for g in name.get("given") or () if isinstance(g, str))
        return " ".join(part for part in (given, name.get("family")) if part) or None
    return None
