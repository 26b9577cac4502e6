"""The patient summary and timeline a care manager opens, built from the record.

Reads go through ``patient_read`` (access check and audit) first; problems and encounters come from
``clinical_queries`` (shared with the FHIR facade, each audited); the rest loads that patient's rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, String, func, literal, select, union_all
from sqlalchemy.orm import Session, selectinload

from carenav.access import Actor
from carenav.patients.clinical_queries import condition_list, encounter_list
from carenav.patients.models import (
    Allergy,
    CareTeamMember,
    Condition,
    Coverage,
    Encounter,
    Medication,
    Observation,
    Patient,
    RelatedPerson,
)
from carenav.patients.queries import patient_read
from carenav.patients.rules import ACTIVE_CLINICAL_STATUSES, INPATIENT_CLASSES

RECENT_ENCOUNTERS = 10
ACTIVE_STATUSES = frozenset(s.value for s in ACTIVE_CLINICAL_STATUSES)
NOT_REAL = frozenset({"refuted", "entered-in-error"})
LATEST_LABS = 15
VITALS = "vital-signs"
LABS = "laboratory"


@dataclass(frozen=True)
class ResultRow:
    """The latest value of one vital sign or lab test."""

    display: str
    value: str
    at: datetime | None
    interpretation: str | None


@dataclass(frozen=True)
class PatientSummary:
    patient: Patient
    related_persons: list[RelatedPerson]
    coverages: list[Coverage]
    active_problems: list[Condition]
    recent_encounters: list[Encounter]
    active_medications: list[Medication]
    latest_vitals: list[ResultRow]
    latest_labs: list[ResultRow]
    allergies: list[Allergy]
    care_team: list[CareTeamMember]


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def observation_value_text(observation: Observation) -> str:
    """How an observation's value reads: 7.2 %, 120/80 mm[Hg] for a blood pressure panel, a coded answer."""
    if observation.value_quantity is not None:
        unit = f" {observation.value_unit}" if observation.value_unit else ""
        return f"{_number(observation.value_quantity)}{unit}"
    for text in (observation.value_display, observation.value_code, observation.value_string):
        if text:
            return text
    if observation.value_boolean is not None:
        return "yes" if observation.value_boolean else "no"
    numeric = [c for c in observation.components if c.value_quantity is not None]
    if numeric:
        units = {c.value_unit for c in numeric}
        joined = "/".join(_number(c.value_quantity) for c in numeric if c.value_quantity is not None)
        if len(units) == 1 and None not in units:
            return f"{joined} {units.pop()}"
        return "; ".join(
            f"{c.display or c.code}: {_number(c.value_quantity)} {c.value_unit or ''}".strip()
            for c in numeric
            if c.value_quantity is not None
        )
    return ""


def _latest_per_code(session: Session, patient_id: int, category: str, limit: int | None) -> list[ResultRow]:
    latest = (
        select(Observation.code, func.max(Observation.effective_at).label("at"))
        .where(
            Observation.patient_id == patient_id,
            Observation.category == category,
            Observation.status.not_in(("entered-in-error", "cancelled")),
        )
        .group_by(Observation.code)
        .subquery()
    )
    query = (
        select(Observation)
        .join(latest, (Observation.code == latest.c.code) & (Observation.effective_at == latest.c.at))
        .where(Observation.patient_id == patient_id, Observation.category == category)
        .options(selectinload(Observation.components))
        .order_by(Observation.effective_at.desc(), Observation.display)
    )
    rows: list[ResultRow] = []
    seen: set[str | None] = set()
    for observation in session.scalars(query):
        if observation.code in seen:
            continue
        seen.add(observation.code)
        rows.append(
            ResultRow(
                display=observation.display or observation.code or "(unnamed)",
                value=observation_value_text(observation),
                at=observation.effective_at,
                interpretation=observation.interpretation,
            )
        )
    return rows[:limit] if limit else rows


def patient_summary(*, session: Session, actor: Actor, patient_uuid: str) -> PatientSummary:
    """Everything the summary page shows about one patient; NotFound outside the actor's reach."""
    patient = patient_read(session=session, actor=actor, patient_uuid=patient_uuid, what="summary")
    pid = patient.id
    return PatientSummary(
        patient=patient,
        related_persons=list(
            session.scalars(
                select(RelatedPerson).where(RelatedPerson.patient_id == pid).order_by(RelatedPerson.id)
            )
        ),
        coverages=list(
            session.scalars(
                select(Coverage)
                .where(Coverage.patient_id == pid)
                .order_by((Coverage.status == "active").desc(), Coverage.period_start.desc(), Coverage.id)
            )
        ),
        active_problems=[
            condition
            for condition in condition_list(
                session=session, actor=actor, patient_uuid=patient_uuid, clinical_statuses=ACTIVE_STATUSES
            ).items
            if condition.abatement_at is None and condition.verification_status not in NOT_REAL
        ],
        recent_encounters=encounter_list(
            session=session, actor=actor, patient_uuid=patient_uuid, limit=RECENT_ENCOUNTERS
        ).items,
        active_medications=list(
            session.scalars(
                select(Medication)
                .where(Medication.patient_id == pid, Medication.status.in_(("active", "on-hold")))
                .order_by(Medication.authored_at.desc(), Medication.display)
            )
        ),
        latest_vitals=_latest_per_code(session, pid, VITALS, None),
        latest_labs=_latest_per_code(session, pid, LABS, LATEST_LABS),
        allergies=list(
            session.scalars(
                select(Allergy)
                .where(Allergy.patient_id == pid)
                .order_by((Allergy.clinical_status == "active").desc(), Allergy.display)
            )
        ),
        care_team=list(
            session.scalars(
                select(CareTeamMember)
                .where(CareTeamMember.patient_id == pid, CareTeamMember.active.is_(True))
                .order_by(CareTeamMember.role, CareTeamMember.name)
            )
        ),
    )


def encounter_is_inpatient(encounter: Encounter) -> bool:
    return encounter.encounter_class in INPATIENT_CLASSES


# --- Timeline ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # encounter | condition | result | medication
    title: str
    detail: str


@dataclass(frozen=True)
class TimelinePage:
    patient: Patient
    entries: list[TimelineEntry]
    total: int
    offset: int
    limit: int


def _streams(patient_id: int) -> list[Select[Any]]:
    def stream(kind: str, model: Any, at: Any, *extra: ColumnElement[bool]) -> Select[Any]:
        return select(
            literal(kind, String(16)).label("kind"), model.id.label("row_id"), at.label("at")
        ).where(model.patient_id == patient_id, at.is_not(None), *extra)

    return [
        stream("encounter", Encounter, Encounter.period_start),
        stream("condition", Condition, Condition.onset_at),
        stream("result", Observation, Observation.effective_at),
        stream("medication", Medication, Medication.authored_at),
    ]


def _encounter_entry(row: Encounter) -> TimelineEntry:
    detail = [row.encounter_class]
    if row.facility_name:
        detail.append(row.facility_name)
    if row.discharge_disposition_display or row.discharge_disposition_code:
        detail.append(f"discharge: {row.discharge_disposition_display or row.discharge_disposition_code}")
    assert row.period_start is not None
    return TimelineEntry(row.period_start, "encounter", row.type_display or "Encounter", " · ".join(detail))


def _condition_entry(row: Condition) -> TimelineEntry:
    assert row.onset_at is not None
    status = row.clinical_status or "status unknown"
    if row.abatement_at:
        status += f", resolved {row.abatement_at.date().isoformat()}"
    return TimelineEntry(
        row.onset_at, "condition", row.display or row.code or "Condition", f"onset · {status}"
    )


def _result_entry(row: Observation) -> TimelineEntry:
    assert row.effective_at is not None
    return TimelineEntry(
        row.effective_at, "result", row.display or row.code or "Result", observation_value_text(row)
    )


def _medication_entry(row: Medication) -> TimelineEntry:
    assert row.authored_at is not None
    return TimelineEntry(row.authored_at, "medication", row.display or row.code or "Medication", row.status)


def patient_timeline(
    *, session: Session, actor: Actor, patient_uuid: str, offset: int = 0, limit: int = 50
) -> TimelinePage:
    """Encounters, condition onsets, results and medication orders of one patient, newest first, paged."""
    patient = patient_read(session=session, actor=actor, patient_uuid=patient_uuid, what="timeline")
    events = union_all(*_streams(patient.id)).subquery()
    total = session.scalar(select(func.count()).select_from(events)) or 0
    page = session.execute(
        select(events.c.kind, events.c.row_id, events.c.at)
        .order_by(events.c.at.desc(), events.c.kind, events.c.row_id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    ids: dict[str, list[int]] = {}
    for kind, row_id, _at in page:
        ids.setdefault(kind, []).append(row_id)
    loaded: dict[tuple[str, int], TimelineEntry] = {}
    for encounter in session.scalars(select(Encounter).where(Encounter.id.in_(ids.get("encounter", [])))):
        loaded[("encounter", encounter.id)] = _encounter_entry(encounter)
    for condition in session.scalars(select(Condition).where(Condition.id.in_(ids.get("condition", [])))):
        loaded[("condition", condition.id)] = _condition_entry(condition)
    for observation in session.scalars(
        select(Observation)
        .where(Observation.id.in_(ids.get("result", [])))
        .options(selectinload(Observation.components))
    ):
        loaded[("result", observation.id)] = _result_entry(observation)
    for medication in session.scalars(select(Medication).where(Medication.id.in_(ids.get("medication", [])))):
        loaded[("medication", medication.id)] = _medication_entry(medication)
    entries = [loaded[(kind, row_id)] for kind, row_id, _at in page if (kind, row_id) in loaded]
    return TimelinePage(patient=patient, entries=entries, total=total, offset=offset, limit=limit)
