"""Writes and reads of prior authorizations, their appeals, the alternatives weighed after a denial, and the
advocacy log. Every step is an event (who, when, from what to what, the note) and an audit row; services
flush, the caller commits; a request or patient out of reach is NotFound.

The deadlines come from the payer's rules (``rules.payer_rules``): computed when the request is submitted
(the payer's decision), decided against (the last day to appeal) or appealed (the appeal's decision), and
kept on the rows with the rule they came from, so that the tracker sorts them in the database and a later
change of the rules does not rewrite what was told to the patient."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from carenav.access import Actor, patient_row, patient_scope, patient_visible, record_in_reach
from carenav.accounts.queries import org_zone
from carenav.audit.services import audit_patient_row
from carenav.authorizations.models import (
    ADVOCACY_KINDS,
    AdvocacyAction,
    Alternative,
    Appeal,
    AuthorizationDocument,
    AuthorizationEvent,
    PriorAuthorization,
)
from carenav.authorizations.rules import (
    ADVERSE,
    APPEAL_OPEN,
    AUTHORIZATION_MOVES,
    DECISIONS,
    IN_REVIEW,
    AppealOutcome,
    AppealRule,
    AppealStatus,
    AppealView,
    AuthorizationStatus,
    Deadline,
    PayerKind,
    appeal_effect,
    appeal_move,
    authorization_deadlines,
    authorization_move,
    codes_parse,
    next_appeal_level,
    payer_rules,
    submission_gaps,
)
from carenav.careplans.models import Goal
from carenav.clock import now, today
from carenav.documents import document_columns, kind_label
from carenav.errors import InvalidInput, RuleViolation
from carenav.patients.models import Patient

MAX_DOCUMENTS = 25
MAX_DUE_DAYS = 365
_S = AuthorizationStatus


# --- the request ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestFields:
    """What a request says, checked: the service and its codes, the payer, the justification."""

    service: str
    payer_name: str
    payer_kind: PayerKind
    clinical_justification: str = ""
    service_codes: str | Sequence[str] = ()
    diagnosis_codes: str | Sequence[str] = ()
    urgent: bool = False
    requested_units: int | None = None
    ordering_provider: str | None = None
    member_id: str | None = None


def _apply_fields(row: PriorAuthorization, fields: RequestFields) -> None:
    """Check every field, then write them all (a bad one leaves the row as it was)."""
    service = fields.service.strip()
    if not service:
        raise InvalidInput("say what service is requested", where="authorization service")
    payer = _short(fields.payer_name, 300, "authorization payer")
    if payer is None:
        raise InvalidInput("name the payer (the health plan asked to authorize)", where="authorization payer")
    if fields.requested_units is not None and fields.requested_units <= 0:
        raise InvalidInput(
            f"{fields.requested_units} units; ask for at least 1 (or leave it empty)",
            where="authorization requested units",
        )
    service_codes = codes_parse(fields.service_codes, "service")
    diagnosis_codes = codes_parse(fields.diagnosis_codes, "diagnosis")
    ordering_provider = _short(fields.ordering_provider, 300, "authorization ordering provider")
    member_id = _short(fields.member_id, 64, "authorization member id")
    row.service = service
    row.payer_name = payer
    row.payer_kind = fields.payer_kind.value
    row.service_codes = service_codes
    row.diagnosis_codes = diagnosis_codes
    row.clinical_justification = fields.clinical_justification.strip()
    row.urgent = fields.urgent
    row.requested_units = fields.requested_units
    row.ordering_provider = ordering_provider
    row.member_id = member_id


def authorization_create(
    *,
    session: Session,
    actor: Actor,
    patient_uuid: str,
    fields: RequestFields,
    goal_uuid: str | None = None,
) -> PriorAuthorization:
    """A draft request for the patient (documents are attached to it before it is submitted); ``goal_uuid``:
    the goal of the patient's care plan the service serves."""
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    authorization = PriorAuthorization(
        org_id=patient.org_id,
        patient_id=patient.id,
        goal_id=_goal_id(session, patient, goal_uuid),
        status=_S.DRAFT.value,
        status_at=now(),
        created_by=actor.label,
        created_by_user_id=actor.user_id,
    )
    _apply_fields(authorization, fields)
    authorization.events.append(AuthorizationEvent(at=now(), actor=actor.label, to_status=_S.DRAFT.value))
    session.add(authorization)
    session.flush()
    _audit(
        session,
        actor,
        patient,
        authorization,
        "authorization-create",
        f"{authorization.service} from {authorization.payer_name}",
    )
    return authorization


def authorization_revise(
    *,
    session: Session,
    actor: Actor,
    authorization_uuid: str,
    fields: RequestFields,
    goal_uuid: str | None = None,
) -> PriorAuthorization:
    """Change what a draft request says (a submitted one is what the payer has: it is not rewritten)."""
    authorization, patient = _reach(session, actor, authorization_uuid)
    if authorization.status != _S.DRAFT.value:
        raise RuleViolation(
            f"the request is {authorization.status}: only a draft is revised", where="authorization"
        )
    goal_id = _goal_id(session, patient, goal_uuid)
    _apply_fields(authorization, fields)
    authorization.goal_id = goal_id
    authorization.events.append(AuthorizationEvent(at=now(), actor=actor.label, note="request revised"))
    _audit(session, actor, patient, authorization, "authorization-revise", authorization.service)
    return authorization


def authorization_submit(
    *,
    session: Session,
    actor: Actor,
    authorization_uuid: str,
    submitted_on: date | None = None,
    reference_number: str | None = None,
) -> PriorAuthorization:
    """The request sent to the payer on ``submitted_on`` (today if not given), with the payer's tracking
    number if one was given; the payer's decision falls due by its rule. RuleViolation listing what the
    request lacks."""
    authorization, patient = _reach(session, actor, authorization_uuid)
    on = _past_or_today(submitted_on, "authorization submitted on")
    gaps = submission_gaps(
        service=authorization.service,
        payer_name=authorization.payer_name,
        service_codes=authorization.service_codes,
        diagnosis_codes=authorization.diagnosis_codes,
        justification=authorization.clinical_justification,
    )
    if gaps:
        raise RuleViolation(f"before submitting, add {', '.join(gaps)}", where="authorization submission")
    reference = _short(reference_number, 64, "authorization reference number")
    before = _S(authorization.status)
    authorization.status = authorization_move(before, _S.SUBMITTED).value
    authorization.status_at = now()
    authorization.submitted_on = on
    authorization.reference_number = reference
    rule = payer_rules().decision_rule(PayerKind(authorization.payer_kind), on)
    authorization.decision_due_on = rule.due(on, expedited=authorization.urgent)
    authorization.decision_rule = rule.source
    pace = "expedited" if authorization.urgent else "standard"
    note = f"submitted {on}; {pace} decision due {authorization.decision_due_on}"
    authorization.events.append(
        AuthorizationEvent(
            at=now(), actor=actor.label, from_status=before.value, to_status=_S.SUBMITTED.value, note=note
        )
    )
    _audit(session, actor, patient, authorization, "authorization-submit", note)
    return authorization


def authorization_step(
    *,
    session: Session,
    actor: Actor,
    authorization_uuid: str,
    to: AuthorizationStatus,
    note: str | None = None,
) -> PriorAuthorization:
    """The payer pended the request (the note: what it asked for), or the request is withdrawn (the note:
    why). A decision is recorded with ``authorization_decide``, a submission with ``authorization_submit``."""
    if to not in (_S.PENDING, _S.WITHDRAWN):
        raise InvalidInput(
            f"{to.value} is recorded with its own form (a submission or a decision, with its date)",
            where="authorization status",
        )
    authorization, patient = _reach(session, actor, authorization_uuid)
    before = _S(authorization.status)
    authorization.status = authorization_move(before, to, reason=note).value
    authorization.status_at = now()
    text = (note or "").strip() or None
    authorization.events.append(
        AuthorizationEvent(
            at=now(), actor=actor.label, from_status=before.value, to_status=to.value, note=text
        )
    )
    _audit(session, actor, patient, authorization, f"authorization-{to.value}", text or to.value)
    return authorization


@dataclass(frozen=True)
class Approval:
    """What an approval covers: the payer's authorization number, the units, the period, a note."""

    authorization_number: str | None = None
    units: int | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    note: str | None = None

    @property
    def empty(self) -> bool:
        return not any(
            (
                (self.authorization_number or "").strip(),
                self.units is not None,
                self.valid_from,
                self.valid_to,
                (self.note or "").strip(),
            )
        )


def authorization_decide(
    *,
    session: Session,
    actor: Actor,
    authorization_uuid: str,
    decision: AuthorizationStatus,
    decided_on: date | None = None,
    reason: str | None = None,
    approval: Approval | None = None,
) -> PriorAuthorization:
    """The payer's decision, dated as its notice is (today if not given). A denial needs the payer's reason;
    a partial approval what was denied (``reason``) and what was approved (``approval``: its units or a
    note). A denial or partial approval opens the window to appeal, by the payer's rule."""
    if decision not in DECISIONS:
        allowed = ", ".join(sorted(d.value for d in DECISIONS))
        raise InvalidInput(f"{decision.value} is not a decision ({allowed})", where="authorization decision")
    authorization, patient = _reach(session, actor, authorization_uuid)
    on = _past_or_today(decided_on, "authorization decided on")
    before = _S(authorization.status)
    authorization_move(before, decision, reason=reason)
    if authorization.submitted_on is not None and on < authorization.submitted_on:
        raise InvalidInput(
            f"decided on {on}, before the request was submitted on {authorization.submitted_on}",
            where="authorization decided on",
        )
    approval = approval or Approval()
    if decision is _S.DENIED and not approval.empty:
        raise InvalidInput(
            "a denial approves nothing: leave the approval's number, units and dates empty",
            where="authorization decision",
        )
    if decision is _S.PARTIALLY_APPROVED and approval.units is None and not (approval.note or "").strip():
        raise RuleViolation(
            "a partial approval needs what was approved: the units, or a note", where="authorization decision"
        )
    number = _check_approval(approval)
    _apply_approval(authorization, approval, number)
    authorization.status = decision.value
    authorization.status_at = now()
    authorization.decided_on = on
    authorization.denial_reason = ((reason or "").strip() or None) if decision in ADVERSE else None
    note = f"decided {on}"
    if decision in ADVERSE:
        rule = payer_rules().appeal_rule(PayerKind(authorization.payer_kind), 1)
        _open_window(authorization, rule, on)
        note += f": {authorization.denial_reason}"
        if authorization.appeal_by is not None:
            note += f"; appeal by {authorization.appeal_by}"
    authorization.events.append(
        AuthorizationEvent(
            at=now(), actor=actor.label, from_status=before.value, to_status=decision.value, note=note
        )
    )
    _audit(session, actor, patient, authorization, f"authorization-{decision.value}", note)
    return authorization


def _check_approval(approval: Approval) -> str | None:
    """The approval's authorization number, once every part of the approval is checked."""
    if approval.units is not None and approval.units < 0:
        raise InvalidInput(f"{approval.units} units approved", where="authorization approved units")
    if approval.valid_from and approval.valid_to and approval.valid_to < approval.valid_from:
        raise InvalidInput(
            f"valid to {approval.valid_to} is before valid from {approval.valid_from}",
            where="authorization valid to",
        )
    return _short(approval.authorization_number, 64, "authorization number")


def _apply_approval(authorization: PriorAuthorization, approval: Approval, number: str | None) -> None:
    if number is not None:
        authorization.authorization_number = number
    if approval.units is not None:
        authorization.approved_units = approval.units
    if approval.valid_from is not None:
        authorization.valid_from = approval.valid_from
    if approval.valid_to is not None:
        authorization.valid_to = approval.valid_to
    if (approval.note or "").strip():
        authorization.decision_note = (approval.note or "").strip()


def _open_window(authorization: PriorAuthorization, rule: AppealRule | None, notice_on: date) -> None:
    """The last day to file the appeal ``rule`` describes, against a notice dated ``notice_on``."""
    authorization.appeal_by = rule.file_by(notice_on) if rule is not None else None
    authorization.appeal_rule = f"{rule.name}: {rule.source}" if rule is not None else None


# --- documents -------------------------------------------------------------------------------------


def document_attach(
    *,
    session: Session,
    actor: Actor,
    authorization_uuid: str,
    filename: str,
    content: bytes,
    description: str | None = None,
) -> AuthorizationDocument:
    """A document for the request (kept in the database: a PDF, an image, a Word document or text, up to
    ``carenav.documents.MAX_DOCUMENT_BYTES``); InvalidInput saying what is wrong with the file otherwise."""
    authorization, patient = _reach(session, actor, authorization_uuid)
    if authorization.status == _S.WITHDRAWN.value:
        raise RuleViolation("the request is withdrawn", where="document")
    if len(authorization.documents) >= MAX_DOCUMENTS:
        raise RuleViolation(f"a request keeps at most {MAX_DOCUMENTS} documents", where="document")
    document = AuthorizationDocument(
        org_id=authorization.org_id,
        patient_id=authorization.patient_id,
        **document_columns(filename, content, description, actor.label),
    )
    authorization.documents.append(document)
    name = document.filename
    note = f"document added: {name} ({kind_label(document.media_type)})"
    authorization.events.append(AuthorizationEvent(at=now(), actor=actor.label, note=note))
    session.flush()
    audit_patient_row(
        session,
        actor,
        patient.uuid,
        document,
        "authorization-document-add",
        f"{name}, {document.size_bytes} bytes, sha256 {document.sha256}",
    )
    return document


def document_read(*, session: Session, actor: Actor, document_uuid: str) -> AuthorizationDocument:
    """A request's document with its content, for the actor to download (audited)."""
    document, patient = record_in_reach(
        session=session, actor=actor, model=AuthorizationDocument, uuid=document_uuid, what="document"
    )
    audit_patient_row(
        session, actor, patient.uuid, document, "authorization-document-read", document.filename
    )
    return document


def document_remove(*, session: Session, actor: Actor, document_uuid: str, reason: str) -> PriorAuthorization:
    """Take a document off the request (attached by mistake, the wrong patient's): its content is deleted;
    the event and the audit keep its name, digest and the reason."""
    document, patient = record_in_reach(
        session=session, actor=actor, model=AuthorizationDocument, uuid=document_uuid, what="document"
    )
    if not reason.strip():
        raise InvalidInput("say why the document is removed", where="document removal")
    authorization = session.get_one(PriorAuthorization, document.authorization_id)
    authorization.documents.remove(document)
    note = f"document removed: {document.filename} ({reason.strip()})"
    authorization.events.append(AuthorizationEvent(at=now(), actor=actor.label, note=note))
    audit_patient_row(
        session,
        actor,
        patient.uuid,
        document,
        "authorization-document-remove",
        f"{note}; sha256 {document.sha256}",
    )
    session.flush()
    return authorization


# --- appeals ---------------------------------------------------------------------------------------


def appeal_file(
    *,
    session: Session,
    actor: Actor,
    authorization_uuid: str,
    filed_on: date | None = None,
    expedited: bool = False,
    grounds: str | None = None,
    reference_number: str | None = None,
    late_reason: str | None = None,
) -> Appeal:
    """An appeal of a denied or partially approved request, at the next level, filed on ``filed_on`` (today
    if not given). Its decision falls due by the payer's rule for that level (a level without a rule is
    recorded without deadlines). Filed after the window closed, it needs the good cause (``late_reason``)."""
    authorization, patient = _reach(session, actor, authorization_uuid)
    on = _past_or_today(filed_on, "appeal filed on")
    level = next_appeal_level(_S(authorization.status), _views(authorization.appeals))
    if authorization.decided_on is not None and on < authorization.decided_on:
        raise InvalidInput(
            f"filed on {on}, before the decision of {authorization.decided_on}", where="appeal filed on"
        )
    late = (late_reason or "").strip() or None
    if authorization.appeal_by is not None and on > authorization.appeal_by and late is None:
        raise RuleViolation(
            f"the window to appeal closed on {authorization.appeal_by}: say why it is filed late (the good"
            " cause the payer is asked to accept)",
            where="appeal filed on",
        )
    rule = payer_rules().appeal_rule(PayerKind(authorization.payer_kind), level)
    appeal = Appeal(
        org_id=authorization.org_id,
        patient_id=authorization.patient_id,
        level=level,
        status=AppealStatus.FILED.value,
        expedited=expedited,
        filed_on=on,
        filed_by=actor.label,
        grounds=(grounds or "").strip() or None,
        late_reason=late,
        reference_number=_short(reference_number, 64, "appeal reference number"),
        rule=f"{rule.name}: {rule.source}" if rule is not None else None,
        decision_due_on=rule.decision_due(on, expedited=expedited) if rule is not None else None,
    )
    authorization.appeals.append(appeal)
    session.flush()
    name = rule.name if rule is not None else "appeal (level not tracked by the payer rules)"
    note = f"level {level} {name} filed {on}" + (" (expedited)" if expedited else "")
    if appeal.decision_due_on is not None:
        note += f"; decision due {appeal.decision_due_on}"
    _appeal_event(session, actor, patient, authorization, appeal, None, AppealStatus.FILED, note)
    return appeal


def appeal_schedule_peer_to_peer(
    *, session: Session, actor: Actor, appeal_uuid: str, at: datetime, with_whom: str
) -> Appeal:
    """The peer-to-peer review of the appeal (the ordering clinician with the payer's reviewer): when, and
    with whom. Scheduling again moves it."""
    appeal, authorization, patient = _appeal_reach(session, actor, appeal_uuid)
    if at.tzinfo is None:
        raise InvalidInput("the time of the review needs its time zone", where="peer-to-peer time")
    if at < now():
        raise InvalidInput(f"{at:%Y-%m-%d %H:%M %Z} has passed", where="peer-to-peer time")
    who = _short(with_whom, 300, "peer-to-peer with")
    if who is None:
        raise InvalidInput("name the payer's reviewer (or the office) it is with", where="peer-to-peer with")
    before = AppealStatus(appeal.status)
    appeal.status = appeal_move(before, AppealStatus.PEER_TO_PEER_SCHEDULED).value
    moved = appeal.peer_to_peer_at is not None
    appeal.peer_to_peer_at = at
    appeal.peer_to_peer_with = who
    note = (
        f"peer-to-peer {'moved to' if moved else 'scheduled'} {at.isoformat(timespec='minutes')} with {who}"
    )
    _appeal_event(
        session, actor, patient, authorization, appeal, before, AppealStatus.PEER_TO_PEER_SCHEDULED, note
    )
    return appeal


def appeal_peer_to_peer_held(*, session: Session, actor: Actor, appeal_uuid: str, note: str) -> Appeal:
    """The peer-to-peer review took place: what was said and agreed."""
    appeal, authorization, patient = _appeal_reach(session, actor, appeal_uuid)
    before = AppealStatus(appeal.status)
    appeal.status = appeal_move(before, AppealStatus.PEER_TO_PEER_HELD, note=note).value
    appeal.peer_to_peer_note = note.strip()
    _appeal_event(
        session, actor, patient, authorization, appeal, before, AppealStatus.PEER_TO_PEER_HELD, note.strip()
    )
    return appeal


def appeal_decide(
    *,
    session: Session,
    actor: Actor,
    appeal_uuid: str,
    outcome: AppealOutcome,
    decided_on: date | None = None,
    note: str | None = None,
    approval: Approval | None = None,
) -> Appeal:
    """The payer's decision on the appeal, dated as its notice is (today if not given). Overturned, the
    request is approved (``approval``: what it covers); partially overturned, approved in part; upheld, the
    denial stands and the window for the next level opens, by the payer's rule."""
    appeal, authorization, patient = _appeal_reach(session, actor, appeal_uuid)
    on = _past_or_today(decided_on, "appeal decided on")
    if on < appeal.filed_on:
        raise InvalidInput(
            f"decided on {on}, before the appeal was filed on {appeal.filed_on}", where="appeal decided on"
        )
    before = AppealStatus(appeal.status)
    appeal_move(before, AppealStatus.DECIDED, outcome=outcome)
    approval = approval or Approval()
    if outcome is AppealOutcome.UPHELD and not approval.empty:
        raise InvalidInput(
            "an upheld denial approves nothing: leave the approval's number, units and dates empty",
            where="appeal decision",
        )
    number = _check_approval(approval)
    request_before = _S(authorization.status)
    request_after = appeal_effect(request_before, outcome)
    appeal.status = AppealStatus.DECIDED.value
    appeal.outcome = outcome.value
    appeal.decided_on = on
    appeal.decision_note = (note or "").strip() or None
    _apply_approval(authorization, approval, number)
    text = f"level {appeal.level} appeal {outcome.value} {on}" + (
        f": {appeal.decision_note}" if appeal.decision_note else ""
    )
    if request_after in ADVERSE:
        rule = payer_rules().appeal_rule(PayerKind(authorization.payer_kind), appeal.level + 1)
        _open_window(authorization, rule, on)
        if rule is not None and rule.automatic:
            text += f"; the payer forwards it to level {rule.level} ({rule.name})"
        elif authorization.appeal_by is not None:
            text += f"; level {appeal.level + 1} appeal by {authorization.appeal_by}"
    else:
        authorization.appeal_by = None
        authorization.appeal_rule = None
    _appeal_event(session, actor, patient, authorization, appeal, before, AppealStatus.DECIDED, text)
    if request_after is not request_before:
        authorization.status = request_after.value
        authorization.status_at = now()
        authorization.events.append(
            AuthorizationEvent(
                at=now(),
                actor=actor.label,
                appeal_id=appeal.id,
                from_status=request_before.value,
                to_status=request_after.value,
                note=f"by the level {appeal.level} appeal",
            )
        )
    return appeal


def appeal_withdraw(*, session: Session, actor: Actor, appeal_uuid: str, reason: str) -> Appeal:
    """The appeal is withdrawn (with the reason); another may be filed at its level while the window is
    open."""
    appeal, authorization, patient = _appeal_reach(session, actor, appeal_uuid)
    before = AppealStatus(appeal.status)
    appeal.status = appeal_move(before, AppealStatus.WITHDRAWN, note=reason).value
    _appeal_event(
        session, actor, patient, authorization, appeal, before, AppealStatus.WITHDRAWN, reason.strip()
    )
    return appeal


def _appeal_event(
    session: Session,
    actor: Actor,
    patient: Patient,
    authorization: PriorAuthorization,
    appeal: Appeal,
    before: AppealStatus | None,
    to: AppealStatus,
    note: str,
) -> None:
    authorization.events.append(
        AuthorizationEvent(
            at=now(),
            actor=actor.label,
            appeal_id=appeal.id,
            from_status=before.value if before else None,
            to_status=to.value,
            note=note,
        )
    )
    audit_patient_row(session, actor, patient.uuid, appeal, f"appeal-{to.value}", note)


# --- alternatives ----------------------------------------------------------------------------------


def alternative_add(
    *,
    session: Session,
    actor: Actor,
    authorization_uuid: str,
    description: str,
    reason: str | None = None,
    goal_uuid: str | None = None,
) -> Alternative:
    """Another way to the goal of a denied (or partially approved) service, weighed by the care manager: what
    it is, why it is considered, and the goal it serves (the request's goal if not given)."""
    authorization, patient = _reach(session, actor, authorization_uuid)
    if _S(authorization.status) not in ADVERSE:
        raise RuleViolation(
            f"alternatives are weighed when a service is denied; this request is {authorization.status}",
            where="alternative",
        )
    text = description.strip()
    if not text:
        raise InvalidInput("describe the alternative", where="alternative")
    if any(a.description.casefold() == text.casefold() for a in authorization.alternatives):
        raise InvalidInput(f"{text!r} is already listed", where="alternative")
    goal_id = _goal_id(session, patient, goal_uuid) if goal_uuid else authorization.goal_id
    alternative = Alternative(
        org_id=authorization.org_id,
        patient_id=authorization.patient_id,
        description=text,
        reason=(reason or "").strip() or None,
        goal_id=goal_id,
        added_by=actor.label,
    )
    authorization.alternatives.append(alternative)
    authorization.events.append(
        AuthorizationEvent(at=now(), actor=actor.label, note=f"alternative considered: {text}")
    )
    session.flush()
    audit_patient_row(session, actor, patient.uuid, alternative, "authorization-alternative", text)
    return alternative


def alternative_choose(
    *, session: Session, actor: Actor, alternative_uuid: str, reason: str | None = None
) -> Alternative:
    """The alternative chosen, in place of any chosen before. It must be linked to the goal it serves."""
    alternative, patient = record_in_reach(
        session=session, actor=actor, model=Alternative, uuid=alternative_uuid, what="alternative"
    )
    authorization = session.get_one(PriorAuthorization, alternative.authorization_id)
    if _S(authorization.status) not in ADVERSE:
        raise RuleViolation(
            f"the request is {authorization.status}: no alternative is needed", where="alternative"
        )
    if alternative.goal_id is None:
        raise RuleViolation(
            "link the alternative to the goal it serves before choosing it", where="alternative goal"
        )
    if alternative.chosen:
        raise RuleViolation("this alternative is already the one chosen", where="alternative")
    replaced = [a for a in authorization.alternatives if a.chosen]
    for other in replaced:
        other.chosen = False
    alternative.chosen = True
    alternative.chosen_on = today()
    alternative.choice_reason = (reason or "").strip() or None
    note = f"alternative chosen: {alternative.description}"
    if replaced:
        note += f" (instead of {replaced[0].description})"
    if alternative.choice_reason:
        note += f": {alternative.choice_reason}"
    authorization.events.append(AuthorizationEvent(at=now(), actor=actor.label, note=note))
    audit_patient_row(session, actor, patient.uuid, alternative, "authorization-alternative-chosen", note)
    return alternative


def alternative_link_goal(
    *, session: Session, actor: Actor, alternative_uuid: str, goal_uuid: str
) -> Alternative:
    """Link an alternative to the goal of the patient's care plan it serves."""
    alternative, patient = record_in_reach(
        session=session, actor=actor, model=Alternative, uuid=alternative_uuid, what="alternative"
    )
    alternative.goal_id = _goal_id(session, patient, goal_uuid)
    goal = session.get_one(Goal, alternative.goal_id)
    audit_patient_row(
        session,
        actor,
        patient.uuid,
        alternative,
        "authorization-alternative-goal",
        f"{alternative.description} serves {goal.description}",
    )
    return alternative


# --- the advocacy log ------------------------------------------------------------------------------


def advocacy_record(
    *,
    session: Session,
    actor: Actor,
    patient_uuid: str,
    kind: str,
    action: str,
    done_on: date | None = None,
    with_whom: str | None = None,
    outcome: str | None = None,
    authorization_uuid: str | None = None,
) -> AdvocacyAction:
    """Something done on the patient's behalf (``kind``: one of ``ADVOCACY_KINDS``), on ``done_on`` (today if
    not given), with whom and what came of it; ``authorization_uuid``: the patient's request it was for."""
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    if kind not in ADVOCACY_KINDS:
        raise InvalidInput(f"{kind!r} is not one of {', '.join(ADVOCACY_KINDS)}", where="advocacy kind")
    if not action.strip():
        raise InvalidInput("say what was done", where="advocacy action")
    on = _past_or_today(done_on, "advocacy date")
    authorization_id = None
    if authorization_uuid:
        authorization_id = patient_row(
            session=session,
            model=PriorAuthorization,
            uuid=authorization_uuid,
            patient=patient,
            what="request",
        ).id
    entry = AdvocacyAction(
        org_id=patient.org_id,
        patient_id=patient.id,
        done_on=on,
        kind=kind,
        with_whom=_short(with_whom, 300, "advocacy with whom"),
        action=action.strip(),
        outcome=(outcome or "").strip() or None,
        authorization_id=authorization_id,
        recorded_by=actor.label,
        recorded_by_user_id=actor.user_id,
    )
    session.add(entry)
    session.flush()
    audit_patient_row(
        session, actor, patient.uuid, entry, "advocacy-record", f"{kind} on {on}: {entry.action}"
    )
    return entry


def advocacy_log(*, session: Session, actor: Actor, patient_uuid: str) -> list[AdvocacyAction]:
    """The patient's advocacy log, latest first."""
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    return list(
        session.scalars(
            select(AdvocacyAction)
            .where(AdvocacyAction.patient_id == patient.id)
            .order_by(AdvocacyAction.done_on.desc(), AdvocacyAction.id.desc())
        )
    )


# --- reads -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuthorizationView:
    """A request as the screens show it: its open deadlines (soonest first), the moves open to it, and its
    next appeal (the level, and the payer's rule for it)."""

    row: PriorAuthorization
    deadlines: list[Deadline]
    moves: list[str]
    next_level: int | None
    next_rule: AppealRule | None
    open_appeal: Appeal | None

    @property
    def next_deadline(self) -> Deadline | None:
        return self.deadlines[0] if self.deadlines else None


def authorization_view(row: PriorAuthorization, *, on: date, zone: ZoneInfo) -> AuthorizationView:
    status = _S(row.status)
    views = _views(row.appeals, zone)
    open_appeal = next((a for a in row.appeals if AppealStatus(a.status) in APPEAL_OPEN), None)
    level = None
    if status in ADVERSE and open_appeal is None:
        level = next_appeal_level(status, views)
    return AuthorizationView(
        row=row,
        deadlines=authorization_deadlines(
            status,
            decision_due_on=row.decision_due_on,
            appeal_by=row.appeal_by,
            valid_to=row.valid_to,
            appeals=views,
            today=on,
        ),
        moves=sorted(m.value for m in AUTHORIZATION_MOVES[status] if m in (_S.PENDING, _S.WITHDRAWN)),
        next_level=level,
        next_rule=payer_rules().appeal_rule(PayerKind(row.payer_kind), level) if level else None,
        open_appeal=open_appeal,
    )


def patient_authorizations(*, session: Session, actor: Actor, patient_uuid: str) -> list[AuthorizationView]:
    """The patient's requests, latest change first, each with its deadlines."""
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    zone = org_zone(session, actor.org_id)
    rows = session.scalars(
        select(PriorAuthorization)
        .where(PriorAuthorization.patient_id == patient.id)
        .order_by(PriorAuthorization.status_at.desc(), PriorAuthorization.id.desc())
    )
    return [authorization_view(r, on=today(), zone=zone) for r in rows]


@dataclass(frozen=True)
class DueItem:
    """One deadline of the tracker: what is due when, of which request, for which patient."""

    deadline: Deadline
    authorization: PriorAuthorization
    patient: Patient
    days_left: int

    @property
    def overdue(self) -> bool:
        return self.days_left < 0


def authorizations_due(*, session: Session, actor: Actor, within_days: int = 30) -> list[DueItem]:
    """The deadlines of the requests of the patients within the actor's reach that fall due within
    ``within_days`` days from today, overdue ones included, soonest first (what the tracker and the worklist
    show)."""
    if not 0 <= within_days <= MAX_DUE_DAYS:
        raise InvalidInput(f"{within_days} days; look 0 to {MAX_DUE_DAYS} days ahead", where="within days")
    on = today()
    horizon = on + timedelta(days=within_days)
    zone = org_zone(session, actor.org_id)
    rows = session.execute(
        select(PriorAuthorization, Patient)
        .join(Patient, Patient.id == PriorAuthorization.patient_id)
        .where(
            patient_scope(actor),
            or_(
                PriorAuthorization.status.in_([s.value for s in (*IN_REVIEW, *ADVERSE)]),
                and_(
                    PriorAuthorization.status == _S.APPROVED.value,
                    PriorAuthorization.valid_to >= on,
                    PriorAuthorization.valid_to <= horizon,
                ),
            ),
        )
        .order_by(PriorAuthorization.id)
    ).all()
    items = [
        DueItem(deadline=d, authorization=row, patient=patient, days_left=d.days_left(on))
        for row, patient in rows
        for d in authorization_view(row, on=on, zone=zone).deadlines
        if d.on <= horizon
    ]
    return sorted(items, key=lambda i: (i.deadline.on, i.authorization.id))


# --- helpers ---------------------------------------------------------------------------------------


def _views(appeals: Iterable[Appeal], zone: ZoneInfo | None = None) -> list[AppealView]:
    return [
        AppealView(
            level=a.level,
            status=AppealStatus(a.status),
            outcome=AppealOutcome(a.outcome) if a.outcome else None,
            decision_due_on=a.decision_due_on,
            peer_to_peer_on=(
                a.peer_to_peer_at.astimezone(zone or ZoneInfo("UTC")).date() if a.peer_to_peer_at else None
            ),
        )
        for a in appeals
    ]


def _reach(session: Session, actor: Actor, authorization_uuid: str) -> tuple[PriorAuthorization, Patient]:
    return record_in_reach(
        session=session, actor=actor, model=PriorAuthorization, uuid=authorization_uuid, what="request"
    )


def _appeal_reach(
    session: Session, actor: Actor, appeal_uuid: str
) -> tuple[Appeal, PriorAuthorization, Patient]:
    appeal, patient = record_in_reach(
        session=session, actor=actor, model=Appeal, uuid=appeal_uuid, what="appeal"
    )
    return appeal, session.get_one(PriorAuthorization, appeal.authorization_id), patient


def _goal_id(session: Session, patient: Patient, goal_uuid: str | None) -> int | None:
    if not goal_uuid:
        return None
    return patient_row(session=session, model=Goal, uuid=goal_uuid, patient=patient, what="goal").id


def _past_or_today(on: date | None, where: str) -> date:
    if on is None:
        return today()
    if on > today():
        raise InvalidInput(f"{on} is in the future", where=where)
    return on


def _short(text: str | None, limit: int, where: str) -> str | None:
    value = (text or "").strip()
    if len(value) > limit:
        raise InvalidInput(f"{len(value)} characters; at most {limit}", where=where)
    return value or None


def _audit(
    session: Session,
    actor: Actor,
    patient: Patient,
    authorization: PriorAuthorization,
    action: str,
    detail: str,
) -> None:
    audit_patient_row(session, actor, patient.uuid, authorization, action, detail)
