"""Reads of a patient's open tasks and standing alerts, through the access gate on patients."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor, patient_visible
from carenav.tasks.models import PatientAlert, Task
from carenav.tasks.rules import TaskPriority, TaskStatus


def patient_alerts_standing(*, session: Session, actor: Actor, patient_uuid: str) -> list[PatientAlert]:
    """The patient's alerts not cleared yet, newest first."""
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    return list(
        session.scalars(
            select(PatientAlert)
            .where(PatientAlert.patient_id == patient.id, PatientAlert.cleared_at.is_(None))
            .order_by(PatientAlert.raised_at.desc(), PatientAlert.id.desc())
        )
    )


def patient_tasks_open(*, session: Session, actor: Actor, patient_uuid: str) -> list[Task]:
    """The patient's open tasks: urgent first, then by due date."""
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    urgent_first = (Task.priority != TaskPriority.URGENT.value).asc()
    return list(
        session.scalars(
            select(Task)
            .where(Task.patient_id == patient.id, Task.status == TaskStatus.OPEN.value)
            .order_by(urgent_first, Task.due_on, Task.id)
        )
    )
