"""The snapshot of one organization's record store (SQLite or PostgreSQL), read through SQLAlchemy.

Every read goes through the access gate (``patient_scope``) of the actor, streamed in batches; the read
is audited once (``stratify.snapshot``). Ids are the FHIR ids (record uuids), as the FHIR facade and
``carenav export`` give them, so a snapshot of the store and one of its export are the same.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from carenav.access import Actor, patient_scope
from carenav.analytics.sources.normalise import (
    CONDITION_EXCLUDED,
    DIAGNOSIS_PREFERENCE,
    DIAGNOSIS_SYSTEMS,
    admission_type,
    admitted_via_ed,
    condition_active,
    diagnosis_code,
)
from carenav.analytics.sources.parquet import SnapshotWriter
from carenav.assessments.models import Assessment
from carenav.assessments.rules import daily_living_dependency
from carenav.audit.services import audit_record
from carenav.patients.models import (
    Condition,
    Coverage,
    Encounter,
    EncounterDiagnosis,
    Medication,
    Patient,
)

BATCH = 5_000


def _day(value: datetime | None) -> date | None:
    return value.date() if value is not None else None


def _naive(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=None) if value is not None and value.tzinfo is not None else value


def _stream(session: Session, statement: Any) -> Iterable[Any]:
    return session.execute(statement.execution_options(yield_per=BATCH))


def choose_coding(codings: Iterable[dict[str, Any]]) -> tuple[str, str, str | None] | None:
    """(snapshot system, code, display) of the preferred diagnosis coding, None without a code."""
    usable = [c for c in codings if c.get("code")]
    for system in DIAGNOSIS_PREFERENCE:
        for coding in usable:
            if coding.get("system") == system:
                kind = DIAGNOSIS_SYSTEMS[system]
                return kind, diagnosis_code(kind, str(coding["code"])), coding.get("display")
    if usable:
        return "other", str(usable[0]["code"]).strip(), usable[0].get("display")
    return None


def write_record_store_snapshot(*, session: Session, actor: Actor, directory: Path) -> dict[str, int]:
    """Write the snapshot of every patient ``actor`` may see to ``directory``; row counts per table."""
    scope = patient_scope(actor)
    enc = aliased(Encounter)
    with SnapshotWriter(directory) as writer:
        for row in _stream(
            session,
            select(
                Patient.uuid,
                Patient.birth_date,
                Patient.administrative_sex,
                Patient.deceased,
                Patient.deceased_at,
            )
            .where(scope)
            .order_by(Patient.id),
        ):
            writer.add("patients", (row[0], row[1], row[2], bool(row[3]), _day(row[4])))

        for row in _stream(
            session,
            select(
                Patient.uuid,
                Condition.code_system,
                Condition.code,
                Condition.display,
                Condition.codings,
                Condition.clinical_status,
                Condition.verification_status,
                Condition.onset_at,
                Condition.recorded_at,
                Condition.abatement_at,
                enc.uuid,
                enc.period_start,
            )
            .join(Patient, Patient.id == Condition.patient_id)
            .outerjoin(enc, enc.id == Condition.encounter_id)
            .where(scope)
            .order_by(Condition.id),
        ):
            (
                patient,
                system,
                code,
                display,
                codings,
                clinical,
                verification,
                onset,
                recorded,
                abatement,
                encounter_uuid,
                encounter_start,
            ) = row
            if verification in CONDITION_EXCLUDED:
                continue
            chosen = choose_coding([{"system": system, "code": code, "display": display}, *(codings or [])])
            if chosen is None:
                continue
            kind, value, coding_display = chosen
            writer.add(
                "diagnoses",
                (
                    patient,
                    kind,
                    value,
                    coding_display or display,
                    _day(onset or recorded or encounter_start),
                    _day(abatement),
                    condition_active(clinical),
                    encounter_uuid,
                ),
            )

        # Encounter diagnoses that name no Condition (HL7 v2 DG1 segments); the others are conditions.
        for row in _stream(
            session,
            select(
                Patient.uuid,
                EncounterDiagnosis.code_system,
                EncounterDiagnosis.code,
                EncounterDiagnosis.display,
                Encounter.uuid,
                Encounter.period_start,
            )
            .join(Encounter, Encounter.id == EncounterDiagnosis.encounter_id)
            .join(Patient, Patient.id == Encounter.patient_id)
            .where(scope, EncounterDiagnosis.condition_id.is_(None), EncounterDiagnosis.code.is_not(None))
            .order_by(EncounterDiagnosis.id),
        ):
            patient, system, code, display, encounter_uuid, start = row
            chosen = choose_coding([{"system": system, "code": code, "display": display}])
            if chosen is None:
                continue
            kind, value, coding_display = chosen
            writer.add(
                "diagnoses",
                (patient, kind, value, coding_display, _day(start), None, True, encounter_uuid),
            )

        for row in _stream(
            session,
            select(
                Patient.uuid,
                Encounter.uuid,
                Encounter.encounter_class,
                Encounter.period_start,
                Encounter.period_end,
                Encounter.admission_type,
                Encounter.discharge_disposition_code,
                Encounter.facility_name,
                Encounter.admit_source,
                Encounter.status,
            )
            .join(Patient, Patient.id == Encounter.patient_id)
            .where(scope)
            .order_by(Encounter.id),
        ):
            (patient, uuid, kind, start, end, admission, disposition, facility, admit_source, status) = row
            if status in ("cancelled", "entered-in-error", "planned"):
                continue
            writer.add(
                "encounters",
                (
                    patient,
                    uuid,
                    kind,
                    _naive(start),
                    _naive(end),
                    admission_type(admission),
                    disposition,
                    facility,
                    admit_source,
                    admitted_via_ed(admit_source),
                ),
            )

        for row in _stream(
            session,
            select(
                Patient.uuid, Coverage.plan_type, Coverage.period_start, Coverage.period_end, Coverage.status
            )
            .join(Patient, Patient.id == Coverage.patient_id)
            .where(scope)
            .order_by(Coverage.id),
        ):
            if row[4] in ("cancelled", "entered-in-error"):
                continue
            writer.add("coverages", (row[0], row[1], row[2], row[3]))

        for row in _stream(
            session,
            select(
                Patient.uuid, Medication.code, Medication.display, Medication.status, Medication.authored_at
            )
            .join(Patient, Patient.id == Medication.patient_id)
            .where(scope)
            .order_by(Medication.id),
        ):
            writer.add("medications", (row[0], row[1], row[2], row[3], _day(row[4])))

        # Daily-living dependency from completed Katz ADL / Lawton IADL assessments (alone or in the
        # comprehensive assessment), dated by their completion.
        for row in _stream(
            session,
            select(Patient.uuid, Assessment.instrument_id, Assessment.score, Assessment.completed_at)
            .join(Patient, Patient.id == Assessment.patient_id)
            .where(scope, Assessment.status.in_(("completed", "amended")))
            .order_by(Assessment.id),
        ):
            dependent = daily_living_dependency(row[1], row[2])
            if dependent is not None:
                writer.add("functional_status", (row[0], _day(row[3]), dependent))
        counts = dict(writer.counts)
    audit_record(
        session=session,
        actor=actor,
        action="stratify.snapshot",
        entity_type="Population",
        detail=f"{counts['patients']} patients read for stratification",
    )
    return counts
