"""Writes and reads of outreach: the follow-ups kept in step with the cadence rules, the contact log, and
the follow-ups due for the worklist. Every change is audited; services flush, the caller commits; a
patient or follow-up outside the actor's reach is NotFound.

What the schedule of a patient depends on (``followups_sync``): their open, active program enrolments
(state enrolled, the enrolment's care plan neither on hold nor closed), their tier in the organization's
latest stratification run, their latest inpatient discharge to the community within the window, and the
last time they were reached. When any of these changes, the next sync moves (reschedules) or cancels the
follow-ups, each with the reason; a sync that finds nothing changed writes nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from carenav.access import Actor, patient_row, patient_scope, patient_visible, record_in_reach
from carenav.accounts.models import User
from carenav.accounts.queries import org_today, org_zone
from carenav.audit.services import audit_patient_row
from carenav.careplans.models import CarePlan, Goal
from carenav.careplans.rules import OPEN_PLAN, Achievement, GoalLifecycle, PlanStatus, achievement_check
from carenav.careplans.services import goal_progress
from carenav.careplans.templates import templates_for
from carenav.clock import now, today
from carenav.errors import InvalidInput, NotFound, RuleViolation
from carenav.outreach.models import Contact, ContactGoalUpdate, FollowUp, FollowUpStatus
from carenav.outreach.rules import (
    Anchor,
    Answer,
    CadenceRule,
    ContactKind,
    Direction,
    NoteTemplate,
    Outcome,
    Party,
    RedFlag,
    UnableToReach,
    answers_patient,
    cadence,
    contact_check,
    is_attempt,
    next_due,
    note_answers,
    note_template_get,
    note_templates_for,
    reaches_patient,
    red_flags,
    rules_applying,
    step_due,
    unable_to_reach_protocol,
    unable_to_reach_state,
)
from carenav.patients.models import Condition, Observation, Patient
from carenav.programs.models import ProgramEnrolment
from carenav.programs.rules import OPEN_STATES, EnrolmentState
from carenav.stratification.models import StratificationResult, StratificationRun
from carenav.tasks.models import Task
from carenav.tasks.rules import TaskPriority
from carenav.tasks.services import alert_raise, care_manager_of, task_create
from carenav.transitions.models import TransitionEpisode
from carenav.transitions.rules import CloseReason
from carenav.workdays import business_calendar

MAX_NOTE = 20_000
PROTOCOL_SOURCE = "UnableToReach"
FLAG_SOURCE = "Contact"
PAUSED_PLAN = frozenset({PlanStatus.ON_HOLD, PlanStatus.COMPLETED, PlanStatus.REVOKED})


# --- what the schedule depends on ----------------------------------------------------------------


@dataclass(frozen=True)
class OutreachFacts:
    """``programs``: the active enrolments' program codes and the day each started (enrolled on);
    ``inactive``: why an open enrolment schedules nothing (paused, its plan on hold), by code."""

    programs: Mapping[str, date]
    inactive: Mapping[str, str]
    tier: int | None
    discharged_on: date | None
    last_reached: date | None


def outreach_facts(session: Session, patient: Patient) -> OutreachFacts:
    """What the patient's schedule depends on (the patient already in reach)."""
    programs: dict[str, date] = {}
    inactive: dict[str, str] = {}
    rows = session.execute(
        select(ProgramEnrolment, CarePlan.status)
        .outerjoin(CarePlan, CarePlan.enrolment_id == ProgramEnrolment.id)
        .where(
            ProgramEnrolment.patient_id == patient.id,
            ProgramEnrolment.state.in_([s.value for s in OPEN_STATES]),
        )
        .order_by(ProgramEnrolment.id)
    ).all()
    for enrolment, plan_status in rows:
        code = enrolment.program_code
        if enrolment.state != EnrolmentState.ENROLLED.value:
            inactive[code] = f"the {code} enrolment is {enrolment.state}"
        elif plan_status is not None and PlanStatus(plan_status) in PAUSED_PLAN:
            inactive[code] = f"the {code} care plan is {plan_status}"
        else:
            programs[code] = enrolment.enrolled_on or enrolment.identified_on
    return OutreachFacts(
        programs=programs,
        inactive=inactive,
        tier=patient_tier(session, patient),
        discharged_on=_discharge(session, patient),
        last_reached=_last_reached(session, patient),
    )


def patient_tier(session: Session, patient: Patient) -> int | None:
    """The patient's tier in their organization's latest stratification run (as the risk panel reads it);
    None when that run did not score them."""
    run_id = session.scalar(
        select(StratificationRun.id)
        .where(StratificationRun.org_id == patient.org_id)
        .order_by(StratificationRun.finished_at.desc(), StratificationRun.id.desc())
        .limit(1)
    )
    if run_id is None:
        return None
    return session.scalar(
        select(StratificationResult.tier).where(
            StratificationResult.run_id == run_id, StratificationResult.patient_id == patient.id
        )
    )


def _discharge(session: Session, patient: Patient) -> date | None:
    """The day of the patient's latest discharge to the community within the cadence's window: the discharge
    of their latest transition-of-care episode (the one rule of what a discharge to the community is), unless
    the discharge was cancelled or found not to be a transition."""
    since = org_today(session, patient.org_id) - timedelta(days=cadence().discharge_window_days)
    return session.scalar(
        select(TransitionEpisode.discharged_on)
        .where(
            TransitionEpisode.patient_id == patient.id,
            TransitionEpisode.discharged_on >= since,
            or_(
                TransitionEpisode.closed_reason.is_(None),
                TransitionEpisode.closed_reason.not_in(
                    [CloseReason.DISCHARGE_CANCELLED.value, CloseReason.NOT_A_TRANSITION.value]
                ),
            ),
        )
        .order_by(TransitionEpisode.discharged_on.desc(), TransitionEpisode.id.desc())
        .limit(1)
    )


def _last_reached(session: Session, patient: Patient) -> date | None:
    at = session.scalar(
        select(Contact.at)
        .where(
            Contact.patient_id == patient.id,
            Contact.party.in_([Party.PATIENT.value, Party.CAREGIVER.value]),
            Contact.outcome == Outcome.REACHED.value,
        )
        .order_by(Contact.at.desc())
        .limit(1)
    )
    return at.astimezone(org_zone(session, patient.org_id)).date() if at is not None else None


# --- the schedule ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Wanted:
    rule: CadenceRule
    due_on: date
    anchor_on: date
    step: int | None
    program_code: str | None
    tier: int | None
    why: str


def followups_sync(*, session: Session, actor: Actor, patient_uuid: str) -> list[FollowUp]:
    """Bring the patient's follow-ups in step with the cadence rules: exactly one scheduled follow-up per
    applying rule, moved (the old one rescheduled) when its date changed, cancelled when its rule no
    longer applies (the tier, the enrolment or the plan changed), discharge steps past missed. Idempotent.
    Returns the scheduled follow-ups, soonest first."""
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    return _sync(session, actor, patient)


def _sync(session: Session, actor: Actor, patient: Patient) -> list[FollowUp]:
    facts = outreach_facts(session, patient)
    rules = cadence()
    applying = rules_applying(
        rules.rules, programs=frozenset(facts.programs), tier=facts.tier, discharged_on=facts.discharged_on
    )
    scheduled = _scheduled(session, patient)
    by_rule: dict[str, list[FollowUp]] = {}
    for row in scheduled:
        by_rule.setdefault(row.rule_key, []).append(row)
    for rule in applying:
        existing = by_rule.pop(rule.key, [])
        wanted = _wanted(session, actor, patient, rule, facts, existing)
        keep = next(
            (
                r
                for r in existing
                if wanted is not None
                and r.status == FollowUpStatus.SCHEDULED.value
                and (r.due_on == wanted.due_on or r.moved_by_hand)
                and (r.anchor_on, r.step, r.program_code, r.tier)
                == (wanted.anchor_on, wanted.step, wanted.program_code, wanted.tier)
            ),
            None,
        )
        for row in existing:
            if row is keep or row.status != FollowUpStatus.SCHEDULED.value:
                continue
            if wanted is None:
                _close(
                    session,
                    actor,
                    patient,
                    row,
                    FollowUpStatus.CANCELLED,
                    "every step of the schedule is done",
                )
            else:
                _close(
                    session,
                    actor,
                    patient,
                    row,
                    FollowUpStatus.RESCHEDULED,
                    f"moved to {wanted.due_on}: {wanted.why}",
                )
        if keep is None and wanted is not None:
            _schedule(session, actor, patient, wanted)
    for key, rows in by_rule.items():
        reason = _why_not(key, facts, applying)
        for row in rows:
            _close(session, actor, patient, row, FollowUpStatus.CANCELLED, reason)
    session.flush()
    return _scheduled(session, patient)


def _scheduled(session: Session, patient: Patient) -> list[FollowUp]:
    return list(
        session.scalars(
            select(FollowUp)
            .where(FollowUp.patient_id == patient.id, FollowUp.status == FollowUpStatus.SCHEDULED.value)
            .order_by(FollowUp.due_on, FollowUp.id)
        )
    )


def _wanted(
    session: Session,
    actor: Actor,
    patient: Patient,
    rule: CadenceRule,
    facts: OutreachFacts,
    existing: list[FollowUp],
) -> Wanted | None:
    tier = facts.tier if rule.tiers else None
    if rule.anchor is Anchor.DISCHARGE:
        assert facts.discharged_on is not None  # rules_applying gives discharge rules only then
        anchor = facts.discharged_on
        closed = session.scalars(
            select(FollowUp.step).where(
                FollowUp.patient_id == patient.id,
                FollowUp.rule_key == rule.key,
                FollowUp.anchor_on == anchor,
                FollowUp.status.in_([FollowUpStatus.DONE.value, FollowUpStatus.MISSED.value]),
            )
        ).all()
        step = max((s for s in closed if s is not None), default=-1) + 1
        calendar = business_calendar()
        while step < len(rule.steps) - 1 and step_due(rule, step + 1, anchor, calendar) <= today():
            missed = next((r for r in existing if r.anchor_on == anchor and r.step == step), None)
            why = f"step {step + 1} was not done before step {step + 2} fell due"
            if missed is not None and missed.status == FollowUpStatus.SCHEDULED.value:
                _close(session, actor, patient, missed, FollowUpStatus.MISSED, why)
            elif missed is None:
                made = _schedule(
                    session,
                    actor,
                    patient,
                    Wanted(rule, step_due(rule, step, anchor, calendar), anchor, step, None, None, ""),
                )
                _close(session, actor, patient, made, FollowUpStatus.MISSED, why)
            step += 1
        due = next_due(rule, anchor=anchor, steps_done=step, calendar=calendar)
        if due is None:
            return None
        why = f"discharged on {anchor}, step {step + 1} of {len(rule.steps)}"
        return Wanted(rule, due, anchor, step, None, None, why)
    codes = sorted(c for c in facts.programs if not rule.programs or c in rule.programs)
    anchor = min(facts.programs[c] for c in codes)
    program = codes[0] if rule.programs else None
    due = next_due(rule, anchor=anchor, last_reached=facts.last_reached)
    if due is None:  # pragma: no cover - a recurring rule always has a next date
        return None
    if facts.last_reached is not None and facts.last_reached >= anchor:
        why = f"{rule.title.lower()}, last reached on {facts.last_reached}"
    else:
        why = f"{rule.title.lower()}, enrolled on {anchor}"
    if tier is not None:
        why += f", tier {tier}"
    return Wanted(rule, due, anchor, None, program, tier, why)


def _why_not(key: str, facts: OutreachFacts, applying: list[CadenceRule]) -> str:
    """Why a rule's follow-up is cancelled."""
    try:
        rule = cadence().rule(key)
    except NotFound:
        return f"the cadence rule {key} is no longer in the rules"
    if not facts.programs:
        held = "; ".join(facts.inactive.values())
        return f"no active program enrolment ({held})" if held else "no active program enrolment"
    if rule.anchor is Anchor.DISCHARGE:
        return f"no discharge to the community within {cadence().discharge_window_days} days"
    if rule.matches(frozenset(facts.programs), facts.tier):
        winner = next((r for r in applying if r.recurring), None)
        return f"{winner.title} applies instead (more frequent)" if winner else "superseded"
    if rule.tiers and facts.tier not in rule.tiers:
        return f"the patient's tier is now {facts.tier if facts.tier is not None else 'not scored'}"
    ended = [facts.inactive[c] for c in rule.programs if c in facts.inactive]
    return "; ".join(ended) if ended else f"no active {' or '.join(rule.programs)} enrolment"


def _schedule(session: Session, actor: Actor, patient: Patient, wanted: Wanted) -> FollowUp:
    row = FollowUp(
        org_id=patient.org_id,
        patient_id=patient.id,
        due_on=wanted.due_on,
        rule_key=wanted.rule.key,
        rule_title=wanted.rule.title,
        program_code=wanted.program_code,
        tier=wanted.tier,
        anchor_on=wanted.anchor_on,
        step=wanted.step,
        status=FollowUpStatus.SCHEDULED.value,
        status_at=now(),
        status_reason=wanted.why or None,
        created_by=actor.label,
    )
    session.add(row)
    session.flush()
    audit_patient_row(
        session,
        actor,
        patient.uuid,
        row,
        "followup-schedule",
        f"{wanted.rule.key} due {wanted.due_on}: {wanted.why}",
    )
    return row


def _close(
    session: Session, actor: Actor, patient: Patient, row: FollowUp, to: FollowUpStatus, reason: str
) -> None:
    row.status, row.status_at, row.status_reason = to.value, now(), reason
    audit_patient_row(
        session,
        actor,
        patient.uuid,
        row,
        f"followup-{to.value}",
        f"{row.rule_key} due {row.due_on}: {reason}",
    )


def followup_reschedule(
    *, session: Session, actor: Actor, followup_uuid: str, due_on: date, reason: str
) -> FollowUp:
    """Move a scheduled follow-up to another day by hand (the old one rescheduled, a new one made, which
    the sync leaves on its day while its rule, program, tier and step stay the same)."""
    row, patient = record_in_reach(
        session=session, actor=actor, model=FollowUp, uuid=followup_uuid, what="follow-up"
    )
    if row.status != FollowUpStatus.SCHEDULED.value:
        raise RuleViolation(f"the follow-up is {row.status}", where="follow-up")
    if due_on < today():
        raise InvalidInput(f"{due_on} has passed", where="follow-up date")
    if not reason.strip():
        raise InvalidInput("say why the follow-up moves", where="follow-up reason")
    rule = cadence().rule(row.rule_key)
    _close(session, actor, patient, row, FollowUpStatus.RESCHEDULED, f"moved to {due_on}: {reason.strip()}")
    wanted = Wanted(
        rule, due_on, row.anchor_on or due_on, row.step, row.program_code, row.tier, reason.strip()
    )
    moved = _schedule(session, actor, patient, wanted)
    moved.moved_by_hand = True
    return moved


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
    patient alert where the flag says so). An unsuccessful attempt advances the unable-to-reach protocol;
    once exhausted, its letter and supervisor review tasks are made (once). Then the schedule is synced."""
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
    if is_attempt(direction, party, outcome) or answers_patient(party, outcome):
        logged.protocol, logged.protocol_tasks = _protocol(session, actor, patient)
    session.flush()
    _sync(session, actor, patient)
    return logged


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
    scheduled = _scheduled(session, patient)
    if followup_uuid is not None:
        chosen = [r for r in scheduled if r.uuid == followup_uuid]
        if not chosen:
            raise NotFound(f"the patient has no scheduled follow-up {followup_uuid}", where="follow-up")
    else:
        chosen = [r for r in scheduled if r.due_on <= day] or scheduled[:1]
    for row in chosen:
        row.done_by_contact_id = contact.id
        _close(session, actor, patient, row, FollowUpStatus.DONE, f"done by the {contact.kind} of {day}")
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


# --- reads ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DueFollowUp:
    followup: FollowUp
    patient: Patient
    overdue_days: int


def followups_due(*, session: Session, actor: Actor, on: date | None = None) -> list[DueFollowUp]:
    """The scheduled follow-ups due on ``on`` (today) or before, of the patients within the actor's
    reach, oldest first (the worklist's overdue and due-today follow-ups)."""
    day = on or today()
    rows = session.execute(
        select(FollowUp, Patient)
        .join(Patient, Patient.id == FollowUp.patient_id)
        .where(
            patient_scope(actor), FollowUp.status == FollowUpStatus.SCHEDULED.value, FollowUp.due_on <= day
        )
        .order_by(FollowUp.due_on, FollowUp.id)
    ).all()
    return [DueFollowUp(f, p, (day - f.due_on).days) for f, p in rows]


def followups_sync_all(*, session: Session, actor: Actor) -> int:
    """Sync the schedule of every patient within the actor's reach with an open enrolment or a scheduled
    follow-up (a nightly job: tiers change with each stratification run, discharges arrive by feed).
    Returns how many patients were synced."""
    with_enrolment = select(ProgramEnrolment.patient_id).where(
        ProgramEnrolment.state.in_([s.value for s in OPEN_STATES])
    )
    with_followup = select(FollowUp.patient_id).where(FollowUp.status == FollowUpStatus.SCHEDULED.value)
    patients = session.scalars(
        select(Patient)
        .where(patient_scope(actor), Patient.id.in_(with_enrolment.union(with_followup)))
        .order_by(Patient.id)
    ).all()
    for patient in patients:
        _sync(session, actor, patient)
    return len(patients)


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


def open_plan_goals(session: Session, patient: Patient) -> list[Goal]:
    """The goals of the patient's open plans whose progress a note may record (accepted, active, on hold)."""
    return list(
        session.scalars(
            select(Goal)
            .join(CarePlan, CarePlan.id == Goal.plan_id)
            .where(
                CarePlan.patient_id == patient.id,
                CarePlan.status.in_([s.value for s in OPEN_PLAN]),
                Goal.lifecycle.in_(["proposed", "planned", "accepted", "active", "on-hold"]),
            )
            .order_by(CarePlan.id, Goal.id)
        )
    )


def note_templates_of(session: Session, patient: Patient) -> list[NoteTemplate]:
    """The structured note templates of the patient's contacts: the one for every contact, those of their
    open programs, and those of the care-plan templates their active conditions call for or their plans
    were made from."""
    conditions = session.execute(
        select(Condition.code_system, Condition.code).where(
            Condition.patient_id == patient.id, Condition.clinical_status == "active"
        )
    ).all()
    plans = {t.id for t in templates_for((system, code) for system, code in conditions)}
    refs = session.scalars(
        select(Goal.template_ref).where(Goal.patient_id == patient.id, Goal.template_ref.is_not(None))
    )
    plans |= {ref.split(":", 1)[0] for ref in refs if ref}
    programs = set(
        session.scalars(
            select(ProgramEnrolment.program_code).where(
                ProgramEnrolment.patient_id == patient.id,
                ProgramEnrolment.state.in_([s.value for s in OPEN_STATES]),
            )
        )
    )
    return note_templates_for(programs, plans)
