"""The follow-up schedule of each patient, kept in step with the cadence rules (``rules.cadence``): the
sync, a follow-up moved by hand, and the follow-ups due for the worklist. Every change is audited; services
flush, the caller commits; a patient or follow-up outside the actor's reach is NotFound.

What the schedule of a patient depends on (``followups_sync``): their open, active program enrolments
(state enrolled, the enrolment's care plan neither on hold nor closed), their tier in the organization's
latest stratification run, their latest inpatient discharge to the community within the window, and the
last time they were reached. When any of these changes, the next sync moves (reschedules) or cancels the
follow-ups, each with the reason; a sync that finds nothing changed writes nothing.

Each write that changes one of these calls the sync for the patient, in the same transaction as the
change, so that reading the schedule (the patient page, the worklist) never writes:

- an enrolment's state changes (``programs.services``: enrol, pause, resume, discharge...);
- a care plan's status changes, or a plan is made for an enrolment (``careplans.services``);
- a stratification run is saved (``stratification.services``: ``followups_sync_for_run``, the patients
  whose tier it changed);
- a transition episode opens, reopens or closes (``transitions.services``);
- a contact is logged (``outreach.services.contact_log``);
- what time alone changes (a discharge step falls due, the discharge window ends) is caught up by the
  nightly ``carenav outreach sync`` (``followups_sync_all``).

This module reads the features the schedule depends on and calls none of their services (a contract of
import-linter), so that each of them may call it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session, aliased

from carenav.access import Actor, patient_scope, patient_visible, record_in_reach
from carenav.accounts.queries import org_today, org_zone
from carenav.audit.services import audit_patient_row
from carenav.careplans.models import CarePlan
from carenav.careplans.rules import PlanStatus
from carenav.clock import now, today
from carenav.errors import InvalidInput, NotFound, RuleViolation
from carenav.outreach.models import Contact, FollowUp, FollowUpStatus
from carenav.outreach.rules import (
    Anchor,
    CadenceRule,
    Outcome,
    Party,
    cadence,
    next_due,
    rules_applying,
    step_due,
)
from carenav.patients.models import Patient
from carenav.programs.models import ProgramEnrolment
from carenav.programs.rules import OPEN_STATES, EnrolmentState
from carenav.stratification.models import StratificationResult, StratificationRun
from carenav.transitions.models import TransitionEpisode
from carenav.transitions.rules import CloseReason
from carenav.workdays import business_calendar

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
    programs, inactive = _enrolments(session, patient)
    return _facts(session, patient, programs, inactive)


def _facts(
    session: Session, patient: Patient, programs: Mapping[str, date], inactive: Mapping[str, str]
) -> OutreachFacts:
    return OutreachFacts(
        programs=programs,
        inactive=inactive,
        tier=patient_tier(session, patient),
        discharged_on=_discharge(session, patient),
        last_reached=_last_reached(session, patient),
    )


def _enrolments(session: Session, patient: Patient) -> tuple[dict[str, date], dict[str, str]]:
    """The active enrolments (program code: the day it started) and why each other open one schedules
    nothing (program code: the reason)."""
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
    return programs, inactive


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
    return followups_sync_patient(session=session, actor=actor, patient=patient)


def followups_sync_patient(*, session: Session, actor: Actor, patient: Patient) -> list[FollowUp]:
    """``followups_sync`` for a patient the calling service already holds in the actor's reach: what each
    write that changes what the schedule depends on calls, in its transaction. A patient with no active
    enrolment and nothing scheduled costs two reads."""
    scheduled = followups_scheduled(session, patient)
    programs, inactive = _enrolments(session, patient)
    if not programs and not scheduled:
        return []
    facts = _facts(session, patient, programs, inactive)
    applying = rules_applying(
        cadence().rules,
        programs=frozenset(facts.programs),
        tier=facts.tier,
        discharged_on=facts.discharged_on,
    )
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
                followup_close(
                    session,
                    actor,
                    patient,
                    row,
                    FollowUpStatus.CANCELLED,
                    "every step of the schedule is done",
                )
            else:
                followup_close(
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
            followup_close(session, actor, patient, row, FollowUpStatus.CANCELLED, reason)
    session.flush()
    return followups_scheduled(session, patient)


def followups_scheduled(session: Session, patient: Patient) -> list[FollowUp]:
    """The patient's scheduled follow-ups, soonest first (a read: what the patient page shows)."""
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
                followup_close(session, actor, patient, missed, FollowUpStatus.MISSED, why)
            elif missed is None:
                made = _schedule(
                    session,
                    actor,
                    patient,
                    Wanted(rule, step_due(rule, step, anchor, calendar), anchor, step, None, None, ""),
                )
                followup_close(session, actor, patient, made, FollowUpStatus.MISSED, why)
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


def followup_close(
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
    followup_close(
        session, actor, patient, row, FollowUpStatus.RESCHEDULED, f"moved to {due_on}: {reason.strip()}"
    )
    wanted = Wanted(
        rule, due_on, row.anchor_on or due_on, row.step, row.program_code, row.tier, reason.strip()
    )
    moved = _schedule(session, actor, patient, wanted)
    moved.moved_by_hand = True
    return moved


# --- reads ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DueFollowUp:
    followup: FollowUp
    overdue_days: int


def followups_due(*, session: Session, actor: Actor, on: date | None = None) -> list[DueFollowUp]:
    """The scheduled follow-ups due on ``on`` (today) or before, of the patients within the actor's
    reach, oldest first (the worklist's overdue and due-today follow-ups)."""
    day = on or today()
    rows = session.scalars(
        select(FollowUp)
        .join(Patient, Patient.id == FollowUp.patient_id)
        .where(
            patient_scope(actor), FollowUp.status == FollowUpStatus.SCHEDULED.value, FollowUp.due_on <= day
        )
        .order_by(FollowUp.due_on, FollowUp.id)
    ).all()
    return [DueFollowUp(f, (day - f.due_on).days) for f in rows]


def followups_sync_all(*, session: Session, actor: Actor) -> int:
    """Sync the schedule of every patient within the actor's reach with an open enrolment or a scheduled
    follow-up (the nightly job: it catches up what time alone changes — a discharge step falling due, the
    discharge window ending). Returns how many patients were synced."""
    patients = session.scalars(
        select(Patient).where(patient_scope(actor), _with_a_schedule()).order_by(Patient.id)
    ).all()
    for patient in patients:
        followups_sync_patient(session=session, actor=actor, patient=patient)
    return len(patients)


def followups_sync_for_run(*, session: Session, actor: Actor, run: StratificationRun) -> int:
    """After a stratification run is saved: sync the patients within the actor's reach (with an open
    enrolment or a scheduled follow-up) whose tier in this run differs from their tier in the run that was
    their organization's latest before it. Nothing when the run is not the latest (a run saved for an
    earlier time moves no tier). Returns how many patients were synced."""
    latest = session.scalars(
        select(StratificationRun.id)
        .where(StratificationRun.org_id == run.org_id)
        .order_by(StratificationRun.finished_at.desc(), StratificationRun.id.desc())
        .limit(2)
    ).all()
    if not latest or latest[0] != run.id:
        return 0
    new = aliased(StratificationResult)
    statement = (
        select(Patient)
        .outerjoin(new, and_(new.run_id == run.id, new.patient_id == Patient.id))
        .where(patient_scope(actor), Patient.org_id == run.org_id, _with_a_schedule())
        .order_by(Patient.id)
    )
    if len(latest) == 2:
        old = aliased(StratificationResult)
        statement = statement.outerjoin(
            old, and_(old.run_id == latest[1], old.patient_id == Patient.id)
        ).where(new.tier.is_distinct_from(old.tier))
    else:  # the organization's first run: every tier it gives is new
        statement = statement.where(new.tier.is_not(None))
    patients = session.scalars(statement).all()
    for patient in patients:
        followups_sync_patient(session=session, actor=actor, patient=patient)
    return len(patients)


def _with_a_schedule() -> ColumnElement[bool]:
    """The patients who have (or may need) a schedule: an open enrolment or a scheduled follow-up."""
    with_enrolment = select(ProgramEnrolment.patient_id).where(
        ProgramEnrolment.state.in_([s.value for s in OPEN_STATES])
    )
    with_followup = select(FollowUp.patient_id).where(FollowUp.status == FollowUpStatus.SCHEDULED.value)
    return Patient.id.in_(with_enrolment.union(with_followup))
