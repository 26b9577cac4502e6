"""Task over the facade: read, search, ``$everything`` and export, over every table whose rows are Tasks.

Three tables hold Tasks: the interventions of care plans, referrals (the Task that tracks a referral's
fulfilment, ``fhir/referrals.py``), and the tasks of transitions of care (``fhir/transition_tasks.py``,
code system ``https://carenav.org/fhir/CodeSystem/tcm-task``). Each table is
a ``TaskSource`` in ``TASK_SOURCES``: how to find a row by id (through the patient gate, audited), its rows
of one patient matching a search as ``(at, id)`` keys, how to load rows by key, and its mapper. Searches
page over the union of every source's keys in SQL (``merged_page``: newest first, one total), so a new
source is one more ``TaskSource`` registered with ``register_task_source`` — the search, ``$everything``,
the read and the export take it as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

from carenav.access import Actor, patient_visible
from carenav.accounts.rules import Role
from carenav.careplans.models import Intervention
from carenav.careplans.record_queries import care_record_read, intervention_keys, interventions_by_key
from carenav.errors import NotFound
from carenav.fhir.mappers.common import FHIRDict, Refs
from carenav.fhir.mappers.referral import TASK_CODE_SYSTEM, referral_task_resource
from carenav.fhir.mappers.task import INTERVENTION_KIND_SYSTEM, TASK, task_resource
from carenav.fhir.mappers.transition_task import transition_task_resource
from carenav.fhir.references import refs_for
from carenav.fhir.referrals import partner_task_search, referral_keys, referral_task_read, referrals_by_key
from carenav.fhir.search import SearchRequest, required_patient, token_codes, token_matches
from carenav.fhir.transition_tasks import transition_task_keys, transition_task_read, transition_tasks_by_key
from carenav.patients.clinical_queries import CodeMatch, RecordPage, RowSource, merged_page
from carenav.referrals.models import Referral
from carenav.transitions.models import TransitionTask

TASK_STATUS = "http://hl7.org/fhir/task-status"


@dataclass(frozen=True)
class TaskCriteria:
    """A Task search as understood: statuses (Task.status codes) and codes (each source decides which of
    its rows a code names: a code in a system it does not use names none). Empty: any."""

    statuses: Sequence[str] = ()
    codes: Sequence[CodeMatch] = ()


@dataclass(frozen=True)
class TaskSource:
    """One table whose rows are Tasks. ``keys(patient_id, criteria)``: the patient's matching rows as
    ``(at, id)`` (see ``RowSource``); ``read(session, actor, id)``: one row by public id, audited,
    NotFound outside reach; ``load``: rows by key; ``model``: the table, for the export."""

    entity: str
    model: type[Any]
    keys: Callable[[int, TaskCriteria], Select[datetime, int]]
    load: Callable[[Session, Sequence[int]], Sequence[Any]]
    read: Callable[[Session, Actor, str], Any]
    to_fhir: Callable[[Any, Refs], FHIRDict]


def _intervention_keys(patient_id: int, criteria: TaskCriteria) -> Select[datetime, int]:
    kinds = None
    if criteria.codes:
        kinds = [m.code for m in criteria.codes if m.system in (None, INTERVENTION_KIND_SYSTEM)]
    return intervention_keys(patient_id, statuses=criteria.statuses, kinds=kinds)


def _intervention_read(session: Session, actor: Actor, resource_id: str) -> Intervention:
    row, _patient = care_record_read(
        session=session, actor=actor, model=Intervention, record_uuid=resource_id
    )
    return row


def _referral_keys(patient_id: int, criteria: TaskCriteria) -> Select[datetime, int]:
    fulfil = not criteria.codes or any(
        m.code == "fulfill" and m.system in (None, TASK_CODE_SYSTEM) for m in criteria.codes
    )
    return referral_keys(patient_id, criteria.statuses, fulfil)


def _transition_keys(patient_id: int, criteria: TaskCriteria) -> Select[datetime, int]:
    return transition_task_keys(patient_id, criteria.statuses, criteria.codes)


TASK_SOURCES: list[TaskSource] = [
    TaskSource(
        entity="Intervention",
        model=Intervention,
        keys=_intervention_keys,
        load=interventions_by_key,
        read=_intervention_read,
        to_fhir=task_resource,
    ),
    TaskSource(
        entity="Referral",
        model=Referral,
        keys=_referral_keys,
        load=referrals_by_key,
        read=referral_task_read,
        to_fhir=referral_task_resource,
    ),
    TaskSource(
        entity="TransitionTask",
        model=TransitionTask,
        keys=_transition_keys,
        load=transition_tasks_by_key,
        read=transition_task_read,
        to_fhir=transition_task_resource,
    ),
]


def register_task_source(source: TaskSource) -> None:
    """Serve the rows of another table as Tasks (issue 7: the tasks of transitions of care)."""
    if any(s.model is source.model for s in TASK_SOURCES):
        raise ValueError(f"{source.model.__name__} is already a source of Tasks")
    TASK_SOURCES.append(source)


def task_read(*, session: Session, actor: Actor, resource_id: str) -> FHIRDict:
    """The Task ``resource_id`` from whichever source holds it; NotFound outside the actor's reach."""
    for source in TASK_SOURCES:
        try:
            row = source.read(session, actor, resource_id)
        except NotFound:
            continue
        return source.to_fhir(row, refs_for(session, [row]))
    raise NotFound(f"no {TASK} {resource_id}", where=TASK)


def task_page(
    *,
    session: Session,
    actor: Actor,
    patient_uuid: str,
    criteria: TaskCriteria,
    offset: int,
    limit: int | None,
) -> tuple[list[FHIRDict], int]:
    """A page of the patient's Tasks from every source, newest first, and the total."""
    sources = [RowSource(s.entity, _keys_of(s, criteria), s.load) for s in TASK_SOURCES]
    codes = ",".join(m.describe() for m in criteria.codes) or "any"
    detail = f"status in {sorted(criteria.statuses) or 'any'}; code {codes}"
    page: RecordPage[tuple[int, Any]] = merged_page(
        session=session,
        actor=actor,
        patient_uuid=patient_uuid,
        sources=sources,
        offset=offset,
        limit=limit,
        detail=detail,
    )
    refs = refs_for(session, [row for _, row in page.items])
    return [TASK_SOURCES[number].to_fhir(row, refs) for number, row in page.items], page.total


def _keys_of(source: TaskSource, criteria: TaskCriteria) -> Callable[[int], Select[datetime, int]]:
    def keys(patient_id: int) -> Select[datetime, int]:
        return source.keys(patient_id, criteria)

    return keys


def task_search(*, session: Session, actor: Actor, query: SearchRequest) -> tuple[list[FHIRDict], int]:
    """``GET Task?patient=...&status=...&code=...`` (a partner: ``Task?status=...``, the fulfilment Tasks
    of the referrals sent to it)."""
    if actor.role == Role.PARTNER:
        return partner_task_search(session=session, actor=actor, query=query)
    patient_uuid = required_patient(query)
    status_text = query.first("status")
    statuses = token_codes(status_text, system=TASK_STATUS, where="Task?status") if status_text else []
    if status_text and not statuses:
        patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
        return [], 0
    code_text = query.first("code")
    criteria = TaskCriteria(
        statuses=statuses, codes=token_matches(code_text, where="Task?code") if code_text else []
    )
    return task_page(
        session=session,
        actor=actor,
        patient_uuid=patient_uuid,
        criteria=criteria,
        offset=query.offset,
        limit=query.count,
    )
