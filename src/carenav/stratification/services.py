"""Saving a stratification run: the run, each patient's results and their evidence. Flush only."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from carenav.access import Actor, patient_scope
from carenav.audit.services import audit_record
from carenav.patients.models import Patient
from carenav.stratification.models import StratificationEvidence, StratificationResult, StratificationRun

BATCH = 2_000
TYPED_COLUMNS = ("charlson", "lace_last_discharge", "chronic_condition_count", "hcc_v28", "tier")


def _json_value(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def stratification_run_save(
    *,
    session: Session,
    actor: Actor,
    as_of: date,
    engine: str,
    rules_version: str,
    started_at: datetime,
    finished_at: datetime,
    scores: list[dict[str, Any]],
    evidence: list[dict[str, Any]],
    summary: dict[str, Any],
) -> StratificationRun:
    """Save a run over ``actor``'s organization. ``scores``: one dict per patient (``patient_id`` = the
    FHIR id) with every output column; ``evidence``: rows with ``patient_id, model, component, points,
    evidence``. Patients the actor cannot see, or no longer in the record, are left out."""
    columns = list(scores[0]) if scores else []
    run = StratificationRun(
        org_id=actor.org_id,
        as_of=as_of,
        engine=engine,
        rules_version=rules_version,
        started_at=started_at,
        finished_at=finished_at,
        patient_count=0,
        columns=columns,
        summary=summary,
        requested_by=actor.label,
    )
    session.add(run)
    session.flush()
    internal = dict(session.execute(select(Patient.uuid, Patient.id).where(patient_scope(actor))).all())
    rows: list[dict[str, Any]] = []
    for score in scores:
        patient_id = internal.get(str(score["patient_id"]))
        if patient_id is None:
            continue
        values = {key: _json_value(value) for key, value in score.items()}
        rows.append(
            {
                "run_id": run.id,
                "patient_id": patient_id,
                "scores": values,
                **{column: values.get(column) for column in TYPED_COLUMNS},
            }
        )
    for start in range(0, len(rows), BATCH):
        session.execute(insert(StratificationResult), rows[start : start + BATCH])
    run.patient_count = len(rows)
    result_ids = dict(
        session.execute(
            select(StratificationResult.patient_id, StratificationResult.id).where(
                StratificationResult.run_id == run.id
            )
        ).all()
    )
    by_uuid = {uuid: result_ids[pid] for uuid, pid in internal.items() if pid in result_ids}
    explanation: list[dict[str, Any]] = []
    for row in evidence:
        result_id = by_uuid.get(str(row["patient_id"]))
        if result_id is None:
            continue
        explanation.append(
            {
                "result_id": result_id,
                "model": row["model"],
                "component": str(row["component"])[:200],
                "points": row["points"],
                "evidence": row["evidence"],
            }
        )
        if len(explanation) >= BATCH:
            session.execute(insert(StratificationEvidence), explanation)
            explanation.clear()
    if explanation:
        session.execute(insert(StratificationEvidence), explanation)
    audit_record(
        session=session,
        actor=actor,
        action="stratify.run",
        entity_type="StratificationRun",
        entity_id=run.uuid,
        detail=f"as of {as_of.isoformat()}, {run.patient_count} patients, rules {rules_version}",
    )
    session.flush()
    return run


def evidence_by_patient(evidence: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in evidence:
        grouped[str(row["patient_id"])].append(row)
    return grouped
