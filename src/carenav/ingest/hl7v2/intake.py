"""One message in: check, store (committed), apply (committed), and say how to acknowledge it.

Shared by file import and the MLLP listener. Two transactions, so that the raw message is durable
before anything is done with it: a crash while applying leaves it stored as ``received`` (or ``error``),
never lost. Applying in the second transaction runs in a savepoint, so a message that fails leaves
nothing of itself in the patient record.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from carenav.access import Actor
from carenav.accounts.models import Organization
from carenav.db.session import unit_of_work
from carenav.errors import InvalidInput, NotFound
from carenav.feeds.models import InboundMessage
from carenav.feeds.rules import AckCode, MessageStatus, ack_code_for, unsupported_reason
from carenav.feeds.schemas import AdtMessage, MessageHeader
from carenav.feeds.services import inbound_message_apply, inbound_message_mark_error, inbound_message_store
from carenav.ingest.hl7v2.ack import ErrorCode
from carenav.ingest.hl7v2.framing import RawMessage
from carenav.ingest.hl7v2.parse import parse_adt, parse_header

log = logging.getLogger("carenav.hl7v2")


@dataclass(frozen=True)
class IntakeContext:
    """What every message of one import or listener shares."""

    sessions: sessionmaker[Session]
    actor: Actor
    channel: str  # file | mllp
    tz: tzinfo
    org_slug: str
    max_message_bytes: int


def intake_context(
    *, sessions: sessionmaker[Session], actor: Actor, channel: str, max_message_bytes: int
) -> IntakeContext:
    """The context for the actor's organization: its slug and time zone (for times without an offset)."""
    with unit_of_work(sessions) as session:
        org = session.scalars(select(Organization).where(Organization.id == actor.org_id)).first()
        if org is None:
            raise NotFound(f"no organization with id {actor.org_id}")
        try:
            tz: tzinfo = ZoneInfo(org.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(
                f"organization {org.slug} has an unknown time zone {org.timezone!r}", where="timezone"
            ) from None
        return IntakeContext(sessions, actor, channel, tz, org.slug, max_message_bytes)


@dataclass
class IntakeResult:
    """What happened to one message, and the acknowledgement it earns."""

    index: int
    status: MessageStatus
    ack: AckCode
    header: MessageHeader | None = None
    inbound_id: int | None = None
    duplicate: bool = False
    error: str | None = None
    where: str | None = None
    error_code: str | None = None
    note: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "status": self.status.value,
            "ack": self.ack.value,
            "event": self.header.type_label if self.header else None,
            "control_id": self.header.control_id if self.header else None,
            "inbound_id": self.inbound_id,
            "duplicate": self.duplicate,
            "error": self.error,
            "where": self.where,
            "note": self.note,
        }


def _located(origin: str, index: int, where: str | None) -> str:
    return ", ".join(p for p in (origin, f"message {index}", where) if p)


def message_receive(*, context: IntakeContext, raw: RawMessage, origin: str) -> IntakeResult:
    """Take one message: refuse it (AR), or store it and apply it (AA; AE if it cannot be applied)."""
    text = raw.text
    if raw.size > context.max_message_bytes:
        too_large = f"the message has {raw.size} bytes; the limit is {context.max_message_bytes}"
        log.warning("%s: rejected: %s", _located(origin, raw.index, None), too_large)
        return IntakeResult(
            raw.index, MessageStatus.REJECTED, AckCode.REJECT, error=too_large, where=origin, error_code="207"
        )
    try:
        header = parse_header(text)
    except InvalidInput as exc:
        located = _located(origin, raw.index, exc.where)
        log.warning("%s: rejected: %s", located, exc.message)
        return IntakeResult(
            raw.index,
            MessageStatus.REJECTED,
            AckCode.REJECT,
            error=exc.message,
            where=located,
            error_code=ErrorCode.SEGMENT_SEQUENCE if exc.where == "MSH" else ErrorCode.REQUIRED_FIELD_MISSING,
        )
    adt: AdtMessage | None = None
    error: str | None = None
    where: str | None = None
    error_code: str | None = None
    reason = unsupported_reason(header.message_type, header.trigger_event)
    if reason:
        status, error, where = MessageStatus.REJECTED, reason, "MSH-9"
        error_code = (
            ErrorCode.UNSUPPORTED_MESSAGE_TYPE
            if header.message_type != "ADT"
            else ErrorCode.UNSUPPORTED_EVENT
        )
    else:
        try:
            adt = parse_adt(text, tz=context.tz)
            status = MessageStatus.RECEIVED
        except InvalidInput as exc:
            status, error, where = MessageStatus.ERROR, exc.message, exc.where
            error_code = ErrorCode.DATA_TYPE
    stored_error = f"{where}: {error}" if error and where else error
    with unit_of_work(context.sessions) as session:
        stored = inbound_message_store(
            session=session,
            actor=context.actor,
            channel=context.channel,
            origin=origin,
            text=text,
            header=header,
            adt=adt,
            status=status,
            error=stored_error,
        )
        inbound_id, duplicate, status = (
            stored.message.id,
            stored.duplicate,
            MessageStatus(stored.message.status),
        )
    if duplicate and status is not MessageStatus.RECEIVED:
        with unit_of_work(context.sessions) as session:
            known = session.get_one(InboundMessage, inbound_id)
            error = known.error
        log.info(
            "%s: %s %s is a duplicate of message %s (%s): not applied again",
            _located(origin, raw.index, None),
            header.type_label,
            header.control_id,
            inbound_id,
            status.value,
        )
        return _result(
            raw.index,
            status,
            header,
            inbound_id,
            duplicate=True,
            error=error,
            where=where,
            error_code=error_code,
        )
    if status is MessageStatus.RECEIVED:
        status, error, note = _apply(context=context, inbound_id=inbound_id)
        if error:
            error_code = ErrorCode.INTERNAL
    else:
        note = None
    log.info(
        "%s: %s %s stored as message %s: %s%s",
        _located(origin, raw.index, None),
        header.type_label,
        header.control_id,
        inbound_id,
        status.value,
        f" ({error})" if error else "",
    )
    return _result(
        raw.index,
        status,
        header,
        inbound_id,
        duplicate=duplicate,
        error=error,
        where=_located(origin, raw.index, where) if error else None,
        error_code=error_code,
        note=note,
    )


def _result(
    index: int,
    status: MessageStatus,
    header: MessageHeader,
    inbound_id: int,
    *,
    duplicate: bool,
    error: str | None,
    where: str | None,
    error_code: str | None,
    note: str | None = None,
) -> IntakeResult:
    return IntakeResult(
        index=index,
        status=status,
        ack=ack_code_for(status),
        header=header,
        inbound_id=inbound_id,
        duplicate=duplicate,
        error=error,
        where=where,
        error_code=error_code,
        note=note,
    )


def _apply(*, context: IntakeContext, inbound_id: int) -> tuple[MessageStatus, str | None, str | None]:
    """Apply a stored message in its own transaction; (status, error, note)."""
    try:
        with unit_of_work(context.sessions) as session:
            query = select(InboundMessage).where(InboundMessage.id == inbound_id)
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update()
            message = session.scalars(query).one()
            if message.status != MessageStatus.RECEIVED:  # applied meanwhile by another connection
                return MessageStatus(message.status), message.error, message.outcome
            inbound_message_apply(session=session, actor=context.actor, message=message)
            return MessageStatus(message.status), message.error, message.outcome or message.match_note
    except Exception as exc:  # keep the stored message and say so; the listener must keep serving
        log.exception("message %s could not be applied", inbound_id)
        error = f"internal error while applying: {type(exc).__name__}: {exc}"[:2000]
        with unit_of_work(context.sessions) as session:
            inbound_message_mark_error(session=session, message_id=inbound_id, error=error)
        return MessageStatus.ERROR, error, None
