"""The tasks of transitions of care as a source of FHIR Tasks (``fhir/tasks.py``): a search's statuses and
codes as SQL on ``transition_tasks``, loading rows by key, and the read through the patient gate (audited).

The Task status of a row depends on the day (an open task past its deadline is ``failed``) and on whether
an attempt was logged (``in-progress``): the SQL here says the same as ``mappers.transition_task``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, false, or_, select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.audit.services import audit_patient_row
from carenav.clock import today
from carenav.fhir.mappers.transition_task import TCM_TASK_SYSTEM
from carenav.patients.clinical_queries import CodeMatch
from carenav.transitions.models import TransitionAttempt, TransitionTask
from carenav.transitions.rules import TaskKind, TaskStatus
from carenav.transitions.services import transition_task_in_reach


def _status_condition(task_status: str) -> ColumnElement[bool]:
    on = today()
    attempted = select(TransitionAttempt.id).where(TransitionAttempt.task_id == TransitionTask.id).exists()
    still_due = and_(TransitionTask.status == TaskStatus.OPEN.value, TransitionTask.due_on >= on)
    return {
        "ready": and_(still_due, ~attempted),
        "in-progress": and_(still_due, attempted),
        "completed": TransitionTask.status.in_([TaskStatus.DONE.value, TaskStatus.LATE_DONE.value]),
        "failed": or_(
            TransitionTask.status == TaskStatus.MISSED.value,
            and_(TransitionTask.status == TaskStatus.OPEN.value, TransitionTask.due_on < on),
        ),
        "cancelled": TransitionTask.status == TaskStatus.CANCELLED.value,
    }.get(task_status, false())


def transition_task_keys(
    patient_id: int, statuses: Sequence[str], codes: Sequence[CodeMatch]
) -> Select[datetime, int]:
    """The patient's transition tasks as Task keys ``(at, id)`` with one of the Task ``statuses`` and one
    of the ``codes`` (any when empty; a code in another system names none)."""
    statement = select(TransitionTask.created_at.label("at"), TransitionTask.id.label("id")).where(
        TransitionTask.patient_id == patient_id
    )
    if codes:
        kinds = {k.value for k in TaskKind}
        wanted = [m.code for m in codes if m.system in (None, TCM_TASK_SYSTEM) and m.code in kinds]
        if not wanted:
            return statement.where(false())
        statement = statement.where(TransitionTask.kind.in_(wanted))
    if statuses:
        statement = statement.where(or_(*[_status_condition(s) for s in statuses]))
    return statement


def transition_tasks_by_key(session: Session, ids: Sequence[int]) -> Sequence[TransitionTask]:
    return list(session.scalars(select(TransitionTask).where(TransitionTask.id.in_(ids))))


def transition_task_read(session: Session, actor: Actor, resource_id: str) -> TransitionTask:
    """The transition task ``resource_id`` (a ``TaskSource`` read), audited; NotFound outside reach."""
    task, patient = transition_task_in_reach(session=session, actor=actor, task_uuid=resource_id)
    audit_patient_row(session, actor, patient.uuid, task, "read", task.kind)
    return task
