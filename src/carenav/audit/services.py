"""Writing the audit trail. One row per read or write of patient data; rows are never changed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.audit.models import AuditEvent


def audit_record(
    *,
    session: Session,
    actor: Actor,
    action: str,
    patient_uuid: str | None = None,
    entity_type: str | None = None,
    entity_id: str | None = None,
    detail: str | None = None,
) -> AuditEvent:
    """Append one audit row in the caller's transaction (so it commits or rolls back with the act)."""
    event = AuditEvent(
        org_id=actor.org_id,
        user_id=actor.user_id,
        actor=actor.label,
        action=action,
        patient_uuid=patient_uuid,
        entity_type=entity_type,
        entity_id=entity_id,
        detail=detail,
        client_addr=actor.client_addr,
        channel=actor.channel,
    )
    session.add(event)
    return event


def audit_patient_row(
    session: Session, actor: Actor, patient_uuid: str, row: Any, action: str, detail: str | None = None
) -> AuditEvent:
    """An audit row about a row of a patient's record, named by its table's class and its public id."""
    return audit_record(
        session=session,
        actor=actor,
        action=action,
        patient_uuid=patient_uuid,
        entity_type=type(row).__name__,
        entity_id=row.uuid,
        detail=detail,
    )


def audit_patients_listed(
    *, session: Session, actor: Actor, patient_uuids: Iterable[str], action: str, detail: str
) -> None:
    """A list or search page showed these patients' demographics: one audit row per patient shown, all
    written in one statement (a list shows tens of patients; a row each would be a round trip each)."""
    rows = [
        {
            "org_id": actor.org_id,
            "user_id": actor.user_id,
            "actor": actor.label,
            "action": action,
            "patient_uuid": patient_uuid,
            "entity_type": "Patient",
            "entity_id": patient_uuid,
            "detail": detail,
            "client_addr": actor.client_addr,
            "channel": actor.channel,
        }
        for patient_uuid in patient_uuids
    ]
    if rows:
        session.execute(insert(AuditEvent), rows)
