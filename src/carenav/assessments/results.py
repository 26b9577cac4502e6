"""What a completed assessment leaves in the patient's record: its scores as Observations (one per total or
subscale, kept up to date by amendments, withdrawn with the assessment) and, for each positive social-needs
domain with a Z code, a health concern (Condition, category health-concern, its SDOH domain, unconfirmed
until the patient and the care team agree, as the SDOH Clinical Care IG asks of concerns made by software).
A concern is not made twice: an active one with the same Z code already on the record stands. An urgent
flag (PHQ-9 item 9, a positive safety screen) makes a task due the same day for the patient's care manager
(the team's queue without one) and an alert on the patient, once per assessment and flag."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.assessments.instruments import Instrument, instrument_get
from carenav.assessments.models import Assessment, AssessmentSuggestion
from carenav.assessments.rules import sdoh_domains, suggestions_for
from carenav.assessments.scoring import Score
from carenav.clock import today
from carenav.db.mixins import LOCAL_SOURCE
from carenav.patients.models import Condition, Observation, Patient
from carenav.patients.rules import ICD10CM
from carenav.tasks.models import Task
from carenav.tasks.rules import TaskPriority
from carenav.tasks.services import alert_raise, task_create

LOINC = "http://loinc.org"
SCORE_SYSTEM = "https://carenav.org/fhir/CodeSystem/assessment-score"


def _source(assessment: Assessment, key: str) -> str:
    return f"assessment:{assessment.uuid}:{key}"


def results_record(
    *, session: Session, patient: Patient, assessment: Assessment, score: Score, at: datetime
) -> None:
    """Write (or, on an amendment, update) the Observations of ``score`` and the health concerns of its
    positive domains."""
    status = "amended" if assessment.status == "amended" else "final"
    parts = dict(score.sections) if score.sections else {assessment.instrument_id: score}
    for instrument_id, part in parts.items():
        if part is None:
            continue
        instrument = instrument_get(instrument_id)
        values = [(instrument.rules.total_code, f"{instrument_id}-total", "total", part.total)]
        values += [
            (sub.code, f"{instrument_id}-{sub.id}", sub.id, part.subscales.get(sub.id))
            for sub in instrument.rules.subscales
        ]
        for loinc, local, what, value in values:
            if value is None:
                continue
            _observation(
                session, patient, assessment, instrument, loinc, local, what, float(value), part, status, at
            )
    for domain in score.positive_domains:
        _concern(session, patient, assessment, domain, at)
    _suggest(session, patient, assessment, (*score.positive_domains, *score.flags))


def _suggest(session: Session, patient: Patient, assessment: Assessment, positive: tuple[str, ...]) -> None:
    """The goals and referrals the positives suggest, but those already waiting for a decision."""
    waiting = {
        (kind, text)
        for kind, text in session.execute(
            select(AssessmentSuggestion.kind, AssessmentSuggestion.text).where(
                AssessmentSuggestion.patient_id == patient.id, AssessmentSuggestion.status == "suggested"
            )
        )
    }
    for suggestion in suggestions_for(positive):
        if (suggestion.kind, suggestion.text) in waiting:
            continue
        waiting.add((suggestion.kind, suggestion.text))
        session.add(
            AssessmentSuggestion(
                org_id=patient.org_id,
                patient_id=patient.id,
                assessment_id=assessment.id,
                trigger=suggestion.when,
                kind=suggestion.kind,
                text=suggestion.text,
                service=suggestion.service,
                status="suggested",
            )
        )


def results_withdraw(*, session: Session, assessment: Assessment) -> None:
    """An assessment entered in error: its Observations and the concerns it made are too."""
    prefix = _source(assessment, "")
    for model, column in ((Observation, "status"), (Condition, "verification_status")):
        for row in session.scalars(
            select(model).where(
                model.patient_id == assessment.patient_id,
                model.source_system == LOCAL_SOURCE,
                model.source_id.startswith(prefix),
            )
        ):
            setattr(row, column, "entered-in-error")


def _observation(
    session: Session,
    patient: Patient,
    assessment: Assessment,
    instrument: Instrument,
    loinc: str | None,
    local: str,
    what: str,
    value: float,
    part: Score,
    status: str,
    at: datetime,
) -> None:
    source_id = _source(assessment, local)
    observation = session.scalar(
        select(Observation).where(
            Observation.org_id == patient.org_id,
            Observation.source_system == LOCAL_SOURCE,
            Observation.source_id == source_id,
        )
    )
    if observation is None:
        observation = Observation(
            org_id=patient.org_id, patient_id=patient.id, source_system=LOCAL_SOURCE, source_id=source_id
        )
        session.add(observation)
    observation.status = status
    observation.category = "survey"
    observation.code_system = LOINC if loinc else SCORE_SYSTEM
    observation.code = loinc or local
    observation.display = f"{instrument.title} {what}"
    observation.value_quantity = value
    observation.value_unit = "{score}"
    # Gravity: flag a possible need (POS), never NEG
    observation.interpretation = "POS" if part.positive and what == "total" else None
    observation.effective_at = assessment.completed_at or at
    observation.issued_at = at


def _concern(
    session: Session, patient: Patient, assessment: Assessment, domain_code: str, at: datetime
) -> None:
    domain = sdoh_domains().get(domain_code)
    if domain is None or domain.z_code is None:
        return
    standing = session.scalar(
        select(Condition.id).where(
            Condition.patient_id == patient.id,
            Condition.code == domain.z_code,
            Condition.category == "health-concern",
            Condition.clinical_status == "active",
            Condition.verification_status.not_in(("refuted", "entered-in-error")),
        )
    )
    if standing is not None:
        return
    session.add(
        Condition(
            org_id=patient.org_id,
            patient_id=patient.id,
            source_system=LOCAL_SOURCE,
            source_id=_source(assessment, f"sdoh:{domain.code}"),
            code_system=ICD10CM,
            code=domain.z_code,
            display=domain.z_display,
            codings=[{"system": ICD10CM, "code": domain.z_code, "display": domain.z_display}],
            clinical_status="active",
            verification_status="unconfirmed",
            category="health-concern",
            sdoh_domain=domain.code,
            onset_at=assessment.completed_at or at,
            recorded_at=at,
        )
    )


def urgent_follow_up(
    *, session: Session, actor: Actor, patient: Patient, assessment: Assessment, score: Score
) -> list[Task]:
    """A same-day task and an alert for each urgent flag of ``score`` not followed up for this
    assessment yet; the tasks made."""
    made = []
    for flag in score.urgent_flags:
        text = _flag_text(score, flag)
        title = f"Urgent: {text}"[:200]
        exists = session.scalar(
            select(Task.id).where(
                Task.patient_id == patient.id,
                Task.source_type == "Assessment",
                Task.source_id == assessment.uuid,
                Task.title == title,
            )
        )
        if exists is not None:
            continue
        source = ("Assessment", assessment.uuid)
        reason = (
            f"{instrument_get(assessment.instrument_id).title}, {assessment.status} {today().isoformat()}"
        )
        made.append(
            task_create(
                session=session,
                actor=actor,
                patient=patient,
                title=title,
                due_on=today(),
                priority=TaskPriority.URGENT,
                reason=reason,
                source=source,
            )
        )
        alert_raise(session=session, actor=actor, patient=patient, kind=flag, text=text, source=source)
    return made


def _flag_text(score: Score, flag_id: str) -> str:
    return flag_text([score.instrument, *(k for k, v in score.sections.items() if v is not None)], flag_id)


def flag_text(instrument_ids: Iterable[str], flag_id: str) -> str:
    """What a flag of these instruments' scores says: its rules' text, or the positive domain's name."""
    for instrument_id in instrument_ids:
        rules = instrument_get(instrument_id).rules
        for flag in rules.flags:
            if flag.id == flag_id and flag.text:
                return flag.text
    domain = sdoh_domains().get(flag_id)
    return f"positive {domain.label.lower()} screen" if domain else flag_id
