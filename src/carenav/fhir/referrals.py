"""Referrals over the facade: ServiceRequest read and search, the fulfilment Task (a source of
``fhir/tasks.py``), and the update of that Task by the organization the referral was sent to.

Who reaches what is ``referrals.services.referral_scope``: the care team through the patient; a partner
(a community organization's account, docs/referrals.md) the referrals sent to it, searched without a
patient. A partner sees the patient's name on the referral (their consent to share is on file before a
community referral is sent) and nothing else of the record.

``PUT Task/<id>`` (scope ``fhir:write``) records the organization's progress: the new ``status`` is one
step of the referral's loop (``received`` — also ``requested`` with ``businessStatus`` received —,
``accepted``, ``rejected``, ``in-progress``, ``completed``, ``cancelled``), with ``statusReason.text``
(a decline or cancellation) or a ``resulting-activity`` output (a completion's outcome); ``note``
entries the Task did not have become notes of the referral. Nothing else of the Task may change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fhir.resources.R4B.task import Task as R4Task
from sqlalchemy import Select, false, select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.accounts.rules import Role
from carenav.audit.services import audit_record
from carenav.errors import InvalidInput, RuleViolation, Unsupported
from carenav.fhir.mappers.common import FHIRDict
from carenav.fhir.mappers.referral import (
    REFERRAL_STEP_FOR_TASK,
    SERVICE_REQUEST,
    SERVICE_REQUEST_STATUS,
    TASK_STATUS,
    referral_task_resource,
    service_request_resource,
)
from carenav.fhir.references import refs_for
from carenav.fhir.search import SearchRequest, patient_reference, token_codes
from carenav.fhir.submissions import check_structure, json_resource
from carenav.patients.queries import patient_labels
from carenav.referrals.models import Referral
from carenav.referrals.rules import ReferralStatus
from carenav.referrals.services import (
    referral_in_reach,
    referral_note,
    referral_page,
    referral_step_by_fulfilment,
)

TASK_STATUS_SYSTEM = "http://hl7.org/fhir/task-status"
REQUEST_STATUS_SYSTEM = "http://hl7.org/fhir/request-status"


def _mapped(session: Session, rows: Sequence[Referral], mapper: Any) -> list[FHIRDict]:
    refs = refs_for(session, rows)
    names = {pid: label.name for pid, label in patient_labels(session, {r.patient_id for r in rows}).items()}
    return [mapper(row, refs, names) for row in rows]


def _read(session: Session, actor: Actor, **key: str) -> Referral:
    referral, patient = referral_in_reach(session=session, actor=actor, **key)
    audit_record(
        session=session,
        actor=actor,
        action="read",
        patient_uuid=patient.uuid,
        entity_type="Referral",
        entity_id=referral.uuid,
    )
    return referral


def service_request_read(*, session: Session, actor: Actor, resource_id: str) -> FHIRDict:
    referral = _read(session, actor, referral_uuid=resource_id)
    return _mapped(session, [referral], service_request_resource)[0]


def referral_task_read(session: Session, actor: Actor, resource_id: str) -> Referral:
    """The referral whose fulfilment Task is ``resource_id`` (a ``TaskSource`` read)."""
    return _read(session, actor, fulfilment_uuid=resource_id)


def referral_task_mapped(row: Referral, refs: Any) -> FHIRDict:
    return referral_task_resource(row, refs)


def referral_keys(patient_id: int, statuses: Sequence[str], fulfil_only: bool) -> Select[datetime, int]:
    """The patient's referrals as Task keys ``(at, id)`` whose Task status is one of ``statuses`` (any when
    empty); ``fulfil_only`` False when the search's code names something other than ``fulfill``."""
    statement = select(Referral.created_at.label("at"), Referral.id.label("id")).where(
        Referral.patient_id == patient_id
    )
    if not fulfil_only:
        return statement.where(false())
    if statuses:
        statement = statement.where(Referral.status.in_(_referral_statuses(statuses)))
    return statement


def referrals_by_key(session: Session, ids: Sequence[int]) -> Sequence[Referral]:
    return list(session.scalars(select(Referral).where(Referral.id.in_(ids))))


def _referral_statuses(task_statuses: Sequence[str]) -> list[str]:
    return [ours for ours, theirs in TASK_STATUS.items() if theirs in task_statuses]


def _search_patient(query: SearchRequest, actor: Actor) -> str | None:
    value = query.first("patient")
    if value is None:
        if actor.role == Role.PARTNER:
            return None
        raise InvalidInput(
            f"{query.resource_type} search needs patient=<id>", where=f"{query.resource_type}?patient"
        )
    return patient_reference(value, where=f"{query.resource_type}?patient")


def service_request_search(
    *, session: Session, actor: Actor, query: SearchRequest
) -> tuple[list[FHIRDict], int]:
    """``GET ServiceRequest?patient=&status=`` (a partner: without a patient, every referral sent to it)."""
    patient_uuid = _search_patient(query, actor)
    status_text = query.first("status")
    wanted: list[ReferralStatus] = []
    if status_text:
        codes = token_codes(status_text, system=REQUEST_STATUS_SYSTEM, where="ServiceRequest?status")
        wanted = [ReferralStatus(ours) for ours, theirs in SERVICE_REQUEST_STATUS.items() if theirs in codes]
        if not wanted:
            return [], 0
    page = referral_page(
        session=session,
        actor=actor,
        patient_uuid=patient_uuid,
        statuses=wanted,
        offset=query.offset,
        limit=query.count,
    )
    return _mapped(session, page.items, service_request_resource), page.total


def partner_task_search(
    *, session: Session, actor: Actor, query: SearchRequest
) -> tuple[list[FHIRDict], int]:
    """``GET Task?status=`` by a partner: the fulfilment Tasks of the referrals sent to it."""
    status_text = query.first("status")
    wanted: list[ReferralStatus] = []
    if status_text:
        codes = token_codes(status_text, system=TASK_STATUS_SYSTEM, where="Task?status")
        wanted = [ReferralStatus(s) for s in _referral_statuses(codes)]
        if not wanted:
            return [], 0
    page = referral_page(
        session=session,
        actor=actor,
        patient_uuid=_search_patient(query, actor),
        statuses=wanted,
        offset=query.offset,
        limit=query.count,
    )
    return _mapped(session, page.items, referral_task_resource), page.total


# --- update -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskUpdate:
    """What a ``PUT Task`` asks: the referral step its status names (None: the status is unchanged), the
    reason or outcome that goes with it, and the notes it adds."""

    status: str
    step: ReferralStatus | None
    note: str | None
    notes: tuple[str, ...]
    focus: str | None
    subject: str | None


UNSUPPORTED_TASK_STATUSES = {
    "on-hold": "carenav's referral loop has no on-hold: keep the Task in-progress and add a note",
    "failed": "carenav's referral loop has no failed: cancel the Task with statusReason.text saying why",
    "draft": "only the referrer keeps a referral as a draft",
    "ready": "a referral Task is not 'ready' (the SDOH referral value set excludes it)",
    "entered-in-error": "ask the referring care team to withdraw a referral entered in error",
}


def task_update_read(body: bytes, resource_id: str) -> TaskUpdate:
    """The body of ``PUT Task/<resource_id>``: valid FHIR R4, the same id, a status carenav's loop knows."""
    resource = json_resource(body, "Task")
    check_structure(resource, R4Task)
    if resource.get("id") != resource_id:
        raise InvalidInput(
            f"the Task's id {resource.get('id')!r} is not the id in the URL ({resource_id})", where="Task.id"
        )
    if resource.get("intent") != "order":
        raise RuleViolation(
            f"a referral's Task has intent order, not {resource.get('intent')!r}", where="Task.intent"
        )
    status = str(resource.get("status"))
    if status in UNSUPPORTED_TASK_STATUSES:
        raise Unsupported(UNSUPPORTED_TASK_STATUSES[status], where="Task.status")
    step: ReferralStatus | None
    if status == "requested":
        business = _texts(resource.get("businessStatus"))
        step = ReferralStatus.RECEIVED if "received" in business else None
    elif status in REFERRAL_STEP_FOR_TASK:
        step = ReferralStatus(REFERRAL_STEP_FOR_TASK[status])
    else:
        raise InvalidInput(f"status {status!r} is not a Task status", where="Task.status")
    note = _outcome(resource) if step is ReferralStatus.COMPLETED else _reason(resource)
    notes = tuple(
        str(n["text"]).strip() for n in resource.get("note") or [] if isinstance(n, Mapping) and n.get("text")
    )
    focus = (resource.get("focus") or {}).get("reference")
    subject = (resource.get("for") or {}).get("reference")
    return TaskUpdate(status=status, step=step, note=note, notes=notes, focus=focus, subject=subject)


def _texts(value: Any) -> set[str]:
    if not isinstance(value, Mapping):
        return set()
    found = {str(value.get("text") or "").strip().lower()}
    found |= {str(c.get("code") or "").lower() for c in value.get("coding") or [] if isinstance(c, Mapping)}
    return found - {""}


def _reason(resource: Mapping[str, Any]) -> str | None:
    reason = resource.get("statusReason")
    return str(reason.get("text") or "").strip() or None if isinstance(reason, Mapping) else None


def _outcome(resource: Mapping[str, Any]) -> str | None:
    """A completion's outcome: the ``resulting-activity`` output's text (or string), else the reason."""
    for output in resource.get("output") or []:
        if not isinstance(output, Mapping):
            continue
        if "resulting-activity" not in _texts(output.get("type")):
            continue
        concept = output.get("valueCodeableConcept")
        text = output.get("valueString") or (
            concept.get("text") or next((c.get("display") for c in concept.get("coding") or []), None)
            if isinstance(concept, Mapping)
            else None
        )
        if text and str(text).strip():
            return str(text).strip()
    return _reason(resource)


def referral_task_update(*, session: Session, actor: Actor, resource_id: str, body: bytes) -> FHIRDict:
    """Record the update: the step (if the status changed), then the new notes; the Task as it now is.
    Nothing is kept when any part is refused (the caller rolls back)."""
    update = task_update_read(body, resource_id)
    referral, patient = referral_in_reach(session=session, actor=actor, fulfilment_uuid=resource_id)
    if update.focus is not None and update.focus.rpartition("/")[2] != referral.uuid:
        raise RuleViolation(
            f"this Task's focus is {SERVICE_REQUEST}/{referral.uuid}, not {update.focus}", where="Task.focus"
        )
    if update.subject is not None and update.subject.rpartition("/")[2] != patient.uuid:
        raise RuleViolation(
            f"this Task is for Patient/{patient.uuid}, not {update.subject}", where="Task.for"
        )
    current = ReferralStatus(referral.status)
    if update.step is not None and update.step is not current:
        referral_step_by_fulfilment(
            session=session, actor=actor, fulfilment_uuid=resource_id, to=update.step, note=update.note
        )
    elif update.step is None and TASK_STATUS[current.value] != update.status:
        raise RuleViolation(
            f"the referral is {current.value} (Task status {TASK_STATUS[current.value]}); it cannot go back "
            f"to {update.status}",
            where="Task.status",
        )
    shown = referral_task_resource(referral, refs_for(session, [referral])).get("note", [])
    known = {str(n.get("text", "")) for n in shown} | {e.note for e in referral.events if e.note}
    for text in update.notes:
        if text not in known:
            referral_note(session=session, actor=actor, referral_uuid=referral.uuid, note=text)
            known.add(text)
    session.flush()
    return _mapped(session, [referral], referral_task_resource)[0]
