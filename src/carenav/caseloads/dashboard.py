"""The supervisor dashboard: one team's (or the whole organization's) figures for one month.

Every figure is defined here once (``FIGURES``, shown on the page and in ``docs/caseloads.md``). The
patients counted are the team's: those on the active caseload (a care-manager membership) of an active care
manager or supervisor of the team, today — or, narrowed to one of them (``care_manager``), that person's
caseload. The month's days are taken in the organization's time zone; "as of" is the month's last day, or
today while the month runs.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.accounts.models import Team, User
from carenav.accounts.queries import org_today, org_zone
from carenav.careplans.models import Goal
from carenav.caseloads.services import (
    CaseloadRow,
    caseload_rows,
    require_supervisor,
    team_member_resolve,
    team_resolve_for,
    team_users,
)
from carenav.outreach.models import Contact, FollowUp, FollowUpStatus
from carenav.outreach.rules import Outcome
from carenav.patients.models import CareTeamMember
from carenav.patients.rules import CareTeamRole
from carenav.programs.models import ProgramEnrolment
from carenav.programs.rules import EnrolmentState
from carenav.timekeeping.models import TimeEntry
from carenav.timekeeping.rules import BillingCodes, Month, default_codes
from carenav.transitions.models import TransitionEpisode, TransitionTask
from carenav.transitions.rules import TaskKind, TaskStatus

FIGURES: dict[str, str] = {
    "caseload": "Patients on each care manager's caseload now, by risk tier, with the acuity-weighted load "
    "(capacity.toml) against capacity.",
    "overdue": "Open items past due as of the day: scheduled follow-ups and open transition tasks whose due "
    "day is before it.",
    "queue_age_days": "Days since the due day of the oldest overdue item (0 when none is overdue).",
    "overdue_by_care_manager": "The overdue items and queue age of the patients on each care manager's "
    "caseload (a patient on two caseloads counts for both).",
    "first_contact_enrolees_days": "For patients enrolled in a program during the month: mean days from "
    "enrolment to the first reached contact on or after it (those not yet reached are counted apart).",
    "first_contact_discharges_days": "For discharges (transition episodes) during the month: mean days from "
    "the discharge to the first reached contact after it (those not yet reached are counted apart).",
    "contact_rate": "Contacts of the month with outcome reached, over all contacts logged in the month.",
    "transition_contact_rate": "Interactive-contact tasks (due 2 business days after discharge, "
    "carenav.workdays) due during the month and done on time, over those due that were not cancelled and "
    "are no longer open before their deadline.",
    "minutes": "Per program: patients with time in the month, and those whose minutes (of the roles the "
    "program's first billing code counts) reach its first threshold.",
    "enrolment": "Per program: patients enrolled now, and those enrolled during the month.",
    "goals_achieved": "Care-plan goals whose achievement became 'achieved' during the month.",
    "readmissions": "Discharges of the month followed by a readmission within 30 days, over the month's "
    "discharges.",
}


@dataclass(frozen=True)
class Ratio:
    numerator: int
    denominator: int

    @property
    def rate(self) -> float | None:
        return round(self.numerator / self.denominator, 3) if self.denominator else None

    @property
    def percent(self) -> str:
        return "—" if self.rate is None else f"{self.rate * 100:.0f}%"


@dataclass(frozen=True)
class FirstContact:
    count: int
    reached: int
    mean_days: float | None


@dataclass(frozen=True)
class ProgramMinutes:
    program: str
    threshold: int
    with_time: int
    at_threshold: int


@dataclass(frozen=True)
class CareManagerOverdue:
    username: str
    overdue: int
    queue_age_days: int


@dataclass
class Dashboard:
    team: Team | None
    month: Month
    as_of: date
    caseloads: list[CaseloadRow]
    care_manager: User | None = None
    """The one care manager the figures are narrowed to (None: the whole team)."""
    team_members: list[User] = field(default_factory=list)
    """The team's care managers and supervisors (whom the figures may be narrowed to)."""
    overdue: int = 0
    queue_age_days: int = 0
    overdue_by_care_manager: list[CareManagerOverdue] = field(default_factory=list)
    first_contact_enrolees: FirstContact = field(default_factory=lambda: FirstContact(0, 0, None))
    first_contact_discharges: FirstContact = field(default_factory=lambda: FirstContact(0, 0, None))
    contact_rate: Ratio = field(default_factory=lambda: Ratio(0, 0))
    transition_contact_rate: Ratio = field(default_factory=lambda: Ratio(0, 0))
    minutes: list[ProgramMinutes] = field(default_factory=list)
    enrolment: dict[str, tuple[int, int]] = field(default_factory=dict)
    goals_achieved: int = 0
    readmissions: Ratio = field(default_factory=lambda: Ratio(0, 0))

    def csv_rows(self) -> list[tuple[str, str, Any]]:
        """(figure, detail, value) rows for the CSV export."""
        rows: list[tuple[str, str, Any]] = []
        for row in self.caseloads:
            rows.append(("caseload_size", row.user.username, row.size))
            rows.append(("caseload_weighted_load", row.user.username, row.weighted_load))
            rows.append(("caseload_capacity", row.user.username, row.capacity))
            for tier, n in sorted(row.tiers.items(), key=lambda t: (t[0] is None, t[0] or 0)):
                rows.append(("caseload_tier", f"{row.user.username} tier {tier or 'none'}", n))
        rows.append(("overdue", "", self.overdue))
        rows.append(("queue_age_days", "", self.queue_age_days))
        for cm in self.overdue_by_care_manager:
            rows.append(("overdue_by_care_manager", cm.username, cm.overdue))
            rows.append(("queue_age_days_by_care_manager", cm.username, cm.queue_age_days))
        for name, fc in (
            ("enrolees", self.first_contact_enrolees),
            ("discharges", self.first_contact_discharges),
        ):
            rows.append((f"first_contact_{name}_count", "", fc.count))
            rows.append((f"first_contact_{name}_reached", "", fc.reached))
            rows.append((f"first_contact_{name}_mean_days", "", fc.mean_days))
        for name, ratio in (
            ("contact_rate", self.contact_rate),
            ("transition_contact_rate", self.transition_contact_rate),
            ("readmissions_30_day", self.readmissions),
        ):
            rows.append((name, f"{ratio.numerator}/{ratio.denominator}", ratio.rate))
        for m in self.minutes:
            rows.append(("minutes_with_time", m.program, m.with_time))
            rows.append(("minutes_at_threshold", f"{m.program} >= {m.threshold}", m.at_threshold))
        for program, (now_enrolled, new) in sorted(self.enrolment.items()):
            rows.append(("enrolled", program, now_enrolled))
            rows.append(("enrolled_in_month", program, new))
        rows.append(("goals_achieved", "", self.goals_achieved))
        return rows


def _team_patients(actor: Actor, user_ids: list[int]) -> Select[Any]:
    return (
        select(CareTeamMember.patient_id)
        .where(
            CareTeamMember.user_id.in_(user_ids),
            CareTeamMember.role == CareTeamRole.CARE_MANAGER.value,
            CareTeamMember.active.is_(True),
            CareTeamMember.org_id == actor.org_id,
        )
        .distinct()
    )


def _overdue_by_care_manager(
    session: Session, actor: Actor, users: list[User], overdue: list[Any], as_of: date
) -> list[CareManagerOverdue]:
    """Each user's overdue items (``overdue``: (patient id, due day) rows) and queue age, in ``users``'
    order."""
    carriers: dict[int, set[int]] = defaultdict(set)
    if overdue:
        for patient_id, user_id in session.execute(
            select(CareTeamMember.patient_id, CareTeamMember.user_id).where(
                CareTeamMember.user_id.in_([u.id for u in users]),
                CareTeamMember.role == CareTeamRole.CARE_MANAGER.value,
                CareTeamMember.active.is_(True),
                CareTeamMember.org_id == actor.org_id,
            )
        ):
            if user_id is not None:
                carriers[patient_id].add(user_id)
    out = []
    for user in users:
        due = [on for patient_id, on in overdue if user.id in carriers[patient_id]]
        out.append(CareManagerOverdue(user.username, len(due), (as_of - min(due)).days if due else 0))
    return out


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def dashboard(
    *,
    session: Session,
    actor: Actor,
    team: str | int | None,
    month: Month,
    codes: BillingCodes | None = None,
    care_manager: str | None = None,
) -> Dashboard:
    """The dashboard's figures (``FIGURES``) for the team (a supervisor: their own) and month; with
    ``care_manager`` (a username of the team), for that person's caseload only."""
    require_supervisor(actor)
    chosen = team_resolve_for(session, actor, team)
    members = team_users(session, actor, chosen)
    narrowed = team_member_resolve(session, actor, chosen, care_manager) if care_manager else None
    users = [narrowed] if narrowed is not None else members
    rows = caseload_rows(session, actor, users)
    today = org_today(session, actor.org_id)
    as_of = min(today, month.last)
    zone = org_zone(session, actor.org_id)
    start = datetime.combine(month.first, time(), zone)
    end = datetime.combine(month.last + timedelta(days=1), time(), zone)
    board = Dashboard(
        team=chosen, month=month, as_of=as_of, caseloads=rows, care_manager=narrowed, team_members=members
    )
    patients = _team_patients(actor, [u.id for u in users])

    # Overdue and queue age, for the whole and per care manager.
    overdue_rows = list(
        session.execute(
            select(FollowUp.patient_id, FollowUp.due_on).where(
                FollowUp.patient_id.in_(patients),
                FollowUp.status == FollowUpStatus.SCHEDULED.value,
                FollowUp.due_on < as_of,
            )
        )
    ) + list(
        session.execute(
            select(TransitionTask.patient_id, TransitionTask.due_on).where(
                TransitionTask.patient_id.in_(patients),
                TransitionTask.status == TaskStatus.OPEN.value,
                TransitionTask.due_on < as_of,
            )
        )
    )
    due = [on for _, on in overdue_rows]
    board.overdue = len(due)
    board.queue_age_days = (as_of - min(due)).days if due else 0
    board.overdue_by_care_manager = _overdue_by_care_manager(session, actor, users, overdue_rows, as_of)

    # Reached contacts of the team's patients, for time to first contact.
    reached: dict[int, list[datetime]] = defaultdict(list)
    for patient_id, at in session.execute(
        select(Contact.patient_id, Contact.at)
        .where(Contact.patient_id.in_(patients), Contact.outcome == Outcome.REACHED.value)
        .order_by(Contact.at)
    ):
        reached[patient_id].append(at)

    enrolled = session.execute(
        select(ProgramEnrolment.patient_id, func.min(ProgramEnrolment.enrolled_on))
        .where(
            ProgramEnrolment.patient_id.in_(patients),
            ProgramEnrolment.enrolled_on >= month.first,
            ProgramEnrolment.enrolled_on <= month.last,
        )
        .group_by(ProgramEnrolment.patient_id)
    )
    waits: list[float] = []
    count = 0
    for patient_id, on in enrolled:
        count += 1
        if on is None:
            continue
        after = [at for at in reached[patient_id] if at.astimezone(zone).date() >= on]
        if after:
            waits.append((after[0].astimezone(zone).date() - on).days)
    board.first_contact_enrolees = FirstContact(count, len(waits), _mean(waits))

    episodes = list(
        session.execute(
            select(
                TransitionEpisode.patient_id, TransitionEpisode.discharged_at, TransitionEpisode.readmitted_at
            ).where(
                TransitionEpisode.patient_id.in_(patients),
                TransitionEpisode.discharged_on >= month.first,
                TransitionEpisode.discharged_on <= month.last,
            )
        )
    )
    waits = []
    for patient_id, discharged_at, _ in episodes:
        after = [at for at in reached[patient_id] if at >= discharged_at]
        if after:
            waits.append(round((after[0] - discharged_at).total_seconds() / 86400, 1))
    board.first_contact_discharges = FirstContact(len(episodes), len(waits), _mean(waits))
    board.readmissions = Ratio(
        sum(
            1
            for _, discharged_at, readmitted_at in episodes
            if readmitted_at is not None and readmitted_at - discharged_at <= timedelta(days=30)
        ),
        len(episodes),
    )

    # Contact rate.
    by_outcome = dict(
        session.execute(
            select(Contact.outcome, func.count())
            .where(Contact.patient_id.in_(patients), Contact.at >= start, Contact.at < end)
            .group_by(Contact.outcome)
        ).all()
    )
    board.contact_rate = Ratio(by_outcome.get(Outcome.REACHED.value, 0), sum(by_outcome.values()))

    # 2-business-day transition contact rate.
    statuses = dict(
        session.execute(
            select(TransitionTask.status, func.count())
            .where(
                TransitionTask.patient_id.in_(patients),
                TransitionTask.kind == TaskKind.INTERACTIVE_CONTACT.value,
                TransitionTask.due_on >= month.first,
                TransitionTask.due_on <= month.last,
            )
            .group_by(TransitionTask.status)
        ).all()
    )
    open_past = session.scalar(
        select(func.count()).where(
            TransitionTask.patient_id.in_(patients),
            TransitionTask.kind == TaskKind.INTERACTIVE_CONTACT.value,
            TransitionTask.status == TaskStatus.OPEN.value,
            TransitionTask.due_on >= month.first,
            TransitionTask.due_on < as_of,
        )
    )
    counted = sum(
        n for s, n in statuses.items() if s in {TaskStatus.DONE, TaskStatus.LATE_DONE, TaskStatus.MISSED}
    )
    board.transition_contact_rate = Ratio(statuses.get(TaskStatus.DONE.value, 0), counted + (open_past or 0))

    # Minutes against thresholds.
    codes = codes or default_codes()
    minutes: dict[tuple[str, str], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for patient_id, program, role, total in session.execute(
        select(
            TimeEntry.patient_id, TimeEntry.program_code, TimeEntry.staff_role, func.sum(TimeEntry.minutes)
        )
        .where(
            TimeEntry.patient_id.in_(patients),
            TimeEntry.deleted_at.is_(None),
            TimeEntry.on_date >= month.first,
            TimeEntry.on_date <= month.last,
        )
        .group_by(TimeEntry.patient_id, TimeEntry.program_code, TimeEntry.staff_role)
    ):
        minutes[(program, role)][patient_id] += int(total or 0)
    for program in sorted({p for p, _ in minutes}):
        family = codes.for_program(program)
        with_time = {pid for (p, _), by in minutes.items() if p == program for pid in by}
        if not family:
            board.minutes.append(ProgramMinutes(program, 0, len(with_time), 0))
            continue
        first = min(family, key=lambda c: c.first_minutes)
        totals: dict[int, int] = defaultdict(int)
        for (p, role), by in minutes.items():
            if p == program and role in {r.value for r in first.counts}:
                for pid, n in by.items():
                    totals[pid] += n
        reaching = sum(1 for n in totals.values() if n >= first.first_minutes)
        board.minutes.append(ProgramMinutes(program, first.first_minutes, len(with_time), reaching))

    # Enrolment per program.
    now_enrolled = dict(
        session.execute(
            select(ProgramEnrolment.program_code, func.count(func.distinct(ProgramEnrolment.patient_id)))
            .where(
                ProgramEnrolment.patient_id.in_(patients),
                ProgramEnrolment.state == EnrolmentState.ENROLLED.value,
            )
            .group_by(ProgramEnrolment.program_code)
        ).all()
    )
    new = dict(
        session.execute(
            select(ProgramEnrolment.program_code, func.count(func.distinct(ProgramEnrolment.patient_id)))
            .where(
                ProgramEnrolment.patient_id.in_(patients),
                ProgramEnrolment.enrolled_on >= month.first,
                ProgramEnrolment.enrolled_on <= month.last,
            )
            .group_by(ProgramEnrolment.program_code)
        ).all()
    )
    board.enrolment = {
        p: (now_enrolled.get(p, 0), new.get(p, 0)) for p in sorted(set(now_enrolled) | set(new))
    }

    # Goals achieved.
    board.goals_achieved = (
        session.scalar(
            select(func.count()).where(
                Goal.patient_id.in_(patients),
                Goal.achievement == "achieved",
                Goal.status_date >= month.first,
                Goal.status_date <= month.last,
            )
        )
        or 0
    )
    return board
