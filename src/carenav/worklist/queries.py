"""Reads of the worklist: every source of work gathered within the actor's reach (and their own assigned
tasks), made into items with their reason, due date, overdue days and actions, ranked by ``rules.rank``;
and a pool's queue."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import and_, or_, select, union_all
from sqlalchemy.orm import Session

from carenav.access import Actor, patient_scope
from carenav.accounts.models import User
from carenav.accounts.queries import org_today, org_zone
from carenav.assessments.models import AssessmentSuggestion
from carenav.audit.services import audit_patients_listed
from carenav.authorizations.services import authorizations_due
from carenav.db.chunks import chunks
from carenav.education.services import education_due
from carenav.errors import InvalidInput, NotFound
from carenav.outreach.models import Contact
from carenav.outreach.rules import Outcome, Party
from carenav.outreach.services import followups_due
from carenav.patients.models import Patient
from carenav.patients.queries import patient_labels
from carenav.programs.models import ProgramEnrolment
from carenav.programs.rules import EnrolmentState
from carenav.referrals.services import referrals_overdue
from carenav.stratification.models import StratificationResult, StratificationRun
from carenav.tasks.models import PatientAlert, Task
from carenav.tasks.rules import TaskPriority, TaskStatus
from carenav.timekeeping.rules import Month
from carenav.timekeeping.services import time_near_threshold
from carenav.transitions.rules import TaskKind, transition_rules
from carenav.transitions.services import transitions_due
from carenav.worklist.models import WorkClaim, WorkPool
from carenav.worklist.rules import Action, ItemKind, Priorities, Ranked, WorkItem, priorities, rank
from carenav.worklist.services import pool_get, pool_member, pools_of_actor


def _days(n: int) -> str:
    return f"{n} day{'' if n == 1 else 's'}"


class _Found(NamedTuple):
    """An item as a source found it: its patient by key (named when the list is finished)."""

    patient_id: int
    kind: ItemKind
    reason: str
    due_on: date | None
    overdue_days: int
    ref: str
    actions: tuple[Action, ...]


class _Items:
    """Items being gathered, each naming its patient by key; the patients' labels and programs (what
    "Start timer" records against) are read for all of them at once when the list is finished."""

    def __init__(self, session: Session, day: date) -> None:
        self.session = session
        self.day = day
        self.items: list[_Found] = []

    def add(
        self,
        kind: ItemKind,
        patient_id: int,
        reason: str,
        *,
        due_on: date | None = None,
        ref: str = "",
        extra: tuple[Action, ...] = (),
    ) -> None:
        overdue = (self.day - due_on).days if due_on is not None and due_on < self.day else 0
        self.items.append(_Found(patient_id, kind, reason, due_on, overdue, ref, extra))

    def patient_ids(self, *kinds: ItemKind) -> set[int]:
        return {item.patient_id for item in self.items if item.kind in kinds}

    def finished(self) -> list[WorkItem]:
        """The items with their patients' labels and the program each patient is enrolled in today
        (what "Start timer" records against), found in one query each."""
        ids = {item.patient_id for item in self.items}
        labels = patient_labels(self.session, ids)
        programs: dict[int, str] = {}
        for chunk in chunks(sorted(ids)):
            rows = self.session.execute(
                select(ProgramEnrolment.patient_id, ProgramEnrolment.program_code)
                .where(
                    ProgramEnrolment.patient_id.in_(chunk),
                    ProgramEnrolment.state == EnrolmentState.ENROLLED.value,
                )
                .order_by(ProgramEnrolment.id.desc())
            )
            programs.update((pid, code) for pid, code in rows)  # newest first: the oldest enrolment wins
        return [
            WorkItem(
                f.kind,
                labels[f.patient_id].uuid,
                labels[f.patient_id].name,
                f.reason,
                f.due_on,
                f.overdue_days,
                f.ref,
                f.actions,
                programs.get(f.patient_id),
            )
            for f in self.items
        ]


def _with_actions(ranked: Ranked) -> Ranked:
    """The item with every action it offers: log a contact, start the timer (when the patient is enrolled
    in a program), open the plan, then its own (whose address may name the patient as ``{patient}``).
    Made for the items shown only: a list holds hundreds."""
    item = ranked.item
    base = f"/patients/{item.patient_uuid}"
    actions = (
        Action("log-contact", "Log contact", f"{base}#outreach"),
        *((Action("start-timer", "Start timer", f"{base}/timer/start", "post"),) if item.program else ()),
        Action("open-plan", "Open plan", f"{base}#careplans"),
        *(replace(a, url=a.url.format(patient=item.patient_uuid)) for a in item.actions),
    )
    return replace(ranked, item=replace(item, actions=actions))


def _task_actions(
    task_uuid: str, pool_id: int | None, assigned_user_id: int | None, actor: Actor
) -> tuple[Action, ...]:
    out = [Action("hand-off", "Hand off", f"/worklist/tasks/{task_uuid}/hand-off", "post")]
    if pool_id is not None and assigned_user_id == actor.user_id:
        out.append(Action("release", "Release to pool", f"/worklist/tasks/{task_uuid}/release", "post"))
    return tuple(out)


def worklist_items(
    session: Session, actor: Actor, on: date | None = None, p: Priorities | None = None
) -> list[WorkItem]:
    """Every item of the actor's worklist, unranked (see ``worklist_for``)."""
    p = p or priorities()
    day = on or org_today(session, actor.org_id)
    got = _Items(session, day)
    scope = patient_scope(actor)
    zone = org_zone(session, actor.org_id)

    # urgent alerts
    alerts = session.execute(
        select(
            PatientAlert.patient_id,
            PatientAlert.kind,
            PatientAlert.text,
            PatientAlert.raised_at,
            PatientAlert.uuid,
        )
        .join(Patient, Patient.id == PatientAlert.patient_id)
        .where(scope, PatientAlert.cleared_at.is_(None))
        .order_by(PatientAlert.id)
    )
    for patient_id, kind, text, raised_at, uuid in alerts:
        got.add(
            ItemKind.ALERT,
            patient_id,
            f"Alert ({kind}): {text}",
            due_on=raised_at.astimezone(zone).date(),
            ref=uuid,
        )

    # tasks: their own, the team queue of their patients, urgent or due by today; read as two queries
    # joined (each on its own index) rather than one with "mine OR in the team queue", which PostgreSQL
    # answered by reading every open task
    columns = (
        Task.patient_id,
        Task.uuid,
        Task.title,
        Task.reason,
        Task.priority,
        Task.due_on,
        Task.assigned_user_id,
        Task.pool_id,
        Task.id,
    )
    pressing = and_(
        Task.org_id == actor.org_id,
        Task.status == TaskStatus.OPEN.value,
        or_(Task.priority == TaskPriority.URGENT.value, Task.due_on <= day),
    )
    team_queue = (
        select(*columns)
        .join(Patient, Patient.id == Task.patient_id)
        .where(pressing, scope, Task.assigned_user_id.is_(None), Task.pool_id.is_(None))
    )
    both = (
        union_all(team_queue, select(*columns).where(pressing, Task.assigned_user_id == actor.user_id))
        if actor.user_id is not None
        else team_queue
    ).subquery()
    tasks = session.execute(select(*(both.c[c.key] for c in columns[:-1])).order_by(both.c.due_on, both.c.id))
    for patient_id, uuid, title, reason, priority, due_on, assigned_user_id, pool_id in tasks:
        urgent = priority == TaskPriority.URGENT.value
        where = "" if assigned_user_id is not None else " (team queue)"
        got.add(
            ItemKind.URGENT_TASK if urgent else ItemKind.TASK,
            patient_id,
            f"{'Urgent task' if urgent else 'Task'}{where}: {title}" + (f" — {reason}" if reason else ""),
            due_on=due_on,
            ref=uuid,
            extra=_task_actions(uuid, pool_id, assigned_user_id, actor),
        )

    # follow-ups overdue and due today
    for due in followups_due(session=session, actor=actor, on=day):
        f = due.followup
        when = f"overdue by {_days(due.overdue_days)}" if due.overdue_days > 0 else "due today"
        got.add(
            ItemKind.FOLLOWUP,
            f.patient_id,
            f"{f.rule_title} {when}",
            due_on=f.due_on,
            ref=f.uuid,
            extra=(Action("reschedule", "Reschedule", f"/followups/{f.uuid}/reschedule", "post"),),
        )

    # transitions: each open episode's soonest deadline
    rules = transition_rules()
    seen_episodes: set[int] = set()
    for due_task in transitions_due(session=session, actor=actor):
        episode, t = due_task.episode, due_task.task
        if episode.id in seen_episodes:
            continue
        seen_episodes.add(episode.id)
        title = rules.task(TaskKind(t.kind)).title
        left = due_task.business_days_left
        when = (
            f"{_days(-left).replace('day', 'business day')} late"
            if left < 0
            else "due today"
            if left == 0
            else f"{_days(left).replace('day', 'business day')} left"
        )
        soon = left <= p.soon_business_days
        got.add(
            ItemKind.TRANSITION_SOON if soon else ItemKind.TRANSITION,
            t.patient_id,
            f"Discharged {episode.discharged_on.isoformat()}: {title} by {t.due_on.isoformat()} ({when})",
            due_on=t.due_on,
            ref=t.uuid,
        )

    # referrals stalled
    for r in referrals_overdue(session=session, actor=actor):
        got.add(
            ItemKind.REFERRAL,
            r.patient_id,
            f"{r.kind.capitalize()} referral to {r.recipient} is {r.status}, expected by "
            f"{r.expected_by.isoformat() if r.expected_by else '?'}",
            due_on=r.expected_by,
            ref=r.uuid,
        )

    # authorizations: deadlines passed or within a few days
    for due_auth in authorizations_due(session=session, actor=actor, within_days=p.authorization_days):
        auth = due_auth.authorization
        got.add(
            ItemKind.AUTHORIZATION,
            auth.patient_id,
            f"{due_auth.deadline.label} of the {auth.service} authorization ({auth.payer_name})"
            f" by {due_auth.deadline.on.isoformat()}",
            due_on=due_auth.deadline.on,
            ref=auth.uuid,
        )

    # positive screens whose suggestions wait for a decision: one item per patient
    waiting = session.execute(
        select(
            AssessmentSuggestion.patient_id,
            AssessmentSuggestion.trigger,
            AssessmentSuggestion.created_at,
            AssessmentSuggestion.uuid,
        )
        .join(Patient, Patient.id == AssessmentSuggestion.patient_id)
        .where(scope, AssessmentSuggestion.status == "suggested")
        .order_by(AssessmentSuggestion.id)
    )
    by_patient: dict[int, list[tuple[str, datetime, str]]] = defaultdict(list)
    for patient_id, trigger, created_at, uuid in waiting:
        by_patient[patient_id].append((trigger, created_at, uuid))
    for patient_id, rows in by_patient.items():
        triggers = ", ".join(dict.fromkeys(trigger for trigger, _, _ in rows))
        got.add(
            ItemKind.SCREEN,
            patient_id,
            f"Positive screen ({triggers}): {len(rows)} suggestion{'' if len(rows) == 1 else 's'}"
            " waiting for a decision",
            due_on=min(created_at for _, created_at, _ in rows).astimezone(zone).date(),
            ref=rows[0][2],
            extra=(Action("open", "Decide", "/patients/{patient}#suggestions"),),
        )

    # education due
    for e in education_due(session=session, actor=actor):
        got.add(ItemKind.EDUCATION, e.patient_id, f"Education due: {e.topic_id}", due_on=e.due_on, ref=e.uuid)

    # high-risk or enrolled patients not engaged (unless a follow-up or a transition asks for a contact)
    contacting = got.patient_ids(ItemKind.FOLLOWUP, ItemKind.TRANSITION, ItemKind.TRANSITION_SOON)
    for patient_id, why in _not_engaged(session, actor, day, p):
        if patient_id not in contacting:
            got.add(ItemKind.NOT_ENGAGED, patient_id, why)

    # near a billing threshold at month end
    month = Month.of(day)
    for row in time_near_threshold(session=session, actor=actor, month=month):
        pr = row.progress
        got.add(
            ItemKind.NEAR_THRESHOLD,
            row.patient.id,
            f"{row.program_name}: {pr.to_next} min to {pr.next_code} this month",
            due_on=month.last,
            extra=(Action("open", "Time", "/patients/{patient}#time"),),
        )
    return got.finished()


def _not_engaged(session: Session, actor: Actor, day: date, p: Priorities) -> list[tuple[int, str]]:
    """Patients (by key) at the high tier of the latest run, or with an open enrolment in
    ``engage_states``, with no reached contact (patient or caregiver) in the last ``engagement_days``
    days; with why."""
    since = day - timedelta(days=p.engagement_days)
    run_id = session.scalar(
        select(StratificationRun.id)
        .where(StratificationRun.org_id == actor.org_id)
        .order_by(StratificationRun.finished_at.desc(), StratificationRun.id.desc())
        .limit(1)
    )
    in_reach = select(Patient.id).where(patient_scope(actor))
    is_high = and_(StratificationResult.run_id == run_id, StratificationResult.tier >= p.high_tier)
    high: dict[int, int | None] = {}
    if run_id is not None:
        high = {
            row[0]: row[1]
            for row in session.execute(
                select(StratificationResult.patient_id, StratificationResult.tier).where(
                    is_high, StratificationResult.patient_id.in_(in_reach)
                )
            )
        }
    enrolled: dict[int, list[str]] = defaultdict(list)
    for pid, code, state in session.execute(
        select(ProgramEnrolment.patient_id, ProgramEnrolment.program_code, ProgramEnrolment.state)
        .where(
            ProgramEnrolment.org_id == actor.org_id,
            ProgramEnrolment.state.in_(sorted(p.engage_states)),
            ProgramEnrolment.patient_id.in_(in_reach),
        )
        .order_by(ProgramEnrolment.id)
    ):
        enrolled[pid].append(f"{code} {state}")
    zone = org_zone(session, actor.org_id)
    start = datetime(since.year, since.month, since.day, tzinfo=zone)
    reached = (
        select(Contact.id)
        .where(
            Contact.patient_id == Patient.id,  # per candidate, on ix_outreach_contacts_patient_at
            Contact.outcome == Outcome.REACHED.value,
            Contact.party.in_([Party.PATIENT.value, Party.CAREGIVER.value]),
            Contact.at >= start,
        )
        .exists()
    )
    rows: list[int] = []
    for ids in chunks(sorted(set(high) | set(enrolled))):  # already within reach
        rows.extend(session.scalars(select(Patient.id).where(Patient.id.in_(ids), ~reached)))
    rows.sort()
    out = []
    for patient_id in rows:
        parts = []
        if patient_id in high:
            parts.append(f"tier {high[patient_id]}")
        parts.extend(enrolled.get(patient_id, []))
        out.append(
            (patient_id, f"Not engaged: {', '.join(parts)}; no reached contact in {p.engagement_days} days")
        )
    return out


PAGE_SIZE = 50
"""Items a worklist page shows at once; the next ones come on asking (``WorklistPage.next_offset``)."""


@dataclass(frozen=True)
class WorklistPage:
    """A stretch of the actor's ranked worklist: ``items`` (of ``kind`` when one is asked, else of every
    kind) from ``offset``, at most ``limit`` of them; ``counts``: how many items of each kind the whole
    worklist holds, and ``total`` all of them."""

    items: list[Ranked]
    kind: ItemKind | None
    counts: dict[ItemKind, int]
    total: int
    matching: int
    offset: int
    limit: int | None

    @property
    def next_offset(self) -> int | None:
        """Where the next stretch starts, or None when this one reaches the end."""
        end = self.offset + len(self.items)
        return end if self.limit is not None and end < self.matching else None


def worklist_for(
    session: Session,
    actor: Actor,
    on: date | None = None,
    *,
    kind: ItemKind | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> WorklistPage:
    """The actor's worklist, ranked, or a stretch of it: each item with its kind, patient, reason, due
    date, overdue days, actions, its position in the whole list and why it stands there. Audited as a list
    of the patients shown — those of the stretch returned, not of the whole list."""
    if offset < 0 or (limit is not None and limit < 1):
        raise InvalidInput("a worklist page starts at 0 or later and shows at least one item", where="page")
    ranked = rank(worklist_items(session, actor, on))
    counts: dict[ItemKind, int] = defaultdict(int)
    for r in ranked:
        counts[r.item.kind] += 1
    matching = [r for r in ranked if kind is None or r.item.kind == kind]
    shown = [
        _with_actions(r) for r in (matching[offset:] if limit is None else matching[offset : offset + limit])
    ]
    audit_patients_listed(
        session=session,
        actor=actor,
        patient_uuids=list(dict.fromkeys(r.item.patient_uuid for r in shown)),
        action="list",
        detail="worklist",
    )
    return WorklistPage(shown, kind, dict(counts), len(ranked), len(matching), offset, limit)


# --- pools ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PoolTask:
    task: Task
    patient_uuid: str
    patient_name: str
    claimed_by: str | None
    overdue_days: int


@dataclass(frozen=True)
class TrailRow:
    claim: WorkClaim
    task_title: str
    text: str


@dataclass(frozen=True)
class PoolQueue:
    pool: WorkPool
    member: bool
    unclaimed: list[PoolTask]
    claimed: list[PoolTask]
    trail: list[TrailRow]


def pools_for(session: Session, actor: Actor) -> list[WorkPool]:
    """The pools the actor belongs to (every pool of the organization for supervisors and admins)."""
    condition = WorkPool.org_id == actor.org_id
    if actor.role not in {"supervisor", "admin"}:
        condition = and_(condition, pools_of_actor(actor))
    return list(session.scalars(select(WorkPool).where(condition).order_by(WorkPool.name)))


def pool_queue(session: Session, actor: Actor, pool_key: str, trail_rows: int = 50) -> PoolQueue:
    """A pool's open tasks (unclaimed first, urgent then by due date), who claimed the others, and the
    latest rows of its trail. Members, supervisors and admins of its organization see it; NotFound
    otherwise."""
    pool = pool_get(session, actor, pool_key)
    member = pool_member(session, actor, pool)
    if not member and actor.role not in {"supervisor", "admin"}:
        raise NotFound(f"no pool {pool_key}", where="pool")
    day = org_today(session, actor.org_id)
    urgent_first = (Task.priority != TaskPriority.URGENT.value).asc()
    rows = session.execute(
        select(Task, Patient, User.display_name)
        .join(Patient, Patient.id == Task.patient_id)
        .outerjoin(User, User.id == Task.assigned_user_id)
        .where(Task.pool_id == pool.id, Task.status == TaskStatus.OPEN.value)
        .order_by(urgent_first, Task.due_on, Task.id)
    ).all()
    tasks = [
        PoolTask(task, patient.uuid, patient.name_shown, who, max((day - task.due_on).days, 0))
        for task, patient, who in rows
    ]
    users = select(User.id, User.display_name).where(User.org_id == actor.org_id)
    names = {row[0]: row[1] for row in session.execute(users)}
    pool_rows = select(WorkPool.id, WorkPool.name).where(WorkPool.org_id == actor.org_id)
    pools = {row[0]: row[1] for row in session.execute(pool_rows)}
    claims = session.execute(
        select(WorkClaim, Task.title)
        .join(Task, Task.id == WorkClaim.task_id)
        .where(or_(WorkClaim.from_pool_id == pool.id, WorkClaim.to_pool_id == pool.id))
        .order_by(WorkClaim.id.desc())
        .limit(trail_rows)
    ).all()

    def party(user_id: int | None, pool_id: int | None) -> str:
        if user_id is not None:
            return names.get(user_id, "a user")
        if pool_id is not None:
            return f"pool {pools.get(pool_id, '?')}"
        return "nobody"

    trail = [
        TrailRow(
            c,
            title,
            f"{c.by} {c.action} from {party(c.from_user_id, c.from_pool_id)}"
            f" to {party(c.to_user_id, c.to_pool_id)}" + (f": {c.note}" if c.note else ""),
        )
        for c, title in claims
    ]
    return PoolQueue(
        pool,
        member,
        [t for t in tasks if t.claimed_by is None],
        [t for t in tasks if t.claimed_by is not None],
        trail,
    )


def hand_off_targets(session: Session, actor: Actor) -> tuple[list[User], list[WorkPool]]:
    """Whom a task may be handed to: the active working users of the organization, and its pools."""
    users = session.scalars(
        select(User)
        .where(
            User.org_id == actor.org_id,
            User.active.is_(True),
            User.role.in_(["care_manager", "supervisor", "admin"]),
        )
        .order_by(User.display_name, User.id)
    ).all()
    pools = session.scalars(
        select(WorkPool).where(WorkPool.org_id == actor.org_id).order_by(WorkPool.name)
    ).all()
    return list(users), list(pools)
