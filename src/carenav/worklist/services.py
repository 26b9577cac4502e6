"""Writes of team pools and of pool work: pools and their members (admins), claiming a pool task, handing a
task off to a person or a pool, releasing a claimed task back to its pool. Each move writes the append-only
trail (``WorkClaim``) and an audit row; services flush, the caller commits.

Reach: a task is reached by whoever reaches its patient (``patient_scope``), by the user it is assigned
to, and by the members of its pool; anyone else gets NotFound, as for a task that does not exist. Only a
pool's members claim its work (Forbidden for a non-member who reaches the task otherwise)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, false, or_, select
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
from carenav.worklist.rules import ClaimAction

POOL_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
WORKING_ROLES = frozenset({"care_manager", "supervisor", "admin"})
"""The roles whose people work tasks (a task is handed off only to one of them)."""
OVERSEEING_ROLES = frozenset({"supervisor", "admin"})


# --- pools ------------------------------------------------------------------------------------------


def pool_create(
    *,
    session: Session,
    actor: Actor,
    key: str,
    name: str,
    roles: Iterable[str] = (),
    disciplines: Iterable[str] = (),
    usernames: Iterable[str] = (),
) -> WorkPool:
    """A team pool of the actor's organization (admins and operators), with its members: every user of
    ``roles``, every user of ``disciplines``, and the users named."""
    if not (actor.sees_whole_organization and actor.kind != "system"):
        raise Forbidden("only an administrator sets up team pools", where="pool")
    key = key.strip().lower()
    if not key or not set(key) <= POOL_KEY_CHARS or len(key) > 40:
        raise InvalidInput(f"{key!r}: a pool key is lower-case letters, digits and dashes", where="pool key")
    if not name.strip():
        raise InvalidInput("name the pool", where="pool name")
    if session.scalar(select(WorkPool.id).where(WorkPool.org_id == actor.org_id, WorkPool.key == key)):
        raise Conflict(f"there is already a pool {key}", where="pool key")
    pool = WorkPool(org_id=actor.org_id, key=key, name=name.strip())
    session.add(pool)
    session.flush()
    for role in roles:
        session.add(WorkPoolMember(pool_id=pool.id, role=role))
    for discipline in disciplines:
        session.add(WorkPoolMember(pool_id=pool.id, discipline=discipline))
    for username in usernames:
        session.add(WorkPoolMember(pool_id=pool.id, user_id=_user(session, actor, username).id))
    session.flush()
    audit_record(
        session=session,
        actor=actor,
        action="pool-create",
        entity_type="WorkPool",
        entity_id=pool.uuid,
        detail=key,
    )
    return pool


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


def _user(session: Session, actor: Actor, username: str) -> User:
    user = session.scalar(
        select(User).where(
            User.org_id == actor.org_id, User.username == username.strip(), User.active.is_(True)
        )
    )
    if user is None:
        raise NotFound(f"no user {username}", where="user")
    return user
