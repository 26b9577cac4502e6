"""Writes and reads of patient education: assign a library topic, record each teaching session with its
teach-back result (which sets the next due date by ``rules.teach_outcome``), reschedule, complete or stop;
what is due across the actor's reach; the topics the patient's record calls for; the plain-language
medication schedule. Services flush, the caller commits; every write is audited; a topic or patient out of
reach is NotFound."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor, patient_scope, patient_visible, record_in_reach
from carenav.audit.services import audit_patient_row
from carenav.clock import now, today
from carenav.education.library import Topic, language_base, language_name, topic_get, topics_for
from carenav.education.medication_schedule import (
    Dosage,
    MedicineFacts,
    ScheduleRow,
    dosage_from_fhir,
    medication_schedule,
)
from carenav.education.models import EducationAssignment, EducationSession
from carenav.education.rules import (
    CLOSED,
    OPEN,
    EducationStatus,
    Learner,
    TeachBack,
    TeachMethod,
    complete_check,
    reschedule_check,
    stop_check,
    teach_outcome,
)
from carenav.errors import Conflict, InvalidInput, RuleViolation
from carenav.patients.models import Condition, Medication, Patient

SCHEDULED_STATUSES = ("active", "on-hold")
"""The medicines the schedule lists: those to take now, and those on hold (said so)."""


def education_assign(
    *,
    session: Session,
    actor: Actor,
    patient_uuid: str,
    topic_id: str,
    language: str | None = None,
    due_on: date | None = None,
    reason: str | None = None,
) -> EducationAssignment:
    """Assign a library topic to the patient, in ``language`` (by default the patient's own when the topic
    has it, English otherwise), to be taught by ``due_on`` if given. Conflict when the topic is already
    open for the patient."""
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    topic = topic_get(topic_id)
    chosen = _language(topic, language) if language else topic.best_language(patient.preferred_language)
    if due_on is not None and due_on < today():
        raise InvalidInput(f"to teach by {due_on}, which has passed", where="teach by")
    open_already = session.scalar(
        select(EducationAssignment.id).where(
            EducationAssignment.patient_id == patient.id,
            EducationAssignment.topic_id == topic.id,
            EducationAssignment.status.in_([s.value for s in OPEN]),
        )
    )
    if open_already is not None:
        raise Conflict(f"{topic.title!r} is already assigned to the patient", where="topic")
    assignment = EducationAssignment(
        org_id=patient.org_id,
        patient_id=patient.id,
        topic_id=topic.id,
        topic_version=topic.version,
        category=topic.category.value,
        language=chosen,
        reason=(reason or "").strip() or None,
        status=EducationStatus.ASSIGNED.value,
        status_at=now(),
        due_on=due_on,
        assigned_by=actor.label,
        assigned_by_user_id=actor.user_id,
    )
    session.add(assignment)
    session.flush()
    _audit(
        session,
        actor,
        patient,
        assignment,
        "education-assign",
        f"{topic.id} v{topic.version} in {language_name(chosen)}"
        + (f" for {assignment.reason}" if assignment.reason else ""),
    )
    return assignment


def _language(topic: Topic, language: str) -> str:
    wanted = language_base(language)
    if wanted not in topic.languages:
        have = ", ".join(language_name(x) for x in topic.languages)
        raise InvalidInput(
            f"{topic.title!r} has no {language_name(wanted)} text (it has {have})", where="language"
        )
    return wanted


def education_teach(
    *,
    session: Session,
    actor: Actor,
    assignment_uuid: str,
    methods: tuple[TeachMethod, ...],
    result: TeachBack,
    learner: Learner = Learner.PATIENT,
    taught_on: date | None = None,
    language: str | None = None,
    interpreter: bool = False,
    notes: str | None = None,
    next_on: date | None = None,
) -> EducationSession:
    """Record a teaching session and its teach-back result; the topic's status and next due date follow
    ``rules.teach_outcome`` (``next_on``: a date picked inside the topic's window). A patient who needs an
    interpreter and is taught in another language than their own needs one recorded."""
    assignment, patient = _reach(session, actor, assignment_uuid)
    topic = topic_get(assignment.topic_id)
    spoken = _language(topic, language) if language else assignment.language
    own = language_base(patient.preferred_language)
    if patient.interpreter_needed and own and spoken != own and not interpreter:
        raise RuleViolation(
            f"the patient needs an interpreter: taught in {language_name(spoken)}, their language is "
            f"{patient.preferred_language_display or language_name(own)}; record the interpreter used",
            where="interpreter",
        )
    day = taught_on or today()
    outcome = teach_outcome(
        EducationStatus(assignment.status),
        category=topic.category,
        schedule=topic.schedule,
        methods=methods,
        learner=learner,
        result=result,
        taught_on=day,
        today=today(),
        next_on=next_on,
    )
    if assignment.last_taught_on is not None and day < assignment.last_taught_on:
        raise InvalidInput(
            f"taught on {day}, before the last session on {assignment.last_taught_on}: record sessions in "
            "the order they happened",
            where="taught on",
        )
    taught = EducationSession(
        at=now(),
        taught_on=day,
        taught_by=actor.label,
        taught_by_user_id=actor.user_id,
        language=spoken,
        methods=[m.value for m in methods],
        learner=learner.value,
        interpreter=interpreter,
        result=result.value,
        notes=(notes or "").strip() or None,
        next_due_on=outcome.due_on,
    )
    assignment.sessions.append(taught)
    before = assignment.status
    assignment.status = outcome.status.value
    assignment.status_at = now()
    assignment.due_on = outcome.due_on
    assignment.last_result = result.value
    assignment.last_taught_on = day
    assignment.topic_version = topic.version
    session.flush()
    due = f", next {outcome.due_on}" if outcome.due_on else ""
    _audit(
        session,
        actor,
        patient,
        assignment,
        "education-teach",
        f"{topic.id} taught {day} ({', '.join(m.value for m in methods)}; {learner.value}): "
        f"{result.value}; {before} -> {outcome.status.value}{due}",
    )
    return taught


def education_reschedule(
    *, session: Session, actor: Actor, assignment_uuid: str, due_on: date, note: str | None = None
) -> EducationAssignment:
    """Move the topic's next due date (a reason is needed to move it later)."""
    assignment, patient = _reach(session, actor, assignment_uuid)
    before = assignment.due_on
    assignment.due_on = reschedule_check(
        EducationStatus(assignment.status), assignment.due_on, due_on, today(), note
    )
    session.flush()
    _audit(
        session,
        actor,
        patient,
        assignment,
        "education-reschedule",
        f"{assignment.topic_id}: due {before or 'none'} -> {due_on}"
        + (f": {note.strip()}" if note and note.strip() else ""),
    )
    return assignment


def education_complete(
    *, session: Session, actor: Actor, assignment_uuid: str, note: str | None = None
) -> EducationAssignment:
    """Close a topic the patient understood: nothing more is due."""
    assignment, patient = _reach(session, actor, assignment_uuid)
    assignment.status = complete_check(EducationStatus(assignment.status)).value
    return _close(session, actor, patient, assignment, note, "education-complete")


def education_stop(
    *, session: Session, actor: Actor, assignment_uuid: str, reason: str
) -> EducationAssignment:
    """Stop an open topic, with the reason (declined, no longer relevant, moved away)."""
    assignment, patient = _reach(session, actor, assignment_uuid)
    assignment.status = stop_check(EducationStatus(assignment.status), reason).value
    return _close(session, actor, patient, assignment, reason, "education-stop")


def _close(
    session: Session,
    actor: Actor,
    patient: Patient,
    assignment: EducationAssignment,
    note: str | None,
    action: str,
) -> EducationAssignment:
    assignment.status_at = now()
    assignment.due_on = None
    assignment.closing_note = (note or "").strip() or None
    session.flush()
    detail = f"{assignment.topic_id} {assignment.status}"
    _audit(
        session,
        actor,
        patient,
        assignment,
        action,
        detail + (f": {assignment.closing_note}" if assignment.closing_note else ""),
    )
    return assignment


def education_assignments(*, session: Session, actor: Actor, patient_uuid: str) -> list[EducationAssignment]:
    """The patient's topics: open ones first, soonest due first; then closed ones, latest first."""
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    rows = list(
        session.scalars(
            select(EducationAssignment)
            .where(EducationAssignment.patient_id == patient.id)
            .order_by(EducationAssignment.id)
        )
    )
    open_rows = sorted(
        (r for r in rows if EducationStatus(r.status) in OPEN),
        key=lambda r: (r.due_on is None, r.due_on or date.max, r.id),
    )
    closed = sorted(
        (r for r in rows if EducationStatus(r.status) in CLOSED), key=lambda r: r.status_at, reverse=True
    )
    return open_rows + closed


def education_due(*, session: Session, actor: Actor, within_days: int = 0) -> list[EducationAssignment]:
    """The open topics of the patients within the actor's reach due by ``within_days`` from today (0: due
    today or overdue), soonest due first: what to teach, reinforce or review."""
    if within_days < 0:
        raise InvalidInput(f"{within_days} is not a number of days ahead", where="within days")
    return list(
        session.scalars(
            select(EducationAssignment)
            .join(Patient, Patient.id == EducationAssignment.patient_id)
            .where(
                patient_scope(actor),
                EducationAssignment.status.in_([s.value for s in OPEN]),
                EducationAssignment.due_on <= today() + timedelta(days=within_days),
            )
            .order_by(EducationAssignment.due_on, EducationAssignment.id)
        )
    )


@dataclass(frozen=True)
class Suggestion:
    """A topic the patient's record calls for and that was never assigned to them: in which language
    to teach it, and why (the conditions and medicines that call for it)."""

    topic: Topic
    language: str
    reasons: tuple[str, ...]
    missing_language: str | None = None
    """The patient's language when the topic has no text in it (teach with an interpreter)."""


def education_suggestions(*, session: Session, actor: Actor, patient_uuid: str) -> list[Suggestion]:
    """The library topics the patient's active conditions and active medicines call for, less those
    already assigned (open, completed or stopped), each in the patient's language when the topic has it."""
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    conditions = session.execute(
        select(Condition.code_system, Condition.code, Condition.display, Condition.codings).where(
            Condition.patient_id == patient.id, Condition.clinical_status == "active"
        )
    ).all()
    coded: list[tuple[str | None, str | None, str | None]] = []
    for system, code, display, codings in conditions:
        coded.append((system, code, display))
        for coding in codings or []:
            if isinstance(coding, dict) and (coding.get("system"), coding.get("code")) != (system, code):
                coded.append((coding.get("system"), coding.get("code"), display))
    medicines = session.scalars(
        select(Medication.display).where(Medication.patient_id == patient.id, Medication.status == "active")
    ).all()
    taken = set(
        session.scalars(
            select(EducationAssignment.topic_id).where(EducationAssignment.patient_id == patient.id)
        )
    )
    own = language_base(patient.preferred_language)
    suggestions = []
    for match in topics_for(coded, medicines):
        if match.topic.id in taken:
            continue
        language = match.topic.best_language(patient.preferred_language)
        missing = own if own and own != language else None
        suggestions.append(Suggestion(match.topic, language, match.reasons, missing))
    return suggestions


def medicine_facts(row: Medication) -> MedicineFacts:
    """What the record holds of a medicine, for the schedule: the structured dosage kept at import (its
    timing, dose, as needed and what for) when there is one, else the dosage text and whether it is taken
    as needed; the reason (the order's reasonCode or the Condition its reasonReference names)."""
    dosage = Dosage(text=row.dosage_text, as_needed=row.as_needed)
    if isinstance(row.dosage_instruction, dict) and row.dosage_instruction:
        try:
            structured = dosage_from_fhir(row.dosage_instruction)
        except InvalidInput:
            structured = None  # checked at import; a malformed one stored otherwise reads as text only
        if structured is not None:
            dosage = replace(
                structured,
                text=structured.text or row.dosage_text,
                as_needed=row.as_needed if structured.as_needed is None else structured.as_needed,
            )
    return MedicineFacts(
        name=row.display,
        code=row.code,
        status=row.status,
        authored_at=row.authored_at,
        dosage=dosage,
        reason_code=row.reason_code,
        reason=row.reason_display,
    )


def medication_schedule_for(*, session: Session, actor: Actor, patient_uuid: str) -> list[ScheduleRow]:
    """The patient's plain-language medication schedule (what, when, why) from the active medicines and
    those on hold."""
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    return medication_schedule(_facts(session, patient))


def _facts(session: Session, patient: Patient) -> Iterable[MedicineFacts]:
    rows = session.scalars(
        select(Medication)
        .where(Medication.patient_id == patient.id, Medication.status.in_(SCHEDULED_STATUSES))
        .order_by(Medication.id)
    )
    return [medicine_facts(row) for row in rows]


def _reach(session: Session, actor: Actor, assignment_uuid: str) -> tuple[EducationAssignment, Patient]:
    return record_in_reach(
        session=session, actor=actor, model=EducationAssignment, uuid=assignment_uuid, what="education topic"
    )


def _audit(
    session: Session,
    actor: Actor,
    patient: Patient,
    assignment: EducationAssignment,
    action: str,
    detail: str,
) -> None:
    audit_patient_row(session, actor, patient.uuid, assignment, action, detail)
