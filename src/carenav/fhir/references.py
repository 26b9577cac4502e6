"""Loading the public ids a batch of rows points at, so the pure mappers can write references."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.accounts.queries import user_display_names
from carenav.fhir.mappers.common import Refs
from carenav.patients.models import Condition, Encounter, Facility, Patient, Practitioner, RelatedPerson

_CHUNK = 900


def _lookup(session: Session, key: Any, value: Any, ids: set[int]) -> dict[int, str]:
    """``value`` by ``key`` for the given keys, a chunk at a time."""
    found: dict[int, str] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start : start + _CHUNK]
        for one, text in session.execute(select(key, value).where(key.in_(chunk))):
            found[one] = text
    return found


def _uuids(session: Session, model: type[Any], ids: set[int]) -> dict[int, str]:
    return _lookup(session, model.id, model.uuid, ids)


def refs_for(session: Session, rows: Iterable[Any]) -> Refs:
    """Refs for every patient, encounter, condition, facility, practitioner and related person the rows
    (and their encounter diagnoses) point at, and the names of the users who started them (assessments)."""
    wanted: dict[str, set[int]] = {
        "patient_id": set(),
        "encounter_id": set(),
        "facility_id": set(),
        "practitioner_id": set(),
        "related_person_id": set(),
        "condition_id": set(),
        "started_by_user_id": set(),
    }
    for row in rows:
        for attribute, ids in wanted.items():
            key = getattr(row, attribute, None)
            if key is not None:
                ids.add(key)
        if isinstance(row, Encounter):
            wanted["condition_id"].update(d.condition_id for d in row.diagnoses if d.condition_id)
    return Refs(
        patients=_uuids(session, Patient, wanted["patient_id"]),
        encounters=_uuids(session, Encounter, wanted["encounter_id"]),
        conditions=_uuids(session, Condition, wanted["condition_id"]),
        facilities=_uuids(session, Facility, wanted["facility_id"]),
        practitioners=_uuids(session, Practitioner, wanted["practitioner_id"]),
        related_persons=_uuids(session, RelatedPerson, wanted["related_person_id"]),
        users=user_display_names(session, wanted["started_by_user_id"]),
    )
