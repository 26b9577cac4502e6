"""Reading the audit trail: for auditors and administrators of one organization. The trail is never
edited or deleted; these are the only reads of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.accounts.models import User
from carenav.audit.models import AuditEvent
from carenav.errors import Forbidden

AUDIT_READER_ROLES = frozenset({"auditor", "admin"})


def audit_readable_by(actor: Actor) -> bool:
    """Auditors, administrators and operators read their organization's audit trail."""
    return actor.kind == "operator" or actor.role in AUDIT_READER_ROLES


@dataclass(frozen=True)
class AuditCriteria:
    """Filters of the audit browser; empty fields do not filter. ``since`` is inclusive, ``before``
    exclusive (aware instants)."""

    username: str | None = None
    patient_uuid: str | None = None
    action: str | None = None
    since: datetime | None = None
    before: datetime | None = None


@dataclass(frozen=True)
class AuditPage:
    items: list[AuditEvent]
    total: int
    offset: int
    limit: int


def _conditions(actor: Actor, criteria: AuditCriteria) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [AuditEvent.org_id == actor.org_id]
    if criteria.username:
        user_ids = select(User.id).where(User.username == criteria.username.strip().lower())
        conditions.append(AuditEvent.user_id.in_(user_ids))
    if criteria.patient_uuid:
        conditions.append(AuditEvent.patient_uuid == criteria.patient_uuid.strip())
    if criteria.action:
        conditions.append(AuditEvent.action == criteria.action.strip())
    if criteria.since:
        conditions.append(AuditEvent.at >= criteria.since)
    if criteria.before:
        conditions.append(AuditEvent.at < criteria.before)
    return conditions


def audit_event_list(
    *, session: Session, actor: Actor, criteria: AuditCriteria, offset: int = 0, limit: int = 50
) -> AuditPage:
    """Audit events of the actor's organization matching ``criteria``, newest first."""
    if not audit_readable_by(actor):
        raise Forbidden("only auditors and administrators read the audit trail", where="audit")
    conditions = _conditions(actor, criteria)
    total = session.scalar(select(func.count()).select_from(AuditEvent).where(*conditions)) or 0
    items = list(
        session.scalars(
            select(AuditEvent)
            .where(*conditions)
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .offset(offset)
            .limit(limit)
        )
    )
    return AuditPage(items=items, total=total, offset=offset, limit=limit)


def audit_action_list(*, session: Session, actor: Actor) -> list[str]:
    """The actions that occur in the organization's trail (for the filter's choices)."""
    if not audit_readable_by(actor):
        raise Forbidden("only auditors and administrators read the audit trail", where="audit")
    return list(
        session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.org_id == actor.org_id)
            .distinct()
            .order_by(AuditEvent.action)
        )
    )
