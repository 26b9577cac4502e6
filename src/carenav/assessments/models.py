"""Assessments of patients: one row per assessment (its latest response and score) and its versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carenav.assessments.rules import AssessmentStatus, Channel, Respondent
from carenav.clock import now
from carenav.db.mixins import KeyMixin, PatientOwnedMixin, TenantMixin
from carenav.db.types import Base, JSONDocument, UTCDateTime


def _in(values: Any) -> str:
    return ", ".join(f"'{v.value}'" for v in values)


class Assessment(KeyMixin, TenantMixin, PatientOwnedMixin, Base):
    """One administration of an instrument to a patient. ``response``: the FHIR QuestionnaireResponse as
    last saved (draft or final); ``score``: its score (``Score.as_json``) once completed."""

    __tablename__ = "assessments"
    __table_args__ = (
        Index("ix_assessments_patient_instrument", "patient_id", "instrument_id", "started_at"),
        CheckConstraint(f"status IN ({_in(AssessmentStatus)})", name="status"),
        CheckConstraint(f"channel IN ({_in(Channel)})", name="channel"),
        CheckConstraint(f"respondent IN ({_in(Respondent)})", name="respondent"),
    )

    instrument_id: Mapped[str] = mapped_column(String(64))
    instrument_version: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(16))
    respondent: Mapped[str] = mapped_column(String(16))
    proxy_name: Mapped[str | None] = mapped_column(String(200))
    proxy_relationship: Mapped[str | None] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    started_by: Mapped[str] = mapped_column(String(200))
    started_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    response: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    score: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    status_reason: Mapped[str | None] = mapped_column(Text)

    versions: Mapped[list[AssessmentVersion]] = relationship(
        order_by="AssessmentVersion.version", cascade="all, delete-orphan", lazy="selectin"
    )


class AssessmentVersion(Base):
    """A completed or amended response as it stood, with its score: the history. Append-only."""

    __tablename__ = "assessment_versions"
    __table_args__ = (UniqueConstraint("assessment_id", "version", name="uq_assessment_versions_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    response: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    score: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    actor: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str | None] = mapped_column(Text)


class AssessmentSuggestion(KeyMixin, TenantMixin, PatientOwnedMixin, Base):
    """A goal or referral an assessment suggested, until the care manager accepts or dismisses it (the
    care plan takes the accepted ones)."""

    __tablename__ = "assessment_suggestions"
    __table_args__ = (
        CheckConstraint("kind IN ('goal', 'referral')", name="kind"),
        CheckConstraint("status IN ('suggested', 'accepted', 'dismissed')", name="status"),
    )

    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"), index=True)
    trigger: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    service: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="suggested")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
