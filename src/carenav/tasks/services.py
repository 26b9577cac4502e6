"""Writes of tasks and alerts; every change audited; services flush, the caller commits."""

from __future__ import annotations

from datetime import date
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor, record_in_reach
from carenav.accounts.models import User
from carenav.audit.services import audit_record
from carenav.clock import now
from carenav.errors import RuleViolation
from carenav.patients.models import CareTeamMember, Patient
from carenav.patients.rules import CareTeamRole
from carenav.tasks.models import PatientAlert, Task
from carenav.tasks.rules import TaskPriority, TaskStatus, task_close

T = TypeVar("T", Task, PatientAlert)


def care_manager_of(session: Session, patient: Patient) -> User | None:
    """The patient's care manager: the active care-team member with role care_manager naming an active
    user (the earliest assigned when there are several); None when the patient has none."""
    return session.scalar(
        select(User)
        .join(CareTeamMember, CareTeamMember.user_id == User.id)
        .where(
            CareTeamMember.patient_id == patient.id,
            CareTeamMember.role == CareTeamRole.CARE_MANAGER.value,
            CareTeamMember.active.is_(True),
            User.active.is_(True),
        )
        .order_by(CareTeamMember.id)
        .limit(1)
    )


def task_create(
    *,
    session: Session,
    actor: Actor,
    patient: Patient,
    title: str,
    due_on: date,
    priority: TaskPriority = TaskPriority.ROUTINE,
    reason: str | None = None,
    source: tuple[str, str] | None = None,
) -> Task:
    """A task for the patient's care manager (the team's queue when there is none)."""
    owner = care_manager_of(session, patient)
    task = Task(
        org_id=patient.org_id,
        patient_id=patient.id,
        title=title,
        reason=reason,
        priority=priority.value,
        due_on=due_on,
        status=TaskStatus.OPEN.value,
        assigned_user_id=owner.id if owner else None,
        source_type=source[0] if source else None,
        source_id=source[1] if source else None,
        created_by=actor.label,
    )
    session.add(task)
    session.flush()
    audit_record(
        session=session,
        actor=actor,
        action="task-create",
        patient_uuid=patient.uuid,
        entity_type="Task",
        entity_id=task.uuid,
        detail=f"{priority.value}, due {due_on.isoformat()}: {title}"
        + (f" (for {owner.username})" if owner else " (team queue)"),
    )
    return task


def task_finish(
    *, session: Session, actor: Actor, task_uuid: str, to: TaskStatus, note: str | None = None
) -> Task:
    """Close an open task as done or cancelled."""
    task, patient = _visible(session, actor, Task, task_uuid)
    task.status = task_close(TaskStatus(task.status), to, note=note).value
    task.closed_at, task.closed_by, task.close_note = now(), actor.label, note
    audit_record(
        session=session,
        actor=actor,
        action=f"task-{to.value}",
        patient_uuid=patient.uuid,
        entity_type="Task",
        entity_id=task.uuid,
        detail=note or task.title,
    )
    return task


def alert_raise(
    *,
    session: Session,
    actor: Actor,
    patient: Patient,
    kind: str,
    text: str,
    source: tuple[str, str] | None = None,
) -> PatientAlert:
    """A banner on the patient; an active alert of the same kind stands instead of a second one."""
    standing = session.scalar(
        select(PatientAlert).where(
            PatientAlert.patient_id == patient.id,
            PatientAlert.kind == kind,
            PatientAlert.cleared_at.is_(None),
        )
    )
    if standing is not None:
        return standing
    alert = PatientAlert(
        org_id=patient.org_id,
        patient_id=patient.id,
        kind=kind,
        text=text,
        raised_at=now(),
        source_type=source[0] if source else None,
        source_id=source[1] if source else None,
    )
    session.add(alert)
    session.flush()
    audit_record(
        session=session,
        actor=actor,
        action="alert-raise",
        patient_uuid=patient.uuid,
        entity_type="PatientAlert",
        entity_id=alert.uuid,
        detail=f"{kind}: {text}",
    )
    return alert


def alert_clear(*, session: Session, actor: Actor, alert_uuid: str, note: str) -> PatientAlert:
    """Clear an alert, with a note of what was done."""
    alert, patient = _visible(session, actor, PatientAlert, alert_uuid)
    if alert.cleared_at is not None:
        raise RuleViolation("the alert is already cleared", where="alert")
    if not note.strip():
        raise RuleViolation("clearing an alert needs a note", where="alert")
    alert.cleared_at, alert.cleared_by, alert.clear_note = now(), actor.label, note
    audit_record(
        session=session,
        actor=actor,
        action="alert-clear",
        patient_uuid=patient.uuid,
        entity_type="PatientAlert",
        entity_id=alert.uuid,
        detail=f"{alert.kind}: {note}",
    )
    return alert


def _visible(session: Session, actor: Actor, model: type[T], uuid: str) -> tuple[T, Patient]:
    """The task or alert with this uuid and its patient, if ``actor`` may see the patient."""
    return record_in_reach(session=session, actor=actor, model=model, uuid=uuid)
