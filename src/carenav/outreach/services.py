"""Writes and reads of outreach: the contact log (with the structured note, goal progress, red flags, the
unable-to-reach protocol, and what a contact does to the follow-up schedule and to an open transition of
care) and the reads of the patient page. The follow-up schedule itself is ``outreach.schedule`` (its
services are also importable from here). Every change is audited; services flush, the caller commits; a
patient or follow-up outside the actor's reach is NotFound."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor, patient_row, patient_visible, record_in_reach
from carenav.accounts.models import User
from carenav.accounts.queries import org_zone
from carenav.audit.services import audit_patient_row
from carenav.careplans.models import CarePlan, Goal
from carenav.careplans.rules import OPEN_PLAN, Achievement, GoalLifecycle, PlanStatus, achievement_check
from carenav.careplans.services import goal_progress, templates_for_patient
from carenav.clock import now, today
from carenav.errors import InvalidInput, NotFound, RuleViolation
from carenav.outreach.models import Contact, ContactGoalUpdate, FollowUp, FollowUpStatus
from carenav.outreach.rules import (
    Answer,
    ContactKind,
    Direction,
    NoteTemplate,
    Outcome,
    Party,
    RedFlag,
    UnableToReach,
    answers_patient,
    contact_check,
    interactive_contact_attempt,
    is_attempt,
    note_answers,
    note_template_get,
    note_templates_for,
    reaches_patient,
    red_flags,
    unable_to_reach_protocol,
    unable_to_reach_state,
)
from carenav.outreach.schedule import (
    DueFollowUp,
    followup_close,
    followup_reschedule,
    followups_due,
    followups_scheduled,
    followups_sync,
    followups_sync_all,
    followups_sync_patient,
)
from carenav.patients.models import Observation, Patient
from carenav.programs.models import ProgramEnrolment
from carenav.programs.queries import programs_open_of
from carenav.programs.rules import OPEN_STATES
from carenav.tasks.models import Task
from carenav.tasks.rules import TaskPriority
from carenav.tasks.services import alert_raise, care_manager_of, task_create
from carenav.transitions.services import ContactOnTask, transition_contact_logged, transition_contacts_of
from carenav.workdays import business_calendar

__all__ = [  # the schedule's services too: the worklist, the CLI and the benchmarks take them from here
    "ContactLogged",
    "DueFollowUp",
    "GoalUpdate",
    "contact_log",
    "contacts_of",
    "contacts_on_transitions",
    "followup_reschedule",
    "followups_due",
    "followups_sync",
    "followups_sync_all",
    "note_templates_of",
    "unable_to_reach_of",
]

MAX_NOTE = 20_000
PROTOCOL_SOURCE = "UnableToReach"
FLAG_SOURCE = "Contact"


# --- the contact log ------------------------------------------------------------------------------


@dataclass(frozen=True)
class GoalUpdate:
    """Progress on a goal, said in a contact's note."""

    goal_uuid: str
    note: str
    achievement: Achievement | None = None


@dataclass
class ContactLogged:
    contact: Contact
    flags: list[RedFlag] = field(default_factory=list)
    flag_tasks: list[Task] = field(default_factory=list)
    followups_done: list[FollowUp] = field(default_factory=list)
    transition: ContactOnTask | None = None
    """The attempt the contact made on an open transition's interactive-contact task (and whether it did
    the task), if any."""
    protocol: UnableToReach | None = None
    protocol_tasks: list[Task] = field(default_factory=list)


def contact_log(
    *,
    session: Session,
    actor: Actor,
    patient_uuid: str,
    kind: ContactKind,
    direction: Direction,
    party: Party,
    outcome: Outcome,
    at: datetime | None = None,
    party_name: str | None = None,
    program_code: str | None = None,
    minutes: int | None = None,
    note: str | None = None,
    answers: Mapping[str, Mapping[str, str]] | None = None,
    goal_updates: Sequence[GoalUpdate] = (),
    plan_adjustments: str | None = None,
    followup_uuid: str | None = None,
) -> ContactLogged:
    """Record a contact. ``answers``: the structured note, by note template id, the text typed in each
    field (checked and typed by the template). When the contact reached the patient (or their caregiver):
    the follow-up it answers is done (``followup_uuid``, else every one due by then, else the next), each
    goal update becomes the goal's progress note, and each red flag of the answers an urgent task (and a
    patient alert where the flag says so). A call, video, visit or message with the patient or caregiver
    (``rules.interactive_contact_attempt``) is an attempt on the interactive-contact task of an open
    transition of care, at the contact's time, and reached does it (``ContactLogged.transition``). An
    unsuccessful attempt advances the unable-to-reach protocol; once exhausted, its letter and supervisor
    review tasks are made (once). Then the schedule is synced. All in the caller's transaction."""
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    contact_check(kind, direction, party, outcome, party_name)
    at = at or now()
    if at.tzinfo is None:
        raise InvalidInput("give the time of the contact with its time zone", where="contact time")
    if at > now() + timedelta(minutes=5):
        raise InvalidInput(f"{at.isoformat()} is in the future", where="contact time")
    if minutes is not None and not 0 <= minutes <= 1440:
        raise InvalidInput(f"{minutes} minutes is not 0 to 1,440", where="contact minutes")
    if note is not None and len(note) > MAX_NOTE:
        raise InvalidInput(f"at most {MAX_NOTE:,} characters", where="contact note")
    if program_code:
        open_codes = set(
            session.scalars(
                select(ProgramEnrolment.program_code).where(
                    ProgramEnrolment.patient_id == patient.id,
                    ProgramEnrolment.state.in_([s.value for s in OPEN_STATES]),
                )
            )
        )
        if program_code not in open_codes:
            known = ", ".join(sorted(open_codes)) or "none"
            raise InvalidInput(
                f"the patient has no open {program_code} enrolment (open: {known})", where="contact program"
            )
    reached = reaches_patient(party, outcome)
    raw_answers = {k: v for k, v in (answers or {}).items() if any((t or "").strip() for t in v.values())}
    if (raw_answers or goal_updates) and not reached:
        raise RuleViolation(
            "a structured note and goal progress need the patient or caregiver reached", where="contact note"
        )
    typed: dict[str, dict[str, Answer]] = {}
    flags: list[RedFlag] = []
    for template_id, raw in raw_answers.items():
        template = note_template_get(template_id)
        typed[template_id] = note_answers(template, raw)
        flags.extend(red_flags(template, typed[template_id], _previous(session, patient, template_id)))
    goals = [
        (patient_row(session=session, model=Goal, uuid=u.goal_uuid, patient=patient, what="goal"), u)
        for u in goal_updates
    ]
    for goal, update in goals:
        if not update.note.strip():
            raise InvalidInput("a goal's progress needs its note", where="goal progress")
        plan = session.get(CarePlan, goal.plan_id) if goal.plan_id is not None else None
        if plan is None or PlanStatus(plan.status) not in OPEN_PLAN:
            raise RuleViolation(
                f"the goal {goal.description!r} is not on an open care plan", where="goal progress"
            )
        if update.achievement is not None:
            if goal.lifecycle not in {g.value for g in GoalLifecycle}:
                raise RuleViolation(f"the goal is {goal.lifecycle}", where="goal achievement")
            achievement_check(GoalLifecycle(goal.lifecycle))
    contact = Contact(
        org_id=patient.org_id,
        patient_id=patient.id,
        at=at,
        kind=kind.value,
        direction=direction.value,
        party=party.value,
        party_name=(party_name or "").strip() or None,
        outcome=outcome.value,
        program_code=program_code or None,
        user_id=actor.user_id,
        staff=actor.label,
        minutes=minutes,
        note=(note or "").strip() or None,
        answers=typed,
        red_flags=[f.as_json() for f in flags],
        plan_adjustments=(plan_adjustments or "").strip() or None,
    )
    session.add(contact)
    session.flush()
    audit_patient_row(
        session,
        actor,
        patient.uuid,
        contact,
        "contact-log",
        f"{direction.value} {kind.value} with {party.value}: {outcome.value}"
        + (f"; {len(flags)} red flag(s)" if flags else ""),
    )
    logged = ContactLogged(contact, flags)
    for goal, update in goals:
        goal_progress(
            session=session,
            actor=actor,
            goal_uuid=goal.uuid,
            note=update.note,
            achievement=update.achievement,
        )
        contact.goal_updates.append(
            ContactGoalUpdate(
                goal_id=goal.id,
                goal_description=goal.description,
                note=update.note.strip(),
                achievement=update.achievement.value if update.achievement else None,
            )
        )
    for flag in flags:
        logged.flag_tasks.append(
            task_create(
                session=session,
                actor=actor,
                patient=patient,
                title=flag.words[:200],
                due_on=today(),
                priority=TaskPriority.URGENT,
                reason=f"{flag.words} (contact of {at.date()}; source: {flag.source}"
                + ("; threshold marked for clinician review)" if flag.review else ")"),
                source=(FLAG_SOURCE, contact.uuid),
            )
        )
        if flag.alert:
            alert_raise(
                session=session,
                actor=actor,
                patient=patient,
                kind=flag.alert,
                text=flag.words,
                source=(FLAG_SOURCE, contact.uuid),
            )
    if reached:
        logged.followups_done = _mark_done(session, actor, patient, contact, followup_uuid)
    elif followup_uuid is not None:
        record_in_reach(session=session, actor=actor, model=FollowUp, uuid=followup_uuid, what="follow-up")
    attempt = interactive_contact_attempt(kind, party, outcome)
    if attempt is not None:
        logged.transition = transition_contact_logged(
            session=session,
            actor=actor,
            patient=patient,
            at=at,
            outcome=attempt,
            words=_contact_words(contact, org_zone(session, patient.org_id)),
            contact_uuid=contact.uuid,
        )
    if is_attempt(direction, party, outcome) or answers_patient(party, outcome):
        logged.protocol, logged.protocol_tasks = _protocol(session, actor, patient)
    session.flush()
    followups_sync_patient(session=session, actor=actor, patient=patient)
    return logged


def _contact_words(contact: Contact, zone: ZoneInfo) -> str:
    """The contact in a few words, for the transition task it tries or does: "outbound call with the
    caregiver (Ann, daughter) on 2026-03-05 10:30 (contact log)"."""
    with_whom = contact.party.replace("-", " ") + (f" ({contact.party_name})" if contact.party_name else "")
    local = contact.at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    return (
        f"{contact.direction} {contact.kind.replace('-', ' ')} with the {with_whom} on {local} (contact log)"
    )


def _previous(session: Session, patient: Patient, template_id: str) -> dict[str, float]:
    """The previous value of each field of the template that names where it is kept (a LOINC code)."""
    found: dict[str, float] = {}
    for item in note_template_get(template_id).fields:
        if item.previous_loinc is None:
            continue
        value = session.scalar(
            select(Observation.value_quantity)
            .where(
                Observation.patient_id == patient.id,
                Observation.code == item.previous_loinc,
                Observation.value_quantity.is_not(None),
                Observation.status.in_(["final", "amended", "corrected"]),
            )
            .order_by(Observation.effective_at.desc(), Observation.id.desc())
            .limit(1)
        )
        if value is not None:
            found[item.key] = float(value)
    return found


def _mark_done(
    session: Session, actor: Actor, patient: Patient, contact: Contact, followup_uuid: str | None
) -> list[FollowUp]:
    day = contact.at.astimezone(org_zone(session, patient.org_id)).date()
    scheduled = followups_scheduled(session, patient)
    if followup_uuid is not None:
        chosen = [r for r in scheduled if r.uuid == followup_uuid]
        if not chosen:
            raise NotFound(f"the patient has no scheduled follow-up {followup_uuid}", where="follow-up")
    else:
        chosen = [r for r in scheduled if r.due_on <= day] or scheduled[:1]
    for row in chosen:
        row.done_by_contact_id = contact.id
        followup_close(
            session, actor, patient, row, FollowUpStatus.DONE, f"done by the {contact.kind} of {day}"
        )
    return chosen


def unable_to_reach_of(session: Session, patient: Patient) -> UnableToReach:
    """Where the patient stands in the unable-to-reach protocol: the unsuccessful attempts since they
    last answered."""
    return _attempts_state(session, patient)[0]


def _attempts_state(session: Session, patient: Patient) -> tuple[UnableToReach, list[Contact]]:
    answered = session.scalar(
        select(Contact.at)
        .where(
            Contact.patient_id == patient.id,
            Contact.party.in_([Party.PATIENT.value, Party.CAREGIVER.value]),
            Contact.outcome.in_([Outcome.REACHED.value, Outcome.DECLINED.value]),
        )
        .order_by(Contact.at.desc())
        .limit(1)
    )
    conditions = [
        Contact.patient_id == patient.id,
        Contact.direction == Direction.OUTBOUND.value,
        Contact.party.in_([Party.PATIENT.value, Party.CAREGIVER.value]),
        Contact.outcome.in_([Outcome.NO_ANSWER.value, Outcome.VOICEMAIL.value, Outcome.WRONG_NUMBER.value]),
    ]
    if answered is not None:
        conditions.append(Contact.at > answered)
    attempts = list(session.scalars(select(Contact).where(*conditions).order_by(Contact.at, Contact.id)))
    zone = org_zone(session, patient.org_id)
    return unable_to_reach_state([c.at.astimezone(zone).date() for c in attempts]), attempts


def _protocol(session: Session, actor: Actor, patient: Patient) -> tuple[UnableToReach, list[Task]]:
    state, attempts = _attempts_state(session, patient)
    if not state.exhausted or state.started_at is None:
        return state, []
    key = attempts[state.started_at].uuid
    made: list[Task] = []
    protocol = unable_to_reach_protocol()
    calendar = business_calendar()
    for action in protocol.actions:
        source_id = f"{key}:{action.key}"
        exists = session.scalar(
            select(Task.id).where(
                Task.patient_id == patient.id,
                Task.source_type == PROTOCOL_SOURCE,
                Task.source_id == source_id,
            )
        )
        if exists is not None:
            continue
        task = task_create(
            session=session,
            actor=actor,
            patient=patient,
            title=action.title,
            due_on=calendar.add_business_days(today(), action.due_business_days),
            reason=f"{action.detail} ({state.attempts} attempts on {state.days} days from "
            f"{state.window_start}; protocol: {protocol.words})",
            source=(PROTOCOL_SOURCE, source_id),
        )
        if action.key == "supervisor-review":
            _to_supervisor(session, actor, patient, task)
        made.append(task)
    return state, made


def _to_supervisor(session: Session, actor: Actor, patient: Patient, task: Task) -> None:
    """Give the task to the supervisor of the patient's care manager's team, when there is one."""
    manager = care_manager_of(session, patient)
    if manager is None or manager.team_id is None:
        return
    supervisor = session.scalar(
        select(User)
        .where(User.team_id == manager.team_id, User.role == "supervisor", User.active.is_(True))
        .order_by(User.id)
        .limit(1)
    )
    if supervisor is not None:
        task.assigned_user_id = supervisor.id
        audit_patient_row(session, actor, patient.uuid, task, "task-assign", f"to {supervisor.username}")


def contacts_of(*, session: Session, actor: Actor, patient_uuid: str, limit: int = 50) -> list[Contact]:
    """The patient's contacts, newest first."""
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    return list(
        session.scalars(
            select(Contact)
            .where(Contact.patient_id == patient.id)
            .order_by(Contact.at.desc(), Contact.id.desc())
            .limit(limit)
        )
    )


def contacts_on_transitions(
    *, session: Session, patient: Patient, contacts: Sequence[Contact]
) -> dict[str, ContactOnTask]:
    """What each of these contacts of the patient did to a transition of care (by contact uuid): the
    attempt it made on an interactive-contact task, done or not. Only the contacts that are an attempt at
    it (``rules.interactive_contact_attempt``) are looked for."""
    attempts = transition_contacts_of(session=session, patient=patient)
    found: dict[str, ContactOnTask] = {}
    for contact in contacts:
        kind, party, outcome = ContactKind(contact.kind), Party(contact.party), Outcome(contact.outcome)
        if interactive_contact_attempt(kind, party, outcome) is None:
            continue
        made = attempts.get((contact.at, contact.staff, contact.outcome))
        if made is not None:
            found[contact.uuid] = made
    return found


def note_templates_of(session: Session, patient: Patient) -> list[NoteTemplate]:
    """The structured note templates of the patient's contacts: the one for every contact, those of their
    open programs, and those of the care-plan templates their active conditions call for or their plans
    were made from."""
    plans = {t.id for t in templates_for_patient(session, patient.id)}
    refs = session.scalars(
        select(Goal.template_ref).where(Goal.patient_id == patient.id, Goal.template_ref.is_not(None))
    )
    plans |= {ref.split(":", 1)[0] for ref in refs if ref}
    return note_templates_for(set(programs_open_of(session, patient.id)), plans)
