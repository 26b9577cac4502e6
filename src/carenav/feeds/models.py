"""Every inbound HL7 v2 message is kept, raw, before it is acknowledged."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from carenav.clock import now
from carenav.db.mixins import TenantMixin
from carenav.db.types import Base, JSONDocument, UTCDateTime


class InboundMessage(TenantMixin, Base):
    """One HL7 v2 message as received.

    ``status``: received (stored, not yet applied) -> applied | unmatched | rejected | error;
    an unmatched message is resolved by a person (-> applied, or dismissed).

    A duplicate is the same control id (MSH-10) from the same sending application and facility with the
    same content (``digest``, SHA-256 of the normalised message): senders resend after a lost ACK. The
    same control id with other content is a different message (test feeds reuse control ids).
    ``parsed`` is the message as understood on arrival (``feeds.schemas.AdtMessage``), so that a message
    resolved later from the unmatched queue applies as it was read; ``event_recorded_at`` (EVN-2, else
    MSH-7) orders messages about the same patient or encounter.
    """

    __tablename__ = "inbound_messages"
    __table_args__ = (
        UniqueConstraint(
            "org_id",
            "sending_application",
            "sending_facility",
            "control_id",
            "digest",
            name="uq_inbound_messages_sender_control_id_digest",
        ),
        Index("ix_inbound_messages_org_status", "org_id", "status"),
        Index("ix_inbound_messages_patient", "patient_id"),
        Index("ix_inbound_messages_encounter", "encounter_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    channel: Mapped[str] = mapped_column(String(16))  # file | mllp
    origin: Mapped[str | None] = mapped_column(String(500))  # file path or peer address
    control_id: Mapped[str] = mapped_column(String(199))
    sending_application: Mapped[str] = mapped_column(String(227), default="")
    sending_facility: Mapped[str] = mapped_column(String(227), default="")
    message_type: Mapped[str] = mapped_column(String(20))
    trigger_event: Mapped[str] = mapped_column(String(10))
    version: Mapped[str | None] = mapped_column(String(20))
    raw: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))
    parsed: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    event_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    match_note: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="received")
    error: Mapped[str | None] = mapped_column(Text)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id", ondelete="SET NULL"))
    encounter_id: Mapped[int | None] = mapped_column(ForeignKey("encounters.id", ondelete="SET NULL"))
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_note: Mapped[str | None] = mapped_column(Text)
