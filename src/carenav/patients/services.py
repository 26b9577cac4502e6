"""Writes of the patient record from a source (an import, a feed, a test builder).

The unit of input is a ``SourceRecord``: one row of one record table, named by its source id, with
its child rows (a patient's names, an encounter's diagnoses, an observation's components) and
references to other records by source id (``Ref``). Records are grouped in ``RecordUnit``s: all of
a unit goes in or none of it does.

``patient_record_upsert`` writes many units with one bulk statement per table (upsert on
org, source system and source id, returning the ids), inside one savepoint. Should the database
refuse anything, it rolls that savepoint back and writes unit by unit, each in its own savepoint, so
one bad unit costs only itself. A record whose content digest matches the stored one is left alone,
child rows included: re-importing unchanged data writes nothing. Services flush; the caller commits.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson
from sqlalchemy import Table, delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.accounts.models import Organization
from carenav.audit.services import audit_record
from carenav.clock import now
from carenav.db.types import Base
from carenav.errors import NotFound
from carenav.patients import models
from carenav.patients.identity import record_uuid


class RecordKind(StrEnum):
    """The record tables a source can write; the value is the FHIR resource type the uuid is made from."""

    FACILITY = "Organization"
    PRACTITIONER = "Practitioner"
    PATIENT = "Patient"
    RELATED_PERSON = "RelatedPerson"
    COVERAGE = "Coverage"
    ENCOUNTER = "Encounter"
    CONDITION = "Condition"
    OBSERVATION = "Observation"
    MEDICATION = "MedicationRequest"
    ALLERGY = "AllergyIntolerance"
    PROCEDURE = "Procedure"
    CARE_TEAM_MEMBER = "CareTeam"


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


# Written in this order, so that a reference always points at a kind already written.
KIND_MODELS: dict[RecordKind, type[Base]] = {
    RecordKind.FACILITY: models.Facility,
    RecordKind.PRACTITIONER: models.Practitioner,
    RecordKind.PATIENT: models.Patient,
    RecordKind.RELATED_PERSON: models.RelatedPerson,
    RecordKind.COVERAGE: models.Coverage,
    RecordKind.ENCOUNTER: models.Encounter,
    RecordKind.CONDITION: models.Condition,
    RecordKind.OBSERVATION: models.Observation,
    RecordKind.MEDICATION: models.Medication,
    RecordKind.ALLERGY: models.Allergy,
    RecordKind.PROCEDURE: models.Procedure,
    RecordKind.CARE_TEAM_MEMBER: models.CareTeamMember,
}
PATIENT_OWNED = frozenset(
    set(RecordKind) - {RecordKind.FACILITY, RecordKind.PRACTITIONER, RecordKind.PATIENT}
)

# kind -> child name -> (child model, column naming the parent)
CHILDREN: dict[RecordKind, dict[str, tuple[type[Base], str]]] = {
    RecordKind.PATIENT: {
        "names": (models.PatientName, "patient_id"),
        "identifiers": (models.PatientIdentifier, "patient_id"),
        "addresses": (models.PatientAddress, "patient_id"),
        "telecoms": (models.PatientTelecom, "patient_id"),
    },
    RecordKind.ENCOUNTER: {"diagnoses": (models.EncounterDiagnosis, "encounter_id")},
    RecordKind.OBSERVATION: {"components": (models.ObservationComponent, "observation_id")},
}

_MANAGED = frozenset(
    {"id", "uuid", "org_id", "source_system", "source_id", "source_digest", "created_at", "updated_at"}
)
_ID_CHUNK = 900


@dataclass(frozen=True, slots=True)
class Ref:
    """A reference to another record by its source id; resolved to a key when written (None if absent)."""

    kind: RecordKind
    source_id: str


@dataclass(slots=True)
class SourceRecord:
    """One row to write. ``values`` holds columns of the kind's table (a ``Ref`` for a foreign key);
    ``patient`` the source id of the owning patient; ``children`` rows of the kind's child tables."""

    kind: RecordKind
    source_id: str
    values: dict[str, Any]
    patient: str | None = None
    children: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def digest(self) -> str:
        payload = orjson.dumps(
            [self.values, self.patient, self.children], option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
        )
        return hashlib.blake2b(payload, digest_size=16).hexdigest()


@dataclass(slots=True)
class RecordUnit:
    """Records that go in together or not at all (one patient's resources from one bundle, say)."""

    records: list[SourceRecord]
    label: str = ""


CREATED = "created"
UPDATED = "updated"
UNCHANGED = "unchanged"


@dataclass(slots=True)
class UnitOutcome:
    """Per record of a unit, in order: ``created``, ``updated``, ``unchanged``, or the reason it failed."""

    unit: RecordUnit
    statuses: list[str]

    @property
    def failed(self) -> list[tuple[SourceRecord, str]]:
        return [
            (record, status)
            for record, status in zip(self.unit.records, self.statuses, strict=True)
            if status not in (CREATED, UPDATED, UNCHANGED)
        ]


def patient_record_upsert(
    *, session: Session, actor: Actor, units: Sequence[RecordUnit], source_system: str
) -> list[UnitOutcome]:
    """Create or update the records of ``units`` from ``source_system`` in the actor's organization.

    Returns one outcome per unit. A record that references a patient neither in ``units`` nor stored
    fails alone; if the database refuses a unit, every record of that unit fails with the reason.
    Each patient whose record was written gets one audit row.
    """
    session.flush()
    org_uuid = session.scalar(select(Organization.uuid).where(Organization.id == actor.org_id))
    if org_uuid is None:
        raise NotFound(f"no organization with id {actor.org_id}")
    writer = _Writer(session=session, org_id=actor.org_id, org_uuid=org_uuid, source_system=source_system)
    try:
        with session.begin_nested():
            outcomes = writer.write(units)
    except DBAPIError as exc:
        if len(units) == 1:
            outcomes = [_failed_unit(units[0], exc)]
        else:
            outcomes = []
            for unit in units:
                try:
                    with session.begin_nested():
                        outcomes.extend(writer.write([unit]))
                except DBAPIError as unit_exc:
                    outcomes.append(_failed_unit(unit, unit_exc))
    _audit(session=session, actor=actor, outcomes=outcomes, source_system=source_system, org_uuid=org_uuid)
    _expire_written(session)
    return outcomes


def _failed_unit(unit: RecordUnit, exc: DBAPIError) -> UnitOutcome:
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
    return UnitOutcome(unit, [f"the database refused this record: {reason}"] * len(unit.records))


def _audit(
    *, session: Session, actor: Actor, outcomes: list[UnitOutcome], source_system: str, org_uuid: str
) -> None:
    written: dict[str, Counter[str]] = defaultdict(Counter)
    for outcome in outcomes:
        for record, status in zip(outcome.unit.records, outcome.statuses, strict=True):
            owner = record.source_id if record.kind is RecordKind.PATIENT else record.patient
            if owner is not None and status in (CREATED, UPDATED):
                written[owner][status] += 1
    for patient_source_id in sorted(written):
        counts = written[patient_source_id]
        audit_record(
            session=session,
            actor=actor,
            action="import",
            patient_uuid=record_uuid(
                org_uuid=org_uuid,
                source_system=source_system,
                resource_type=RecordKind.PATIENT.value,
                source_id=patient_source_id,
            ),
            entity_type="Patient",
            entity_id=patient_source_id,
            detail=f"from {source_system}: {counts[CREATED]} records created, {counts[UPDATED]} updated",
        )
    session.flush()


def _expire_written(session: Session) -> None:
    """Rows were written with Core statements: make loaded ORM objects of those tables reload."""
    record_classes = (
        *KIND_MODELS.values(),
        *(child for spec in CHILDREN.values() for child, _ in spec.values()),
    )
    for obj in list(session.identity_map.values()):
        if isinstance(obj, record_classes):
            session.expire(obj)


class _Writer:
    def __init__(self, *, session: Session, org_id: int, org_uuid: str, source_system: str) -> None:
        self.session = session
        self.org_id = org_id
        self.org_uuid = org_uuid
        self.source_system = source_system
        self.dialect = session.get_bind().dialect.name

    def write(self, units: Sequence[RecordUnit]) -> list[UnitOutcome]:
        statuses: dict[int, str] = {}
        ids: dict[RecordKind, dict[str, int]] = {kind: {} for kind in RecordKind}
        by_kind: dict[RecordKind, dict[str, SourceRecord]] = {kind: {} for kind in RecordKind}
        duplicates: dict[int, SourceRecord] = {}  # id(earlier record) -> the record that replaced it
        patients_in_batch = {
            record.source_id for unit in units for record in unit.records if record.kind is RecordKind.PATIENT
        }
        wanted_patients = {
            record.patient
            for unit in units
            for record in unit.records
            if record.kind in PATIENT_OWNED and record.patient is not None
        } - patients_in_batch
        ids[RecordKind.PATIENT].update(self._lookup_ids(RecordKind.PATIENT, wanted_patients))
        known_patients = patients_in_batch | set(ids[RecordKind.PATIENT])
        for unit in units:
            for record in unit.records:
                if record.kind in PATIENT_OWNED and record.patient not in known_patients:
                    statuses[id(record)] = (
                        f"references a patient that was not imported (Patient/{record.patient})"
                        if record.patient
                        else "names no patient"
                    )
                    continue
                earlier = by_kind[record.kind].get(record.source_id)
                if earlier is not None:  # the same resource twice (an Organization in every bundle)
                    duplicates[id(earlier)] = record
                by_kind[record.kind][record.source_id] = record
        pending_children: list[tuple[RecordKind, int, SourceRecord]] = []
        changed_parents: dict[RecordKind, list[int]] = defaultdict(list)
        for kind in KIND_MODELS:
            records = by_kind[kind]
            if records:
                self._write_kind(kind, records, ids, statuses, pending_children, changed_parents)
        for earlier_key, later in duplicates.items():
            while id(later) in duplicates:
                later = duplicates[id(later)]
            statuses[earlier_key] = statuses[id(later)]
        self._write_children(pending_children, changed_parents, ids)
        return [UnitOutcome(unit, [statuses[id(record)] for record in unit.records]) for unit in units]

    def _lookup_ids(self, kind: RecordKind, source_ids: Iterable[str]) -> dict[str, int]:
        return {source_id: row[0] for source_id, row in self._lookup(kind, source_ids).items()}

    def _lookup(self, kind: RecordKind, source_ids: Iterable[str]) -> dict[str, tuple[int, str | None]]:
        table = _table(KIND_MODELS[kind])
        wanted = sorted(set(source_ids))
        found: dict[str, tuple[int, str | None]] = {}
        for start in range(0, len(wanted), _ID_CHUNK):
            rows = self.session.execute(
                select(table.c.source_id, table.c.id, table.c.source_digest).where(
                    table.c.org_id == self.org_id,
                    table.c.source_system == self.source_system,
                    table.c.source_id.in_(wanted[start : start + _ID_CHUNK]),
                )
            )
            for source_id, key, digest in rows:
                found[source_id] = (key, digest)
        return found

    def _resolve(self, refs: Iterable[Ref], ids: dict[RecordKind, dict[str, int]]) -> None:
        missing: dict[RecordKind, set[str]] = defaultdict(set)
        for ref in refs:
            if ref.source_id not in ids[ref.kind]:
                missing[ref.kind].add(ref.source_id)
        for kind, source_ids in missing.items():
            ids[kind].update(self._lookup_ids(kind, source_ids))

    def _write_kind(
        self,
        kind: RecordKind,
        records: dict[str, SourceRecord],
        ids: dict[RecordKind, dict[str, int]],
        statuses: dict[int, str],
        pending_children: list[tuple[RecordKind, int, SourceRecord]],
        changed_parents: dict[RecordKind, list[int]],
    ) -> None:
        table = _table(KIND_MODELS[kind])
        existing = self._lookup(kind, records)
        to_write: list[tuple[SourceRecord, str]] = []
        for source_id, record in records.items():
            digest = record.digest()
            stored = existing.get(source_id)
            if stored is not None:
                ids[kind][source_id] = stored[0]
                if stored[1] == digest:
                    statuses[id(record)] = UNCHANGED
                    continue
                statuses[id(record)] = UPDATED
                changed_parents[kind].append(stored[0])
            else:
                statuses[id(record)] = CREATED
            to_write.append((record, digest))
        if not to_write:
            return
        self._resolve(
            (value for record, _ in to_write for value in record.values.values() if isinstance(value, Ref)),
            ids,
        )
        columns = [c for c in table.columns if c.name not in _MANAGED]
        defaults = {
            c.name: c.default.arg  # type: ignore[attr-defined]
            for c in columns
            if c.default is not None and c.default.is_scalar
        }
        stamp = now()
        patient_ids = ids[RecordKind.PATIENT]
        rows = []
        for record, digest in to_write:
            values = record.values
            row: dict[str, Any] = {}
            for column in columns:
                name = column.name
                value = values.get(name, defaults.get(name))
                if isinstance(value, Ref):
                    value = ids[value.kind].get(value.source_id)
                row[name] = value
            if kind in PATIENT_OWNED:
                row["patient_id"] = patient_ids[record.patient]  # type: ignore[index]
            row.update(
                org_id=self.org_id,
                source_system=self.source_system,
                source_id=record.source_id,
                source_digest=digest,
                uuid=record_uuid(
                    org_uuid=self.org_uuid,
                    source_system=self.source_system,
                    resource_type=kind.value,
                    source_id=record.source_id,
                ),
                created_at=stamp,
                updated_at=stamp,
            )
            rows.append(row)
        insert_of = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        base = insert_of(table)
        upsert = base.on_conflict_do_update(
            index_elements=[table.c.org_id, table.c.source_system, table.c.source_id],
            set_={
                name: base.excluded[name] for name in rows[0] if name not in ("uuid", "created_at", "org_id")
            },
        ).returning(table.c.source_id, table.c.id)
        for source_id, key in self.session.execute(upsert, rows):
            ids[kind][source_id] = key
        if kind in CHILDREN:
            for record, _ in to_write:
                pending_children.append((kind, ids[kind][record.source_id], record))

    def _write_children(
        self,
        pending: list[tuple[RecordKind, int, SourceRecord]],
        changed_parents: dict[RecordKind, list[int]],
        ids: dict[RecordKind, dict[str, int]],
    ) -> None:
        for kind, parent_ids in changed_parents.items():
            for model, parent_column in CHILDREN.get(kind, {}).values():
                table = _table(model)
                for start in range(0, len(parent_ids), _ID_CHUNK):
                    self.session.execute(
                        delete(table).where(table.c[parent_column].in_(parent_ids[start : start + _ID_CHUNK]))
                    )
        self._resolve(
            (
                value
                for _, _, record in pending
                for rows in record.children.values()
                for row in rows
                for value in row.values()
                if isinstance(value, Ref)
            ),
            ids,
        )
        batches: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for kind, parent_id, record in pending:
            spec = CHILDREN[kind]
            for name, rows in record.children.items():
                model, parent_column = spec[name]
                has_org = "org_id" in _table(model).c
                for rank, child in enumerate(rows):
                    row = {
                        key: ids[value.kind].get(value.source_id) if isinstance(value, Ref) else value
                        for key, value in child.items()
                    }
                    row[parent_column] = parent_id
                    row.setdefault("rank", rank)
                    if has_org:
                        row["org_id"] = self.org_id
                    batches[f"{kind}.{name}"].append(row)
        for key, rows in batches.items():
            kind_name, child_name = key.split(".", 1)
            model, _ = CHILDREN[RecordKind(kind_name)][child_name]
            table = _table(model)
            columns = [c.name for c in table.columns if c.name != "id"]
            self.session.execute(insert(table), [{c: row.get(c) for c in columns} for row in rows])
