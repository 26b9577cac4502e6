"""Reads of the HL7 v2 feed: the unmatched queue and single inbound messages (audited: they hold PHI)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.audit.services import audit_record
from carenav.errors import NotFound
from carenav.feeds.models import InboundMessage
from carenav.feeds.rules import MessageStatus
from carenav.feeds.schemas import adt_from_json


def inbound_message_list(
    *, session: Session, actor: Actor, status: MessageStatus | None = None, limit: int = 500
) -> Sequence[InboundMessage]:
    """Messages of the actor's organization, oldest first, optionally of one status."""
    query = select(InboundMessage).where(InboundMessage.org_id == actor.org_id)
    if status is not None:
        query = query.where(InboundMessage.status == status.value)
    messages = session.scalars(query.order_by(InboundMessage.id).limit(limit)).all()
    audit_record(
        session=session,
        actor=actor,
        action="read",
        entity_type="InboundMessage",
        detail=f"list of {len(messages)} {status.value if status else 'inbound'} messages",
    )
    return messages


def inbound_message_get(*, session: Session, actor: Actor, message_id: int) -> InboundMessage:
    message = session.scalars(
        select(InboundMessage).where(InboundMessage.id == message_id, InboundMessage.org_id == actor.org_id)
    ).first()
    if message is None:
        raise NotFound(f"no inbound message {message_id}")
    audit_record(
        session=session, actor=actor, action="read", entity_type="InboundMessage", entity_id=str(message_id)
    )
    return message


def inbound_message_summary(message: InboundMessage) -> dict[str, Any]:
    """What a person needs to resolve a queued message: who it is about and why it waits."""
    summary: dict[str, Any] = {
        "id": message.id,
        "received_at": message.received_at.isoformat(),
        "channel": message.channel,
        "origin": message.origin,
        "event": f"{message.message_type}^{message.trigger_event}",
        "control_id": message.control_id,
        "sender": f"{message.sending_application}/{message.sending_facility}",
        "status": message.status,
        "reason": message.match_note or message.error,
        "outcome": message.outcome,
    }
    if message.parsed is not None:
        adt = adt_from_json(message.parsed)
        name = adt.patient.names[0] if adt.patient.names else None
        summary["patient"] = {
            "family": name.family if name else None,
            "given": name.given if name else None,
            "birth_date": adt.patient.birth_date.isoformat() if adt.patient.birth_date else None,
            "sex": adt.patient.sex,
            "identifiers": [f"{i.system}|{i.value}" for i in adt.patient.identifiers],
        }
        if adt.visit is not None:
            summary["visit"] = {
                "number": adt.visit.visit_number,
                "facility": adt.visit.facility,
                "class": adt.visit.patient_class,
            }
    return summary
