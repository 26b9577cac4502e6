"""Reads of assessments, always through the access gate on patients (NotFound outside reach)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor, patient_scope, patient_visible
from carenav.assessments.models import Assessment
from carenav.errors import NotFound
from carenav.patients.models import Patient


def assessment_get(*, session: Session, actor: Actor, assessment_uuid: str) -> tuple[Patient, Assessment]:
    """The assessment and its patient, if ``actor`` may see the patient."""
    row = session.execute(
        select(Patient, Assessment)
        .join(Assessment, Assessment.patient_id == Patient.id)
        .where(Assessment.uuid == assessment_uuid, patient_scope(actor))
    ).first()
    if row is None:
        raise NotFound(f"no assessment {assessment_uuid}", where="Assessment")
    return row[0], row[1]


def assessment_list_for_patient(
    *, session: Session, actor: Actor, patient_uuid: str, instrument_id: str | None = None
) -> list[Assessment]:
    """The patient's assessments, newest first (of one instrument when given)."""
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    query = select(Assessment).where(Assessment.patient_id == patient.id)
    if instrument_id is not None:
        query = query.where(Assessment.instrument_id == instrument_id)
    return list(session.scalars(query.order_by(Assessment.started_at.desc(), Assessment.id.desc())))
