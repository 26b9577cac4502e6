"""Reads of assessments, always through the access gate on patients (NotFound outside reach).

``assessment_read`` and ``assessment_page`` are the audited reads of the record (one audit row per call,
naming the patient), as the patient record's own list queries are; ``assessment_get`` is the unaudited
lookup the services use before they change an assessment (the change is audited instead).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from carenav.access import Actor, patient_scope, patient_visible
from carenav.assessments.models import Assessment
from carenav.audit.services import audit_record
from carenav.errors import NotFound
from carenav.patients.clinical_queries import RecordPage, TimeWindow
from carenav.patients.models import Patient

ENTITY = "Assessment"


def assessment_get(*, session: Session, actor: Actor, assessment_uuid: str) -> tuple[Patient, Assessment]:
    """The assessment and its patient, if ``actor`` may see the patient."""
    row = session.execute(
        select(Patient, Assessment)
        .join(Assessment, Assessment.patient_id == Patient.id)
        .where(Assessment.uuid == assessment_uuid, patient_scope(actor))
    ).first()
    if row is None:
        raise NotFound(f"no assessment {assessment_uuid}", where=ENTITY)
    return row[0], row[1]


def assessment_read(
    *, session: Session, actor: Actor, assessment_uuid: str, what: str = "record"
) -> tuple[Patient, Assessment]:
    """The assessment and its patient, if ``actor`` may see the patient (NotFound otherwise), audited as
    a read of ``what``."""
    patient, assessment = assessment_get(session=session, actor=actor, assessment_uuid=assessment_uuid)
    audit_record(
        session=session,
        actor=actor,
        action="read",
        patient_uuid=patient.uuid,
        entity_type=ENTITY,
        entity_id=assessment.uuid,
        detail=what,
    )
    return patient, assessment


def assessment_list_for_patient(
    *, session: Session, actor: Actor, patient_uuid: str, instrument_id: str | None = None
) -> list[Assessment]:
    """The patient's assessments, newest first (of one instrument when given)."""
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    query = select(Assessment).where(Assessment.patient_id == patient.id)
    if instrument_id is not None:
        query = query.where(Assessment.instrument_id == instrument_id)
    return list(session.scalars(query.order_by(Assessment.started_at.desc(), Assessment.id.desc())))


@dataclass(frozen=True)
class InstrumentMatch:
    """An instrument, and the version the assessment was started on (None: any version)."""

    instrument_id: str
    version: str | None = None

    def describe(self) -> str:
        return self.instrument_id if self.version is None else f"{self.instrument_id}|{self.version}"


@dataclass(frozen=True)
class AssessmentCriteria:
    """What a page of a patient's assessments is filtered by; every given criterion must hold.
    ``instruments``: any of them; ``statuses``: any of them; ``authored``: when it was completed, or
    started for one never completed."""

    instruments: Collection[InstrumentMatch] = field(default_factory=tuple)
    statuses: Collection[str] = field(default_factory=tuple)
    authored: TimeWindow | None = None

    def describe(self) -> str:
        instruments = ",".join(m.describe() for m in self.instruments) or "any"
        statuses = ",".join(sorted(self.statuses)) or "any"
        authored = self.authored.describe() if self.authored else "any time"
        return f"instrument {instruments}; status {statuses}; authored {authored}"


def authored_at() -> ColumnElement[Any]:
    """When an assessment was authored: completed, or started while it is a draft."""
    return func.coalesce(Assessment.completed_at, Assessment.started_at)


def _instrument_condition(match: InstrumentMatch) -> ColumnElement[bool]:
    same = Assessment.instrument_id == match.instrument_id
    return same if match.version is None else and_(same, Assessment.instrument_version == match.version)


def _conditions(patient: Patient, criteria: AssessmentCriteria) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Assessment.patient_id == patient.id]
    if criteria.instruments:
        conditions.append(or_(*(_instrument_condition(m) for m in criteria.instruments)))
    if criteria.statuses:
        conditions.append(Assessment.status.in_(list(criteria.statuses)))
    window = criteria.authored
    if window is not None and window.since is not None:
        conditions.append(authored_at() >= window.since)
    if window is not None and window.before is not None:
        conditions.append(authored_at() < window.before)
    return conditions


def assessment_page(
    *,
    session: Session,
    actor: Actor,
    patient_uuid: str,
    criteria: AssessmentCriteria | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> RecordPage[Assessment]:
    """A page of the patient's assessments matching ``criteria``, newest authored first, with the total;
    NotFound for a patient out of reach. Audited (one row naming the filters) when it returns any."""
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    chosen = criteria or AssessmentCriteria()
    where = and_(*_conditions(patient, chosen))
    total = session.scalar(select(func.count()).select_from(Assessment).where(where)) or 0
    items: list[Assessment] = []
    if total > offset and limit != 0:
        statement = (
            select(Assessment)
            .where(where)
            .order_by(authored_at().desc(), Assessment.id.desc())
            .offset(offset)
        )
        if limit is not None:
            statement = statement.limit(limit)
        items = list(session.scalars(statement))
    if items:
        audit_record(
            session=session,
            actor=actor,
            action="read",
            patient_uuid=patient.uuid,
            entity_type=ENTITY,
            detail=f"list ({len(items)} of {total}): {chosen.describe()}",
        )
    return RecordPage(items=items, total=total, offset=offset, limit=limit)
