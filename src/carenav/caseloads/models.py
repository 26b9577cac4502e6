"""Caseload tables: the trail of reassignments, and coverage while a care manager is away."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from carenav.clock import now
from carenav.db.mixins import KeyMixin, TenantMixin
from carenav.db.types import Base, UTCDateTime


class CaseloadChange(KeyMixin, TenantMixin, Base):
    """A patient moved from one caseload to another (``from_user_id`` None: newly assigned), by whom, when
    and why."""

    __tablename__ = "caseload_changes"

    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    from_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    to_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    by: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    reason: Mapped[str] = mapped_column(Text)


class Coverage(KeyMixin, TenantMixin, Base):
    """``user_id`` is away from ``starts_on`` to ``ends_on`` (inclusive); ``covered_by_user_id`` reaches
    their caseload meanwhile (``carenav.access.patient_scope``). ``ended_at``: ended early by a person."""

    __tablename__ = "caseload_coverages"
    __table_args__ = (
        Index("ix_caseload_coverages_covering", "covered_by_user_id", "starts_on", "ends_on"),
        CheckConstraint("ends_on >= starts_on", name="period"),
        CheckConstraint("user_id <> covered_by_user_id", name="not_self"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    covered_by_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    set_by: Mapped[str] = mapped_column(String(200))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by: Mapped[str | None] = mapped_column(String(200))


__all__ = ["CaseloadChange", "Coverage"]
