"""Writes of the patient record from a source (an import, a feed, a test builder).

The unit of input is a ``SourceRecord``: one row of one record table, named by its source id, with
its child rows (a patient's names, an encounter's diagnoses, an observation's components, a care plan's
problems) and references to other records by source id (``Ref``). Records are grouped in
``RecordUnit``s: all of a unit goes in or none of it does.

Care plans need three links the other records do not, because FHIR points the other way or at a row
found by what it holds rather than by a source id:

- a ``Claim``: the record sets a column of another record to its own key (a CarePlan lists its Goals and
  Tasks; ``plan_id`` is on the goal and the intervention). Applied after every record of the batch is
  written, for unchanged records too, and only to records of the same patient.
- a ``Lookup`` (a value of a foreign-key column): the first row of another table found by what it holds,
  among the rows sharing a column with this one (the care-team member of the patient who is this
  Practitioner; the problem of the goal's plan that is this Condition; the plan a Task names, if it is
  the same patient's). Made after the claims.
- columns ``KEPT_WHEN_ABSENT``: a goal or intervention re-imported without naming its plan keeps the plan
  a CarePlan gave it.

``patient_record_upsert`` writes many units with one bulk statement per table (upsert on
org, source system and source id, returning the ids), inside one savepoint. Should the database
refuse anything, it rolls that savepoint back and writes unit by unit, each in its own savepoint, so
one bad unit costs only itself. A record whose content digest matches the stored one is left alone,
child rows included: re-importing unchanged data writes nothing. Services flush; the caller commits.
Rows go to the database as driver SQL with values already converted (``RecordSql`` at the end of
this module): SQLAlchemy's per-row parameter processing was most of the write time.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import orjson
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Float,
    Integer,
    String,
    Table,
    Text,
    any_,
    bindparam,
    cast,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from carenav.access import Actor
from carenav.accounts.models import Organization
from carenav.audit.services import audit_record
from carenav.careplans.models import CarePlan, Goal, GoalNote, Intervention, PlanProblem, goal_interventions
from carenav.clock import now
from carenav.db.types import Base, JSONDocument, UTCDateTime, UUIDString, new_uuid
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
    CARE_PLAN = "CarePlan"
    GOAL = "Goal"
    INTERVENTION = "Task"


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
    RecordKind.CARE_PLAN: CarePlan,
    RecordKind.GOAL: Goal,
    RecordKind.INTERVENTION: Intervention,
}
PATIENT_OWNED = frozenset(
    set(RecordKind) - {RecordKind.FACILITY, RecordKind.PRACTITIONER, RecordKind.PATIENT}
)


@dataclass(frozen=True, slots=True)
class ChildTable:
    """Rows of ``table`` that belong to one record through ``parent``. When the record changes its child
    rows are replaced, or, if ``kept``, matched on what they hold: rows still given stay (so rows that
    point at them keep their links), the others are deleted and the new ones inserted. A row whose
    required reference does not resolve is left out; a table keyed by its columns gets each row once."""

    table: Table
    parent: str
    kept: bool = False


def _child(model: type[Base], parent: str, *, kept: bool = False) -> ChildTable:
    return ChildTable(_table(model), parent, kept)


# kind -> child name -> child table
CHILDREN: dict[RecordKind, dict[str, ChildTable]] = {
    RecordKind.PATIENT: {
        "names": _child(models.PatientName, "patient_id"),
        "identifiers": _child(models.PatientIdentifier, "patient_id"),
        "addresses": _child(models.PatientAddress, "patient_id"),
        "telecoms": _child(models.PatientTelecom, "patient_id"),
    },
    RecordKind.ENCOUNTER: {"diagnoses": _child(models.EncounterDiagnosis, "encounter_id")},
    RecordKind.OBSERVATION: {"components": _child(models.ObservationComponent, "observation_id")},
    RecordKind.CARE_PLAN: {"problems": _child(PlanProblem, "plan_id", kept=True)},  # goals point at them
    RecordKind.GOAL: {"notes": _child(GoalNote, "goal_id")},
    RecordKind.INTERVENTION: {"goals": ChildTable(goal_interventions, "intervention_id")},
}
_CHILD_CLASSES: tuple[type[Base], ...] = (
    models.PatientName,
    models.PatientIdentifier,
    models.PatientAddress,
    models.PatientTelecom,
    models.EncounterDiagnosis,
    models.ObservationComponent,
    PlanProblem,
    GoalNote,
)
KEPT_WHEN_ABSENT: dict[str, frozenset[str]] = {
    _table(Goal).name: frozenset({"plan_id"}),
    _table(Intervention).name: frozenset({"plan_id"}),
}
"""Per table, the columns an upsert leaves as stored when the source gives none (a CarePlan's claim)."""

_MANAGED = frozenset(
    {"id", "uuid", "org_id", "source_system", "source_id", "source_digest", "created_at", "updated_at"}
)
_RECORD_MANAGED = _MANAGED | {"patient_id"}
_ID_CHUNK = 900


def _child_managed(parent_column: str) -> frozenset[str]:
    """The columns of a child row the writer sets: the parent, and whichever of org_id, rank, uuid
    (a new one) and the timestamps the child table has."""
    return frozenset({"id", "org_id", "rank", "uuid", "created_at", "updated_at", parent_column})


@dataclass(frozen=True, slots=True)
class Ref:
    """A reference to another record by its source id; resolved to a key when written (None if absent)."""

    kind: RecordKind
    source_id: str


@dataclass(frozen=True, slots=True)
class Claim:
    """Set ``column`` of the record ``ref`` (of the same patient) to the key of the claiming record."""

    ref: Ref
    column: str


@dataclass(frozen=True, slots=True)
class Lookup:
    """A foreign key found once the row is written: the first row (lowest key) of ``table`` whose
    ``scope`` column equals this row's ``scope`` column and whose ``column`` holds the key of ``ref``.
    When there is none the column keeps what it holds (NULL, or a plan kept as ``KEPT_WHEN_ABSENT``)."""

    table: str
    scope: str
    column: str
    ref: Ref


def member_of_patient(ref: Ref) -> Lookup:
    """The patient's care-team member who is the Practitioner or RelatedPerson ``ref``."""
    column = "practitioner_id" if ref.kind is RecordKind.PRACTITIONER else "related_person_id"
    return Lookup(_table(models.CareTeamMember).name, "patient_id", column, ref)


def problem_of_plan(condition: Ref) -> Lookup:
    """The problem of the goal's care plan that is the Condition ``condition``."""
    return Lookup(_table(PlanProblem).name, "plan_id", "condition_id", condition)


def plan_of_patient(plan: Ref) -> Lookup:
    """The care plan ``plan``, if it is the same patient's (a Task names its plan itself)."""
    return Lookup(_table(CarePlan).name, "patient_id", "id", plan)


@dataclass(slots=True)
class SourceRecord:
    """One row to write. ``values`` holds columns of the kind's table (a ``Ref`` or ``Lookup`` for a
    foreign key); ``patient`` the source id of the owning patient; ``children`` rows of the kind's child
    tables; ``claims`` the other records this one sets a column of."""

    kind: RecordKind
    source_id: str
    values: dict[str, Any]
    patient: str | None = None
    children: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    claims: list[Claim] = field(default_factory=list)

    def digest(self) -> str:
        parts: list[Any] = [self.values, self.patient, self.children]
        if self.claims:  # only then, so the digests of records that never claim stay as they were
            parts.append(self.claims)
        payload = orjson.dumps(parts, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
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
    record_classes = (*KIND_MODELS.values(), *_CHILD_CLASSES)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, record_classes):
            session.expire(obj)


class _Writer:
    def __init__(self, *, session: Session, org_id: int, org_uuid: str, source_system: str) -> None:
        self.session = session
        self.org_id = org_id
        self.org_uuid = org_uuid
        self.source_system = source_system
        self.sql: RecordSql

    def write(self, units: Sequence[RecordUnit]) -> list[UnitOutcome]:
        # Asked for inside the caller's savepoint: the session begins the savepoint on the connection
        # when the connection is asked for.
        self.sql = RecordSql.for_session(self.session)
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
        lookups: list[tuple[RecordKind, int, str, Lookup]] = []
        for kind in KIND_MODELS:
            records = by_kind[kind]
            if records:
                self._write_kind(kind, records, ids, statuses, pending_children, changed_parents, lookups)
        for earlier_key, later in duplicates.items():
            while id(later) in duplicates:
                later = duplicates[id(later)]
            statuses[earlier_key] = statuses[id(later)]
        self._write_children(pending_children, changed_parents, ids)
        self._apply_claims(by_kind, ids)
        self._apply_lookups(lookups, ids)
        return [UnitOutcome(unit, [statuses[id(record)] for record in unit.records]) for unit in units]

    def _lookup_ids(self, kind: RecordKind, source_ids: Iterable[str]) -> dict[str, int]:
        return {source_id: row[0] for source_id, row in self._lookup(kind, source_ids).items()}

    def _lookup(self, kind: RecordKind, source_ids: Iterable[str]) -> dict[str, tuple[int, str | None]]:
        return self.sql.lookup(_table(KIND_MODELS[kind]), self.org_id, self.source_system, source_ids)

    def _resolve(self, refs: Iterable[Ref | Lookup], ids: dict[RecordKind, dict[str, int]]) -> None:
        missing: dict[RecordKind, set[str]] = defaultdict(set)
        for given in refs:
            ref = given.ref if isinstance(given, Lookup) else given
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
        lookups: list[tuple[RecordKind, int, str, Lookup]],
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
        plan = self.sql.plan(table, _RECORD_MANAGED)
        if plan.ref_names:
            self._resolve(
                (
                    value
                    for record, _ in to_write
                    for value in map(record.values.get, plan.ref_names)
                    if value is not None
                ),
                ids,
            )
        stamp = plan.convert_stamp(now())
        org_id, source_system, org_uuid = self.org_id, self.source_system, self.org_uuid
        patient_ids = ids[RecordKind.PATIENT]
        owned = kind in PATIENT_OWNED
        resource_type = kind.value
        getters, converts, ref_positions = plan.getters, plan.converts, plan.ref_positions
        at = plan.managed_at
        patient_at = at["patient_id"] if owned else -1
        org_at, system_at, source_at, digest_at = (
            at["org_id"],
            at["source_system"],
            at["source_id"],
            at["source_digest"],
        )
        uuid_at, created_at, updated_at = at["uuid"], at["created_at"], at["updated_at"]
        rows: list[list[Any]] = []
        found_later: list[tuple[str, str, Lookup]] = []
        for record, digest in to_write:
            get = record.values.get
            row = [get(name, default) for name, default in getters]
            for position in ref_positions:
                ref = row[position]
                if ref is None:
                    continue
                if ref.__class__ is Lookup:
                    found_later.append((record.source_id, plan.columns[position], ref))
                    row[position] = None
                else:
                    row[position] = ids[ref.kind].get(ref.source_id)
            for position, convert, absent in converts:
                value = row[position]
                row[position] = absent if value is None else convert(value)
            source_id = record.source_id
            if owned:
                row[patient_at] = patient_ids[record.patient]  # type: ignore[index]
            row[org_at] = org_id
            row[system_at] = source_system
            row[source_at] = source_id
            row[digest_at] = digest
            row[uuid_at] = record_uuid(
                org_uuid=org_uuid,
                source_system=source_system,
                resource_type=resource_type,
                source_id=source_id,
            )
            row[created_at] = stamp
            row[updated_at] = stamp
            rows.append(row)
        for source_id, key in self.sql.upsert(plan, rows):
            ids[kind][source_id] = key
        lookups.extend(
            (kind, ids[kind][source_id], column, found) for source_id, column, found in found_later
        )
        if kind in CHILDREN:
            for record, _ in to_write:
                pending_children.append((kind, ids[kind][record.source_id], record))

    def _write_children(
        self,
        pending: list[tuple[RecordKind, int, SourceRecord]],
        changed_parents: dict[RecordKind, list[int]],
        ids: dict[RecordKind, dict[str, int]],
    ) -> None:
        plans = {
            (kind, name): self.sql.plan(child.table, _child_managed(child.parent))
            for kind, spec in CHILDREN.items()
            for name, child in spec.items()
        }
        kept: dict[tuple[RecordKind, str], dict[int, list[tuple[int, tuple[Any, ...]]]]] = {}
        for kind, parent_ids in changed_parents.items():
            for name, child in CHILDREN.get(kind, {}).items():
                table = child.table
                for start in range(0, len(parent_ids), _ID_CHUNK):
                    chunk = parent_ids[start : start + _ID_CHUNK]
                    if child.kept:
                        kept.setdefault((kind, name), {}).update(
                            self._stored_children(plans[(kind, name)], child, chunk)
                        )
                    else:
                        self.session.execute(delete(table).where(table.c[child.parent].in_(chunk)))
        self._resolve(
            (
                value
                for kind, _, record in pending
                for name, rows in record.children.items()
                for row in rows
                for value in map(row.get, plans[(kind, name)].ref_names)
                if value is not None
            ),
            ids,
        )
        batches: dict[tuple[RecordKind, str], list[list[Any]]] = defaultdict(list)
        gone: dict[tuple[RecordKind, str], list[int]] = defaultdict(list)
        moment = now()
        for kind, parent_id, record in pending:
            spec = CHILDREN[kind]
            for name, children in record.children.items():
                child = spec[name]
                plan = plans[(kind, name)]
                parent_at = plan.managed_at[child.parent]
                org_at = plan.managed_at.get("org_id")
                rank_at = plan.managed_at.get("rank")
                uuid_at = plan.managed_at.get("uuid")
                stamp_at = [plan.managed_at[n] for n in ("created_at", "updated_at") if n in plan.managed_at]
                stamp = plan.convert_stamp(moment) if stamp_at else None
                getters, converts, ref_positions = plan.getters, plan.converts, plan.ref_positions
                stored = kept.get((kind, name), {}).pop(parent_id, []) if child.kept else []
                rows = batches[(kind, name)]
                seen: set[tuple[Any, ...]] = set()
                for rank, values in enumerate(children):
                    get = values.get
                    row = [get(column, default) for column, default in getters]
                    for position in ref_positions:
                        ref = row[position]
                        if ref is not None:
                            row[position] = ids[ref.kind].get(ref.source_id)
                    if any(row[position] is None for position in plan.required_refs):
                        continue  # what it links to was not imported
                    if plan.keyed:
                        key = tuple(row[position] for position in plan.content)
                        if key in seen:
                            continue
                        seen.add(key)
                    if stored:
                        content = tuple(row[position] for position in plan.content)
                        match = next((n for n, (_, held) in enumerate(stored) if held == content), None)
                        if match is not None:
                            stored.pop(match)
                            continue
                    for position, convert, absent in converts:
                        value = row[position]
                        row[position] = absent if value is None else convert(value)
                    row[parent_at] = parent_id
                    if rank_at is not None:
                        row[rank_at] = values.get("rank", rank)
                    if org_at is not None:
                        row[org_at] = self.org_id
                    if uuid_at is not None:
                        row[uuid_at] = new_uuid()
                    for position in stamp_at:
                        row[position] = stamp
                    rows.append(row)
                gone[(kind, name)].extend(key for key, _ in stored)
        for (kind, name), leftovers in kept.items():  # changed parents that now give no rows of this kind
            gone[(kind, name)].extend(key for rows in leftovers.values() for key, _ in rows)
        for (kind, name), keys in gone.items():
            table = CHILDREN[kind][name].table
            for start in range(0, len(keys), _ID_CHUNK):
                self.session.execute(delete(table).where(table.c.id.in_(keys[start : start + _ID_CHUNK])))
        for (kind, name), rows in batches.items():
            child = CHILDREN[kind][name]
            self.sql.insert(self.sql.plan(child.table, _child_managed(child.parent)), rows)

    def _stored_children(
        self, plan: _TablePlan, child: ChildTable, parent_ids: list[int]
    ) -> dict[int, list[tuple[int, tuple[Any, ...]]]]:
        """The stored rows of a ``kept`` child table by parent: (key, what the row holds)."""
        table = child.table
        names = [plan.columns[position] for position in plan.content]
        statement = select(table.c.id, table.c[child.parent], *(table.c[name] for name in names)).where(
            table.c[child.parent].in_(parent_ids)
        )
        found: dict[int, list[tuple[int, tuple[Any, ...]]]] = defaultdict(list)
        for key, parent, *held in self.session.execute(statement.order_by(table.c.id)):
            found[parent].append((key, tuple(held)))
        return found

    def _apply_claims(
        self, by_kind: dict[RecordKind, dict[str, SourceRecord]], ids: dict[RecordKind, dict[str, int]]
    ) -> None:
        """Each claim sets its column on the claimed record, if that record exists and is the same
        patient's; claims of unchanged records are made again (the claimed record may be new)."""
        claiming = [
            (kind, record)
            for kind, records in by_kind.items()
            for record in records.values()
            if record.claims and record.source_id in ids[kind]
        ]
        if not claiming:
            return
        self._resolve((claim.ref for _, record in claiming for claim in record.claims), ids)
        patient_ids = ids[RecordKind.PATIENT]
        updates: dict[tuple[RecordKind, str], list[dict[str, Any]]] = defaultdict(list)
        for kind, record in claiming:
            key = ids[kind][record.source_id]
            for claim in record.claims:
                target = ids[claim.ref.kind].get(claim.ref.source_id)
                if target is not None:
                    updates[(claim.ref.kind, claim.column)].append(
                        {"claimed": target, "claimer": key, "owner": patient_ids[record.patient]}  # type: ignore[index]
                    )
        for (kind, column), parameters in updates.items():
            table = _table(KIND_MODELS[kind])
            statement = (
                update(table)
                .where(table.c.id == bindparam("claimed"), table.c.patient_id == bindparam("owner"))
                .values({column: bindparam("claimer")})
            )
            self.sql.connection.execute(statement, parameters)

    def _apply_lookups(
        self, lookups: list[tuple[RecordKind, int, str, Lookup]], ids: dict[RecordKind, dict[str, int]]
    ) -> None:
        """Set each looked-up foreign key from the row it finds (after the children and claims), in the
        order of the row's columns (a goal's plan before its problem, which is found in that plan)."""
        if not lookups:
            return
        self._resolve((found.ref for *_, found in lookups), ids)
        for kind, key, column, found in lookups:
            wanted = ids[found.ref.kind].get(found.ref.source_id)
            if wanted is None:
                continue
            table = _table(KIND_MODELS[kind])
            target = Base.metadata.tables[found.table]
            match = (
                select(target.c.id)
                .where(target.c[found.scope] == table.c[found.scope], target.c[found.column] == wanted)
                .order_by(target.c.id)
                .limit(1)
                .scalar_subquery()
            )
            self.session.execute(
                update(table).where(table.c.id == key).values({column: func.coalesce(match, table.c[column])})
            )


# --- Statements, sent as driver SQL ---------------------------------------------------------------
# The writer binds values already in the form the driver wants, so SQLAlchemy's per-row parameter
# processing (a third of the import's time) is skipped. The conversions are SQLAlchemy's own bind
# processors, except for ``UTCDateTime``, converted here the same way without the per-value layers.
# ``exec_driver_sql`` keeps SQLAlchemy's transaction and its error wrapping (``DBAPIError``).

Convert = Callable[[Any], Any]


def _sqlite_instant(value: Any) -> Any:
    """What ``UTCDateTime`` binds on SQLite: naive UTC text, ``YYYY-MM-DD HH:MM:SS.ffffff``."""
    if value.__class__ is not datetime:
        return _SQLITE_INSTANT_FALLBACK(value)
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: carenav stores aware UTC instants only")
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:-6]  # without its "+00:00"


def _aware_instant(value: Any) -> Any:
    """What ``UTCDateTime`` binds on PostgreSQL: the aware datetime (naive input is refused)."""
    if value.__class__ is datetime and value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: carenav stores aware UTC instants only")
    return value


def _type_processor(type_: Any, dialect: Dialect) -> Convert | None:
    processor: Convert | None = type_.dialect_impl(dialect).bind_processor(dialect)
    return processor


_SQLITE_INSTANT_FALLBACK: Convert = _type_processor(UTCDateTime(), sqlite.dialect()) or (lambda value: value)


def _converter(column: Column[Any], dialect: Dialect) -> Convert | None:
    if isinstance(column.type, UTCDateTime):
        return _sqlite_instant if dialect.name == "sqlite" else _aware_instant
    if dialect.name == "postgresql" and isinstance(column.type, Float):
        return float  # an array of one element type (psycopg refuses lists mixing int and float)
    return _type_processor(column.type, dialect)


@dataclass(frozen=True, slots=True)
class _TablePlan:
    """How rows of one table are laid out: every column but ``id``, in table order."""

    table: Table
    columns: tuple[str, ...]
    # (column name, scalar default) of every column in order: a row is read from the caller's values
    # in one pass (managed columns read None, as callers never name them, and are set afterwards)
    getters: tuple[tuple[str, Any], ...]
    # (position, converter, value bound when absent) of the caller's columns that need converting;
    # the value bound when absent is None, except JSON columns, where SQLAlchemy binds JSON null
    converts: tuple[tuple[int, Convert, Any], ...]
    # positions and names of the caller's foreign-key columns, the only ones that may hold a ``Ref``
    ref_positions: tuple[int, ...]
    ref_names: tuple[str, ...]
    managed_at: dict[str, int]
    convert_stamp: Convert
    # positions of the caller's columns (what a row holds), and of its foreign keys that cannot be NULL
    content: tuple[int, ...]
    required_refs: tuple[int, ...]
    keyed: bool  # no ``id``: the table is keyed by its columns (a link table)

    @property
    def width(self) -> int:
        return len(self.columns)


class RecordSql:
    """The record writer's statements for one connection's database."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.dialect = connection.dialect
        self.quote = self.dialect.identifier_preparer.quote

    @staticmethod
    def for_session(session: Session) -> RecordSql:
        connection = session.connection()
        if connection.dialect.name == "postgresql":
            return _PostgresSql(connection)
        return _SqliteSql(connection)

    def plan(self, table: Table, managed: frozenset[str]) -> _TablePlan:
        key = (self.dialect.name, table.name, managed)
        plan = _PLANS.get(key)
        if plan is None:
            plan = _PLANS[key] = self._make_plan(table, managed)
        return plan

    def _make_plan(self, table: Table, managed: frozenset[str]) -> _TablePlan:
        columns = [c for c in table.columns if c.name != "id"]
        record = "source_id" in table.c
        getters: list[tuple[str, Any]] = []
        converts: list[tuple[int, Convert, Any]] = []
        refs: list[tuple[int, str]] = []
        for position, column in enumerate(columns):
            if column.name in managed:
                getters.append(("", None))
                continue
            convert = _converter(column, self.dialect)
            if convert is not None:
                absent = convert(None) if isinstance(column.type, JSONDocument) else None
                converts.append((position, convert, absent))
            if column.foreign_keys:
                refs.append((position, column.name))
            default = column.default
            scalar = default.arg if record and isinstance(default, ScalarElementColumnDefault) else None
            getters.append((column.name, scalar))
        stamp_column = table.c.get("created_at")
        convert_stamp = _converter(stamp_column, self.dialect) if stamp_column is not None else None
        return _TablePlan(
            table=table,
            columns=tuple(c.name for c in columns),
            getters=tuple(getters),
            converts=tuple(converts),
            ref_positions=tuple(position for position, _ in refs),
            ref_names=tuple(name for _, name in refs),
            managed_at={c.name: position for position, c in enumerate(columns) if c.name in managed},
            convert_stamp=convert_stamp or (lambda value: value),
            content=tuple(position for position, c in enumerate(columns) if c.name not in managed),
            required_refs=tuple(position for position, name in refs if not table.c[name].nullable),
            keyed="id" not in table.c,
        )

    def _compile(self, statement: Any) -> Any:
        return statement.compile(dialect=self.dialect)

    def _upsert_of(self, table: Table, source: Any) -> Any:
        insert_of = postgresql.insert if self.dialect.name == "postgresql" else sqlite.insert
        base = source(insert_of(table))
        kept = KEPT_WHEN_ABSENT.get(table.name, frozenset())
        return base.on_conflict_do_update(
            index_elements=[table.c.org_id, table.c.source_system, table.c.source_id],
            set_={
                name: func.coalesce(base.excluded[name], table.c[name])
                if name in kept
                else base.excluded[name]
                for name in (c.name for c in table.columns if c.name != "id")
                if name not in ("uuid", "created_at", "org_id")
            },
        )

    def lookup(
        self, table: Table, org_id: int, source_system: str, source_ids: Iterable[str]
    ) -> dict[str, tuple[int, str | None]]:
        """``source_id -> (id, source_digest)`` of the stored rows among ``source_ids``: one statement
        with the ids as one parameter (a JSON array on SQLite, a text array on PostgreSQL)."""
        wanted = sorted(set(source_ids))
        if not wanted:
            return {}
        key = (self.dialect.name, table.name, "lookup")
        sql = _STATEMENTS.get(key)
        if sql is None:
            query = select(table.c.source_id, table.c.id, table.c.source_digest).where(
                table.c.org_id == bindparam("org_id"),
                table.c.source_system == bindparam("source_system"),
                self._source_id_in(table),
            )
            compiled = self._compile(query)
            positions = getattr(compiled, "positiontup", None)
            if positions is not None and tuple(positions) != ("org_id", "source_system", "ids"):
                raise AssertionError(f"unexpected parameter order for the lookup of {table.name}")
            sql = _STATEMENTS[key] = str(compiled)
        rows = self.connection.exec_driver_sql(sql, self._lookup_parameters(org_id, source_system, wanted))
        return {source_id: (key_, digest) for source_id, key_, digest in rows.fetchall()}

    def _source_id_in(self, table: Table) -> Any:
        """``source_id`` among the ids bound as ``ids``."""
        raise NotImplementedError

    def _lookup_parameters(self, org_id: int, source_system: str, wanted: list[str]) -> Any:
        raise NotImplementedError

    def upsert(self, plan: _TablePlan, rows: list[list[Any]]) -> Iterable[tuple[str, int]]:
        """Insert or update ``rows`` on (org, source system, source id); ``(source_id, id)`` of each."""
        raise NotImplementedError

    def insert(self, plan: _TablePlan, rows: list[list[Any]]) -> None:
        raise NotImplementedError


_PLANS: dict[tuple[str, str, frozenset[str]], _TablePlan] = {}
_STATEMENTS: dict[tuple[str, str, str], str] = {}


class _SqliteSql(RecordSql):
    """SQLite: ``executemany`` of a one-row statement (the sqlite3 module loops in C); the keys of
    upserted rows are read back by source id (RETURNING cannot be used with ``executemany``)."""

    def _statement(self, plan: _TablePlan, purpose: str) -> str:
        key = (self.dialect.name, plan.table.name, purpose)
        sql = _STATEMENTS.get(key)
        if sql is None:
            values: dict[str, Any] = {name: bindparam(name) for name in plan.columns}
            if purpose == "upsert":
                compiled = self._compile(self._upsert_of(plan.table, lambda stmt: stmt.values(values)))
            else:
                compiled = self._compile(insert(plan.table).values(values))
            if tuple(compiled.positiontup) != plan.columns:
                raise AssertionError(f"unexpected parameter order for {plan.table.name}")
            sql = _STATEMENTS[key] = str(compiled)
        return sql

    def _source_id_in(self, table: Table) -> Any:
        # The ids come as one JSON array: no statement per 900 ids, no SQL text made per call.
        given = func.json_each(bindparam("ids")).table_valued("value")
        return table.c.source_id.in_(select(given.c.value))

    def _lookup_parameters(self, org_id: int, source_system: str, wanted: list[str]) -> Any:
        return (org_id, source_system, orjson.dumps(wanted).decode())

    def upsert(self, plan: _TablePlan, rows: list[list[Any]]) -> Iterable[tuple[str, int]]:
        self.connection.exec_driver_sql(self._statement(plan, "upsert"), [tuple(row) for row in rows])
        at = plan.managed_at
        org_id, source_system = rows[0][at["org_id"]], rows[0][at["source_system"]]
        written = self.lookup(plan.table, org_id, source_system, (row[at["source_id"]] for row in rows))
        return [(source_id, key) for source_id, (key, _) in written.items()]

    def insert(self, plan: _TablePlan, rows: list[list[Any]]) -> None:
        if rows:
            self.connection.exec_driver_sql(self._statement(plan, "insert"), [tuple(row) for row in rows])


class _PostgresSql(RecordSql):
    """PostgreSQL: one statement per table over ``unnest`` of one array per column, so psycopg binds
    each column in one go (a multi-row VALUES list would make it parse 100,000 placeholders)."""

    def _statement(self, plan: _TablePlan, purpose: str) -> str:
        key = (self.dialect.name, plan.table.name, purpose)
        sql = _STATEMENTS.get(key)
        if sql is None:
            columns = [c for c in plan.table.columns if c.name != "id"]
            arrays = (
                func.unnest(*(cast(bindparam(c.name), _pg_array_type(c)) for c in columns))
                .table_valued(*(c.name for c in columns))
                .render_derived(name="given")
            )
            rows = select(*(arrays.c[c.name] for c in columns))
            if purpose == "upsert":
                statement = self._upsert_of(
                    plan.table, lambda stmt: stmt.from_select([c.name for c in columns], rows)
                ).returning(plan.table.c.source_id, plan.table.c.id)
            else:
                statement = insert(plan.table).from_select([c.name for c in columns], rows)
            sql = _STATEMENTS[key] = str(self._compile(statement))
        return sql

    def _source_id_in(self, table: Table) -> Any:
        return table.c.source_id == any_(cast(bindparam("ids"), ARRAY(Text())))

    def _lookup_parameters(self, org_id: int, source_system: str, wanted: list[str]) -> Any:
        return {"org_id": org_id, "source_system": source_system, "ids": wanted}

    def upsert(self, plan: _TablePlan, rows: list[list[Any]]) -> Iterable[tuple[str, int]]:
        result = self.connection.exec_driver_sql(self._statement(plan, "upsert"), _by_column(plan, rows))
        return [(source_id, key) for source_id, key in result]

    def insert(self, plan: _TablePlan, rows: list[list[Any]]) -> None:
        if rows:
            self.connection.exec_driver_sql(self._statement(plan, "insert"), _by_column(plan, rows))


def _by_column(plan: _TablePlan, rows: list[list[Any]]) -> dict[str, list[Any]]:
    return {name: list(values) for name, values in zip(plan.columns, zip(*rows, strict=True), strict=True)}


def _pg_array_type(column: Column[Any]) -> Any:
    """The array type a column's values are sent as. Text goes as ``text[]``, never ``varchar(n)[]``:
    a cast to varchar(n) would silently cut a value the column must refuse."""
    type_ = column.type
    item: Any
    if isinstance(type_, UTCDateTime | DateTime):
        item = DateTime(timezone=True)
    elif isinstance(type_, JSONDocument):
        item = postgresql.JSONB()
    elif isinstance(type_, Boolean | Date | Float):
        item = type_
    elif isinstance(type_, Integer):
        item = BigInteger()
    elif isinstance(type_, String | UUIDString):
        item = Text()
    else:
        raise TypeError(f"no PostgreSQL array type for {column.table.name}.{column.name} ({type_!r})")
    return ARRAY(item)
