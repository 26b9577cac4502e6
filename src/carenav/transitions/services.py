"""Writes and reads of transitions of care. Services flush, the caller commits; a task or patient out of
reach is NotFound; every write is audited.

- ``transitions_on_encounter``: the hook the HL7 v2 feed and the FHIR import call once an encounter is
  stored. A stay admitted after an episode's discharge and within 30 days of it is a readmission (linked;
  an open episode closes); a finished stay discharged to the community opens an episode
  (``transition_open_for_discharge``: one per discharge encounter, whatever is delivered twice); a
  discharge cancelled (ADT^A13) closes its episode.
- Tasks are done (on time or late) and attempts are logged; ``transitions_refresh`` marks the tasks whose
  deadline passed as missed and closes the episodes whose 30 days are over, prompting the enrolment of
  eligible patients in ongoing care management (they are identified for the program, and their care
  manager gets a task to offer it).
- ``transition_contact_logged``: a contact with the patient or caregiver logged in the contact log is an
  attempt on the open episode's interactive-contact task, and reached does it (``outreach.services``
  calls it in the contact's transaction).
- Each episode opened, reopened or closed keeps the patient's follow-up schedule in step
  (``outreach.schedule.followups_sync_patient``: the post-discharge steps count from the discharge).
- ``transitions_due``: the open and missed tasks of the open episodes within the actor's reach, soonest
  deadline first (the worklist).

Days are the organization's: the discharge day and "today" are dates in its time zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, lazyload

from carenav.access import Actor, patient_scope, patient_visible, record_in_reach
from carenav.accounts.queries import org_today, org_zone
from carenav.audit.services import audit_patient_row
from carenav.clock import now
from carenav.errors import InvalidInput, NotFound, RuleViolation
from carenav.outreach.schedule import followups_sync_patient
from carenav.patients.models import Encounter, Patient
from carenav.patients.rules import EncounterStatus
from carenav.patients.services import CREATED, UPDATED, RecordKind, UnitOutcome
from carenav.programs.models import ProgramEnrolment
from carenav.programs.queries import program_rules_for
from carenav.programs.rules import OPEN_STATES, ProgramKind, programs_eligible
from carenav.programs.services import enrolment_identify
from carenav.stratification.models import StratificationResult, StratificationRun
from carenav.tasks.rules import TaskPriority
from carenav.tasks.services import task_create
from carenav.transitions.models import TransitionAttempt, TransitionEpisode, TransitionTask
from carenav.transitions.rules import (
    CLOSES_BY_PERSON,
    DONE_STATUSES,
    OPEN_TASK_STATUSES,
    PROMPTS_ENROLMENT,
    AttemptOutcome,
    CloseReason,
    Complexity,
    EpisodeStatus,
    TaskKind,
    TaskStatus,
    Timeliness,
    attempt_does_task,
    contact_in_episode,
    discharge_opening,
    in_window,
    is_readmission,
    task_deadlines,
    task_done,
    task_status_on,
    task_timeliness,
    transition_rules,
    window_ends_on,
)
from carenav.workdays import business_calendar

ENTITY = "TransitionEpisode"
HIGH_COMPLEXITY_TIER = 4
"""A patient whose latest stratification put them in this tier starts with high complexity (7 days to the
face-to-face visit); the care manager changes it when the clinician's decision making says otherwise."""
ENROL_PROMPT_BUSINESS_DAYS = 5
NOT_STAYS = frozenset({EncounterStatus.CANCELLED, EncounterStatus.ENTERED_IN_ERROR})


# --- days --------------------------------------------------------------------------------------------------


def local_day(instant: datetime, zone: ZoneInfo) -> date:
    return instant.astimezone(zone).date()


# --- opening, readmission, cancellation --------------------------------------------------------------------


def transitions_on_encounter(
    *, session: Session, actor: Actor, encounter: Encounter
) -> TransitionEpisode | None:
    """What a stored (new or changed) encounter means for transitions: a readmission, a discharge that
    opens an episode, or a discharge cancelled. Returns the episode of this encounter's discharge, if any."""
    if encounter.status in NOT_STAYS or encounter.period_end is None:
        _discharge_cancelled(session, actor, encounter)
    transition_readmission_check(session=session, actor=actor, encounter=encounter)
    return transition_open_for_discharge(session=session, actor=actor, encounter=encounter)


def transition_open_for_discharge(
    *, session: Session, actor: Actor, encounter: Encounter
) -> TransitionEpisode | None:
    """The episode of this discharge: the one already open for it, or a new one with its five tasks when
    the encounter is a finished stay, discharged to the community (or to a place not known), within the
    last 30 days. None otherwise (never an error: a feed must not fail for it)."""
    existing = session.scalar(select(TransitionEpisode).where(TransitionEpisode.encounter_id == encounter.id))
    if existing is not None and existing.closed_reason != CloseReason.DISCHARGE_CANCELLED:
        return existing
    if encounter.status != EncounterStatus.FINISHED or encounter.period_end is None:
        return existing
    rules = transition_rules()
    zone = org_zone(session, encounter.org_id)
    patient = session.get_one(Patient, encounter.patient_id)
    discharged_on = local_day(encounter.period_end, zone)
    opening = discharge_opening(
        rules,
        encounter_class=encounter.encounter_class,
        disposition_code=encounter.discharge_disposition_code,
        discharged_on=discharged_on,
        today=local_day(now(), zone),
        deceased=_died_since_admission(patient, encounter),
    )
    if not opening.opens:
        return existing
    if existing is not None:  # discharged again after a cancelled discharge (A03 after A13)
        return _reopen(session, actor, existing, patient, encounter.period_end, discharged_on)
    complexity = _starting_complexity(session, patient)
    episode = TransitionEpisode(
        org_id=patient.org_id,
        patient_id=patient.id,
        encounter_id=encounter.id,
        discharged_at=encounter.period_end,
        discharged_on=discharged_on,
        facility=encounter.facility_name,
        disposition_code=encounter.discharge_disposition_code,
        disposition_display=(
            opening.disposition.label if opening.disposition else encounter.discharge_disposition_display
        ),
        disposition_known=opening.disposition is not None,
        complexity=complexity.value,
        status=EpisodeStatus.OPEN.value,
        opened_by=actor.label,
    )
    deadlines = task_deadlines(rules, business_calendar(), discharged_on, complexity)
    for rule in rules.tasks:
        episode.tasks.append(
            TransitionTask(
                org_id=patient.org_id,
                patient_id=patient.id,
                kind=rule.kind.value,
                due_on=deadlines[rule.kind],
                status=TaskStatus.OPEN.value,
            )
        )
    try:
        with session.begin_nested():
            session.add(episode)
            session.flush()
    except IntegrityError:  # the same discharge on another connection a moment ago
        return session.scalar(select(TransitionEpisode).where(TransitionEpisode.encounter_id == encounter.id))
    contact = deadlines[TaskKind.INTERACTIVE_CONTACT]
    audit_patient_row(
        session,
        actor,
        patient.uuid,
        episode,
        "transition-open",
        f"discharge of {discharged_on} from {encounter.facility_name or 'a stay'}: {opening.reason}; "
        f"contact due {contact}, face-to-face by {deadlines[TaskKind.FACE_TO_FACE]} ({complexity.value})",
    )
    followups_sync_patient(session=session, actor=actor, patient=patient)
    return episode


def _died_since_admission(patient: Patient, encounter: Encounter) -> bool:
    """Whether the patient has died since the stay began (no episode then). A death recorded before the stay
    began is contradicted by the stay itself (a feed's test patient, a wrong record); one dated after now
    has not happened yet on a fixed clock (a demo, a replay of history). Neither stops the episode."""
    if not patient.deceased:
        return False
    died = patient.deceased_at
    if died is None:
        return True
    return (encounter.period_start is None or died >= encounter.period_start) and died <= now()


def _reopen(
    session: Session,
    actor: Actor,
    episode: TransitionEpisode,
    patient: Patient,
    discharged_at: datetime,
    discharged_on: date,
) -> TransitionEpisode:
    deadlines = task_deadlines(
        transition_rules(), business_calendar(), discharged_on, Complexity(episode.complexity)
    )
    episode.discharged_at, episode.discharged_on = discharged_at, discharged_on
    episode.status = EpisodeStatus.OPEN.value
    episode.closed_at = episode.closed_reason = episode.closed_by = episode.closed_note = None
    for task in episode.tasks:
        task.due_on = deadlines[TaskKind(task.kind)]
        task.status, task.done_at, task.done_by = TaskStatus.OPEN.value, None, None
    audit_patient_row(
        session, actor, patient.uuid, episode, "transition-reopen", f"discharged {discharged_on}"
    )
    session.flush()
    followups_sync_patient(session=session, actor=actor, patient=patient)
    return episode


def _starting_complexity(session: Session, patient: Patient) -> Complexity:
    tier = session.scalar(
        select(StratificationResult.tier)
        .join(StratificationRun, StratificationRun.id == StratificationResult.run_id)
        .where(StratificationResult.patient_id == patient.id)
        .order_by(StratificationRun.finished_at.desc(), StratificationRun.id.desc())
        .limit(1)
    )
    return Complexity.HIGH if tier is not None and tier >= HIGH_COMPLEXITY_TIER else Complexity.MODERATE


def transition_readmission_check(
    *, session: Session, actor: Actor, encounter: Encounter
) -> list[TransitionEpisode]:
    """Link ``encounter`` as the readmission of the patient's episodes it follows within 30 days (that have
    none yet); an open one closes (its open tasks cancelled). Returns the episodes linked."""
    rules = transition_rules()
    if (
        encounter.encounter_class not in rules.stay_classes
        or encounter.status in NOT_STAYS
        or encounter.period_start is None
    ):
        return []
    admitted_at = encounter.period_start
    zone = org_zone(session, encounter.org_id)
    candidates = session.scalars(
        select(TransitionEpisode).where(
            TransitionEpisode.patient_id == encounter.patient_id,
            TransitionEpisode.encounter_id != encounter.id,
            TransitionEpisode.readmission_encounter_id.is_(None),
            TransitionEpisode.discharged_at < admitted_at,
            TransitionEpisode.discharged_on
            >= local_day(admitted_at, zone) - timedelta(days=rules.readmission_days),
        )
    ).all()
    linked = []
    patient = session.get_one(Patient, encounter.patient_id)
    patient_uuid = patient.uuid
    for episode in candidates:
        if episode.closed_reason in (CloseReason.NOT_A_TRANSITION, CloseReason.DISCHARGE_CANCELLED):
            continue
        if not is_readmission(
            rules,
            discharged_at=episode.discharged_at,
            discharged_on=episode.discharged_on,
            admitted_at=admitted_at,
            admitted_on=local_day(admitted_at, zone),
        ):
            continue
        episode.readmission_encounter_id = encounter.id
        episode.readmitted_at = admitted_at
        days = (local_day(admitted_at, zone) - episode.discharged_on).days
        detail = f"readmitted {days} days after the discharge of {episode.discharged_on}"
        if episode.status == EpisodeStatus.OPEN:
            _close(session, actor, episode, CloseReason.READMITTED, detail)
        audit_patient_row(session, actor, patient_uuid, episode, "transition-readmission", detail)
        linked.append(episode)
    session.flush()
    if linked:
        followups_sync_patient(session=session, actor=actor, patient=patient)
    return linked


def _discharge_cancelled(session: Session, actor: Actor, encounter: Encounter) -> None:
    episode = session.scalar(
        select(TransitionEpisode).where(
            TransitionEpisode.encounter_id == encounter.id, TransitionEpisode.status == EpisodeStatus.OPEN
        )
    )
    if episode is None:
        return
    _close(session, actor, episode, CloseReason.DISCHARGE_CANCELLED, f"the encounter is {encounter.status}")
    patient = session.get_one(Patient, encounter.patient_id)
    audit_patient_row(session, actor, patient.uuid, episode, "transition-close", "discharge cancelled")
    session.flush()
    followups_sync_patient(session=session, actor=actor, patient=patient)


def transitions_after_import(
    *, session: Session, actor: Actor, source_system: str, outcomes: Sequence[UnitOutcome]
) -> int:
    """The hook of the FHIR import: ``transitions_on_encounter`` for every stay written (created or
    changed) that was discharged or admitted within the window. Returns how many episodes it opened."""
    rules = transition_rules()
    horizon = now() - timedelta(days=max(rules.window_days, rules.readmission_days) + 1)
    wanted: list[str] = []
    for outcome in outcomes:
        for record, status in zip(outcome.unit.records, outcome.statuses, strict=True):
            if record.kind is not RecordKind.ENCOUNTER or status not in (CREATED, UPDATED):
                continue
            values = record.values
            if values.get("encounter_class") not in rules.stay_classes:
                continue
            moments = [values.get("period_start"), values.get("period_end")]
            if any(isinstance(m, datetime) and m >= horizon for m in moments):
                wanted.append(record.source_id)
    if not wanted:
        return 0
    encounters = session.scalars(
        select(Encounter)
        .where(
            Encounter.org_id == actor.org_id,
            Encounter.source_system == source_system,
            Encounter.source_id.in_(wanted),
        )
        .order_by(Encounter.period_start, Encounter.id)
    ).all()
    opened = 0
    for encounter in encounters:
        before = session.scalar(
            select(TransitionEpisode.id).where(TransitionEpisode.encounter_id == encounter.id)
        )
        episode = transitions_on_encounter(session=session, actor=actor, encounter=encounter)
        opened += int(episode is not None and before is None)
    return opened


# --- tasks and attempts ------------------------------------------------------------------------------------


def transition_task_in_reach(
    *, session: Session, actor: Actor, task_uuid: str
) -> tuple[TransitionTask, Patient]:
    """A transition task and its patient, if the actor reaches the patient; NotFound otherwise."""
    return record_in_reach(
        session=session, actor=actor, model=TransitionTask, uuid=task_uuid, what="transition task"
    )


def transition_task_done(
    *,
    session: Session,
    actor: Actor,
    task_uuid: str,
    note: str | None = None,
    done_at: datetime | None = None,
) -> TransitionTask:
    """Mark a task done (``done_at``, default now): on time up to its deadline, late after it. A missed
    task may still be done, late; a task of a closed episode may not."""
    task, patient = transition_task_in_reach(session=session, actor=actor, task_uuid=task_uuid)
    _done(session, actor, task, patient, note, done_at or now())
    return task


def _done(
    session: Session, actor: Actor, task: TransitionTask, patient: Patient, note: str | None, at: datetime
) -> None:
    if task.episode.status != EpisodeStatus.OPEN:
        raise RuleViolation(
            f"the transition is closed ({task.episode.closed_reason})", where="transition task"
        )
    if at > now():
        raise InvalidInput("a task cannot be done in the future", where="transition task")
    _mark_done(session, actor, task, patient, note, at)


def _mark_done(
    session: Session, actor: Actor, task: TransitionTask, patient: Patient, note: str | None, at: datetime
) -> None:
    """Do the task at ``at``: on time or late by that day in the organization's zone."""
    done_on = local_day(at, org_zone(session, task.org_id))
    task.status = task_done(TaskStatus(task.status), task.due_on, done_on).value
    task.done_at, task.done_by = at, actor.label
    task.note = (note or "").strip() or task.note
    when = "on time" if task.status == TaskStatus.DONE else f"late (due {task.due_on})"
    audit_patient_row(session, actor, patient.uuid, task, "transition-task-done", f"{task.kind} {when}")
    session.flush()


def transition_attempt_log(
    *, session: Session, actor: Actor, task_uuid: str, outcome: AttemptOutcome, note: str | None = None
) -> TransitionAttempt:
    """Log a try at a task (a call). Reaching the patient or caregiver does the interactive contact."""
    task, patient = transition_task_in_reach(session=session, actor=actor, task_uuid=task_uuid)
    if task.episode.status != EpisodeStatus.OPEN:
        raise RuleViolation(
            f"the transition is closed ({task.episode.closed_reason})", where="transition attempt"
        )
    at = now()
    attempt = _attempt(session, actor, task, patient, outcome, note, at)
    if attempt_does_task(TaskKind(task.kind), outcome) and TaskStatus(task.status) in OPEN_TASK_STATUSES:
        _done(session, actor, task, patient, note, at)
    return attempt


def _attempt(
    session: Session,
    actor: Actor,
    task: TransitionTask,
    patient: Patient,
    outcome: AttemptOutcome,
    note: str | None,
    at: datetime,
    source: str = "",
) -> TransitionAttempt:
    attempt = TransitionAttempt(
        at=at, by=actor.label, outcome=outcome.value, note=(note or "").strip() or None
    )
    task.attempts.append(attempt)
    session.flush()
    audit_patient_row(
        session,
        actor,
        patient.uuid,
        task,
        "transition-attempt",
        f"{task.kind}: {outcome.value}" + (f": {note}" if note else "") + source,
    )
    return attempt


# --- contacts logged in the contact log ---------------------------------------------------------------------


@dataclass(frozen=True)
class ContactOnTask:
    """What a contact logged in the contact log did to a transition: the attempt it made on the episode's
    interactive-contact task, and whether it did the task (on time or late)."""

    task: TransitionTask
    attempt: TransitionAttempt
    title: str

    @property
    def done(self) -> bool:
        return self.task.done_at == self.attempt.at and TaskStatus(self.task.status) in DONE_STATUSES

    @property
    def on_time(self) -> bool:
        return self.done and self.task.status == TaskStatus.DONE


def transition_contact_logged(
    *,
    session: Session,
    actor: Actor,
    patient: Patient,
    at: datetime,
    outcome: AttemptOutcome,
    words: str,
    contact_uuid: str,
) -> ContactOnTask | None:
    """A contact with the patient or caregiver that the contact log recorded (``outreach.services``, in
    its transaction; the patient in the actor's reach, the time checked there): an attempt at the contact's
    time on the interactive-contact task of the patient's open episode, when that task is still to do
    (open or missed) and the contact falls within the episode (the latest discharge before it); reached,
    the task is done at that time — on time or late by the contact's day. ``words``: the contact, for the
    attempt's note. None when there is no such task."""
    rules = transition_rules()
    on = local_day(at, org_zone(session, patient.org_id))
    tasks = session.scalars(
        select(TransitionTask)
        .join(TransitionEpisode, TransitionEpisode.id == TransitionTask.episode_id)
        .where(
            TransitionTask.patient_id == patient.id,
            TransitionTask.kind == TaskKind.INTERACTIVE_CONTACT.value,
            TransitionTask.status.in_([s.value for s in OPEN_TASK_STATUSES]),
            TransitionEpisode.status == EpisodeStatus.OPEN.value,
        )
        .order_by(TransitionEpisode.discharged_at.desc(), TransitionEpisode.id.desc())
    ).all()
    task = next(
        (
            t
            for t in tasks
            if contact_in_episode(
                rules,
                discharged_at=t.episode.discharged_at,
                discharged_on=t.episode.discharged_on,
                at=at,
                on=on,
            )
        ),
        None,
    )
    if task is None:
        return None
    attempt = _attempt(session, actor, task, patient, outcome, words, at, f" (contact {contact_uuid})")
    if attempt_does_task(TaskKind(task.kind), outcome):
        _mark_done(session, actor, task, patient, f"Done by the {words}", at)
    return ContactOnTask(task, attempt, rules.task(TaskKind.INTERACTIVE_CONTACT).title)


def transition_contacts_of(
    *, session: Session, patient: Patient
) -> dict[tuple[datetime, str, str], ContactOnTask]:
    """The attempts on the patient's interactive-contact tasks, by their time, who made them and their
    outcome: a contact of the contact log with the same three made the attempt
    (``transition_contact_logged`` writes them so) — what the contact history shows of it."""
    title = transition_rules().task(TaskKind.INTERACTIVE_CONTACT).title
    rows = session.execute(
        select(TransitionAttempt, TransitionTask)
        .join(TransitionTask, TransitionTask.id == TransitionAttempt.task_id)
        .where(
            TransitionTask.patient_id == patient.id,
            TransitionTask.kind == TaskKind.INTERACTIVE_CONTACT.value,
        )
        .order_by(TransitionAttempt.id)
    ).all()
    return {(a.at, a.by, a.outcome): ContactOnTask(t, a, title) for a, t in rows}


def transition_set_complexity(
    *, session: Session, actor: Actor, episode_uuid: str, complexity: Complexity
) -> TransitionEpisode:
    """Change the episode's complexity: the deadlines of its tasks follow (a task already done keeps when it
    was done; whether that was on time is judged again)."""
    episode, patient = _episode_in_reach(session, actor, episode_uuid)
    if episode.status != EpisodeStatus.OPEN:
        raise RuleViolation("the transition is closed", where="transition complexity")
    episode.complexity = complexity.value
    deadlines = task_deadlines(transition_rules(), business_calendar(), episode.discharged_on, complexity)
    zone = org_zone(session, episode.org_id)
    for task in episode.tasks:
        task.due_on = deadlines[TaskKind(task.kind)]
        status = TaskStatus(task.status)
        if status in (TaskStatus.DONE, TaskStatus.LATE_DONE) and task.done_at is not None:
            task.status = task_done(TaskStatus.OPEN, task.due_on, local_day(task.done_at, zone)).value
        elif status is TaskStatus.MISSED:
            task.status = TaskStatus.OPEN.value
    audit_patient_row(session, actor, patient.uuid, episode, "transition-complexity", complexity.value)
    session.flush()
    return episode


def transition_close(
    *, session: Session, actor: Actor, episode_uuid: str, reason: CloseReason, note: str | None = None
) -> TransitionEpisode:
    """A person closes an episode: completed (every task done), not a transition (the patient did not go
    home; a reason is needed), or the patient died. Eligible patients are prompted to enrol after a
    completed one."""
    episode, patient = _episode_in_reach(session, actor, episode_uuid)
    if reason not in CLOSES_BY_PERSON:
        raise RuleViolation(f"an episode is not closed as {reason.value} by hand", where="transition close")
    if episode.status != EpisodeStatus.OPEN:
        raise RuleViolation("the transition is closed already", where="transition close")
    if reason is CloseReason.COMPLETED and any(
        TaskStatus(t.status) not in (TaskStatus.DONE, TaskStatus.LATE_DONE) for t in episode.tasks
    ):
        raise RuleViolation("every task is done before the transition is complete", where="transition close")
    if reason is CloseReason.NOT_A_TRANSITION and not (note or "").strip():
        raise InvalidInput("say where the patient went", where="transition close")
    _close(session, actor, episode, reason, note)
    audit_patient_row(
        session, actor, patient.uuid, episode, "transition-close", f"{reason.value}: {note or ''}".strip(": ")
    )
    if reason in PROMPTS_ENROLMENT:
        _enrolment_prompt(session, actor, episode, patient)
    session.flush()
    followups_sync_patient(session=session, actor=actor, patient=patient)
    return episode


def _close(
    session: Session, actor: Actor, episode: TransitionEpisode, reason: CloseReason, note: str | None
) -> None:
    episode.status = EpisodeStatus.CLOSED.value
    episode.closed_reason = reason.value
    episode.closed_at, episode.closed_by = now(), actor.label
    episode.closed_note = (note or "").strip() or None
    today = org_today(session, episode.org_id)
    for task in episode.tasks:
        status = task_status_on(TaskStatus(task.status), task.due_on, today)
        if status is TaskStatus.OPEN:
            status = TaskStatus.CANCELLED
        task.status = status.value


def _episode_in_reach(session: Session, actor: Actor, episode_uuid: str) -> tuple[TransitionEpisode, Patient]:
    found = session.execute(
        select(TransitionEpisode, Patient)
        .join(Patient, Patient.id == TransitionEpisode.patient_id)
        .where(TransitionEpisode.uuid == episode_uuid, patient_scope(actor))
    ).first()
    if found is None:
        raise NotFound(f"no transition {episode_uuid}", where=ENTITY)
    return found[0], found[1]


# --- after the episode: the enrolment prompt ---------------------------------------------------------------


def _enrolment_prompt(session: Session, actor: Actor, episode: TransitionEpisode, patient: Patient) -> None:
    """Identify the patient for the ongoing care-management programs their latest stratification makes them
    eligible for (by the organization's program rules) and not already open, and give their care manager a
    task to offer them."""
    scores = session.scalar(
        select(StratificationResult.scores)
        .join(StratificationRun, StratificationRun.id == StratificationResult.run_id)
        .where(StratificationResult.patient_id == patient.id)
        .order_by(StratificationRun.finished_at.desc(), StratificationRun.id.desc())
        .limit(1)
    )
    if not scores:
        return
    rules = program_rules_for(session=session, actor=actor)
    listed = scores.get("programs")
    flagged = set(listed.split(";") if isinstance(listed, str) else listed or [])
    flagged |= set(programs_eligible(rules, scores))
    open_codes = set(
        session.scalars(
            select(ProgramEnrolment.program_code).where(
                ProgramEnrolment.patient_id == patient.id,
                ProgramEnrolment.state.in_([s.value for s in OPEN_STATES]),
            )
        )
    )
    wanted = [
        p
        for p in rules.programs
        if p.kind is ProgramKind.CARE_MANAGEMENT and p.code in flagged and p.code not in open_codes
    ]
    if not wanted:
        return
    why = f"after the transition of care from the discharge of {episode.discharged_on}"
    for program in wanted:
        enrolment_identify(
            session=session,
            actor=actor,
            patient_uuid=patient.uuid,
            program_code=program.code,
            reason=why,
            rules=rules,
        )
    names = ", ".join(p.name for p in wanted)
    due = business_calendar().add_business_days(
        org_today(session, patient.org_id), ENROL_PROMPT_BUSINESS_DAYS
    )
    task_create(
        session=session,
        actor=actor,
        patient=patient,
        title=f"Offer enrolment: {names}"[:200],
        due_on=due,
        priority=TaskPriority.ROUTINE,
        reason=f"Eligible {why}.",
        source=(ENTITY, episode.uuid),
    )
    episode.enrol_prompt = ", ".join(p.code for p in wanted)


# --- refresh, worklist, the patient's page -----------------------------------------------------------------


@dataclass
class RefreshSummary:
    missed: int = 0
    closed: int = 0
    prompted: int = 0


def transitions_refresh(*, session: Session, actor: Actor) -> RefreshSummary:
    """Mark the open tasks whose deadline passed as missed, and close the episodes whose 30 days are over
    (prompting enrolment), across the actor's reach."""
    rules = transition_rules()
    summary = RefreshSummary()
    rows = session.execute(
        select(TransitionEpisode, Patient)
        .join(Patient, Patient.id == TransitionEpisode.patient_id)
        .where(patient_scope(actor), TransitionEpisode.status == EpisodeStatus.OPEN)
        .order_by(TransitionEpisode.id)
    ).all()
    for episode, patient in rows:
        today = org_today(session, episode.org_id)
        for task in episode.tasks:
            status = task_status_on(TaskStatus(task.status), task.due_on, today)
            if status.value != task.status:
                task.status = status.value
                summary.missed += 1
                audit_patient_row(
                    session,
                    actor,
                    patient.uuid,
                    task,
                    "transition-task-missed",
                    f"{task.kind} due {task.due_on}",
                )
        if not in_window(rules, episode.discharged_on, today):
            _close(session, actor, episode, CloseReason.PERIOD_ENDED, None)
            audit_patient_row(
                session, actor, patient.uuid, episode, "transition-close", CloseReason.PERIOD_ENDED.value
            )
            summary.closed += 1
            _enrolment_prompt(session, actor, episode, patient)
            summary.prompted += int(episode.enrol_prompt is not None)
            followups_sync_patient(session=session, actor=actor, patient=patient)
    session.flush()
    return summary


@dataclass(frozen=True)
class DueTask:
    """A task of an open episode on the worklist: its timeliness today and the business days left."""

    task: TransitionTask
    episode: TransitionEpisode
    timeliness: Timeliness
    business_days_left: int


def days_left(today: date, due_on: date) -> int:
    """Business days from today to the deadline (0: due today or past; negative: business days late)."""
    calendar = business_calendar()
    if due_on >= today:
        return calendar.business_days_between(today, due_on)
    return -calendar.business_days_between(due_on, today)


def transitions_due(*, session: Session, actor: Actor, limit: int | None = None) -> list[DueTask]:
    """The tasks still to do (open or missed) of the open episodes within the actor's reach, soonest
    deadline first: what the worklist shows of transitions (the worklist audits the patients it shows, as
    for the other sources it reads)."""
    statement = (
        select(TransitionTask, TransitionEpisode)
        .join(TransitionEpisode, TransitionEpisode.id == TransitionTask.episode_id)
        .join(Patient, Patient.id == TransitionTask.patient_id)
        # a list: each row's own columns; its attempts and its episode's other tasks when asked for
        .options(
            lazyload(TransitionTask.attempts),
            lazyload(TransitionTask.episode),
            lazyload(TransitionEpisode.tasks),
        )
        .where(
            patient_scope(actor),
            TransitionEpisode.status == EpisodeStatus.OPEN,
            TransitionTask.status.in_([s.value for s in OPEN_TASK_STATUSES]),
        )
        .order_by(TransitionTask.due_on, TransitionTask.id)
    )
    if limit is not None:
        statement = statement.limit(limit)
    rows = session.execute(statement).all()
    out = []
    todays: dict[int, date] = {}
    for task, episode in rows:
        today = todays.setdefault(episode.org_id, org_today(session, episode.org_id))
        status = TaskStatus(task.status)
        out.append(
            DueTask(
                task,
                episode,
                task_timeliness(status, task.due_on, today),
                days_left(today, task.due_on),
            )
        )
    return out


@dataclass(frozen=True)
class TaskView:
    task: TransitionTask
    title: str
    timeliness: Timeliness
    business_days_left: int


@dataclass(frozen=True)
class EpisodeView:
    episode: TransitionEpisode
    tasks: list[TaskView]
    ends_on: date
    readmission: Encounter | None = None


@dataclass(frozen=True)
class PatientTransitions:
    """The patient's open episode (if any) and the episodes closed in the last 30 days."""

    current: EpisodeView | None
    recent: list[EpisodeView] = field(default_factory=list)


def transition_for_patient(*, session: Session, actor: Actor, patient_uuid: str) -> PatientTransitions:
    """What the patient page shows of transitions (audited as a read when there is anything)."""
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    rules = transition_rules()
    today = org_today(session, patient.org_id)
    since = now() - timedelta(days=rules.window_days)
    episodes = session.scalars(
        select(TransitionEpisode)
        .where(
            TransitionEpisode.patient_id == patient.id,
            (TransitionEpisode.status == EpisodeStatus.OPEN) | (TransitionEpisode.closed_at >= since),
        )
        .order_by(TransitionEpisode.discharged_at.desc(), TransitionEpisode.id.desc())
    ).all()
    views = [_view(session, e, today) for e in episodes]
    if views:
        audit_patient_row(
            session, actor, patient.uuid, episodes[0], "read", f"{len(views)} transition(s) of care"
        )
    current = next((v for v in views if v.episode.status == EpisodeStatus.OPEN), None)
    return PatientTransitions(current, [v for v in views if v is not current])


def _view(session: Session, episode: TransitionEpisode, today: date) -> EpisodeView:
    rules = transition_rules()
    tasks = [
        TaskView(
            task=t,
            title=rules.task(TaskKind(t.kind)).title,
            timeliness=task_timeliness(TaskStatus(t.status), t.due_on, today),
            business_days_left=days_left(today, t.due_on),
        )
        for t in sorted(episode.tasks, key=lambda t: (t.due_on, list(TaskKind).index(TaskKind(t.kind))))
    ]
    readmission = (
        session.get(Encounter, episode.readmission_encounter_id) if episode.readmission_encounter_id else None
    )
    return EpisodeView(episode, tasks, window_ends_on(rules, episode.discharged_on), readmission)
