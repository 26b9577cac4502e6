"""Reading saved stratification runs: the latest run, a run's results, a patient's score history, and the
population registry (the latest run filtered, sorted, counted and paged, within the actor's reach)."""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session, selectinload

from carenav.access import Actor, patient_scope, patient_visible
from carenav.accounts.models import User
from carenav.accounts.rules import Role
from carenav.analytics.definition import TABLES_DIR
from carenav.audit.services import audit_patients_listed, audit_record
from carenav.errors import InvalidInput, NotFound
from carenav.patients.models import CareTeamMember, Coverage, Patient
from carenav.patients.rules import CareTeamRole, PlanType, display_name
from carenav.programs.models import ProgramEnrolment
from carenav.programs.queries import enrolment_open_states, enrolments_of
from carenav.programs.rules import OPEN_STATES
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
    history = _history_of(session, actor, patient)
    audit_record(
        session=session,
        actor=actor,
        action="stratify.history",
        patient_uuid=patient_uuid,
        entity_type="Patient",
        entity_id=patient_uuid,
    )
    return history


def _history_of(session: Session, actor: Actor, patient: Patient) -> list[PatientScore]:
    rows = session.execute(
        select(StratificationRun, StratificationResult.scores)
        .join(StratificationResult, StratificationResult.run_id == StratificationRun.id)
        .where(StratificationResult.patient_id == patient.id, StratificationRun.org_id == actor.org_id)
        .order_by(StratificationRun.finished_at, StratificationRun.id)
    ).all()
    return [PatientScore(run=run, patient_uuid=patient.uuid, scores=scores) for run, scores in rows]


def stratification_patient_evidence(
    *, session: Session, actor: Actor, run: StratificationRun, patient_uuid: str
) -> list[StratificationEvidence]:
    """The evidence rows of one patient in one run (model, component, points, evidence), ordered by
    model, component and text (engines hand evidence over in no particular order)."""
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    return list(
        session.scalars(
            select(StratificationEvidence)
            .join(StratificationResult, StratificationResult.id == StratificationEvidence.result_id)
            .where(StratificationResult.run_id == run.id, StratificationResult.patient_id == patient.id)
            .order_by(
                StratificationEvidence.model,
                StratificationEvidence.component,
                StratificationEvidence.evidence,
                StratificationEvidence.id,
            )
        )
    )


# --- The population registry (the population page) ---------------------------------------------------------

AGE_BANDS: dict[str, tuple[int, int | None]] = {
    "0-17": (0, 17),
    "18-39": (18, 39),
    "40-64": (40, 64),
    "65-74": (65, 74),
    "75-84": (75, 84),
    "85+": (85, None),
}
"""Age at the run's as-of date, both ends included."""

ENROLMENT_FILTERS: dict[str, str] = {
    "none": "not in a program (no open episode)",
    "identified": "identified",
    "outreach": "in outreach",
    "enrolled": "enrolled",
    "paused": "paused",
}

SORTS: dict[str, str] = {
    "risk": "risk (tier, then HCC V28, then Charlson)",
    "hcc": "HCC V28, highest first",
    "charlson": "Charlson, highest first",
    "lace": "LACE, highest first",
}

_ICD10_PREFIX = re.compile(r"^[A-Z][0-9][0-9A-Z]{0,5}$")


@lru_cache(maxsize=1)
def chronic_condition_categories() -> dict[str, str]:
    """Chronic condition category -> label (CMS CCW; ``analytics/tables/chronic_conditions.csv``)."""
    lines = (TABLES_DIR / "chronic_conditions.csv").read_text(encoding="utf-8").splitlines()
    rows = csv.DictReader(line for line in lines if not line.startswith("#"))
    return dict(sorted({row["category"]: row["label"] for row in rows}.items()))


@dataclass(frozen=True)
class PopulationFilter:
    """What the population page filters by; empty fields do not filter, and the fields combine (AND).

    ``program``: eligible for this program code in the run. ``tier``: 1-4. ``condition``: a chronic
    condition category (``heart_failure``) or an ICD-10-CM code prefix (``E11``, dots ignored) among the
    codes behind the patient's chronic conditions. ``plan_type``: an active coverage of this plan type.
    ``age_band``: one of ``AGE_BANDS`` (age at the run's as-of date). ``enrolment``: ``none`` (no open
    episode) or an open state; in the chosen ``program`` when one is chosen, else in any program.
    ``unassigned``: no active care manager on the care team."""

    program: str | None = None
    tier: int | None = None
    condition: str | None = None
    plan_type: str | None = None
    age_band: str | None = None
    enrolment: str | None = None
    unassigned: bool = False

    def describe(self) -> str:
        parts = [
            f"{name}={value}"
            for name, value in (
                ("program", self.program),
                ("tier", self.tier),
                ("condition", self.condition),
                ("plan_type", self.plan_type),
                ("age_band", self.age_band),
                ("enrolment", self.enrolment),
            )
            if value not in (None, "")
        ]
        if self.unassigned:
            parts.append("unassigned")
        return "population: " + (", ".join(parts) or "everyone")


def population_filter_parse(
    *,
    program: str = "",
    tier: str = "",
    condition: str = "",
    plan_type: str = "",
    age_band: str = "",
    enrolment: str = "",
    unassigned: bool = False,
    program_codes: Sequence[str] = (),
) -> PopulationFilter:
    """A filter from the page's GET parameters, each checked: InvalidInput names the field at fault."""
    program = program.strip()
    if program and program not in program_codes:
        raise InvalidInput(f"unknown program {program!r}", where="program")
    tier_value: int | None = None
    if tier.strip():
        if tier.strip() not in {"1", "2", "3", "4"}:
            raise InvalidInput(f"{tier!r} is not a tier (1-4)", where="tier")
        tier_value = int(tier)
    condition = condition.strip()
    if condition and condition.lower() not in chronic_condition_categories():
        code = condition.upper().replace(".", "")
        if not _ICD10_PREFIX.match(code):
            raise InvalidInput(
                f"{condition!r} is neither a chronic condition category nor an ICD-10-CM code prefix "
                "like E11",
                where="condition",
            )
        condition = code
    elif condition:
        condition = condition.lower()
    plan_type = plan_type.strip()
    if plan_type and plan_type not in {p.value for p in PlanType}:
        raise InvalidInput(f"unknown plan type {plan_type!r}", where="plan type")
    age_band = age_band.strip()
    if age_band and age_band not in AGE_BANDS:
        raise InvalidInput(f"unknown age band {age_band!r}", where="age band")
    enrolment = enrolment.strip()
    if enrolment and enrolment not in ENROLMENT_FILTERS:
        raise InvalidInput(f"unknown enrolment status {enrolment!r}", where="enrolment")
    return PopulationFilter(
        program=program or None,
        tier=tier_value,
        condition=condition or None,
        plan_type=plan_type or None,
        age_band=age_band or None,
        enrolment=enrolment or None,
        unassigned=unassigned,
    )


def _listed(column: ColumnElement[str], value: str, *, prefix: bool = False) -> ColumnElement[bool]:
    """``value`` is an item (or, with ``prefix``, starts an item) of a ';'-separated list column."""
    wrapped = literal(";") + func.coalesce(column, "") + literal(";")
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%;{escaped}%" if prefix else f"%;{escaped};%"
    return wrapped.like(pattern, escape="\\")


def _score_text(name: str) -> ColumnElement[str]:
    """One output column of the run, as text, from the results' JSON."""
    column: ColumnElement[str] = StratificationResult.scores[name].as_string()
    return column


def _programs_column() -> ColumnElement[str]:
    return _score_text("programs")


def _open_episode(program: str | None, state: str | None) -> ColumnElement[bool]:
    query = select(ProgramEnrolment.id).where(
        ProgramEnrolment.patient_id == Patient.id,
        ProgramEnrolment.state.in_([s.value for s in OPEN_STATES]),
    )
    if program:
        query = query.where(ProgramEnrolment.program_code == program)
    if state:
        query = query.where(ProgramEnrolment.state == state)
    return query.exists()


def _assigned() -> ColumnElement[bool]:
    return (
        select(CareTeamMember.id)
        .where(
            CareTeamMember.patient_id == Patient.id,
            CareTeamMember.active.is_(True),
            CareTeamMember.role == CareTeamRole.CARE_MANAGER.value,
            CareTeamMember.user_id.is_not(None),
        )
        .exists()
    )


def _conditions(actor: Actor, run: StratificationRun, where: PopulationFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [StratificationResult.run_id == run.id, patient_scope(actor)]
    if where.program:
        conditions.append(_listed(_programs_column(), where.program))
    if where.tier is not None:
        conditions.append(StratificationResult.tier == where.tier)
    if where.condition:
        if where.condition in chronic_condition_categories():
            column = _score_text("chronic_conditions")
            conditions.append(_listed(column, where.condition))
        else:
            column = _score_text("chronic_condition_codes")
            conditions.append(_listed(column, where.condition, prefix=True))
    if where.plan_type:
        conditions.append(
            select(Coverage.id)
            .where(
                Coverage.patient_id == Patient.id,
                Coverage.plan_type == where.plan_type,
                Coverage.status == "active",
            )
            .exists()
        )
    if where.age_band:
        low, high = AGE_BANDS[where.age_band]
        age = StratificationResult.scores["age"].as_integer()
        conditions.append(age >= low)
        if high is not None:
            conditions.append(age <= high)
    if where.enrolment == "none":
        conditions.append(~_open_episode(where.program, None))
    elif where.enrolment:
        conditions.append(_open_episode(where.program, where.enrolment))
    if where.unassigned:
        conditions.append(~_assigned())
    return conditions


def _order(sort: str) -> list[Any]:
    ties = [StratificationResult.patient_id]
    hcc = StratificationResult.hcc_v28.desc().nulls_last()
    charlson = StratificationResult.charlson.desc().nulls_last()
    lace = StratificationResult.lace_last_discharge.desc().nulls_last()
    tier = StratificationResult.tier.desc().nulls_last()
    if sort == "hcc":
        return [hcc, tier, *ties]
    if sort == "charlson":
        return [charlson, tier, hcc, *ties]
    if sort == "lace":
        return [lace, tier, hcc, *ties]
    return [tier, hcc, charlson, *ties]


@dataclass(frozen=True)
class RegistryRow:
    """One patient of the registry: their run scores, open episodes and care managers."""

    patient: Patient
    scores: dict[str, Any]
    programs: list[str]
    enrolments: dict[str, str]
    care_managers: list[str]


@dataclass(frozen=True)
class RegistryPage:
    rows: list[RegistryRow]
    total: int
    tier_counts: dict[int, int]
    program_counts: dict[str, int]


def population_registry(
    *,
    session: Session,
    actor: Actor,
    run: StratificationRun,
    where: PopulationFilter,
    program_codes: Sequence[str],
    sort: str = "risk",
    offset: int = 0,
    limit: int = 25,
) -> RegistryPage:
    """The run's results for the patients ``actor`` may see that pass ``where``: one page of rows in
    ``sort`` order, the total, and counts per tier and per program (of ``program_codes``) over every
    matching patient. Every patient shown is audited as read by a search."""
    if sort not in SORTS:
        raise InvalidInput(f"unknown sort {sort!r} (known: {', '.join(SORTS)})", where="sort")
    conditions = _conditions(actor, run, where)

    def matching(*columns: Any) -> Select[Any]:
        return (
            select(*columns)
            .select_from(StratificationResult)
            .join(Patient, Patient.id == StratificationResult.patient_id)
            .where(and_(*conditions))
        )

    tier_counts = {
        tier: count
        for tier, count in session.execute(
            matching(StratificationResult.tier, func.count()).group_by(StratificationResult.tier)
        )
        if tier is not None
    }
    total = sum(count for (count,) in session.execute(matching(func.count())))
    program_counts: dict[str, int] = {}
    if program_codes:
        sums = [
            func.coalesce(func.sum(case((_listed(_programs_column(), code), 1), else_=0)), 0)
            for code in program_codes
        ]
        values = session.execute(matching(*sums)).one()
        program_counts = dict(zip(program_codes, (int(v) for v in values), strict=True))
    found = session.execute(
        matching(Patient, StratificationResult.scores)
        .options(selectinload(Patient.names))
        .order_by(*_order(sort))
        .offset(offset)
        .limit(limit)
    ).all()
    patients = [patient for patient, _ in found]
    states = (
        enrolment_open_states(session=session, actor=actor, patient_uuids=[p.uuid for p in patients])
        if patients
        else {}
    )
    managers: dict[int, list[str]] = {}
    if patients:
        for patient_id, name in session.execute(
            select(CareTeamMember.patient_id, CareTeamMember.name)
            .where(
                CareTeamMember.patient_id.in_([p.id for p in patients]),
                CareTeamMember.active.is_(True),
                CareTeamMember.role == CareTeamRole.CARE_MANAGER.value,
                CareTeamMember.user_id.is_not(None),
            )
            .order_by(CareTeamMember.name)
        ):
            managers.setdefault(patient_id, []).append(name)
    rows = []
    for patient, scores in found:
        rows.append(
            RegistryRow(
                patient=patient,
                scores=scores,
                programs=[code for code in str(scores.get("programs") or "").split(";") if code],
                enrolments=states.get(patient.uuid, {}),
                care_managers=managers.get(patient.id, []),
            )
        )
    audit_patients_listed(
        session=session,
        actor=actor,
        patient_uuids=[patient.uuid for patient, _ in found],
        action="search",
        detail=where.describe(),
    )
    return RegistryPage(rows=rows, total=total, tier_counts=tier_counts, program_counts=program_counts)


def population_assignees(*, session: Session, actor: Actor) -> list[User]:
    """Whom the population page offers to assign patients to: the organization's active care managers
    and supervisors for administrators; the team they lead (and themselves) for a supervisor; nobody
    for anyone else (care managers do not assign)."""
    query = select(User).where(
        User.org_id == actor.org_id,
        User.active.is_(True),
        User.role.in_([Role.CARE_MANAGER.value, Role.SUPERVISOR.value]),
    )
    if actor.role == Role.SUPERVISOR.value:
        team = [User.id == actor.user_id]
        if actor.team_id is not None:
            team.append(User.team_id == actor.team_id)
        query = query.where(or_(*team))
    elif not actor.sees_whole_organization:
        return []
    return list(session.scalars(query.order_by(User.display_name, User.username)))


def population_names(*, session: Session, actor: Actor, patient_uuids: Sequence[str]) -> dict[str, str]:
    """Display names of the patients of ``patient_uuids`` the actor may see (for reporting the outcome
    of a bulk action on them, itself audited); the others are left out."""
    if not patient_uuids:
        return {}
    patients = session.scalars(
        select(Patient)
        .where(Patient.uuid.in_(list(patient_uuids)), patient_scope(actor))
        .options(selectinload(Patient.names))
    )
    return {
        p.uuid: display_name(p.primary_name.given, p.primary_name.family) if p.primary_name else "(no name)"
        for p in patients
    }


# --- The risk panel of the patient summary -----------------------------------------------------------------


@dataclass(frozen=True)
class RiskPanel:
    """One patient's latest run (None if no run scored them), their scores and evidence in it (grouped by
    model, in run order; the programs definition's rows apart), their score history and enrolments."""

    run: StratificationRun | None
    scores: dict[str, Any] | None
    evidence: dict[str, list[StratificationEvidence]]
    program_flags: list[StratificationEvidence]
    history: list[PatientScore]
    enrolments: list[ProgramEnrolment]


def stratification_risk_panel(*, session: Session, actor: Actor, patient_uuid: str) -> RiskPanel:
    """Everything the risk panel shows for a patient within the actor's reach (NotFound otherwise).

    Not audited here: the panel is part of the patient summary, whose read ``patient_summary`` audits
    (one row per page view); a caller showing the panel anywhere else must audit the read itself."""
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    history = _history_of(session, actor, patient)
    enrolments = list(enrolments_of(session, patient.id))
    run = stratification_run_latest(session=session, actor=actor)
    latest = next((h for h in reversed(history) if run is not None and h.run.id == run.id), None)
    grouped: dict[str, list[StratificationEvidence]] = {}
    flags: list[StratificationEvidence] = []
    if run is not None and latest is not None:
        for row in stratification_patient_evidence(
            session=session, actor=actor, run=run, patient_uuid=patient_uuid
        ):
            if row.model == "programs":
                flags.append(row)
            else:
                grouped.setdefault(row.model, []).append(row)
    return RiskPanel(
        run=run if latest is not None else None,
        scores=latest.scores if latest is not None else None,
        evidence=grouped,
        program_flags=flags,
        history=history,
        enrolments=enrolments,
    )


EVIDENCE_MODELS: dict[str, str] = {
    "charlson": "Charlson comorbidity index (Quan 2005 ICD-10 mapping; 1987 and Quan 2011 weights)",
    "charlson_age_adjusted": "Charlson, age-adjusted (points for age)",
    "hcc_v28": "CMS-HCC V28 (raw score: demographic factor plus payment HCCs)",
    "hcc_v24": "CMS-HCC V24 (raw score: demographic factor plus payment HCCs)",
    "lace": "LACE readmission index at the last inpatient discharge",
    "lace_history": "LACE at each inpatient discharge",
    "chronic_conditions": "Chronic conditions (CMS Chronic Conditions Warehouse categories)",
}
"""How the risk panel names each model's evidence, in the order it shows them (others follow by name)."""


def risk_panel_sections(panel: RiskPanel) -> list[tuple[str, str, list[StratificationEvidence]]]:
    """(model, heading, evidence rows) for the risk panel, known models first in ``EVIDENCE_MODELS``
    order."""
    known = [m for m in EVIDENCE_MODELS if m in panel.evidence]
    others = sorted(m for m in panel.evidence if m not in EVIDENCE_MODELS)
    return [(m, EVIDENCE_MODELS.get(m, m.replace("_", " ")), panel.evidence[m]) for m in known + others]


def score_history_series(history: Sequence[PatientScore]) -> dict[str, Any]:
    """The score history as a line chart (``line-chart.js``): one label per run, oldest first, and a
    dataset per score."""
    series = (
        ("Tier", "tier"),
        ("HCC V28", "hcc_v28"),
        ("Charlson", "charlson"),
        ("LACE", "lace_last_discharge"),
    )
    datasets: list[dict[str, Any]] = [
        {"label": label, "data": [h.scores.get(key) for h in history]} for label, key in series
    ]
    datasets[0]["stepped"] = True
    datasets[-1]["spanGaps"] = True
    return {"labels": [h.run.as_of.isoformat() for h in history], "datasets": datasets, "yMin": 0}
