"""Filtered reads of one patient's record: conditions, encounters, observations and the rest.

Shared by the web UI and the FHIR facade. Each function checks that the actor may see the patient
(NotFound otherwise, never Forbidden) and audits the read once per call, naming the patient.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Integer, Select, and_, func, literal, or_, select, union_all
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.interfaces import LoaderOption

from carenav.access import Actor, patient_scope, patient_visible
from carenav.audit.services import audit_record
from carenav.errors import NotFound
from carenav.patients.models import (
    Allergy,
    CareTeamMember,
    Condition,
    Coverage,
    Encounter,
    Medication,
    Observation,
    Patient,
    Procedure,
    RelatedPerson,
)

R = TypeVar(
    "R",
    Allergy,
    CareTeamMember,
    Condition,
    Coverage,
    Encounter,
    Medication,
    Observation,
    Procedure,
    RelatedPerson,
)
T = TypeVar("T")

PATIENT_RECORD_MODELS: tuple[type[Any], ...] = (
    RelatedPerson,
    Coverage,
    CareTeamMember,
    Encounter,
    Condition,
    Observation,
    Medication,
    Allergy,
    Procedure,
)
"""Every kind of row that belongs to one patient's record, in the order ``$everything`` lists them."""


@dataclass(frozen=True)
class RecordPage(Generic[T]):
    items: list[T]
    total: int
    offset: int
    limit: int | None


@dataclass(frozen=True)
class TimeWindow:
    """Instants from ``since`` (inclusive) up to ``before`` (exclusive); None leaves that side open."""

    since: datetime | None = None
    before: datetime | None = None

    def narrowed(self, other: TimeWindow) -> TimeWindow:
        """The instants in both windows."""
        since = max((t for t in (self.since, other.since) if t is not None), default=None)
        before = min((t for t in (self.before, other.before) if t is not None), default=None)
        return TimeWindow(since=since, before=before)

    @property
    def is_empty(self) -> bool:
        return self.since is not None and self.before is not None and self.since >= self.before

    def describe(self) -> str:
        parts = []
        if self.since:
            parts.append(f">= {self.since.isoformat()}")
        if self.before:
            parts.append(f"< {self.before.isoformat()}")
        return " and ".join(parts) or "any time"


@dataclass(frozen=True)
class CodeMatch:
    """A code, optionally in a given system. ``system=None``: any system; ``""``: no system."""

    code: str
    system: str | None = None

    def describe(self) -> str:
        return self.code if self.system is None else f"{self.system}|{self.code}"


def _window_condition(column: Any, window: TimeWindow | None) -> list[ColumnElement[bool]]:
    if window is None:
        return []
    out: list[ColumnElement[bool]] = []
    if window.since is not None:
        out.append(column >= window.since)
    if window.before is not None:
        out.append(column < window.before)
    return out


def _code_condition(system_col: Any, code_col: Any, codes: Collection[CodeMatch]) -> ColumnElement[bool]:
    options: list[ColumnElement[bool]] = []
    for match in codes:
        if match.system is None:
            options.append(code_col == match.code)
        elif match.system == "":
            options.append(and_(code_col == match.code, system_col.is_(None)))
        else:
            options.append(and_(code_col == match.code, system_col == match.system))
    return or_(*options)


def _page(
    *,
    session: Session,
    actor: Actor,
    patient: Patient,
    model: type[R],
    conditions: Sequence[ColumnElement[bool]],
    order_by: Sequence[Any],
    offset: int,
    limit: int | None,
    options: Sequence[LoaderOption] = (),
    detail: str,
) -> RecordPage[R]:
    where = and_(model.patient_id == patient.id, *conditions)
    total = session.scalar(select(func.count()).select_from(model).where(where)) or 0
    statement: Select[R] = (
        select(model).where(where).order_by(*order_by, model.id).offset(offset).options(*options)
    )
    if limit is not None:
        statement = statement.limit(limit)
    items = list(session.scalars(statement)) if total > offset and limit != 0 else []
    if items:
        audit_record(
            session=session,
            actor=actor,
            action="read",
            patient_uuid=patient.uuid,
            entity_type=_entity_type(model),
            detail=f"list ({len(items)} of {total}): {detail}",
        )
    return RecordPage(items=items, total=total, offset=offset, limit=limit)


def _entity_type(model: type[Any]) -> str:
    return str(model.__name__)


def condition_list(
    *,
    session: Session,
    actor: Actor,
    patient_uuid: str,
    clinical_statuses: Collection[str] = (),
    offset: int = 0,
    limit: int | None = None,
) -> RecordPage[Condition]:
    """A patient's conditions, newest onset first; only those in ``clinical_statuses`` if given."""
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    conditions = [Condition.clinical_status.in_(list(clinical_statuses))] if clinical_statuses else []
    return _page(
        session=session,
        actor=actor,
        patient=patient,
        model=Condition,
        conditions=conditions,
        order_by=[Condition.onset_at.desc().nulls_last()],
        offset=offset,
        limit=limit,
        detail=f"clinical-status in {sorted(clinical_statuses)}" if clinical_statuses else "all",
    )


def encounter_list(
    *,
    session: Session,
    actor: Actor,
    patient_uuid: str,
    window: TimeWindow | None = None,
    classes: Collection[str] = (),
    offset: int = 0,
    limit: int | None = None,
) -> RecordPage[Encounter]:
    """A patient's encounters, newest first; ``window`` applies to the start of the encounter."""
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    conditions = _window_condition(Encounter.period_start, window)
    if classes:
        conditions.append(Encounter.encounter_class.in_(list(classes)))
    detail = f"start {window.describe() if window else 'any time'}; class in {sorted(classes) or 'any'}"
    return _page(
        session=session,
        actor=actor,
        patient=patient,
        model=Encounter,
        conditions=conditions,
        order_by=[Encounter.period_start.desc().nulls_last()],
        offset=offset,
        limit=limit,
        options=[selectinload(Encounter.diagnoses)],
        detail=detail,
    )


def observation_list(
    *,
    session: Session,
    actor: Actor,
    patient_uuid: str,
    codes: Collection[CodeMatch] = (),
    window: TimeWindow | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> RecordPage[Observation]:
    """A patient's observations, newest first; any of ``codes`` if given, effective within ``window``."""
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    conditions = _window_condition(Observation.effective_at, window)
    if codes:
        conditions.append(_code_condition(Observation.code_system, Observation.code, codes))
    code_text = ",".join(c.describe() for c in codes) or "any"
    return _page(
        session=session,
        actor=actor,
        patient=patient,
        model=Observation,
        conditions=conditions,
        order_by=[Observation.effective_at.desc().nulls_last()],
        offset=offset,
        limit=limit,
        options=[selectinload(Observation.components)],
        detail=f"code {code_text}; effective {window.describe() if window else 'any time'}",
    )


def record_list(
    *,
    session: Session,
    actor: Actor,
    patient_uuid: str,
    model: type[R],
    offset: int = 0,
    limit: int | None = None,
) -> RecordPage[R]:
    """Every row of one kind (any of ``PATIENT_RECORD_MODELS``) in a patient's record, oldest first."""
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    options: list[LoaderOption] = []
    if model is Encounter:
        options.append(selectinload(Encounter.diagnoses))
    if model is Observation:
        options.append(selectinload(Observation.components))
    return _page(
        session=session,
        actor=actor,
        patient=patient,
        model=model,
        conditions=[],
        order_by=[],
        offset=offset,
        limit=limit,
        options=options,
        detail="all",
    )


def record_read(*, session: Session, actor: Actor, model: type[R], record_uuid: str) -> tuple[R, Patient]:
    """One row of a patient's record by its public id, with its patient; NotFound when out of reach."""
    statement = (
        select(model, Patient)
        .join(Patient, Patient.id == model.patient_id)
        .where(model.uuid == record_uuid, patient_scope(actor))
    )
    if model is Encounter:
        statement = statement.options(selectinload(Encounter.diagnoses))
    if model is Observation:
        statement = statement.options(selectinload(Observation.components))
    found = session.execute(statement).first()
    if found is None:
        raise NotFound(f"no {_entity_type(model)} {record_uuid}", where=_entity_type(model))
    row, patient = found
    audit_record(
        session=session,
        actor=actor,
        action="read",
        patient_uuid=patient.uuid,
        entity_type=_entity_type(model),
        entity_id=row.uuid,
    )
    return row, patient


@dataclass(frozen=True)
class RowSource:
    """One of several tables whose rows a merged page lists as one kind (FHIR Tasks: care-plan
    interventions, and later the tasks of transitions of care). ``keys(patient_id)``: a SELECT of the
    patient's matching rows as two columns labelled ``at`` (the instant the list is ordered by, newest
    first) and ``id``; ``load(session, ids)``: those rows, in any order; ``entity``: what the audit calls
    them."""

    entity: str
    keys: Callable[[int], Select[datetime, int]]
    load: Callable[[Session, Sequence[int]], Sequence[Any]]


def merged_page(
    *,
    session: Session,
    actor: Actor,
    patient_uuid: str,
    sources: Sequence[RowSource],
    offset: int = 0,
    limit: int | None = None,
    detail: str = "all",
) -> RecordPage[tuple[int, Any]]:
    """A page of a patient's rows from several tables as one list, newest first (ties: the order of
    ``sources``, then newest key), paged and counted in SQL over the union of the sources' keys. Items
    are ``(index of the source, row)``. Audited once per source that gave rows."""
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    parts = []
    for number, source in enumerate(sources):
        keys = source.keys(patient.id).subquery()
        parts.append(select(literal(number, Integer).label("source"), keys.c.at, keys.c.id))
    merged = (union_all(*parts) if len(parts) > 1 else parts[0]).subquery()
    total = session.scalar(select(func.count()).select_from(merged)) or 0
    if total <= offset or limit == 0:
        return RecordPage(items=[], total=total, offset=offset, limit=limit)
    statement = (
        select(merged.c.source, merged.c.id)
        .order_by(merged.c.at.desc(), merged.c.source, merged.c.id.desc())
        .offset(offset)
    )
    if limit is not None:
        statement = statement.limit(limit)
    chosen = [(number, key) for number, key in session.execute(statement)]
    rows: dict[tuple[int, int], Any] = {}
    for number, source in enumerate(sources):
        wanted = [key for n, key in chosen if n == number]
        if not wanted:
            continue
        rows.update(((number, row.id), row) for row in source.load(session, wanted))
        audit_record(
            session=session,
            actor=actor,
            action="read",
            patient_uuid=patient.uuid,
            entity_type=source.entity,
            detail=f"list ({len(wanted)} of {total}): {detail}",
        )
    items = [(number, rows[(number, key)]) for number, key in chosen]
    return RecordPage(items=items, total=total, offset=offset, limit=limit)
