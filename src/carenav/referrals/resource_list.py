"""The patient's own list of community resources: services of the directory a care manager adds for the
patient to contact themselves (a pantry's hours, a ride line), printed for them to take home. Adding a
service already on the list updates its note; removing keeps the row, marked removed."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor, patient_visible, record_in_reach
from carenav.audit.services import audit_patient_row
from carenav.clock import now
from carenav.errors import NotFound
from carenav.patients.models import Patient
from carenav.referrals.models import PatientResource
from carenav.resources.models import ResourceService


def resource_list_add(
    *, session: Session, actor: Actor, patient_uuid: str, service_uuid: str, note: str | None = None
) -> PatientResource:
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    service = session.scalar(
        select(ResourceService).where(
            ResourceService.uuid == service_uuid, ResourceService.org_id == actor.org_id
        )
    )
    if service is None:
        raise NotFound(f"no service {service_uuid} in the directory", where="resource list service")
    entry = session.scalar(
        select(PatientResource).where(
            PatientResource.patient_id == patient.id,
            PatientResource.service_id == service.id,
            PatientResource.removed_at.is_(None),
        )
    )
    text = (note or "").strip() or None
    if entry is None:
        entry = PatientResource(
            org_id=patient.org_id,
            patient_id=patient.id,
            service_id=service.id,
            note=text,
            added_by=actor.label,
            added_at=now(),
        )
        session.add(entry)
    elif text:
        entry.note = text
    session.flush()
    _audit(
        session, actor, patient, entry, "resource-list-add", f"{service.name}{': ' + text if text else ''}"
    )
    return entry


def resource_list_remove(*, session: Session, actor: Actor, entry_uuid: str) -> PatientResource:
    entry, patient = record_in_reach(
        session=session, actor=actor, model=PatientResource, uuid=entry_uuid, what="resource list entry"
    )
    if entry.removed_at is None:
        entry.removed_at = now()
        _audit(session, actor, patient, entry, "resource-list-remove", entry.service.name)
    return entry


def resource_list(*, session: Session, patient: Patient) -> list[PatientResource]:
    """The services on the patient's list now, in the order they were added (the patient is in reach)."""
    return list(
        session.scalars(
            select(PatientResource)
            .where(PatientResource.patient_id == patient.id, PatientResource.removed_at.is_(None))
            .order_by(PatientResource.added_at, PatientResource.id)
        )
    )


def _audit(
    session: Session, actor: Actor, patient: Patient, entry: PatientResource, action: str, detail: str
) -> None:
    audit_patient_row(session, actor, patient.uuid, entry, action, detail)
