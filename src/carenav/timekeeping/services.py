"""Writes and reads of time: a timer per user, entries added by hand, edits and deletions with a reason
(each an append-only trail row and an audit row), a patient's monthly totals per program against the
thresholds of the program's billing codes, and the patients close to a threshold near month end.

Services flush, the caller commits; a patient or entry out of reach is NotFound. Days are the
organization's days (its time zone): time counts in the calendar month of the day it was spent."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carenav.access import Actor, patient_scope, patient_visible, record_in_reach
from carenav.accounts.models import User
from carenav.accounts.queries import org_today, org_zone
from carenav.audit.services import audit_patient_row, audit_patients_listed
from carenav.clock import now
from carenav.errors import CarenavError, Conflict, Forbidden, InvalidInput, NotFound, RuleViolation
from carenav.patients.models import Patient
from carenav.patients.queries import PatientLabel, patient_labels
from carenav.programs.models import ProgramEnrolment
from carenav.programs.queries import enrolments_of, program_rules_for
from carenav.timekeeping.models import RunningTimer, TimeEntry, TimeEntryEdit
from carenav.timekeeping.rules import (
    DAY_LIMIT_MINUTES,
    ActivityType,
    BillingCodes,
    Month,
    ProgramProgress,
    StaffRole,
    TimeSource,
    codes_text,
    default_codes,
    entry_check,
    month_progress,
    near_threshold,
    timer_minutes,
)
from carenav.timekeeping.rules import days_left as month_days_left

WITHIN_MINUTES = 10
"""A patient is close to a threshold when the next one is at most this many minutes away."""
DAYS_LEFT = 7
"""...and surfaced when at most this many days of the month remain after today."""


# --- Days in the organization's zone ---------------------------------------------------------------------


def program_names(session: Session, actor: Actor) -> dict[str, str]:
    """Program code -> name from the organization's rules (the code itself when the rules cannot be read)."""
    try:
        return {p.code: p.name for p in program_rules_for(session=session, actor=actor).programs}
    except CarenavError:
        return {}


# --- Enrolment -------------------------------------------------------------------------------------------


def enrolments_on(session: Session, patient: Patient, on: date) -> list[ProgramEnrolment]:
    """The patient's episodes enrolled on day ``on`` (enrolled by then, not ended before)."""
    return [e for e in enrolments_of(session, patient.id) if e.enrolled_during(on, on)]


def enrolments_in_month(session: Session, patient: Patient, month: Month) -> list[ProgramEnrolment]:
    """The patient's episodes enrolled on some day of ``month``."""
    return [e for e in enrolments_of(session, patient.id) if e.enrolled_during(month.first, month.last)]


def _enrolment_for(
    session: Session, actor: Actor, patient: Patient, program_code: str, on: date
) -> ProgramEnrolment:
    episodes = enrolments_on(session, patient, on)
    for episode in episodes:
        if episode.program_code == program_code:
            return episode
    names = program_names(session, actor)
    enrolled = ", ".join(f"{names.get(e.program_code, e.program_code)} ({e.program_code})" for e in episodes)
    label = names.get(program_code, program_code)
    raise RuleViolation(
        f"the patient is not enrolled in {label} ({program_code}) on {on.isoformat()}; time counts only for "
        + (
            f"a program they are enrolled in: {enrolled}"
            if enrolled
            else "a program they are enrolled in, and they are in none that day"
        ),
        where="time program",
    )


# --- Timer -----------------------------------------------------------------------------------------------


def _user_of(actor: Actor, what: str) -> int:
    if actor.user_id is None:
        raise RuleViolation(f"{what} is for a person signed in", where="timer")
    return actor.user_id


def timer_running(*, session: Session, actor: Actor) -> RunningTimer | None:
    """The actor's running timer, if any."""
    if actor.user_id is None:
        return None
    return session.scalar(select(RunningTimer).where(RunningTimer.user_id == actor.user_id))


def timer_start(
    *,
    session: Session,
    actor: Actor,
    patient_uuid: str,
    program_code: str,
    activity: ActivityType,
    staff_role: StaffRole = StaffRole.CLINICAL_STAFF,
) -> RunningTimer:
    """Start the actor's timer on a patient's program. A user has one timer: a second is refused, naming
    the patient the running one is for."""
    user_id = _user_of(actor, "a timer")
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    running = timer_running(session=session, actor=actor)
    if running is not None:
        other = session.get_one(Patient, running.patient_id)
        since = running.started_at.astimezone(org_zone(session, actor.org_id)).strftime("%H:%M")
        whose = "this patient" if other.id == patient.id else other.name_shown
        raise RuleViolation(
            f"you already have a timer running for {whose} ({running.program_code}, since {since}): "
            "stop or discard it before starting another",
            where="timer",
        )
    _enrolment_for(session, actor, patient, program_code, org_today(session, actor.org_id))
    timer = RunningTimer(
        org_id=patient.org_id,
        patient_id=patient.id,
        user_id=user_id,
        program_code=program_code,
        staff_role=staff_role.value,
        activity=activity.value,
        started_at=now(),
    )
    try:
        with session.begin_nested():  # a second start at the same moment (two tabs) meets the unique key
            session.add(timer)
    except IntegrityError:
        raise Conflict(
            "another timer was started for you at the same moment: reload the page", where="timer"
        ) from None
    audit_patient_row(session, actor, patient.uuid, timer, "timer-start", f"{program_code}, {activity.value}")
    return timer


def timer_stop(*, session: Session, actor: Actor, note: str | None = None) -> TimeEntry:
    """Stop the actor's timer: an entry of the whole minutes it ran (rounded down), on the day it started.
    Refused (the timer keeps running) before a whole minute, after 12 hours, or across the end of a month
    (time counts in its own month: enter each month's minutes by hand)."""
    _user_of(actor, "a timer")
    timer = timer_running(session=session, actor=actor)
    if timer is None:
        raise NotFound("you have no timer running", where="timer")
    patient = patient_visible(session=session, actor=actor, patient_uuid=_patient_uuid(session, timer))
    stopped = now()
    minutes = timer_minutes(timer.started_at, stopped)
    zone = org_zone(session, actor.org_id)
    started_on, stopped_on = timer.started_at.astimezone(zone).date(), stopped.astimezone(zone).date()
    if Month.of(started_on) != Month.of(stopped_on):
        raise RuleViolation(
            f"the timer started in {Month.of(started_on).label} and it is now {Month.of(stopped_on).label}: "
            "time counts in the month it was spent; discard the timer and enter each month's minutes by hand",
            where="timer",
        )
    entry = _add(
        session=session,
        actor=actor,
        patient=patient,
        program_code=timer.program_code,
        minutes=minutes,
        activity=ActivityType(timer.activity),
        staff_role=StaffRole(timer.staff_role),
        on=started_on,
        note=note,
        staff=session.get(User, timer.user_id),
        source=TimeSource.TIMER,
        started_at=timer.started_at,
    )
    session.delete(timer)
    session.flush()
    return entry


def timer_discard(*, session: Session, actor: Actor) -> None:
    """Throw the actor's running timer away (nothing is recorded but the audit row)."""
    _user_of(actor, "a timer")
    timer = timer_running(session=session, actor=actor)
    if timer is None:
        raise NotFound("you have no timer running", where="timer")
    patient_uuid = _patient_uuid(session, timer)
    audit_patient_row(session, actor, patient_uuid, timer, "timer-discard", f"started {timer.started_at}")
    session.delete(timer)
    session.flush()


def _patient_uuid(session: Session, timer: RunningTimer) -> str:
    return session.get_one(Patient, timer.patient_id).uuid


# --- Entries ---------------------------------------------------------------------------------------------


def _staff(session: Session, actor: Actor, staff_user_uuid: str | None) -> User:
    if staff_user_uuid is None:
        if actor.user_id is None:
            raise InvalidInput("name the staff member whose time this is", where="staff member")
        return session.get_one(User, actor.user_id)
    user = session.scalar(
        select(User).where(User.uuid == staff_user_uuid, User.org_id == actor.org_id, User.active.is_(True))
    )
    if user is None:
        raise NotFound(f"no staff member {staff_user_uuid}", where="staff member")
    return user


def _day_total(session: Session, staff_user_id: int | None, on: date, *, without: int | None = None) -> int:
    if staff_user_id is None:
        return 0
    query = select(func.coalesce(func.sum(TimeEntry.minutes), 0)).where(
        TimeEntry.staff_user_id == staff_user_id, TimeEntry.on_date == on, TimeEntry.deleted_at.is_(None)
    )
    if without is not None:
        query = query.where(TimeEntry.id != without)
    return int(session.scalar(query) or 0)


def _check_day(
    session: Session, staff: User | None, staff_name: str, on: date, minutes: int, **kw: Any
) -> None:
    already = _day_total(session, staff.id if staff else None, on, **kw)
    if already + minutes > DAY_LIMIT_MINUTES:
        raise RuleViolation(
            f"{staff_name} already has {already} minutes on {on.isoformat()}: {minutes} more would pass the "
            f"{DAY_LIMIT_MINUTES} minutes of a day",
            where="minutes",
        )


def _add(
    *,
    session: Session,
    actor: Actor,
    patient: Patient,
    program_code: str,
    minutes: int,
    activity: ActivityType,
    staff_role: StaffRole,
    on: date,
    note: str | None,
    staff: User | None,
    source: TimeSource,
    started_at: datetime | None = None,
) -> TimeEntry:
    entry_check(minutes=minutes, on=on, today=org_today(session, actor.org_id))
    enrolment = _enrolment_for(session, actor, patient, program_code, on)
    staff_name = staff.display_name if staff else actor.label
    _check_day(session, staff, staff_name, on, minutes)
    entry = TimeEntry(
        org_id=patient.org_id,
        patient_id=patient.id,
        program_code=program_code,
        enrolment_id=enrolment.id,
        staff_user_id=staff.id if staff else None,
        staff_name=staff_name,
        staff_role=staff_role.value,
        activity=activity.value,
        minutes=minutes,
        on_date=on,
        started_at=started_at,
        note=(note or "").strip() or None,
        source=source.value,
        recorded_by=actor.label,
        recorded_by_user_id=actor.user_id,
    )
    session.add(entry)
    session.flush()
    detail = (
        f"{minutes} min {program_code} {activity.value} on {on.isoformat()} "
        f"by {staff_name} ({staff_role.value})"
    )
    audit_patient_row(session, actor, patient.uuid, entry, f"time-add-{source.value}", detail)
    return entry


def entry_add(
    *,
    session: Session,
    actor: Actor,
    patient_uuid: str,
    program_code: str,
    minutes: int,
    activity: ActivityType,
    on: date,
    staff_role: StaffRole = StaffRole.CLINICAL_STAFF,
    note: str | None = None,
    staff_user_uuid: str | None = None,
) -> TimeEntry:
    """Minutes entered by hand, for a program the patient is enrolled in on that day; the staff member is
    the actor unless ``staff_user_uuid`` names another user of the organization."""
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    staff = _staff(session, actor, staff_user_uuid)
    return _add(
        session=session,
        actor=actor,
        patient=patient,
        program_code=program_code,
        minutes=minutes,
        activity=activity,
        staff_role=staff_role,
        on=on,
        note=note,
        staff=staff,
        source=TimeSource.MANUAL,
    )


def _may_change(actor: Actor, entry: TimeEntry) -> None:
    if actor.sees_whole_organization or actor.role == "supervisor":
        return
    if actor.user_id is not None and actor.user_id in (entry.staff_user_id, entry.recorded_by_user_id):
        return
    raise Forbidden(
        "only the staff member whose time it is, who recorded it, a supervisor or an administrator "
        "may change a time entry",
        where="time entry",
    )


def _entry(session: Session, actor: Actor, entry_uuid: str) -> tuple[TimeEntry, Patient]:
    entry, patient = record_in_reach(
        session=session, actor=actor, model=TimeEntry, uuid=entry_uuid, what="time entry"
    )
    _may_change(actor, entry)
    if entry.deleted_at is not None:
        raise RuleViolation(
            f"the entry was deleted on {entry.deleted_at.date().isoformat()} ({entry.deleted_reason})",
            where="time entry",
        )
    return entry, patient


def _reason(reason: str, what: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise InvalidInput(
            f"say why the entry is {what}: time is billed, its changes are audited", where="reason"
        )
    return text


def entry_edit(
    *,
    session: Session,
    actor: Actor,
    entry_uuid: str,
    reason: str,
    minutes: int | None = None,
    activity: ActivityType | None = None,
    staff_role: StaffRole | None = None,
    program_code: str | None = None,
    on: date | None = None,
    note: str | None = None,
) -> TimeEntry:
    """Correct an entry (None: a field unchanged; ``note`` "" clears it), with the reason: the trail keeps
    each field's value before and after, and the audit trail the act."""
    entry, patient = _entry(session, actor, entry_uuid)
    why = _reason(reason, "changed")
    after: dict[str, Any] = {
        "minutes": entry.minutes if minutes is None else minutes,
        "activity": entry.activity if activity is None else activity.value,
        "staff_role": entry.staff_role if staff_role is None else staff_role.value,
        "program_code": entry.program_code if program_code is None else program_code,
        "on_date": entry.on_date if on is None else on,
        "note": entry.note if note is None else (note.strip() or None),
    }
    changes = {
        field: [_plain(getattr(entry, field)), _plain(value)]
        for field, value in after.items()
        if getattr(entry, field) != value
    }
    if not changes:
        raise InvalidInput("nothing is changed", where="time entry")
    entry_check(minutes=after["minutes"], on=after["on_date"], today=org_today(session, actor.org_id))
    if "program_code" in changes or "on_date" in changes:
        entry.enrolment_id = _enrolment_for(
            session, actor, patient, after["program_code"], after["on_date"]
        ).id
    if "minutes" in changes or "on_date" in changes:
        staff = session.get(User, entry.staff_user_id) if entry.staff_user_id else None
        _check_day(session, staff, entry.staff_name, after["on_date"], after["minutes"], without=entry.id)
    for field, value in after.items():
        setattr(entry, field, value)
    entry.edits.append(
        TimeEntryEdit(
            action="edit", changes=changes, reason=why, at=now(), actor=actor.label, user_id=actor.user_id
        )
    )
    session.flush()
    audit_patient_row(
        session, actor, patient.uuid, entry, "time-edit", f"{_changes_text(changes)}; reason: {why}"
    )
    return entry


def entry_delete(*, session: Session, actor: Actor, entry_uuid: str, reason: str) -> TimeEntry:
    """Take an entry out of the totals, with the reason; the row stays (deleted), with its trail."""
    entry, patient = _entry(session, actor, entry_uuid)
    why = _reason(reason, "deleted")
    entry.deleted_at = now()
    entry.deleted_reason = why
    entry.edits.append(
        TimeEntryEdit(
            action="delete",
            changes={"minutes": [entry.minutes, 0]},
            reason=why,
            at=entry.deleted_at,
            actor=actor.label,
            user_id=actor.user_id,
        )
    )
    session.flush()
    detail = f"{entry.minutes} min {entry.program_code} on {entry.on_date.isoformat()}; reason: {why}"
    audit_patient_row(session, actor, patient.uuid, entry, "time-delete", detail)
    return entry


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _changes_text(changes: dict[str, list[Any]]) -> str:
    return "; ".join(f"{field}: {before} -> {after}" for field, (before, after) in changes.items())


# --- Reads -----------------------------------------------------------------------------------------------


def entries_of_month(
    *, session: Session, actor: Actor, patient_uuid: str, month: Month, deleted: bool = True
) -> list[TimeEntry]:
    """The patient's entries of ``month``, newest day first (deleted ones too unless ``deleted`` is False)."""
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    query = select(TimeEntry).where(
        TimeEntry.patient_id == patient.id, TimeEntry.on_date >= month.first, TimeEntry.on_date <= month.last
    )
    if not deleted:
        query = query.where(TimeEntry.deleted_at.is_(None))
    return list(session.scalars(query.order_by(TimeEntry.on_date.desc(), TimeEntry.id.desc())))


@dataclass(frozen=True)
class ProgramMonth:
    """One program's month for one patient: the minutes by role and what they bill."""

    program: str
    name: str
    progress: ProgramProgress
    entries: int
    enrolled: bool

    @property
    def billable_text(self) -> str:
        return codes_text(self.progress.billable)


def _minutes_by_program(
    session: Session, patient_ids: Sequence[int], month: Month
) -> dict[tuple[int, str], dict[StaffRole, int]]:
    if not patient_ids:
        return {}
    rows = session.execute(
        select(
            TimeEntry.patient_id, TimeEntry.program_code, TimeEntry.staff_role, func.sum(TimeEntry.minutes)
        )
        .where(
            TimeEntry.patient_id.in_(patient_ids),
            TimeEntry.deleted_at.is_(None),
            TimeEntry.on_date >= month.first,
            TimeEntry.on_date <= month.last,
        )
        .group_by(TimeEntry.patient_id, TimeEntry.program_code, TimeEntry.staff_role)
    )
    out: dict[tuple[int, str], dict[StaffRole, int]] = defaultdict(dict)
    for patient_id, program, role, minutes in rows:
        out[(patient_id, program)][StaffRole(role)] = int(minutes or 0)
    return out


def monthly_totals(
    *,
    session: Session,
    actor: Actor,
    patient_uuid: str,
    month: Month,
    codes: BillingCodes | None = None,
    names: dict[str, str] | None = None,
) -> list[ProgramMonth]:
    """The patient's month per program — every program they were enrolled in during the month and every
    program with time — with the minutes by role and the progress against the program's billing codes."""
    codes = codes or default_codes()
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    enrolled = {e.program_code for e in enrolments_in_month(session, patient, month)}
    minutes = _minutes_by_program(session, [patient.id], month)
    counts = dict(
        session.execute(
            select(TimeEntry.program_code, func.count())
            .where(
                TimeEntry.patient_id == patient.id,
                TimeEntry.deleted_at.is_(None),
                TimeEntry.on_date >= month.first,
                TimeEntry.on_date <= month.last,
            )
            .group_by(TimeEntry.program_code)
        ).all()
    )
    names = program_names(session, actor) if names is None else names
    programs = sorted(enrolled | {program for _, program in minutes})
    return [
        ProgramMonth(
            program=program,
            name=names.get(program, program),
            progress=month_progress(minutes.get((patient.id, program), {}), program, codes),
            entries=int(counts.get(program, 0)),
            enrolled=program in enrolled,
        )
        for program in programs
    ]


def months_with_time(
    *, session: Session, actor: Actor, patient_uuid: str, before: Month, count: int = 6
) -> list[tuple[Month, list[ProgramMonth]]]:
    """The patient's last ``count`` months before ``before`` that have time, newest first, with totals."""
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    days = session.scalars(
        select(TimeEntry.on_date)
        .where(
            TimeEntry.patient_id == patient.id,
            TimeEntry.deleted_at.is_(None),
            TimeEntry.on_date < before.first,
        )
        .order_by(TimeEntry.on_date.desc())
        .limit(2000)
    )
    months = sorted({Month.of(day) for day in days}, reverse=True)[:count]
    names = program_names(session, actor)
    return [
        (m, monthly_totals(session=session, actor=actor, patient_uuid=patient_uuid, month=m, names=names))
        for m in months
    ]


@dataclass(frozen=True)
class CaseloadRow:
    """One patient's program in a month, across the actor's reach (the /time page, the month-end list)."""

    patient: PatientLabel
    program: str
    program_name: str
    progress: ProgramProgress
    your_minutes: int
    near: bool

    @property
    def patient_name(self) -> str:
        return self.patient.name


def time_month(
    *,
    session: Session,
    actor: Actor,
    month: Month,
    within_minutes: int = WITHIN_MINUTES,
    codes: BillingCodes | None = None,
) -> list[CaseloadRow]:
    """Every patient in the actor's reach with time in ``month`` or enrolled during it in a program with
    billing codes, per program: those close to a threshold first (nearest first), then the others by how
    far their next threshold is. Audited as a list of patients."""
    out = _month_rows(session, actor, month, within_minutes, codes)
    audit_patients_listed(
        session=session,
        actor=actor,
        patient_uuids=sorted({row.patient.uuid for row in out}),
        action="time-month-list",
        detail=f"minutes of {month}",
    )
    return out


def _month_rows(
    session: Session,
    actor: Actor,
    month: Month,
    within_minutes: int,
    codes: BillingCodes | None,
    only_near: bool = False,
) -> list[CaseloadRow]:
    codes = codes or default_codes()
    coded = set(codes.programs)
    in_month = and_(
        TimeEntry.on_date >= month.first, TimeEntry.on_date <= month.last, TimeEntry.deleted_at.is_(None)
    )
    rows = session.execute(
        select(
            TimeEntry.patient_id,
            TimeEntry.program_code,
            TimeEntry.staff_role,
            func.sum(TimeEntry.minutes),
            func.sum(TimeEntry.minutes).filter(TimeEntry.staff_user_id == (actor.user_id or -1)),
        )
        .join(Patient, Patient.id == TimeEntry.patient_id)
        .where(patient_scope(actor), in_month)
        .group_by(TimeEntry.patient_id, TimeEntry.program_code, TimeEntry.staff_role)
    ).all()
    minutes: dict[tuple[int, str], dict[StaffRole, int]] = defaultdict(dict)
    yours: dict[tuple[int, str], int] = defaultdict(int)
    for patient_id, program, role, total, own in rows:
        minutes[(patient_id, program)][StaffRole(role)] = int(total or 0)
        yours[(patient_id, program)] += int(own or 0)
    enrolled = session.execute(
        select(ProgramEnrolment.patient_id, ProgramEnrolment.program_code)
        .join(Patient, Patient.id == ProgramEnrolment.patient_id)
        .where(
            patient_scope(actor),
            ProgramEnrolment.program_code.in_(sorted(coded)),
            ProgramEnrolment.enrolled_during(month.first, month.last),
        )
    ).all()
    progressed = []
    for key in set(minutes) | {(p, c) for p, c in enrolled}:
        progress = month_progress(minutes.get(key, {}), key[1], codes)
        near = near_threshold(progress, within_minutes)
        if near or not only_near:
            progressed.append((key, progress, near))
    patients = patient_labels(session, {patient_id for (patient_id, _), _, _ in progressed})
    names = program_names(session, actor)
    out = []
    for (patient_id, program), progress, near in progressed:
        out.append(
            CaseloadRow(
                patient=patients[patient_id],
                program=program,
                program_name=names.get(program, program),
                progress=progress,
                your_minutes=yours.get((patient_id, program), 0),
                near=near,
            )
        )
    out.sort(key=_order)
    return out


def _order(row: CaseloadRow) -> tuple[int, int, str, str]:
    to_next = row.progress.to_next
    return (0 if row.near else 1, to_next if to_next is not None else 10**6, row.patient_name, row.program)


def time_near_threshold(
    *,
    session: Session,
    actor: Actor,
    month: Month,
    within_minutes: int = WITHIN_MINUTES,
    days_left: int = DAYS_LEFT,
    codes: BillingCodes | None = None,
) -> list[CaseloadRow]:
    """Patients of the actor's reach whose next threshold of ``month`` is at most ``within_minutes`` away,
    nearest first — surfaced only near month end: while ``month`` is the current month (the organization's
    day) and at most ``days_left`` days of it remain after today. Empty otherwise. Not audited: the caller
    (the worklist) audits the patients it shows, and only those."""
    left = month_days_left(month, org_today(session, actor.org_id))
    if left is None or left > days_left:
        return []
    return _month_rows(session, actor, month, within_minutes, codes, only_near=True)
