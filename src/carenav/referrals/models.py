"""Referrals: a patient sent to a service (clinical or social), each step of its loop kept with who acted and
when, and the patient's consent to share their information with a community organization."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carenav.clock import now
from carenav.db.mixins import DocumentMixin, KeyMixin, PatientOwnedMixin, TenantMixin
from carenav.db.types import Base, UTCDateTime, UUIDString, new_uuid
from carenav.referrals.rules import ReferralKind, ReferralStatus
from carenav.resources.models import ResourceService

if TYPE_CHECKING:
    from carenav.careplans.models import Goal


def _in(values: Any) -> str:
    return ", ".join(f"'{v.value}'" for v in values)


class Referral(KeyMixin, TenantMixin, PatientOwnedMixin, Base):
    """A referral: what for (kind, reason, the goal it serves), to whom (a directory service, or an
    organization by name), its status in the loop, when it is expected by, and its outcome."""

    __tablename__ = "referrals"
    __table_args__ = (
        Index("ix_referrals_status_expected", "status", "expected_by"),
        CheckConstraint(f"status IN ({_in(ReferralStatus)})", name="status"),
        CheckConstraint(f"kind IN ({_in(ReferralKind)})", name="kind"),
    )

    kind: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    goal_id: Mapped[int | None] = mapped_column(ForeignKey("care_plan_goals.id", ondelete="SET NULL"))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("resource_services.id", ondelete="SET NULL"))
    recipient: Mapped[str] = mapped_column(String(300))
    recipient_contact: Mapped[str | None] = mapped_column(String(300))
    community: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default=ReferralStatus.DRAFT.value)
    status_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    expected_by: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    fulfilment_uuid: Mapped[str] = mapped_column(UUIDString, unique=True, default=new_uuid)
    """The id of the FHIR Task that tracks the referral's fulfilment (the ServiceRequest's id is ``uuid``)."""

    goal: Mapped[Goal | None] = relationship(lazy="selectin")
    service: Mapped[ResourceService | None] = relationship(lazy="selectin")
    events: Mapped[list[ReferralEvent]] = relationship(
        order_by="ReferralEvent.id", cascade="all, delete-orphan", lazy="selectin"
    )
    attachments: Mapped[list[ReferralAttachment]] = relationship(
        order_by="ReferralAttachment.id", cascade="all, delete-orphan", lazy="selectin"
    )


class ReferralEvent(Base):
    """A step of the loop or a note: who, when, from what status to what, and what was said. Append-only."""

    __tablename__ = "referral_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    actor: Mapped[str] = mapped_column(String(200))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)


class ReferralAttachment(KeyMixin, TenantMixin, PatientOwnedMixin, DocumentMixin, Base):
    """A document sent with the referral (a discharge summary, an application form)."""

    __tablename__ = "referral_attachments"
    __table_args__ = (CheckConstraint("size_bytes > 0", name="size"),)

    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id", ondelete="CASCADE"), index=True)


class SharingConsent(KeyMixin, TenantMixin, PatientOwnedMixin, Base):
    """The patient's consent to share their information with an organization for a referral: when, how,
    obtained by whom; withdrawn when ``withdrawn_on`` is set."""

    __tablename__ = "sharing_consents"
    __table_args__ = (CheckConstraint("method IN ('verbal', 'written', 'electronic')", name="method"),)

    recipient: Mapped[str] = mapped_column(String(300))
    given_on: Mapped[date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(16))
    obtained_by: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str | None] = mapped_column(Text)
    withdrawn_on: Mapped[date | None] = mapped_column(Date)


class PatientResource(KeyMixin, TenantMixin, PatientOwnedMixin, Base):
    """A directory service on the patient's own list of resources (the printable list they take home): who
    added it, when, with what note; ``removed_at`` set when taken off the list (kept for the record)."""

    __tablename__ = "patient_resources"

    service_id: Mapped[int] = mapped_column(
        ForeignKey("resource_services.id", ondelete="CASCADE"), index=True
    )
    note: Mapped[str | None] = mapped_column(Text)
    added_by: Mapped[str] = mapped_column(String(200))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    service: Mapped[ResourceService] = relationship(lazy="selectin")
