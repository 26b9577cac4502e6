"""CareTeam: one care_team_members row per participant, with source id ``<care team id>/participant/<n>``.

A participant that is a Practitioner or RelatedPerson of the record is linked to it; one that is the patient
themself is marked ``is_patient``; any other (an Organization, a contained Practitioner) keeps its name."""

from __future__ import annotations

from typing import Any

from carenav.ingest.fhir.datatypes import (
    as_list,
    as_object,
    clip,
    codings,
    concept_text,
    parse_date,
    person_name,
)
from carenav.ingest.fhir.references import ReferenceIndex, contained
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
            name = person_name(refs.resource(target) or contained(resource, member))
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
            "is_patient": target == ("Patient", patient),
        }
        records.append(
            SourceRecord(
                RecordKind.CARE_TEAM_MEMBER, f"{source_id}/participant/{number}", values, patient=patient
            )
        )
    return records
