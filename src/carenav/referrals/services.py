"""Writes and reads of referrals. Every step is an event (who, when, from what to what, the note) and an
audit row; services flush, the caller commits; a referral or patient out of reach is NotFound."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor, patient_row, patient_scope, patient_visible, record_in_reach
from carenav.audit.services import audit_record
from carenav.careplans.models import Goal
from carenav.clock import now, today
from carenav.errors import InvalidInput, NotFound
from carenav.patients.models import Patient
from carenav.referrals.models import Referral, ReferralEvent, SharingConsent
from carenav.referrals.rules import (
    CLINICAL,
    CLOSED,
    ReferralKind,
    ReferralStatus,
    referral_move,
    referral_overdue,
)
from carenav.resources.models import ResourceOrganization, ResourceService

CONSENT_METHODS = ("verbal", "written", "electronic")


def referral_create(
    *,
    session: Session,
    actor: Actor,
    patient_uuid: str,
    kind: ReferralKind,
    reason: str,
    recipient: str | None = None,
    service_uuid: str | None = None,
    goal_uuid: str | None = None,
    expected_by: date | None = None,
    recipient_contact: str | None = None,
) -> Referral:
    """A draft referral to a directory service (``service_uuid``) or an organization named in ``recipient``.
    A social referral, or one to a directory service, goes to a community organization: it is sent only
    with the patient's consent to share on file."""
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    if not reason.strip():
        raise InvalidInput("say what the referral is for", where="referral reason")
    service = None
    if service_uuid is not None:
        service = session.scalar(
            select(ResourceService).where(
                ResourceService.uuid == service_uuid, ResourceService.org_id == actor.org_id
            )
        )
        if service is None:
            raise NotFound(f"no service {service_uuid} in the directory", where="referral service")
    name = (recipient or "").strip() or (_organization_name(session, service) if service else "")
    if not name:
        raise InvalidInput(
            "name who the patient is referred to, or choose a service", where="referral recipient"
        )
    goal_id = None
    if goal_uuid is not None:
        goal_id = patient_row(session=session, model=Goal, uuid=goal_uuid, patient=patient, what="goal").id
    if expected_by is not None and expected_by < today():
        raise InvalidInput(f"expected by {expected_by}, which has passed", where="referral expected by")
    referral = Referral(
        org_id=patient.org_id,
        patient_id=patient.id,
        kind=kind.value,
        reason=reason.strip(),
        goal_id=goal_id,
        service_id=service.id if service else None,
        recipient=name,
        recipient_contact=(recipient_contact or "").strip() or None,
        community=service is not None or kind not in CLINICAL,
        status=ReferralStatus.DRAFT.value,
        status_at=now(),
        expected_by=expected_by,
        created_by=actor.label,
        created_by_user_id=actor.user_id,
    )
    referral.events.append(ReferralEvent(at=now(), actor=actor.label, to_status=ReferralStatus.DRAFT.value))
    session.add(referral)
    session.flush()
    _audit(session, actor, patient, referral, "referral-create", f"{kind.value} to {name}: {referral.reason}")
    return referral


def _organization_name(session: Session, service: ResourceService) -> str:
    organization = (
        session.get(ResourceOrganization, service.organization_id) if service.organization_id else None
    )
    return f"{organization.name}: {service.name}" if organization else service.name


def referral_step(
    *, session: Session, actor: Actor, referral_uuid: str, to: ReferralStatus, note: str | None = None
) -> Referral:
    """Move the referral along its loop (the note: the reason of a decline or cancellation, the outcome of a
    completion, anything else worth saying)."""
    referral, patient = _reach(session, actor, referral_uuid)
    consent = (
        _consent_on_file(session, referral) if to is ReferralStatus.SENT and referral.community else False
    )
    before = ReferralStatus(referral.status)
    referral.status = referral_move(
        before, to, note=note, community=referral.community, consent_on_file=consent
    ).value
    referral.status_at = now()
    if to is ReferralStatus.COMPLETED:
        referral.outcome = (note or "").strip()
    referral.events.append(
        ReferralEvent(at=now(), actor=actor.label, from_status=before.value, to_status=to.value, note=note)
    )
    _audit(session, actor, patient, referral, f"referral-{to.value}", note or f"{before.value} -> {to.value}")
    return referral


def referral_note(*, session: Session, actor: Actor, referral_uuid: str, note: str) -> Referral:
    referral, patient = _reach(session, actor, referral_uuid)
    if not note.strip():
        raise InvalidInput("a note needs its text", where="referral note")
    referral.events.append(ReferralEvent(at=now(), actor=actor.label, note=note.strip()))
    _audit(session, actor, patient, referral, "referral-note", note.strip())
    return referral


def sharing_consent_record(
    *,
    session: Session,
    actor: Actor,
    patient_uuid: str,
    recipient: str,
    given_on: date,
    method: str,
    scope: str | None = None,
) -> SharingConsent:
    """The patient's consent to share their information with ``recipient`` (an organization's name, as
    the referral names it)."""
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    if method not in CONSENT_METHODS:
        raise InvalidInput(f"method {method!r} is not one of {', '.join(CONSENT_METHODS)}", where="consent")
    if given_on > today():
        raise InvalidInput(f"{given_on} is in the future", where="consent date")
    if not recipient.strip():
        raise InvalidInput("name the organization the consent is for", where="consent")
    consent = SharingConsent(
        org_id=patient.org_id,
        patient_id=patient.id,
        recipient=recipient.strip(),
        given_on=given_on,
        method=method,
        obtained_by=actor.label,
        scope=(scope or "").strip() or None,
    )
    session.add(consent)
    session.flush()
    audit_record(
        session=session,
        actor=actor,
        action="sharing-consent",
        patient_uuid=patient.uuid,
        entity_type="SharingConsent",
        entity_id=consent.uuid,
        detail=f"{method} consent to share with {consent.recipient} on {given_on}",
    )
    return consent


def _consent_on_file(session: Session, referral: Referral) -> bool:
    return (
        session.scalar(
            select(SharingConsent.id).where(
                SharingConsent.patient_id == referral.patient_id,
                SharingConsent.recipient == referral.recipient,
                SharingConsent.withdrawn_on.is_(None),
            )
        )
        is not None
    )


def referrals_overdue(*, session: Session, actor: Actor) -> list[Referral]:
    """The open referrals of the patients within the actor's reach whose expected-by date has passed,
    oldest due first (what the worklist shows)."""
    rows = session.scalars(
        select(Referral)
        .join(Patient, Patient.id == Referral.patient_id)
        .where(
            patient_scope(actor),
            Referral.status.not_in([s.value for s in CLOSED]),
            Referral.expected_by < today(),
        )
        .order_by(Referral.expected_by, Referral.id)
    )
    return [r for r in rows if referral_overdue(ReferralStatus(r.status), r.expected_by, today())]


def _reach(session: Session, actor: Actor, referral_uuid: str) -> tuple[Referral, Patient]:
    return record_in_reach(session=session, actor=actor, model=Referral, uuid=referral_uuid, what="referral")


def _audit(
    session: Session, actor: Actor, patient: Patient, referral: Referral, action: str, detail: str
) -> None:
    audit_record(
        session=session,
        actor=actor,
        action=action,
        patient_uuid=patient.uuid,
        entity_type="Referral",
        entity_id=referral.uuid,
        detail=detail,
    )
