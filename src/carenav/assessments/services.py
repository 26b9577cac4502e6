"""Writes of assessments: start, save a draft, complete (checked and scored), amend (a new version, the
earlier ones kept), withdraw. Every change leaves an audit row; services flush, the caller commits.

A response that does not fit its form is refused whole (``ResponseInvalid`` names every item at fault) and
nothing already stored changes. Completion and amendment write the scores as Observations and the positive
social-needs domains as health concerns (``results``); withdrawal withdraws those too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from carenav.access import Actor, patient_visible, record_in_reach
from carenav.assessments.instruments import Instrument, instrument_get
from carenav.assessments.models import Assessment, AssessmentSuggestion, AssessmentVersion
from carenav.assessments.queries import assessment_get
from carenav.assessments.responses import ResponseInvalid
from carenav.assessments.results import results_record, results_withdraw, urgent_follow_up
from carenav.assessments.rules import (
    AssessmentAction,
    AssessmentStatus,
    Channel,
    Respondent,
    assessment_transition,
    respondent_problem,
)
from carenav.audit.services import audit_patient_row, audit_record
from carenav.clock import now
from carenav.errors import InvalidInput, RuleViolation
from carenav.patients.models import Patient


def assessment_start(
    *,
    session: Session,
    actor: Actor,
    patient_uuid: str,
    instrument_id: str,
    channel: Channel,
    respondent: Respondent = Respondent.PATIENT,
    proxy_name: str | None = None,
    proxy_relationship: str | None = None,
) -> Assessment:
    """A new draft of ``instrument_id`` for the patient, with no answers yet."""
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    instrument = instrument_get(instrument_id)
    problem = respondent_problem(respondent, proxy_name, proxy_relationship)
    if problem:
        raise InvalidInput(problem, where="respondent")
    assessment = Assessment(
        org_id=patient.org_id,
        patient_id=patient.id,
        instrument_id=instrument.id,
        instrument_version=instrument.version,
        status=AssessmentStatus.IN_PROGRESS.value,
        channel=channel.value,
        respondent=respondent.value,
        proxy_name=proxy_name if respondent is Respondent.PROXY else None,
        proxy_relationship=proxy_relationship if respondent is Respondent.PROXY else None,
        started_at=now(),
        started_by=actor.label,
        started_by_user_id=actor.user_id,
        response=_stored(instrument, patient, {}, AssessmentStatus.IN_PROGRESS),
    )
    session.add(assessment)
    session.flush()
    _audit(session, actor, patient, assessment, "assessment-start", f"{instrument.id} {instrument.version}")
    return assessment


def assessment_record(
    *,
    session: Session,
    actor: Actor,
    patient_uuid: str,
    instrument_id: str,
    response: Mapping[str, Any],
    complete: bool,
    channel: Channel,
    respondent: Respondent = Respondent.PATIENT,
    proxy_name: str | None = None,
    proxy_relationship: str | None = None,
) -> Assessment:
    """A response made elsewhere (a file, another system) recorded in one step: started, then kept as a
    draft or, with ``complete``, completed (checked, scored, its results written). A refused response
    raises after the start was flushed: the caller's transaction must roll back, as every caller's does
    on an error."""
    started = assessment_start(
        session=session,
        actor=actor,
        patient_uuid=patient_uuid,
        instrument_id=instrument_id,
        channel=channel,
        respondent=respondent,
        proxy_name=proxy_name,
        proxy_relationship=proxy_relationship,
    )
    kw: dict[str, Any] = {"session": session, "actor": actor, "assessment_uuid": started.uuid}
    if complete:
        return assessment_complete(**kw, response=response)
    return assessment_save_draft(**kw, response=response)


def assessment_save_draft(
    *, session: Session, actor: Actor, assessment_uuid: str, response: Mapping[str, Any]
) -> Assessment:
    """Keep the answers given so far (required items may be empty; every other fault is refused)."""
    patient, assessment, instrument = _open(session, actor, assessment_uuid)
    assessment_transition(AssessmentStatus(assessment.status), AssessmentAction.SAVE_DRAFT)
    stored = _stored(instrument, patient, response, AssessmentStatus.IN_PROGRESS)
    checked = instrument.check_response(
        stored, sex=patient.administrative_sex, where=f"assessment {assessment.uuid}"
    )
    if checked.errors:
        raise ResponseInvalid(checked.errors, where=f"assessment {assessment.uuid}")
    assessment.response = stored
    _audit(session, actor, patient, assessment, "assessment-save", f"{len(checked.values)} item(s) answered")
    return assessment


def assessment_complete(
    *,
    session: Session,
    actor: Actor,
    assessment_uuid: str,
    response: Mapping[str, Any],
    sex: str | None = None,
) -> Assessment:
    """Check the final answers (every enabled required item), score them, keep them as version 1."""
    return _finalise(session, actor, assessment_uuid, response, AssessmentAction.COMPLETE, None, sex)


def assessment_amend(
    *,
    session: Session,
    actor: Actor,
    assessment_uuid: str,
    response: Mapping[str, Any],
    reason: str,
    sex: str | None = None,
) -> Assessment:
    """Correct a completed assessment: a new version with its reason; the earlier versions stay."""
    return _finalise(session, actor, assessment_uuid, response, AssessmentAction.AMEND, reason, sex)


def assessment_withdraw(*, session: Session, actor: Actor, assessment_uuid: str, reason: str) -> Assessment:
    """Mark an assessment entered in error (its scores no longer count), with the reason."""
    patient, assessment, _instrument = _open(session, actor, assessment_uuid)
    status = assessment_transition(
        AssessmentStatus(assessment.status), AssessmentAction.WITHDRAW, reason=reason
    )
    assessment.status = status.value
    assessment.status_reason = reason
    assessment.response = {**assessment.response, "status": status.value}
    results_withdraw(session=session, assessment=assessment)
    _audit(session, actor, patient, assessment, "assessment-withdraw", reason)
    return assessment


def _finalise(
    session: Session,
    actor: Actor,
    assessment_uuid: str,
    response: Mapping[str, Any],
    action: AssessmentAction,
    reason: str | None,
    sex: str | None,
) -> Assessment:
    patient, assessment, instrument = _open(session, actor, assessment_uuid)
    status = assessment_transition(AssessmentStatus(assessment.status), action, reason=reason)
    stored = _stored(instrument, patient, response, status)
    score = instrument.score_response(
        stored, sex=sex or patient.administrative_sex, where=f"assessment {assessment.uuid}"
    )
    at = now()
    assessment.status = status.value
    assessment.response = stored
    assessment.score = score.as_json()
    if action is AssessmentAction.COMPLETE:
        assessment.completed_at = at
        assessment.completed_by_user_id = actor.user_id
    assessment.versions.append(
        AssessmentVersion(
            version=len(assessment.versions) + 1,
            status=status.value,
            response=stored,
            score=score.as_json(),
            at=at,
            actor=actor.label,
            user_id=actor.user_id,
            reason=reason,
        )
    )
    session.flush()
    results_record(session=session, patient=patient, assessment=assessment, score=score, at=at)
    urgent_follow_up(session=session, actor=actor, patient=patient, assessment=assessment, score=score)
    detail = f"{instrument.id}: total {score.total}, band {score.band}, flags {list(score.flags)}"
    _audit(
        session,
        actor,
        patient,
        assessment,
        f"assessment-{action.value}",
        detail + (f"; {reason}" if reason else ""),
    )
    return assessment


def _open(session: Session, actor: Actor, assessment_uuid: str) -> tuple[Patient, Assessment, Instrument]:
    patient, assessment = assessment_get(session=session, actor=actor, assessment_uuid=assessment_uuid)
    instrument = instrument_get(assessment.instrument_id)
    if instrument.version != assessment.instrument_version:
        raise InvalidInput(
            f"started with {assessment.instrument_id} {assessment.instrument_version}; "
            f"the shipped version is now {instrument.version}",
            where=f"assessment {assessment.uuid}",
        )
    return patient, assessment, instrument


def _stored(
    instrument: Instrument, patient: Patient, response: Mapping[str, Any], status: AssessmentStatus
) -> dict[str, Any]:
    """The response as kept: the given items, with the form's canonical, the patient and the status
    carenav decides (a response's own status, subject or questionnaire is not trusted)."""
    if response and response.get("resourceType", "QuestionnaireResponse") != "QuestionnaireResponse":
        raise InvalidInput(
            f"expected a QuestionnaireResponse, got {response.get('resourceType')!r}", where="response"
        )
    q = instrument.questionnaire
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": f"{q.url}|{q.version}",
        "status": status.value,
        "subject": {"reference": f"Patient/{patient.uuid}"},
        "item": list(response.get("item", [])),
    }


def _audit(
    session: Session, actor: Actor, patient: Patient, assessment: Assessment, action: str, detail: str
) -> None:
    audit_patient_row(session, actor, patient.uuid, assessment, action, detail)


def suggestion_decide(
    *, session: Session, actor: Actor, suggestion_uuid: str, accept: bool, note: str | None = None
) -> AssessmentSuggestion:
    """Accept (for the care plan) or dismiss a suggested goal or referral; decided once."""
    suggestion, patient = record_in_reach(
        session=session, actor=actor, model=AssessmentSuggestion, uuid=suggestion_uuid, what="suggestion"
    )
    if suggestion.status != "suggested":
        raise RuleViolation(f"the suggestion is already {suggestion.status}", where="suggestion")
    if not accept and not (note or "").strip():
        raise RuleViolation("dismissing a suggestion needs a note (why it does not fit)", where="suggestion")
    suggestion.status = "accepted" if accept else "dismissed"
    suggestion.decided_at, suggestion.decided_by, suggestion.note = now(), actor.label, note
    audit_record(
        session=session,
        actor=actor,
        action=f"suggestion-{suggestion.status}",
        patient_uuid=patient.uuid,
        entity_type="AssessmentSuggestion",
        entity_id=suggestion.uuid,
        detail=f"{suggestion.kind}: {suggestion.text}" + (f"; {note}" if note else ""),
    )
    return suggestion
