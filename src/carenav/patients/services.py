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
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from carenav.access import Actor
from carenav.accounts.models import Organization
from carenav.audit.services import audit_record
from carenav.clock import now
from carenav.db.types import Base, JSONDocument, UTCDateTime, UUIDString
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
_RECORD_MANAGED = _MANAGED | {"patient_id"}
_ID_CHUNK = 900


def _child_managed(parent_column: str) -> frozenset[str]:
    return frozenset({"id", "org_id", "rank", parent_column})


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
        return self.sql.lookup(_table(KIND_MODELS[kind]), self.org_id, self.source_system, source_ids)

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
        for record, digest in to_write:
            get = record.values.get
            row = [get(name, default) for name, default in getters]
            for position in ref_positions:
                ref = row[position]
                if ref is not None:
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
        plans = {
            (kind, name): self.sql.plan(_table(model), _child_managed(parent_column))
            for kind, spec in CHILDREN.items()
            for name, (model, parent_column) in spec.items()
        }
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
        for kind, parent_id, record in pending:
            spec = CHILDREN[kind]
            for name, children in record.children.items():
                parent_column = spec[name][1]
                plan = plans[(kind, name)]
                parent_at = plan.managed_at[parent_column]
                org_at = plan.managed_at.get("org_id")
                rank_at = plan.managed_at["rank"]
                getters, converts, ref_positions = plan.getters, plan.converts, plan.ref_positions
                rows = batches[(kind, name)]
                for rank, child in enumerate(children):
                    get = child.get
                    row = [get(column, default) for column, default in getters]
                    for position in ref_positions:
                        ref = row[position]
                        if ref is not None:
                            row[position] = ids[ref.kind].get(ref.source_id)
                    for position, convert, absent in converts:
                        value = row[position]
                        row[position] = absent if value is None else convert(value)
                    row[parent_at] = parent_id
                    row[rank_at] = child.get("rank", rank)
                    if org_at is not None:
                        row[org_at] = self.org_id
                    rows.append(row)
        for (kind, name), rows in batches.items():
            model, parent_column = CHILDREN[kind][name]
            self.sql.insert(self.sql.plan(_table(model), _child_managed(parent_column)), rows)


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
        )

    def _compile(self, statement: Any) -> Any:
        return statement.compile(dialect=self.dialect)

    def _upsert_of(self, table: Table, source: Any) -> Any:
        insert_of = postgresql.insert if self.dialect.name == "postgresql" else sqlite.insert
        base = source(insert_of(table))
        return base.on_conflict_do_update(
            index_elements=[table.c.org_id, table.c.source_system, table.c.source_id],
            set_={
                name: base.excluded[name]
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
