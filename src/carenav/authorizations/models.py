"""Prior authorizations: a service asked of a payer for a patient (codes, justification, documents), its
decision, its appeals with their deadlines and peer-to-peer reviews, the alternatives weighed when it is
denied, and the log of what the care manager did on the patient's behalf."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carenav.authorizations.rules import (
    AppealOutcome,
    AppealStatus,
    AuthorizationStatus,
    PayerKind,
)
from carenav.clock import now
from carenav.db.mixins import DocumentMixin, KeyMixin, PatientOwnedMixin, TenantMixin
from carenav.db.types import Base, JSONDocument, UTCDateTime

ADVOCACY_KINDS = (
    "call-payer",
    "appeal",
    "letter",
    "peer-to-peer",
    "grievance",
    "call-provider",
    "meeting",
    "other",
)
"""What an advocacy action was: a call to the payer, an appeal filed or helped with, a letter, a peer-to-peer
review arranged, a grievance or complaint, a call to a provider, a meeting, anything else."""


def _in(values: Any) -> str:
    return ", ".join(f"'{v.value if hasattr(v, 'value') else v}'" for v in values)


class PriorAuthorization(KeyMixin, TenantMixin, PatientOwnedMixin, Base):
    """A prior authorization request: the service (with its CPT/HCPCS codes and ICD-10-CM diagnoses), the
    payer, the clinical justification; its status with the dates and the payer's numbers; what an approval
    covers; the reason of a denial; and the computed deadlines the tracker shows (``decision_due_on``: the
    payer's decision; ``appeal_by``: the last day to file the next appeal of a denial)."""

    __tablename__ = "prior_authorizations"
    __table_args__ = (
        Index("ix_prior_authorizations_status", "status"),
        CheckConstraint(f"status IN ({_in(AuthorizationStatus)})", name="status"),
        CheckConstraint(f"payer_kind IN ({_in(PayerKind)})", name="payer_kind"),
        CheckConstraint("requested_units IS NULL OR requested_units > 0", name="requested_units"),
        CheckConstraint("approved_units IS NULL OR approved_units >= 0", name="approved_units"),
        CheckConstraint("valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from", name="validity"),
        CheckConstraint("decided_on IS NULL OR submitted_on IS NOT NULL", name="decided_after_submitted"),
    )

    service: Mapped[str] = mapped_column(Text)
    service_codes: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    diagnosis_codes: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    requested_units: Mapped[int | None] = mapped_column(Integer)
    ordering_provider: Mapped[str | None] = mapped_column(String(300))
    payer_name: Mapped[str] = mapped_column(String(300))
    payer_kind: Mapped[str] = mapped_column(String(32))
    member_id: Mapped[str | None] = mapped_column(String(64))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    clinical_justification: Mapped[str] = mapped_column(Text, default="")
    goal_id: Mapped[int | None] = mapped_column(ForeignKey("care_plan_goals.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(24), default=AuthorizationStatus.DRAFT.value)
    status_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    submitted_on: Mapped[date | None] = mapped_column(Date)
    reference_number: Mapped[str | None] = mapped_column(String(64))
    """The payer's tracking (case) number for the request."""
    decision_due_on: Mapped[date | None] = mapped_column(Date)
    decision_rule: Mapped[str | None] = mapped_column(Text)
    """The source of the timeframe ``decision_due_on`` was computed from, kept as it was then."""
    decided_on: Mapped[date | None] = mapped_column(Date)
    """The date of the payer's decision notice (appeal windows run from it)."""
    authorization_number: Mapped[str | None] = mapped_column(String(64))
    approved_units: Mapped[int | None] = mapped_column(Integer)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    decision_note: Mapped[str | None] = mapped_column(Text)
    denial_reason: Mapped[str | None] = mapped_column(Text)
    appeal_by: Mapped[date | None] = mapped_column(Date)
    appeal_rule: Mapped[str | None] = mapped_column(Text)
    """The name and source of the appeal rule ``appeal_by`` was computed from."""
    created_by: Mapped[str] = mapped_column(String(200))
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    events: Mapped[list[AuthorizationEvent]] = relationship(
        order_by="AuthorizationEvent.id", cascade="all, delete-orphan", lazy="selectin"
    )
    appeals: Mapped[list[Appeal]] = relationship(
        order_by="Appeal.id", cascade="all, delete-orphan", lazy="selectin"
    )
    alternatives: Mapped[list[Alternative]] = relationship(
        order_by="Alternative.id", cascade="all, delete-orphan", lazy="selectin"
    )
    documents: Mapped[list[AuthorizationDocument]] = relationship(
        order_by="AuthorizationDocument.id", cascade="all, delete-orphan", lazy="selectin"
    )


class AuthorizationEvent(Base):
    """A step of the request or of one of its appeals, or a note: who, when, from what status to what, and
    what was said. Append-only."""

    __tablename__ = "prior_authorization_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    authorization_id: Mapped[int] = mapped_column(
        ForeignKey("prior_authorizations.id", ondelete="CASCADE"), index=True
    )
    appeal_id: Mapped[int | None] = mapped_column(
        ForeignKey("prior_authorization_appeals.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    actor: Mapped[str] = mapped_column(String(200))
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str | None] = mapped_column(String(24))
    note: Mapped[str | None] = mapped_column(Text)


class AuthorizationDocument(KeyMixin, TenantMixin, PatientOwnedMixin, DocumentMixin, Base):
    """A document sent with the request (a letter of medical necessity, notes, a fax)."""

    __tablename__ = "prior_authorization_documents"
    __table_args__ = (CheckConstraint("size_bytes > 0", name="size"),)

    authorization_id: Mapped[int] = mapped_column(
        ForeignKey("prior_authorizations.id", ondelete="CASCADE"), index=True
    )


class Appeal(KeyMixin, TenantMixin, PatientOwnedMixin, Base):
    """An appeal of a denial at one level: when it was filed and under which payer rule, when the payer must
    decide it, its peer-to-peer review (when, with whom, what was said), its outcome and decision date."""

    __tablename__ = "prior_authorization_appeals"
    __table_args__ = (
        CheckConstraint(f"status IN ({_in(AppealStatus)})", name="status"),
        CheckConstraint(f"outcome IS NULL OR outcome IN ({_in(AppealOutcome)})", name="outcome"),
        CheckConstraint("level BETWEEN 1 AND 9", name="level"),
        CheckConstraint("(status = 'decided') = (outcome IS NOT NULL)", name="decided_outcome"),
    )

    authorization_id: Mapped[int] = mapped_column(
        ForeignKey("prior_authorizations.id", ondelete="CASCADE"), index=True
    )
    level: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=AppealStatus.FILED.value)
    expedited: Mapped[bool] = mapped_column(Boolean, default=False)
    filed_on: Mapped[date] = mapped_column(Date)
    filed_by: Mapped[str] = mapped_column(String(200))
    grounds: Mapped[str | None] = mapped_column(Text)
    late_reason: Mapped[str | None] = mapped_column(Text)
    """Why it was filed after the window closed (the good cause the payer is asked to accept)."""
    reference_number: Mapped[str | None] = mapped_column(String(64))
    rule: Mapped[str | None] = mapped_column(Text)
    """The name and source of the payer rule its deadlines come from (None: a level not tracked)."""
    decision_due_on: Mapped[date | None] = mapped_column(Date)
    peer_to_peer_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    peer_to_peer_with: Mapped[str | None] = mapped_column(String(300))
    peer_to_peer_note: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(24))
    decided_on: Mapped[date | None] = mapped_column(Date)
    decision_note: Mapped[str | None] = mapped_column(Text)


class Alternative(KeyMixin, TenantMixin, PatientOwnedMixin, Base):
    """Another way to the goal a denied service was to serve: what it is, why it was weighed, whether it is
    the one chosen (at most one per request) and when."""

    __tablename__ = "prior_authorization_alternatives"

    authorization_id: Mapped[int] = mapped_column(
        ForeignKey("prior_authorizations.id", ondelete="CASCADE"), index=True
    )
    description: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    goal_id: Mapped[int | None] = mapped_column(ForeignKey("care_plan_goals.id", ondelete="SET NULL"))
    chosen: Mapped[bool] = mapped_column(Boolean, default=False)
    chosen_on: Mapped[date | None] = mapped_column(Date)
    choice_reason: Mapped[str | None] = mapped_column(Text)
    added_by: Mapped[str] = mapped_column(String(200))


class AdvocacyAction(KeyMixin, TenantMixin, PatientOwnedMixin, Base):
    """Something done on the patient's behalf: when, what kind, with whom, what was done and what came of it,
    and the request it was for (if any)."""

    __tablename__ = "advocacy_actions"
    __table_args__ = (CheckConstraint(f"kind IN ({_in(ADVOCACY_KINDS)})", name="kind"),)

    done_on: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(24))
    with_whom: Mapped[str | None] = mapped_column(String(300))
    action: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)
    authorization_id: Mapped[int | None] = mapped_column(
        ForeignKey("prior_authorizations.id", ondelete="SET NULL"), index=True
    )
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
