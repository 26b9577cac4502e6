"""What screens show of assessments, read through the access gate on patients: the patient page's panel
(history, score trends, open social needs, suggestions waiting) and what one assessment led to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from carenav.access import Actor, patient_visible
from carenav.accounts.queries import user_display_names
from carenav.assessments.instruments import instrument_get
from carenav.assessments.models import Assessment, AssessmentSuggestion
from carenav.assessments.queries import assessment_list_for_patient
from carenav.patients.models import Condition, Observation
from carenav.tasks.models import PatientAlert, Task

LOINC = "http://loinc.org"
TREND_INSTRUMENTS = ("phq9", "gad7")
"""The instruments whose totals the patient page charts over time."""
FINAL_OBSERVATION_STATUSES = ("final", "amended", "corrected")


@dataclass(frozen=True)
class TrendPoint:
    at: datetime
    value: float


@dataclass(frozen=True)
class AssessmentPanel:
    """What the patient page shows of assessments: the history (newest first), each trend instrument's
    totals over time by title (from the record's Observations, so scores imported from an EHR count
    too), the open social needs (health concerns with an SDOH domain), and the suggestions not decided."""

    history: list[Assessment]
    trends: dict[str, list[TrendPoint]]
    social_needs: list[Condition]
    suggestions: list[AssessmentSuggestion]
    people: dict[int, str]
    """The display names of the users who started the assessments, by user id."""


def assessment_panel(*, session: Session, actor: Actor, patient_uuid: str) -> AssessmentPanel:
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    history = assessment_list_for_patient(session=session, actor=actor, patient_uuid=patient_uuid)
    trends: dict[str, list[TrendPoint]] = {}
    for instrument_id in TREND_INSTRUMENTS:
        instrument = instrument_get(instrument_id)
        code = instrument.rules.total_code
        if code is None:
            continue
        rows = session.execute(
            select(Observation.effective_at, Observation.value_quantity)
            .where(
                Observation.patient_id == patient.id,
                Observation.code_system == LOINC,
                Observation.code == code,
                Observation.status.in_(FINAL_OBSERVATION_STATUSES),
                Observation.value_quantity.is_not(None),
                Observation.effective_at.is_not(None),
            )
            .order_by(Observation.effective_at, Observation.id)
        ).all()
        trends[instrument.title] = [
            TrendPoint(at, float(value)) for at, value in rows if at is not None and value is not None
        ]
    social_needs = session.scalars(
        select(Condition)
        .where(
            Condition.patient_id == patient.id,
            Condition.sdoh_domain.is_not(None),
            Condition.clinical_status == "active",
            or_(Condition.verification_status.is_(None), Condition.verification_status != "entered-in-error"),
        )
        .order_by(Condition.recorded_at.desc(), Condition.id.desc())
    )
    suggestions = session.scalars(
        select(AssessmentSuggestion)
        .where(AssessmentSuggestion.patient_id == patient.id, AssessmentSuggestion.status == "suggested")
        .order_by(AssessmentSuggestion.id)
    )
    people = user_display_names(session, (a.started_by_user_id for a in history))
    return AssessmentPanel(history, trends, list(social_needs), list(suggestions), people)


@dataclass(frozen=True)
class AssessmentOutcomes:
    """What an assessment left in the record: health concerns, tasks, alerts, suggested goals and
    referrals (of an assessment already reached through ``assessment_get``)."""

    concerns: list[Condition]
    tasks: list[Task]
    alerts: list[PatientAlert]
    suggestions: list[AssessmentSuggestion]


def assessment_outcomes(*, session: Session, assessment: Assessment) -> AssessmentOutcomes:
    concerns = session.scalars(
        select(Condition)
        .where(
            Condition.patient_id == assessment.patient_id,
            Condition.source_id.startswith(f"assessment:{assessment.uuid}:"),
        )
        .order_by(Condition.id)
    )
    tasks = session.scalars(
        select(Task)
        .where(Task.source_type == "Assessment", Task.source_id == assessment.uuid)
        .order_by(Task.id)
    )
    alerts = session.scalars(
        select(PatientAlert)
        .where(PatientAlert.source_type == "Assessment", PatientAlert.source_id == assessment.uuid)
        .order_by(PatientAlert.id)
    )
    suggestions = session.scalars(
        select(AssessmentSuggestion)
        .where(AssessmentSuggestion.assessment_id == assessment.id)
        .order_by(AssessmentSuggestion.id)
    )
    return AssessmentOutcomes(list(concerns), list(tasks), list(alerts), list(suggestions))
