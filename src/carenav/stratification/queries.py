"""Reading saved stratification runs: the latest run, a run's results, a patient's score history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor, patient_scope, patient_visible
from carenav.audit.services import audit_record
from carenav.errors import NotFound
from carenav.patients.models import Patient
from carenav.stratification.models import StratificationEvidence, StratificationResult, StratificationRun


@dataclass(frozen=True)
class PatientScore:
    run: StratificationRun
    patient_uuid: str
    scores: dict[str, Any]


def stratification_run_latest(*, session: Session, actor: Actor) -> StratificationRun | None:
    """The organization's most recent finished run, or None."""
    return session.scalar(
        select(StratificationRun)
        .where(StratificationRun.org_id == actor.org_id)
        .order_by(StratificationRun.finished_at.desc(), StratificationRun.id.desc())
        .limit(1)
    )


def stratification_run_get(*, session: Session, actor: Actor, run_uuid: str) -> StratificationRun:
    run = session.scalar(
        select(StratificationRun).where(
            StratificationRun.uuid == run_uuid, StratificationRun.org_id == actor.org_id
        )
    )
    if run is None:
        raise NotFound(f"no stratification run {run_uuid}", where="StratificationRun")
    return run


def stratification_result_list(
    *, session: Session, actor: Actor, run: StratificationRun
) -> list[PatientScore]:
    """Every result of ``run`` for the patients ``actor`` may see, in patient id order."""
    rows = session.execute(
        select(Patient.uuid, StratificationResult.scores)
        .join(Patient, Patient.id == StratificationResult.patient_id)
        .where(StratificationResult.run_id == run.id, patient_scope(actor))
        .order_by(Patient.uuid)
    ).all()
    return [PatientScore(run=run, patient_uuid=uuid, scores=scores) for uuid, scores in rows]


def stratification_patient_history(
    *, session: Session, actor: Actor, patient_uuid: str
) -> list[PatientScore]:
    """The patient's scores in every run, oldest first (for trends). Audited as a read."""
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    rows = session.execute(
        select(StratificationRun, StratificationResult.scores)
        .join(StratificationResult, StratificationResult.run_id == StratificationRun.id)
        .where(StratificationResult.patient_id == patient.id, StratificationRun.org_id == actor.org_id)
        .order_by(StratificationRun.finished_at, StratificationRun.id)
    ).all()
    audit_record(
        session=session,
        actor=actor,
        action="stratify.history",
        patient_uuid=patient_uuid,
        entity_type="Patient",
        entity_id=patient_uuid,
    )
    return [PatientScore(run=run, patient_uuid=patient_uuid, scores=scores) for run, scores in rows]


def stratification_patient_evidence(
    *, session: Session, actor: Actor, run: StratificationRun, patient_uuid: str
) -> list[StratificationEvidence]:
    """The evidence rows of one patient in one run (model, component, points, evidence)."""
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    return list(
        session.scalars(
            select(StratificationEvidence)
            .join(StratificationResult, StratificationResult.id == StratificationEvidence.result_id)
            .where(StratificationResult.run_id == run.id, StratificationResult.patient_id == patient.id)
            .order_by(
                StratificationEvidence.model, StratificationEvidence.component, StratificationEvidence.id
            )
        )
    )
