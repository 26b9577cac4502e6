"""Writes of team pools and of pool work: pools, their names and members (administrators and operators set
them up; supervisors see the set-up, ``pools_overview``), claiming a pool task, handing a task off to a
person or a pool, releasing a claimed task back to its pool. Each move writes the append-only trail
(``WorkClaim``) and an audit row; services flush, the caller commits.

Reach: a task is reached by whoever reaches its patient (``patient_scope``), by the user it is assigned
to, and by the members of its pool; anyone else gets NotFound, as for a task that does not exist. Only a
pool's members claim its work (Forbidden for a non-member who reaches the task otherwise)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, func, or_, select
from sqlalchemy.orm import Session

from carenav.access import Actor, patient_scope
from carenav.accounts.models import User
from carenav.audit.services import audit_record
from carenav.clock import now
from carenav.errors import Conflict, Forbidden, InvalidInput, NotFound, RuleViolation
from carenav.patients.models import Patient
from carenav.tasks.models import Task
from carenav.tasks.rules import TaskStatus
from carenav.worklist.models import WorkClaim, WorkPool, WorkPoolMember
from carenav.worklist.rules import (
    WORKING_ROLES,
    ClaimAction,
    PoolMemberKind,
    PoolMemberSpec,
    pool_key_clean,
    pool_member_label,
    pool_member_spec,
    pool_name_clean,
)

OVERSEEING_ROLES = frozenset({"supervisor", "admin"})


# --- pools ------------------------------------------------------------------------------------------


def pool_admin(actor: Actor) -> bool:
    """Who sets up team pools (creates, renames, changes members): administrators and operators."""
    return actor.sees_whole_organization and actor.kind != "system"


def require_pool_admin(actor: Actor) -> None:
    if not pool_admin(actor):
        raise Forbidden("only an administrator sets up team pools", where="pool")


def pool_create(
    *,
    session: Session,
    actor: Actor,
    key: str,
    name: str,
    roles: Iterable[str] = (),
    disciplines: Iterable[str] = (),
    usernames: Iterable[str] = (),
    members: Iterable[PoolMemberSpec] = (),
) -> WorkPool:
    """A team pool of the actor's organization (admins and operators), with its members: every user of
    ``roles``, every user of ``disciplines``, the users named, and ``members``. Every member is checked
    before anything is written; a member named twice is kept once."""
    require_pool_admin(actor)
    key = pool_key_clean(key)
    name = pool_name_clean(name)
    specs = [
        *(pool_member_spec(PoolMemberKind.ROLE, r) for r in roles),
        *(pool_member_spec(PoolMemberKind.DISCIPLINE, d) for d in disciplines),
        *(pool_member_spec(PoolMemberKind.USER, u) for u in usernames),
        *members,
    ]
    specs = list(dict.fromkeys(specs))
    if session.scalar(select(WorkPool.id).where(WorkPool.org_id == actor.org_id, WorkPool.key == key)):
        raise Conflict(f"there is already a pool {key}", where="pool key")
    _name_free(session, actor, name)
    rows = [_member_row(session, actor, spec) for spec in specs]
    pool = WorkPool(org_id=actor.org_id, key=key, name=name)
    session.add(pool)
    session.flush()
    for row in rows:
        row.pool_id = pool.id
        session.add(row)
    session.flush()
    _audit_pool(
        session,
        actor,
        pool,
        "pool-create",
        key + (f" ({name}) with {', '.join(str(s) for s in specs)}" if specs else f" ({name})"),
    )
    return pool


def _audit_pool(session: Session, actor: Actor, pool: WorkPool, action: str, detail: str) -> None:
    audit_record(
        session=session,
        actor=actor,
        action=action,
        entity_type="WorkPool",
        entity_id=pool.uuid,
        detail=detail[:2000],
    )


def pool_rename(*, session: Session, actor: Actor, key: str, name: str) -> WorkPool:
    """Give a pool a new name (its key, which hand-offs and addresses use, stays). Audited."""
    require_pool_admin(actor)
    pool = pool_get(session, actor, key.strip().lower())
    new_name = pool_name_clean(name)
    if new_name == pool.name:
        return pool
    _name_free(session, actor, new_name, but=pool.id)
    old_name, pool.name = pool.name, new_name
    session.flush()
    _audit_pool(session, actor, pool, "pool-rename", f"{pool.key}: {old_name} -> {new_name}")
    return pool


def pool_member_add(*, session: Session, actor: Actor, key: str, member: PoolMemberSpec) -> WorkPoolMember:
    """Add a member to a pool: a user (who works tasks), every user of a role, or of a discipline."""
    require_pool_admin(actor)
    pool = pool_get(session, actor, key.strip().lower())
    row = _member_row(session, actor, member)
    if _member_existing(session, pool, row) is not None:
        raise Conflict(f"{member} is already a member of pool {pool.key}", where="pool member")
    row.pool_id = pool.id
    session.add(row)
    session.flush()
    _audit_pool(session, actor, pool, "pool-member-add", f"{pool.key}: {member}")
    return row


def pool_member_remove(*, session: Session, actor: Actor, key: str, member: PoolMemberSpec) -> None:
    """Take a member out of a pool. The tasks a removed user has claimed stay theirs (they release or hand
    them off). The last member may not go while work waits in the pool: nobody could claim it."""
    require_pool_admin(actor)
    pool = pool_get(session, actor, key.strip().lower())
    row = _member_existing(session, pool, _member_row(session, actor, member, to_remove=True))
    if row is None:
        raise NotFound(f"{member} is not a member of pool {pool.key}", where="pool member")
    others = session.scalar(
        select(func.count()).where(WorkPoolMember.pool_id == pool.id, WorkPoolMember.id != row.id)
    )
    waiting = session.scalar(
        select(func.count()).where(
            Task.pool_id == pool.id,
            Task.status == TaskStatus.OPEN.value,
            Task.assigned_user_id.is_(None),
        )
    )
    if not others and waiting:
        raise RuleViolation(
            f"{member} is the last member of pool {pool.key} and {waiting} task(s) wait there: nobody could "
            "claim them; add another member first",
            where="pool member",
        )
    session.delete(row)
    session.flush()
    _audit_pool(session, actor, pool, "pool-member-remove", f"{pool.key}: {member}")


@dataclass(frozen=True)
class PoolMemberView:
    """A member of a pool as shown: what it is (``spec``) and how it reads (``label``)."""

    spec: PoolMemberSpec
    label: str


@dataclass(frozen=True)
class PoolOverview:
    """A pool with its members and its open work: waiting (unclaimed) and claimed tasks."""

    pool: WorkPool
    members: list[PoolMemberView]
    waiting: int
    claimed: int


def pools_overview(*, session: Session, actor: Actor) -> list[PoolOverview]:
    """Every pool of the organization, by name, with its members and open work (supervisors,
    administrators and operators; Forbidden for others)."""
    if not (pool_admin(actor) or actor.role in OVERSEEING_ROLES):
        raise Forbidden("only supervisors and administrators see how team pools are set up", where="pool")
    pools = list(
        session.scalars(select(WorkPool).where(WorkPool.org_id == actor.org_id).order_by(WorkPool.name))
    )
    ids = [p.id for p in pools]
    members: dict[int, list[PoolMemberView]] = {p.id: [] for p in pools}
    rows = session.execute(
        select(WorkPoolMember, User.username, User.display_name)
        .outerjoin(User, User.id == WorkPoolMember.user_id)
        .where(WorkPoolMember.pool_id.in_(ids))
        .order_by(WorkPoolMember.id)
    ).all()
    for row, username, display in rows:
        members[row.pool_id].append(_member_view(row, username, display))
    counts: dict[tuple[int, bool], int] = {}
    claimed = Task.assigned_user_id.is_not(None)
    for pool_id, is_claimed, n in session.execute(
        select(Task.pool_id, claimed, func.count())
        .where(Task.pool_id.in_(ids), Task.status == TaskStatus.OPEN.value)
        .group_by(Task.pool_id, claimed)
    ):
        if pool_id is not None:
            counts[(pool_id, bool(is_claimed))] = n
    return [
        PoolOverview(p, members[p.id], counts.get((p.id, False), 0), counts.get((p.id, True), 0))
        for p in pools
    ]


def _member_view(row: WorkPoolMember, username: str | None, display: str | None) -> PoolMemberView:
    if row.user_id is not None:
        spec = PoolMemberSpec(PoolMemberKind.USER, username or "?")
    elif row.role is not None:
        spec = PoolMemberSpec(PoolMemberKind.ROLE, row.role)
    else:
        spec = PoolMemberSpec(PoolMemberKind.DISCIPLINE, row.discipline or "?")
    return PoolMemberView(spec, pool_member_label(spec, display))


def _name_free(session: Session, actor: Actor, name: str, but: int | None = None) -> None:
    """No other pool of the organization goes by this name (whatever the case): hand-offs list pools by
    name."""
    query = select(WorkPool.key).where(
        WorkPool.org_id == actor.org_id, func.lower(WorkPool.name) == name.lower()
    )
    if but is not None:
        query = query.where(WorkPool.id != but)
    taken = session.scalar(query)
    if taken is not None:
        raise Conflict(f"pool {taken} is already named {name!r}", where="pool name")


def _member_row(
    session: Session, actor: Actor, spec: PoolMemberSpec, *, to_remove: bool = False
) -> WorkPoolMember:
    """The (unsaved) member row a spec names; a user must be of the organization, and, to be added, active
    and working tasks."""
    if spec.kind is PoolMemberKind.ROLE:
        return WorkPoolMember(role=spec.value)
    if spec.kind is PoolMemberKind.DISCIPLINE:
        return WorkPoolMember(discipline=spec.value)
    if to_remove:
        user = session.scalar(
            select(User).where(User.org_id == actor.org_id, User.username == spec.value.strip())
        )
        if user is None:
            raise NotFound(f"no user {spec.value}", where="pool member")
    else:
        user = _user(session, actor, spec.value, where="pool member")
        if user.role not in WORKING_ROLES:
            raise InvalidInput(f"{user.username} does not work tasks ({user.role})", where="pool member")
    return WorkPoolMember(user_id=user.id)


def _member_existing(session: Session, pool: WorkPool, row: WorkPoolMember) -> WorkPoolMember | None:
    query = select(WorkPoolMember).where(WorkPoolMember.pool_id == pool.id)
    if row.user_id is not None:
        query = query.where(WorkPoolMember.user_id == row.user_id)
    elif row.role is not None:
        query = query.where(WorkPoolMember.role == row.role)
    else:
        query = query.where(WorkPoolMember.discipline == row.discipline)
    return session.scalars(query.order_by(WorkPoolMember.id)).first()


def pool_get(session: Session, actor: Actor, key: str) -> WorkPool:
    """The pool of the actor's organization with this key; NotFound otherwise."""
    pool = session.scalar(select(WorkPool).where(WorkPool.org_id == actor.org_id, WorkPool.key == key))
    if pool is None:
        raise NotFound(f"no pool {key}", where="pool")
    return pool


def pools_of_actor(actor: Actor) -> ColumnElement[bool]:
    """SQL condition on ``WorkPool.id``: the pools the actor is a member of (by user, role or discipline)."""
    if actor.user_id is None:
        return false()
    discipline = select(User.discipline).where(User.id == actor.user_id).scalar_subquery()
    members = select(WorkPoolMember.pool_id).where(
        or_(
            WorkPoolMember.user_id == actor.user_id,
            WorkPoolMember.role == actor.role,
            WorkPoolMember.discipline == discipline,
        )
    )
    return WorkPool.id.in_(members)


def pool_member(session: Session, actor: Actor, pool: WorkPool) -> bool:
    return (
        pool.org_id == actor.org_id
        and session.scalar(select(WorkPool.id).where(WorkPool.id == pool.id, pools_of_actor(actor)))
        is not None
    )


# --- pool work --------------------------------------------------------------------------------------


def task_scope(actor: Actor) -> ColumnElement[bool]:
    """SQL condition on ``Task`` (joined to ``Patient``) for the tasks the actor reaches."""
    member_pools = select(WorkPool.id).where(WorkPool.org_id == actor.org_id, pools_of_actor(actor))
    mine = Task.assigned_user_id == actor.user_id if actor.user_id is not None else false()
    return (Task.org_id == actor.org_id) & or_(patient_scope(actor), mine, Task.pool_id.in_(member_pools))


def task_in_reach(session: Session, actor: Actor, task_uuid: str) -> tuple[Task, Patient]:
    row = session.execute(
        select(Task, Patient)
        .join(Patient, Patient.id == Task.patient_id)
        .where(Task.uuid == task_uuid, task_scope(actor))
    ).first()
    if row is None:
        raise NotFound(f"no task {task_uuid}", where="Task")
    return row[0], row[1]


def _open(task: Task) -> None:
    if task.status != TaskStatus.OPEN.value:
        raise RuleViolation(f"the task is {task.status}", where="task")


def _trail(
    session: Session,
    actor: Actor,
    task: Task,
    patient: Patient,
    action: ClaimAction,
    *,
    from_: tuple[int | None, int | None],
    to: tuple[int | None, int | None],
    note: str | None,
    detail: str,
) -> WorkClaim:
    claim = WorkClaim(
        org_id=task.org_id,
        task_id=task.id,
        action=action.value,
        from_user_id=from_[0],
        from_pool_id=from_[1],
        to_user_id=to[0],
        to_pool_id=to[1],
        by=actor.label,
        by_user_id=actor.user_id,
        at=now(),
        note=note,
    )
    session.add(claim)
    session.flush()
    audit_record(
        session=session,
        actor=actor,
        action=f"task-{action.value}",
        patient_uuid=patient.uuid,
        entity_type="Task",
        entity_id=task.uuid,
        detail=detail + (f": {note}" if note else ""),
    )
    return claim


def task_claim(*, session: Session, actor: Actor, task_uuid: str, note: str | None = None) -> Task:
    """Take an unclaimed pool task as one's own (members of its pool only)."""
    task, patient = task_in_reach(session, actor, task_uuid)
    _open(task)
    if task.pool_id is None:
        raise RuleViolation("the task is in no pool", where="task")
    pool = session.get_one(WorkPool, task.pool_id)
    if not pool_member(session, actor, pool):
        raise Forbidden(f"only members of {pool.name} claim its work", where="pool")
    if task.assigned_user_id is not None:
        if task.assigned_user_id == actor.user_id:
            raise RuleViolation("you have already claimed the task", where="task")
        raise Conflict("someone has already claimed the task", where="task")
    task.assigned_user_id = actor.user_id
    _trail(
        session, actor, task, patient, ClaimAction.CLAIMED,
        from_=(None, pool.id), to=(actor.user_id, None), note=_note(note), detail=f"from pool {pool.key}",
    )  # fmt: skip
    return task


def task_release(*, session: Session, actor: Actor, task_uuid: str, note: str | None = None) -> Task:
    """Give a claimed pool task back to its pool (the claimant, a supervisor or an administrator)."""
    task, patient = task_in_reach(session, actor, task_uuid)
    _open(task)
    if task.pool_id is None or task.assigned_user_id is None:
        raise RuleViolation("the task is not claimed pool work", where="task")
    if task.assigned_user_id != actor.user_id and actor.role not in OVERSEEING_ROLES:
        raise Forbidden("only who claimed the task releases it", where="task")
    pool = session.get_one(WorkPool, task.pool_id)
    holder = task.assigned_user_id
    task.assigned_user_id = None
    _trail(
        session, actor, task, patient, ClaimAction.RELEASED,
        from_=(holder, None), to=(None, pool.id), note=_note(note), detail=f"back to pool {pool.key}",
    )  # fmt: skip
    return task


def task_hand_off(
    *,
    session: Session,
    actor: Actor,
    task_uuid: str,
    note: str,
    to_username: str | None = None,
    to_pool_key: str | None = None,
) -> Task:
    """Hand a task to a person (their queue) or to a pool (unclaimed in its queue); a note is required."""
    if (to_username is None) == (to_pool_key is None):
        raise InvalidInput("hand the task to one person or one pool", where="hand off to")
    text = _note(note)
    if text is None:
        raise InvalidInput("say why the task is handed off", where="hand-off note")
    task, patient = task_in_reach(session, actor, task_uuid)
    _open(task)
    before = (task.assigned_user_id, task.pool_id)
    target: tuple[int | None, int | None]
    if to_username is not None:
        user = _user(session, actor, to_username)
        if user.role not in WORKING_ROLES:
            raise InvalidInput(f"{user.username} does not work tasks", where="hand off to")
        if task.assigned_user_id == user.id:
            raise RuleViolation(f"the task is already {user.username}'s", where="hand off to")
        task.assigned_user_id, task.pool_id = user.id, None
        target, detail = (user.id, None), f"to {user.username}"
    else:
        pool = pool_get(session, actor, (to_pool_key or "").strip())
        if task.pool_id == pool.id and task.assigned_user_id is None:
            raise RuleViolation(f"the task is already in pool {pool.key}", where="hand off to")
        task.assigned_user_id, task.pool_id = None, pool.id
        target, detail = (None, pool.id), f"to pool {pool.key}"
    _trail(
        session,
        actor,
        task,
        patient,
        ClaimAction.HANDED_OFF,
        from_=before,
        to=target,
        note=text,
        detail=detail,
    )
    return task


def task_trail(session: Session, actor: Actor, task_uuid: str) -> list[WorkClaim]:
    """The task's trail of claims and hand-offs, oldest first."""
    task, _ = task_in_reach(session, actor, task_uuid)
    return list(session.scalars(select(WorkClaim).where(WorkClaim.task_id == task.id).order_by(WorkClaim.id)))


def _note(note: str | None) -> str | None:
    return (note or "").strip() or None


def _user(session: Session, actor: Actor, username: str, where: str = "user") -> User:
    user = session.scalar(
        select(User).where(
            User.org_id == actor.org_id, User.username == username.strip(), User.active.is_(True)
        )
    )
    if user is None:
        raise NotFound(f"no active user {username}", where=where)
    return user
