"""Enrolment in programs: one row per patient, program and episode, its history, and the consent given."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    ColumnElement,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    or_,
)
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carenav.clock import now
from carenav.db.mixins import KeyMixin, PatientOwnedMixin, TenantMixin
from carenav.db.types import Base, UTCDateTime
from carenav.programs.rules import ConsentKind, EnrolmentState

_STATES = ", ".join(f"'{s.value}'" for s in EnrolmentState)
_CONSENT_KINDS = ", ".join(f"'{k.value}'" for k in ConsentKind)


class ProgramEnrolment(KeyMixin, TenantMixin, PatientOwnedMixin, Base):
    """One episode of one patient in one program (``program_code`` from the organization's rules file).

    ``state`` follows ``programs.rules.TRANSITIONS``; a patient identified again after an episode closed
    gets a new row with the next ``episode`` number. ``identified_run_id``/``rules_version``/``reasons``:
    the stratification run that flagged the patient and why (the flag's evidence), when a run did.
    """

    __tablename__ = "program_enrolments"
    __table_args__ = (
        UniqueConstraint("patient_id", "program_code", "episode", name="uq_program_enrolments_episode"),
        Index("ix_program_enrolments_org_program_state", "org_id", "program_code", "state"),
        CheckConstraint(f"state IN ({_STATES})", name="state"),
        CheckConstraint("episode >= 1", name="episode"),
    )

    # No indexes on org_id or patient_id alone: the composite index and the unique episode key lead with them.
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    program_code: Mapped[str] = mapped_column(String(32))
    episode: Mapped[int] = mapped_column(Integer, default=1)
    state: Mapped[str] = mapped_column(String(16))
    state_since: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    assigned_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    identified_on: Mapped[date] = mapped_column(Date)
    outreach_started_on: Mapped[date | None] = mapped_column(Date)
    enrolled_on: Mapped[date | None] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    end_reason: Mapped[str | None] = mapped_column(Text)
    identified_run_id: Mapped[str | None] = mapped_column(String(64))
    rules_version: Mapped[str | None] = mapped_column(String(64))
    reasons: Mapped[str | None] = mapped_column(Text)

    history: Mapped[list[EnrolmentTransition]] = relationship(
        order_by="EnrolmentTransition.id", cascade="all, delete-orphan", lazy="selectin"
    )
    consents: Mapped[list[ProgramConsent]] = relationship(
        order_by="ProgramConsent.id", cascade="all, delete-orphan", lazy="selectin"
    )

    @hybrid_method
    def enrolled_during(self, first: date, last: date) -> bool:
        """Whether the episode was enrolled on some day from ``first`` to ``last`` (enrolled by ``last``, not
        ended before ``first``); on the class, the same as a SQL condition."""
        return (
            self.enrolled_on is not None
            and self.enrolled_on <= last
            and (self.ended_on is None or self.ended_on >= first)
        )

    @enrolled_during.expression
    @classmethod
    def _enrolled_during(cls, first: date, last: date) -> ColumnElement[bool]:
        return and_(
            cls.enrolled_on.is_not(None),
            cls.enrolled_on <= last,
            or_(cls.ended_on.is_(None), cls.ended_on >= first),
        )


class EnrolmentTransition(Base):
    """One change of state (``from_state`` is NULL for the row that opened the episode). Append-only."""

    __tablename__ = "program_enrolment_history"
    __table_args__ = (
        CheckConstraint(f"to_state IN ({_STATES})", name="to_state"),
        CheckConstraint(f"from_state IS NULL OR from_state IN ({_STATES})", name="from_state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("program_enrolments.id", ondelete="CASCADE"), index=True
    )
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    actor: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str | None] = mapped_column(Text)


class ProgramConsent(KeyMixin, TenantMixin, PatientOwnedMixin, Base):
    """Consent to a program's services, captured at enrolment: verbal or written, when, who obtained it
    (a user when one did, and the name as recorded), and its scope (what the patient agreed to)."""

    __tablename__ = "program_consents"
    __table_args__ = (CheckConstraint(f"kind IN ({_CONSENT_KINDS})", name="kind"),)

    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("program_enrolments.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    given_on: Mapped[date] = mapped_column(Date)
    obtained_by: Mapped[str] = mapped_column(String(200))
    obtained_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    scope: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
