"""Saving a stratification run (the run, each patient's results and their evidence) and turning its flags
into program work (identifying flagged patients into their programs). Saving a run keeps the follow-up
schedule of the patients whose tier it changed in step (``outreach.schedule.followups_sync_for_run``).
Flush only; the caller commits."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from carenav.access import Actor, patient_scope
from carenav.analytics.definition import Definition
from carenav.analytics.definitions import ordered, registered
from carenav.analytics.definitions.programs import NAME as PROGRAMS_DEFINITION
from carenav.analytics.definitions.programs import programs_definition
from carenav.audit.services import audit_record
from carenav.outreach.schedule import followups_sync_for_run
from carenav.patients.models import Patient
from carenav.programs.rules import RuleSet
from carenav.programs.schemas import ProgramFlag
from carenav.programs.services import enrolment_identify_from_run
from carenav.stratification.models import StratificationEvidence, StratificationResult, StratificationRun

if TYPE_CHECKING:
    import pyarrow as pa

BATCH = 2_000
TYPED_COLUMNS = ("charlson", "lace_last_discharge", "chronic_condition_count", "hcc_v28", "tier")
EVIDENCE_FIELDS = ("model", "component", "points", "evidence")


def _json_value(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def _is_arrow(value: object) -> bool:
    return hasattr(value, "column_names") and hasattr(value, "num_rows")


def _score_dicts(scores: Any) -> Iterator[dict[str, Any]]:
    """One dict per patient. An Arrow table is read column by column (one conversion per column, not
    per cell), then zipped into the dicts the JSON column needs."""
    if not _is_arrow(scores):
        yield from scores
        return
    names = list(scores.column_names)
    columns = [scores.column(name).to_pylist() for name in names]
    for values in zip(*columns, strict=True):
        yield dict(zip(names, values, strict=True))


def _evidence_columns(evidence: Any) -> tuple[list[Any], list[list[Any]]]:
    """(patient ids, [model, component, points, evidence] columns) of the evidence rows."""
    if _is_arrow(evidence):
        return (
            evidence.column("patient_id").to_pylist(),
            [evidence.column(name).to_pylist() for name in EVIDENCE_FIELDS],
        )
    return (
        [row["patient_id"] for row in evidence],
        [[row[name] for row in evidence] for name in EVIDENCE_FIELDS],
    )


def stratification_run_save(
    *,
    session: Session,
    actor: Actor,
    as_of: date,
    engine: str,
    rules_version: str,
    started_at: datetime,
    finished_at: datetime,
    scores: Sequence[dict[str, Any]] | pa.Table,
    evidence: Sequence[dict[str, Any]] | pa.Table,
    summary: dict[str, Any],
) -> StratificationRun:
    """Save a run over ``actor``'s organization. ``scores``: one row per patient (``patient_id`` = the
    FHIR id) with every output column; ``evidence``: rows with ``patient_id, model, component, points,
    evidence``. Either may be a list of dicts or an Arrow table (the engine's output, read column-wise).
    Patients the actor cannot see, or no longer in the record, are left out. The follow-ups of the patients
    whose tier moved are brought in step with their new tier."""
    given: Any = scores
    columns: list[str] = list(given.column_names) if _is_arrow(given) else (list(given[0]) if given else [])
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
    saved = 0
    for score in _score_dicts(scores):
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
        if len(rows) >= BATCH:
            session.execute(insert(StratificationResult), rows)
            saved += len(rows)
            rows = []
    if rows:
        session.execute(insert(StratificationResult), rows)
        saved += len(rows)
    run.patient_count = saved
    result_ids = dict(
        session.execute(
            select(StratificationResult.patient_id, StratificationResult.id).where(
                StratificationResult.run_id == run.id
            )
        ).all()
    )
    by_uuid = {uuid: result_ids[pid] for uuid, pid in internal.items() if pid in result_ids}
    patient_ids, (models, components, points, texts) = _evidence_columns(evidence)
    explanation: list[dict[str, Any]] = []
    for patient_uuid, model, component, point, text in zip(
        patient_ids, models, components, points, texts, strict=True
    ):
        result_id = by_uuid.get(str(patient_uuid))
        if result_id is None:
            continue
        explanation.append(
            {
                "result_id": result_id,
                "model": model,
                "component": str(component)[:200],
                "points": point,
                "evidence": text,
            }
        )
        if len(explanation) >= BATCH:
            session.execute(insert(StratificationEvidence), explanation)
            explanation = []
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
    followups_sync_for_run(session=session, actor=actor, run=run)
    return run


def evidence_by_patient(evidence: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in evidence:
        grouped[str(row["patient_id"])].append(row)
    return grouped


# --- From a run to program work ----------------------------------------------------------------------------


def stratification_definitions(rules: RuleSet) -> list[Definition]:
    """The registered definitions, in run order, with the programs definition compiled from ``rules``
    (the organization's own rules file, or the shipped default) in place of the default one."""
    return ordered(
        programs_definition(rules) if definition.name == PROGRAMS_DEFINITION else definition
        for definition in registered()
    )


def program_flags(scores: Any, evidence: Any) -> list[ProgramFlag]:
    """Each patient with at least one eligible program (the ``programs`` column), with the programs
    definition's evidence per code (``program:<code>`` rows): why the run flagged them."""
    if _is_arrow(scores):
        patient_ids = scores.column("patient_id").to_pylist()
        programs = scores.column("programs").to_pylist()
    else:
        patient_ids = [row["patient_id"] for row in scores]
        programs = [row.get("programs") for row in scores]
    why: dict[str, dict[str, str]] = defaultdict(dict)
    evidence_ids, (models, components, _points, texts) = _evidence_columns(evidence)
    for patient_uuid, model, component, text in zip(evidence_ids, models, components, texts, strict=True):
        if model == PROGRAMS_DEFINITION and str(component).startswith("program:"):
            why[str(patient_uuid)][str(component).removeprefix("program:")] = str(text or "")
    return [
        ProgramFlag.from_row(str(uuid), codes, why.get(str(uuid)))
        for uuid, codes in zip(patient_ids, programs, strict=True)
        if codes
    ]


@dataclass(frozen=True)
class IdentifySummary:
    """What identifying a run's flags did: patients flagged, episodes newly opened (first or reopened),
    and every outcome's tally (opened, reopened, already-open, recently-closed, not-found...)."""

    flagged_patients: int
    newly_identified: int
    outcomes: dict[str, int] = field(default_factory=dict)


def stratification_run_identify(
    *, session: Session, actor: Actor, run: StratificationRun, flags: Sequence[ProgramFlag], rules: RuleSet
) -> IdentifySummary:
    """Identify every flagged patient into each program they are eligible for (idempotent: an open
    episode is left alone), naming the run. Operators, jobs and administrators only."""
    outcomes = enrolment_identify_from_run(
        session=session, actor=actor, flags=flags, run_id=run.uuid, rules=rules
    )
    tally: dict[str, int] = {}
    for outcome in outcomes:
        tally[outcome.outcome] = tally.get(outcome.outcome, 0) + 1
    newly = tally.get("opened", 0) + tally.get("reopened", 0)
    run.summary = {**run.summary, "identified": {"new": newly, "outcomes": tally}}
    session.flush()
    return IdentifySummary(flagged_patients=len(flags), newly_identified=newly, outcomes=tally)
