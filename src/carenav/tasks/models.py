"""Tasks for the care team and alerts on patients."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from carenav.clock import now
from carenav.db.mixins import KeyMixin, PatientOwnedMixin, TenantMixin
from carenav.db.types import Base, UTCDateTime
from carenav.tasks.rules import TaskPriority, TaskStatus


def _in(values: type[TaskStatus] | type[TaskPriority]) -> str:
    return ", ".join(f"'{v.value}'" for v in values)


class Task(KeyMixin, TenantMixin, PatientOwnedMixin, Base):
    """``assigned_user_id`` NULL: the team's queue. ``source_type``/``source_id``: what made it (an
    ``Assessment`` and its uuid) — with ``reason``, why."""

    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_assigned_status_due", "assigned_user_id", "status", "due_on"),
        # a caseload's open tasks (the worklist's team queue) without reading each patient's closed ones
        Index("ix_tasks_patient_status_due", "patient_id", "status", "due_on"),
        CheckConstraint(f"status IN ({_in(TaskStatus)})", name="status"),
        CheckConstraint(f"priority IN ({_in(TaskPriority)})", name="priority"),
    )

    title: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(String(16), default=TaskPriority.ROUTINE.value)
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=TaskStatus.OPEN.value)
    assigned_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    pool_id: Mapped[int | None] = mapped_column(ForeignKey("work_pools.id", ondelete="SET NULL"), index=True)
    """A team pool's queue (``carenav.worklist``): any member may claim the task."""
    source_type: Mapped[str | None] = mapped_column(String(40))
    source_id: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(200))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(200))
    close_note: Mapped[str | None] = mapped_column(Text)


class PatientAlert(KeyMixin, TenantMixin, PatientOwnedMixin, Base):
    """A banner on the patient until cleared. ``kind``: the flag that raised it (``suicide-risk``)."""

    __tablename__ = "patient_alerts"

    kind: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    source_type: Mapped[str | None] = mapped_column(String(40))
    source_id: Mapped[str | None] = mapped_column(String(64))
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cleared_by: Mapped[str | None] = mapped_column(String(200))
    clear_note: Mapped[str | None] = mapped_column(Text)
