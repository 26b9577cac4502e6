"""Outreach tables: the follow-ups the cadence rules schedule, the contacts logged, and the goal progress
recorded in a contact's note."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carenav.clock import now
from carenav.db.mixins import KeyMixin, PatientOwnedMixin, TenantMixin
from carenav.db.types import Base, JSONDocument, UTCDateTime
from carenav.outreach.rules import ContactKind, Direction, Outcome, Party


class FollowUpStatus(StrEnum):
    SCHEDULED = "scheduled"
    DONE = "done"
    MISSED = "missed"
    CANCELLED = "cancelled"
    RESCHEDULED = "rescheduled"


def _in(values: Any) -> str:
    return ", ".join(f"'{v.value}'" for v in values)


class FollowUp(KeyMixin, TenantMixin, PatientOwnedMixin, Base):
    """A contact due with the patient, made by a cadence rule (``rule_key``; for the program
    ``program_code`` and/or the tier ``tier`` that made it apply; a discharge rule's ``anchor_on`` is the
    discharge and ``step`` the step of it). ``scheduled`` until done by a contact (``done_by_contact_id``),
    missed (a discharge step whose next step fell due), cancelled (the rule no longer applies) or
    rescheduled (a new row holds the new date); ``status_reason`` says why. ``moved_by_hand``: a person
    chose the day (``followup_reschedule``), which the sync keeps."""

    __tablename__ = "outreach_followups"
    __table_args__ = (
        Index("ix_outreach_followups_status_due", "status", "due_on"),
        CheckConstraint(f"status IN ({_in(FollowUpStatus)})", name="status"),
    )

    due_on: Mapped[date] = mapped_column(Date)
    rule_key: Mapped[str] = mapped_column(String(64))
    rule_title: Mapped[str] = mapped_column(String(200))
    program_code: Mapped[str | None] = mapped_column(String(32))
    tier: Mapped[int | None] = mapped_column(Integer)
    anchor_on: Mapped[date | None] = mapped_column(Date)
    step: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=FollowUpStatus.SCHEDULED.value)
    status_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    status_reason: Mapped[str | None] = mapped_column(Text)
    moved_by_hand: Mapped[bool] = mapped_column(Boolean, default=False)
    done_by_contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("outreach_contacts.id", ondelete="SET NULL")
    )
    created_by: Mapped[str] = mapped_column(String(200))


class Contact(KeyMixin, TenantMixin, PatientOwnedMixin, Base):
    """A contact that happened (a FHIR Communication): when, how (``kind``), which way, with whom
    (``party`` and ``party_name``), its outcome, for which program, by whom (``staff``, the user), how
    many minutes (optional: time entries are the time tracking's), the note in words, the structured
    answers of the follow-up note (``answers``: by note template, by field), the red flags they raised,
    the goal progress recorded (``goal_updates``) and the plan adjustments proposed."""

    __tablename__ = "outreach_contacts"
    __table_args__ = (
        Index("ix_outreach_contacts_patient_at", "patient_id", "at"),
        CheckConstraint(f"kind IN ({_in(ContactKind)})", name="kind"),
        CheckConstraint(f"direction IN ({_in(Direction)})", name="direction"),
        CheckConstraint(f"party IN ({_in(Party)})", name="party"),
        CheckConstraint(f"outcome IN ({_in(Outcome)})", name="outcome"),
        CheckConstraint("minutes IS NULL OR (minutes >= 0 AND minutes <= 1440)", name="minutes"),
    )
    # No index on patient_id alone: ix_outreach_contacts_patient_at leads with it.
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))

    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    kind: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(16))
    party: Mapped[str] = mapped_column(String(32))
    party_name: Mapped[str | None] = mapped_column(String(300))
    outcome: Mapped[str] = mapped_column(String(16))
    program_code: Mapped[str | None] = mapped_column(String(32))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    staff: Mapped[str] = mapped_column(String(200))
    minutes: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    answers: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    red_flags: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument, default=list)
    plan_adjustments: Mapped[str | None] = mapped_column(Text)

    goal_updates: Mapped[list[ContactGoalUpdate]] = relationship(
        order_by="ContactGoalUpdate.id", cascade="all, delete-orphan", lazy="selectin"
    )


class ContactGoalUpdate(Base):
    """Progress on a care-plan goal recorded in a contact's note (the goal's own progress note is written
    through the care plan, ``careplans.services.goal_progress``)."""

    __tablename__ = "outreach_contact_goal_updates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("outreach_contacts.id", ondelete="CASCADE"), index=True
    )
    goal_id: Mapped[int | None] = mapped_column(
        ForeignKey("care_plan_goals.id", ondelete="SET NULL"), index=True
    )
    goal_description: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text)
    achievement: Mapped[str | None] = mapped_column(String(20))
