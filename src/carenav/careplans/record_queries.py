"""Paged reads of a patient's care plans, goals and interventions as records (what the FHIR facade
lists): through the patient gate (NotFound outside reach), filtered and paged in SQL, newest first, with
the total, and audited once per call as the other record reads are (``patients/clinical_queries.py``).

Interventions are also served as the keys of one of several tables of Tasks (``intervention_keys``,
``interventions_by_key``): see ``patients.clinical_queries.merged_page``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, false, func, select
from sqlalchemy.orm import Session

from carenav.access import Actor, patient_scope, patient_visible
from carenav.audit.services import audit_record
from carenav.careplans.models import CarePlan, Goal, Intervention
from carenav.errors import NotFound
from carenav.patients.clinical_queries import RecordPage
from carenav.patients.models import Patient

C = TypeVar("C", CarePlan, Goal, Intervention)


def _page(
    *,
    session: Session,
    actor: Actor,
    patient: Patient,
    model: type[C],
    conditions: Sequence[ColumnElement[bool]],
    order_by: Sequence[Any],
    offset: int,
    limit: int | None,
    detail: str,
) -> RecordPage[C]:
    where = and_(model.patient_id == patient.id, *conditions)
    total = session.scalar(select(func.count()).select_from(model).where(where)) or 0
    statement: Select[C] = select(model).where(where).order_by(*order_by, model.id.desc()).offset(offset)
    if limit is not None:
        statement = statement.limit(limit)
    items = list(session.scalars(statement)) if total > offset and limit != 0 else []
    if items:
        audit_record(
            session=session,
            actor=actor,
            action="read",
            patient_uuid=patient.uuid,
            entity_type=model.__name__,
            detail=f"list ({len(items)} of {total}): {detail}",
        )
    return RecordPage(items=items, total=total, offset=offset, limit=limit)


def _among(column: Any, values: Collection[str]) -> list[ColumnElement[bool]]:
    return [column.in_(sorted(values))] if values else []


def _named(label: str, values: Collection[str]) -> str:
    return f"{label} in {sorted(values)}" if values else f"any {label}"


def care_plan_list(
    *,
    session: Session,
    actor: Actor,
    patient_uuid: str,
    statuses: Collection[str] = (),
    offset: int = 0,
    limit: int | None = None,
) -> RecordPage[CarePlan]:
    """The patient's care plans, newest start first; only those in ``statuses`` if given."""
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    return _page(
        session=session,
        actor=actor,
        patient=patient,
        model=CarePlan,
        conditions=_among(CarePlan.status, statuses),
        order_by=[CarePlan.period_start.desc().nulls_last(), CarePlan.created_at.desc()],
        offset=offset,
        limit=limit,
        detail=_named("status", statuses),
    )


def goal_list(
    *,
    session: Session,
    actor: Actor,
    patient_uuid: str,
    lifecycles: Collection[str] = (),
    achievements: Collection[str] = (),
    offset: int = 0,
    limit: int | None = None,
) -> RecordPage[Goal]:
    """The patient's goals (in a plan or not), newest start first; filtered by lifecycle status and
    achievement status when given."""
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    return _page(
        session=session,
        actor=actor,
        patient=patient,
        model=Goal,
        conditions=[*_among(Goal.lifecycle, lifecycles), *_among(Goal.achievement, achievements)],
        order_by=[Goal.start_on.desc().nulls_last(), Goal.created_at.desc()],
        offset=offset,
        limit=limit,
        detail=f"{_named('lifecycle', lifecycles)}; {_named('achievement', achievements)}",
    )


def intervention_keys(
    patient_id: int, *, statuses: Collection[str] = (), kinds: Collection[str] | None = None
) -> Select[datetime, int]:
    """The patient's interventions in ``statuses`` (any when empty) and of ``kinds`` (any when None;
    none when empty) as ``(at, id)``: when each was made (a list's order, newest first) and its key."""
    kind_filter: list[ColumnElement[bool]] = []
    if kinds is not None:
        kind_filter = [Intervention.kind.in_(sorted(kinds))] if kinds else [false()]
    return select(Intervention.created_at.label("at"), Intervention.id.label("id")).where(
        Intervention.patient_id == patient_id, *_among(Intervention.status, statuses), *kind_filter
    )


def interventions_by_key(session: Session, keys: Sequence[int]) -> list[Intervention]:
    return list(session.scalars(select(Intervention).where(Intervention.id.in_(list(keys)))))


def care_record_read(
    *, session: Session, actor: Actor, model: type[C], record_uuid: str
) -> tuple[C, Patient]:
    """One care plan, goal or intervention by its public id, with its patient, audited; NotFound when it
    does not exist or its patient is out of the actor's reach."""
    found = session.execute(
        select(model, Patient)
        .join(Patient, Patient.id == model.patient_id)
        .where(model.uuid == record_uuid, patient_scope(actor))
    ).first()
    if found is None:
        raise NotFound(f"no {model.__name__} {record_uuid}", where=model.__name__)
    row, patient = found
    audit_record(
        session=session,
        actor=actor,
        action="read",
        patient_uuid=patient.uuid,
        entity_type=model.__name__,
        entity_id=row.uuid,
    )
    return row, patient
