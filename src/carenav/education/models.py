"""Patient education: a library topic assigned to a patient, in a language, with its status and next due
date, and the append-only trail of sessions in which it was taught (how, to whom, the teach-back result)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carenav.clock import now
from carenav.db.mixins import KeyMixin, PatientOwnedMixin, TenantMixin
from carenav.db.types import Base, JSONDocument, UTCDateTime
from carenav.education.rules import EducationStatus, Learner, TeachBack, TopicCategory


def _in(values: Any) -> str:
    return ", ".join(f"'{v.value}'" for v in values)


class EducationAssignment(KeyMixin, TenantMixin, PatientOwnedMixin, Base):
    """A topic of the library assigned to a patient: which (id and the version taught), in which language,
    why (the condition or medicine that called for it), where it stands, and when it is next due (to teach,
    reinforce or review)."""

    __tablename__ = "education_assignments"
    __table_args__ = (
        Index("ix_education_assignments_status_due", "status", "due_on"),
        CheckConstraint(f"status IN ({_in(EducationStatus)})", name="status"),
        CheckConstraint(f"category IN ({_in(TopicCategory)})", name="category"),
        CheckConstraint(f"last_result IS NULL OR last_result IN ({_in(TeachBack)})", name="last_result"),
    )

    topic_id: Mapped[str] = mapped_column(String(100))
    topic_version: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=EducationStatus.ASSIGNED.value)
    status_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    due_on: Mapped[date | None] = mapped_column(Date)
    last_result: Mapped[str | None] = mapped_column(String(24))
    last_taught_on: Mapped[date | None] = mapped_column(Date)
    closing_note: Mapped[str | None] = mapped_column(Text)
    assigned_by: Mapped[str] = mapped_column(String(200))
    assigned_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    sessions: Mapped[list[EducationSession]] = relationship(
        order_by="EducationSession.id", cascade="all, delete-orphan", lazy="selectin"
    )


class EducationSession(Base):
    """One time the topic was taught: on what day, by whom, in what language, how (the methods), to whom
    (the patient, a caregiver, both), with an interpreter or not, the teach-back result and the date it
    set. Append-only."""

    __tablename__ = "education_sessions"
    __table_args__ = (
        CheckConstraint(f"result IN ({_in(TeachBack)})", name="result"),
        CheckConstraint(f"learner IN ({_in(Learner)})", name="learner"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("education_assignments.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    taught_on: Mapped[date] = mapped_column(Date)
    taught_by: Mapped[str] = mapped_column(String(200))
    taught_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    language: Mapped[str] = mapped_column(String(12))
    methods: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    learner: Mapped[str] = mapped_column(String(24))
    interpreter: Mapped[bool] = mapped_column(Boolean, default=False)
    result: Mapped[str] = mapped_column(String(24))
    notes: Mapped[str | None] = mapped_column(Text)
    next_due_on: Mapped[date | None] = mapped_column(Date)
