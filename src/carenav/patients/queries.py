"""Reads of patients: the audited single read and the search every screen and the FHIR facade use."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from carenav.access import Actor, patient_scope, patient_visible
from carenav.audit.services import audit_patients_listed, audit_record
from carenav.db.chunks import chunks
from carenav.patients.models import Patient, PatientIdentifier, PatientName
from carenav.patients.rules import display_name


@dataclass(frozen=True)
class PatientCriteria:
    """What a person or a FHIR client searches patients by. Empty fields do not filter.

    ``name`` matches the start of any family or given name, case-insensitively (FHIR ``name``);
    ``identifier`` is a value, or ``system|value`` (FHIR token).
    """

    name: str | None = None
    family: str | None = None
    given: str | None = None
    birth_date: date | None = None
    identifier: str | None = None

    def is_empty(self) -> bool:
        return not any((self.name, self.family, self.given, self.birth_date, self.identifier))

    def describe(self) -> str:
        parts = [f"{k}={v}" for k, v in vars(self).items() if v not in (None, "")]
        return "; ".join(parts) or "(all)"


@dataclass(frozen=True)
class PatientPage:
    items: list[Patient]
    total: int
    offset: int
    limit: int


def _starts_with(column: SQLColumnExpression[str | None], text: str) -> ColumnElement[bool]:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(column).like(f"{escaped}%", escape="\\")


def _name_condition(criteria: PatientCriteria) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if criteria.name:
        for word in criteria.name.split():
            conditions.append(
                exists().where(
                    PatientName.patient_id == Patient.id,
                    or_(
                        _starts_with(PatientName.family, word),
                        _starts_with(PatientName.given, word),
                        func.lower(PatientName.given).like(f"% {word.lower()}%"),
                    ),
                )
            )
    if criteria.family:
        conditions.append(
            exists().where(
                PatientName.patient_id == Patient.id, _starts_with(PatientName.family, criteria.family)
            )
        )
    if criteria.given:
        conditions.append(
            exists().where(
                PatientName.patient_id == Patient.id, _starts_with(PatientName.given, criteria.given)
            )
        )
    return conditions


def _identifier_condition(identifier: str) -> ColumnElement[bool]:
    system, bar, value = identifier.rpartition("|")
    match = [PatientIdentifier.patient_id == Patient.id, PatientIdentifier.value == value]
    if bar and system:
        match.append(PatientIdentifier.system == system)
    return exists().where(and_(*match))


def patient_search(
    *,
    session: Session,
    actor: Actor,
    criteria: PatientCriteria,
    offset: int = 0,
    limit: int = 50,
) -> PatientPage:
    """Patients within the actor's reach matching ``criteria``, ordered by name then birth date.

    Every patient returned is audited as read by a search (the page shows their demographics).
    """
    conditions = [patient_scope(actor), *_name_condition(criteria)]
    if criteria.birth_date:
        conditions.append(Patient.birth_date == criteria.birth_date)
    if criteria.identifier:
        conditions.append(_identifier_condition(criteria.identifier))
    where = and_(*conditions)
    total = session.scalar(select(func.count()).select_from(Patient).where(where)) or 0
    first_family = (
        select(func.lower(PatientName.family))
        .where(PatientName.patient_id == Patient.id)
        .order_by(PatientName.rank)
        .limit(1)
        .scalar_subquery()
    )
    items = list(
        session.scalars(
            select(Patient)
            .where(where)
            .order_by(first_family, Patient.birth_date, Patient.id)
            .offset(offset)
            .limit(limit)
        )
    )
    audit_patients_listed(
        session=session,
        actor=actor,
        patient_uuids=[p.uuid for p in items],
        action="search",
        detail=criteria.describe(),
    )
    return PatientPage(items=items, total=total, offset=offset, limit=limit)


def patient_read(*, session: Session, actor: Actor, patient_uuid: str, what: str = "record") -> Patient:
    """One patient, if the actor may see them (else NotFound), audited as a read of ``what``."""
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    audit_record(
        session=session,
        actor=actor,
        action="read",
        patient_uuid=patient.uuid,
        entity_type="Patient",
        entity_id=patient.uuid,
        detail=what,
    )
    return patient


@dataclass(frozen=True)
class PatientLabel:
    """What a list row needs of a patient: the key, the public id and the name shown
    (``Patient.name_shown``), read as columns rather than as the whole record."""

    id: int
    uuid: str
    name: str


def patient_labels(session: Session, patient_ids: Iterable[int]) -> dict[int, PatientLabel]:
    """The labels of these patients (by key), in one query per chunk of keys: each patient's first-ranked
    name, as ``Patient.name_shown`` reads it. Not audited (the caller audits what it shows)."""
    out: dict[int, PatientLabel] = {}
    for ids in chunks(sorted(set(patient_ids))):
        rows = session.execute(
            select(Patient.id, Patient.uuid, PatientName.given, PatientName.family)
            .outerjoin(PatientName, PatientName.patient_id == Patient.id)
            .where(Patient.id.in_(ids))
            .order_by(Patient.id, PatientName.rank, PatientName.id)
        )
        for pid, uuid, given, family in rows:
            if pid not in out:  # the first-ranked name
                out[pid] = PatientLabel(pid, uuid, display_name(given, family))
    return out
