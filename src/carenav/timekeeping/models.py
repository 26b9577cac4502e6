"""Time spent on a patient's care: entries (from a timer or entered by hand), the trail of their edits, and
the timer each user may have running."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carenav.clock import now
from carenav.db.mixins import KeyMixin, PatientOwnedMixin, TenantMixin
from carenav.db.types import Base, JSONDocument, UTCDateTime
from carenav.timekeeping.rules import MAX_MINUTES, MIN_MINUTES, ActivityType, StaffRole, TimeSource


def _in(values: Any) -> str:
    return ", ".join(f"'{v.value}'" for v in values)


class TimeEntry(KeyMixin, TenantMixin, PatientOwnedMixin, Base):
    """Minutes of one staff member, in one role, on one day, for one of the patient's programs. Its month is
    the calendar month of ``on_date``. Never removed: a deleted entry keeps its row with ``deleted_at`` and
    the reason, and stops counting."""

    __tablename__ = "time_entries"
    __table_args__ = (
        Index("ix_time_entries_patient_on", "patient_id", "on_date"),
        Index("ix_time_entries_org_on", "org_id", "on_date"),
        Index("ix_time_entries_staff_on", "staff_user_id", "on_date"),
        CheckConstraint(f"minutes >= {MIN_MINUTES} AND minutes <= {MAX_MINUTES}", name="minutes"),
        CheckConstraint(f"staff_role IN ({_in(StaffRole)})", name="staff_role"),
        CheckConstraint(f"activity IN ({_in(ActivityType)})", name="activity"),
        CheckConstraint(f"source IN ({_in(TimeSource)})", name="source"),
        CheckConstraint(
            "(deleted_at IS NULL AND deleted_reason IS NULL) OR "
            "(deleted_at IS NOT NULL AND deleted_reason IS NOT NULL)",
            name="deleted",
        ),
    )

    program_code: Mapped[str] = mapped_column(String(32))
    enrolment_id: Mapped[int | None] = mapped_column(
        ForeignKey("program_enrolments.id", ondelete="SET NULL"), index=True
    )
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    staff_name: Mapped[str] = mapped_column(String(200))
    staff_role: Mapped[str] = mapped_column(String(32))
    activity: Mapped[str] = mapped_column(String(32))
    minutes: Mapped[int] = mapped_column(Integer)
    on_date: Mapped[date] = mapped_column(Date)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When the timer started (entries from a timer)."""
    note: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_reason: Mapped[str | None] = mapped_column(Text)

    edits: Mapped[list[TimeEntryEdit]] = relationship(
        order_by="TimeEntryEdit.id", cascade="all, delete-orphan", lazy="selectin"
    )


class TimeEntryEdit(Base):
    """One change of an entry (or its deletion): what changed (field: [before, after]), who, when, why.
    Append-only."""

    __tablename__ = "time_entry_edits"
    __table_args__ = (CheckConstraint("action IN ('edit', 'delete')", name="action"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("time_entries.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    changes: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    actor: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class RunningTimer(KeyMixin, TenantMixin, PatientOwnedMixin, Base):
    """The timer a user has running: for which patient, program and activity, since when. One per user."""

    __tablename__ = "running_timers"
    __table_args__ = (
        CheckConstraint(f"activity IN ({_in(ActivityType)})", name="activity"),
        CheckConstraint(f"staff_role IN ({_in(StaffRole)})", name="staff_role"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    program_code: Mapped[str] = mapped_column(String(32))
    staff_role: Mapped[str] = mapped_column(String(32))
    activity: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
