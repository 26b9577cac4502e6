"""Writes and reads of referrals. Every step is an event (who, when, from what to what, the note) and an
audit row; services flush, the caller commits; a referral or patient out of reach is NotFound.

Who reaches a referral (``referral_scope``): the care team, through the patient (``access.patient_scope``);
a partner (the community organization a referral is sent to, with an account of its own), the referrals
to its organization's services once sent, and nothing else of the record."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.orm import Session

from carenav.access import Actor, patient_row, patient_scope, patient_visible
from carenav.accounts.rules import Role
from carenav.audit.services import audit_patient_row, audit_record
from carenav.careplans.models import Goal
from carenav.clock import now, today
from carenav.documents import document_columns, kind_label
from carenav.errors import InvalidInput, NotFound, RuleViolation
from carenav.patients.models import Patient
from carenav.referrals.models import Referral, ReferralAttachment, ReferralEvent, SharingConsent
from carenav.referrals.rules import (
    CLINICAL,
    CLOSED,
    ReferralKind,
    ReferralStatus,
    referral_move,
    referral_overdue,
)
from carenav.resources.models import ResourceService

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
    name = (recipient or "").strip() or (_organization_name(service) if service else "")
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


def _organization_name(service: ResourceService) -> str:
    organization = service.organization  # loaded with the service
    return f"{organization.name}: {service.name}" if organization else service.name


def referral_step(
    *, session: Session, actor: Actor, referral_uuid: str, to: ReferralStatus, note: str | None = None
) -> Referral:
    """Move the referral along its loop (the note: the reason of a decline or cancellation, the outcome of a
    completion, anything else worth saying)."""
    referral, patient = _reach(session, actor, referral_uuid)
    return _step(session, actor, referral, patient, to, note)


def _step(
    session: Session, actor: Actor, referral: Referral, patient: Patient, to: ReferralStatus, note: str | None
) -> Referral:
    consent = (
        _consent_on_file(session, referral) if to is ReferralStatus.SENT and referral.community else False
    )
    before = ReferralStatus(referral.status)
    referral.status = referral_move(
        before,
        to,
        note=note,
        community=referral.community,
        consent_on_file=consent,
        by_receiver=actor.role == Role.PARTNER,
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


MAX_ATTACHMENTS = 20


def referral_attach(
    *,
    session: Session,
    actor: Actor,
    referral_uuid: str,
    filename: str,
    content: bytes,
    description: str | None = None,
) -> ReferralAttachment:
    """A document sent with the referral (``carenav.documents``: a PDF, an image, a Word document or text);
    InvalidInput saying what is wrong with the file otherwise."""
    referral, patient = _reach(session, actor, referral_uuid)
    if ReferralStatus(referral.status) in CLOSED:
        raise RuleViolation(f"the referral is {referral.status}", where="referral attachment")
    if len(referral.attachments) >= MAX_ATTACHMENTS:
        raise RuleViolation(
            f"a referral keeps at most {MAX_ATTACHMENTS} documents", where="referral attachment"
        )
    attachment = ReferralAttachment(
        org_id=referral.org_id,
        patient_id=referral.patient_id,
        **document_columns(filename, content, description, actor.label),
    )
    referral.attachments.append(attachment)
    name, label = attachment.filename, kind_label(attachment.media_type)
    referral.events.append(ReferralEvent(at=now(), actor=actor.label, note=f"attached {name} ({label})"))
    session.flush()
    detail = f"{name}, {attachment.size_bytes} bytes, sha256 {attachment.sha256}"
    _audit(session, actor, patient, referral, "referral-attach", detail)
    return attachment


def referral_attachment_read(*, session: Session, actor: Actor, attachment_uuid: str) -> ReferralAttachment:
    """A referral's document with its content, for the actor to download (audited)."""
    found = session.execute(
        select(ReferralAttachment, Referral, Patient)
        .join(Referral, Referral.id == ReferralAttachment.referral_id)
        .join(Patient, Patient.id == Referral.patient_id)
        .where(ReferralAttachment.uuid == attachment_uuid, referral_scope(actor))
    ).first()
    if found is None:
        raise NotFound(f"no referral document {attachment_uuid}", where="ReferralAttachment")
    attachment, referral, patient = found
    _audit(session, actor, patient, referral, "referral-attachment-read", attachment.filename)
    return attachment


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
    audit_patient_row(
        session,
        actor,
        patient.uuid,
        consent,
        "sharing-consent",
        f"{method} consent to share with {consent.recipient} on {given_on}",
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


def referral_scope(actor: Actor) -> ColumnElement[bool]:
    """SQL condition on ``Referral`` for the referrals the actor reaches: a partner's, those sent to its
    organization's services (never a draft); anyone else's, those of the patients within their reach."""
    if actor.role == Role.PARTNER:
        if actor.partner_organization_id is None:
            return false()
        services = select(ResourceService.id).where(
            ResourceService.organization_id == actor.partner_organization_id
        )
        return and_(
            Referral.org_id == actor.org_id,
            Referral.service_id.in_(services),
            Referral.status != ReferralStatus.DRAFT.value,
        )
    return Referral.patient_id.in_(select(Patient.id).where(patient_scope(actor)))


def referral_in_reach(
    *, session: Session, actor: Actor, referral_uuid: str | None = None, fulfilment_uuid: str | None = None
) -> tuple[Referral, Patient]:
    """A referral by its id (or its fulfilment Task's id) and its patient, if the actor reaches it;
    NotFound otherwise, as for an id that does not exist."""
    key = (
        Referral.uuid == referral_uuid
        if referral_uuid is not None
        else Referral.fulfilment_uuid == fulfilment_uuid
    )
    found = session.execute(
        select(Referral, Patient)
        .join(Patient, Patient.id == Referral.patient_id)
        .where(key, referral_scope(actor))
    ).first()
    if found is None:
        raise NotFound(f"no referral {referral_uuid or fulfilment_uuid}", where="Referral")
    return found[0], found[1]


def referral_step_by_fulfilment(
    *, session: Session, actor: Actor, fulfilment_uuid: str, to: ReferralStatus, note: str | None = None
) -> Referral:
    """``referral_step`` for the referral whose fulfilment Task is ``fulfilment_uuid`` (a FHIR update)."""
    referral, patient = referral_in_reach(session=session, actor=actor, fulfilment_uuid=fulfilment_uuid)
    return _step(session, actor, referral, patient, to, note)


@dataclass(frozen=True)
class ReferralPage:
    items: list[Referral]
    total: int


def referral_page(
    *,
    session: Session,
    actor: Actor,
    patient_uuid: str | None,
    statuses: Sequence[ReferralStatus] = (),
    offset: int = 0,
    limit: int | None = None,
) -> ReferralPage:
    """The referrals within the actor's reach, newest first: of one patient (NotFound outside reach), or,
    for a partner, every referral sent to it. Audited as a search."""
    conditions = [referral_scope(actor)]
    if patient_uuid is not None:
        patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
        conditions.append(Referral.patient_id == patient.id)
    if statuses:
        conditions.append(Referral.status.in_([s.value for s in statuses]))
    total = session.scalar(select(func.count(Referral.id)).where(*conditions)) or 0
    statement = select(Referral).where(*conditions).order_by(Referral.created_at.desc(), Referral.id.desc())
    rows = list(session.scalars(statement.offset(offset).limit(limit)))
    audit_record(
        session=session,
        actor=actor,
        action="search",
        patient_uuid=patient_uuid,
        entity_type="Referral",
        detail=f"status in {sorted(s.value for s in statuses) or 'any'}; {total} found",
    )
    return ReferralPage(rows, total)


BOARD_LANES = (
    ("overdue", "Overdue"),
    ("draft", "Drafts to send"),
    ("waiting", "Waiting for the organization"),
    ("under-way", "Accepted and under way"),
    ("closed", "Closed in the last 30 days"),
)
CLOSED_SHOWN_DAYS = 30


def board_lane(status: ReferralStatus, expected_by: date | None, on: date) -> str:
    """The lane of the referral board a referral is in (``BOARD_LANES``)."""
    if referral_overdue(status, expected_by, on):
        return "overdue"
    if status in CLOSED:
        return "closed"
    if status is ReferralStatus.DRAFT:
        return "draft"
    if status in (ReferralStatus.SENT, ReferralStatus.RECEIVED):
        return "waiting"
    return "under-way"


def referral_board(*, session: Session, actor: Actor) -> dict[str, list[tuple[Referral, Patient]]]:
    """The referrals of the patients within the actor's reach (a care manager's caseload, a supervisor's
    team's) by lane: overdue first (oldest due first), then drafts, those waiting for the organization,
    those under way, and those closed in the last 30 days."""
    since = now() - timedelta(days=CLOSED_SHOWN_DAYS)
    rows = session.execute(
        select(Referral, Patient)
        .join(Patient, Patient.id == Referral.patient_id)
        .where(
            referral_scope(actor),
            or_(Referral.status.not_in([s.value for s in CLOSED]), Referral.status_at >= since),
        )
        .order_by(Referral.expected_by.is_(None), Referral.expected_by, Referral.status_at.desc())
    ).all()
    lanes: dict[str, list[tuple[Referral, Patient]]] = {key: [] for key, _ in BOARD_LANES}
    for referral, patient in rows:
        lanes[board_lane(ReferralStatus(referral.status), referral.expected_by, today())].append(
            (referral, patient)
        )
    return lanes


def referrals_by_goal(*, session: Session, goal_ids: Sequence[int]) -> dict[int, list[Referral]]:
    """The referrals serving each of these goals (of one plan already in reach), newest first."""
    found: dict[int, list[Referral]] = {}
    if not goal_ids:
        return found
    statement = select(Referral).where(Referral.goal_id.in_(list(goal_ids))).order_by(Referral.id.desc())
    for referral in session.scalars(statement):
        if referral.goal_id is not None:
            found.setdefault(referral.goal_id, []).append(referral)
    return found


def _reach(session: Session, actor: Actor, referral_uuid: str) -> tuple[Referral, Patient]:
    return referral_in_reach(session=session, actor=actor, referral_uuid=referral_uuid)


def _audit(
    session: Session, actor: Actor, patient: Patient, referral: Referral, action: str, detail: str
) -> None:
    audit_patient_row(session, actor, patient.uuid, referral, action, detail)
