"""Bulk Data export: NDJSON per resource type and a manifest, streamed with bounded memory.

Layout of the output folder (FHIR Bulk Data Access, file-based)::

    manifest.json         transactionTime, request, output[{type, url, count}], error[]
    Patient.ndjson        one resource per line
    Condition.ndjson ...

Exporters are a registry: a feature that adds a kind of record registers one ``Exporter``.
Only types with at least one resource get a file. Every exported patient is audited.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import orjson
from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from carenav.access import Actor, patient_scope
from carenav.audit.services import audit_record
from carenav.clock import now
from carenav.errors import InvalidInput
from carenav.fhir.mappers.care_team import care_team_resource
from carenav.fhir.mappers.common import FHIRDict, instant
from carenav.fhir.references import refs_for
from carenav.fhir.resources import CARE_TEAM, QUESTIONNAIRE_RESPONSE_KIND, RESOURCE_KINDS, ResourceKind
from carenav.fhir.tasks import TASK_SOURCES
from carenav.patients.models import CareTeamMember, Encounter, Observation, Patient

CHUNK = 500
MANIFEST = "manifest.json"


class Exporter(Protocol):
    @property
    def resource_type(self) -> str: ...

    def stream(self, session: Session, actor: Actor) -> Iterator[FHIRDict]:
        """Every resource of this type the actor may see, a chunk of rows at a time."""
        ...


def _chunks(session: Session, statement: Select[Any]) -> Iterator[list[Any]]:
    result = session.scalars(statement.execution_options(yield_per=CHUNK))
    for partition in result.partitions():
        yield list(partition)


@dataclass(frozen=True)
class TableExporter:
    """One row per resource, mapped by the kind's mapper."""

    kind: ResourceKind
    options: tuple[Any, ...] = ()

    @property
    def resource_type(self) -> str:
        return self.kind.resource_type

    def statement(self, actor: Actor) -> Select[Any]:
        model = self.kind.model
        if self.kind.scope == "organization":
            statement = select(model).where(model.org_id == actor.org_id)
        elif self.kind.scope == "self":
            statement = select(model).where(patient_scope(actor))
        else:
            statement = (
                select(model).join(Patient, Patient.id == model.patient_id).where(patient_scope(actor))
            )
        return statement.options(*self.options).order_by(model.id)

    def stream(self, session: Session, actor: Actor) -> Iterator[FHIRDict]:
        for rows in _chunks(session, self.statement(actor)):
            refs = refs_for(session, rows)
            for row in rows:
                yield self.kind.to_fhir(row, refs)


class TaskExporter:
    """Every Task, source after source (``fhir/tasks.py``: care-plan interventions, then any other)."""

    resource_type = "Task"

    def stream(self, session: Session, actor: Actor) -> Iterator[FHIRDict]:
        for source in TASK_SOURCES:
            model = source.model
            statement = (
                select(model)
                .join(Patient, Patient.id == model.patient_id)
                .where(patient_scope(actor))
                .order_by(model.id)
            )
            for rows in _chunks(session, statement):
                refs = refs_for(session, rows)
                for row in rows:
                    yield source.to_fhir(row, refs)


class CareTeamExporter:
    """One CareTeam per patient with members, from the member rows in patient order."""

    resource_type = CARE_TEAM

    def stream(self, session: Session, actor: Actor) -> Iterator[FHIRDict]:
        statement = (
            select(CareTeamMember)
            .join(Patient, Patient.id == CareTeamMember.patient_id)
            .where(patient_scope(actor))
            .order_by(CareTeamMember.patient_id, CareTeamMember.id)
        )
        pending: list[CareTeamMember] = []
        for rows in _chunks(session, statement):
            for row in rows:
                if pending and pending[0].patient_id != row.patient_id:
                    yield self._team(session, pending)
                    pending = []
                pending.append(row)
        if pending:
            yield self._team(session, pending)

    @staticmethod
    def _team(session: Session, members: list[CareTeamMember]) -> FHIRDict:
        refs = refs_for(session, members)
        return care_team_resource(refs.patients[members[0].patient_id], members, refs)


def _table(resource_type: str, *options: Any) -> TableExporter:
    return TableExporter(RESOURCE_KINDS[resource_type], tuple(options))


EXPORTERS: list[Exporter] = [
    _table("Organization"),
    _table("Practitioner"),
    _table(
        "Patient",
        selectinload(Patient.names),
        selectinload(Patient.identifiers),
        selectinload(Patient.addresses),
        selectinload(Patient.telecoms),
    ),
    _table("RelatedPerson"),
    _table("Coverage"),
    _table("Encounter", selectinload(Encounter.diagnoses)),
    _table("Condition"),
    _table("Observation", selectinload(Observation.components)),
    _table("MedicationRequest"),
    _table("AllergyIntolerance"),
    _table("Procedure"),
    _table("CarePlan"),
    _table("Goal"),
    _table("ServiceRequest"),
    TaskExporter(),
    TableExporter(
        QUESTIONNAIRE_RESPONSE_KIND
    ),  # every assessment, drafts and withdrawn ones with their status
    CareTeamExporter(),
]


def register_exporter(exporter: Exporter) -> None:
    """Add a resource type to the export (a feature's own records: CarePlan, Task...)."""
    if any(e.resource_type == exporter.resource_type for e in EXPORTERS):
        raise ValueError(f"an exporter for {exporter.resource_type} is already registered")
    EXPORTERS.append(exporter)


@dataclass
class ExportResult:
    directory: Path
    transaction_time: str
    counts: dict[str, int] = field(default_factory=dict)
    patients: int = 0

    def manifest(self, request: str) -> dict[str, Any]:
        return {
            "transactionTime": self.transaction_time,
            "request": request,
            "requiresAccessToken": False,
            "output": [
                {"type": rtype, "url": f"{rtype}.ndjson", "count": count}
                for rtype, count in self.counts.items()
                if count
            ],
            "error": [],
        }


def export_bulk(
    *,
    session: Session,
    actor: Actor,
    directory: Path,
    request: str = "carenav export",
    types: list[str] | None = None,
    on_progress: Callable[[str, int], None] | None = None,
) -> ExportResult:
    """Write every resource the actor may see to ``directory`` (created; must hold no export yet)."""
    known = [e.resource_type for e in EXPORTERS]
    chosen = types or known
    unknown = [t for t in chosen if t not in known]
    if unknown:
        raise InvalidInput(
            f"no exporter for {', '.join(unknown)} (known: {', '.join(known)})", where="--type"
        )
    directory.mkdir(parents=True, exist_ok=True)
    clashes = [p.name for p in directory.iterdir() if p.suffix == ".ndjson" or p.name == MANIFEST]
    if clashes:
        raise InvalidInput(f"{directory} already holds an export ({', '.join(sorted(clashes)[:3])})")
    result = ExportResult(directory=directory, transaction_time=instant(now()) or "")
    for exporter in EXPORTERS:
        if exporter.resource_type not in chosen:
            continue
        count = _write_ndjson(directory / f"{exporter.resource_type}.ndjson", exporter.stream(session, actor))
        result.counts[exporter.resource_type] = count
        if on_progress:
            on_progress(exporter.resource_type, count)
    result.patients = _audit_patients(session=session, actor=actor, directory=directory, types=chosen)
    (directory / MANIFEST).write_bytes(
        orjson.dumps(result.manifest(request), option=orjson.OPT_INDENT_2) + b"\n"
    )
    return result


def _write_ndjson(path: Path, resources: Iterator[FHIRDict]) -> int:
    count = 0
    with path.open("wb") as out:
        for resource in resources:
            out.write(orjson.dumps(resource))
            out.write(b"\n")
            count += 1
        out.flush()
        os.fsync(out.fileno())
    if count == 0:
        path.unlink()
    return count


def _audit_patients(*, session: Session, actor: Actor, directory: Path, types: list[str]) -> int:
    """One audit row per exported patient (their record left the system), written in chunks."""
    statement = select(Patient.uuid).where(patient_scope(actor)).order_by(Patient.id)
    detail = f"bulk export of {', '.join(types)} to {directory}"
    total = 0
    for batch in _chunks(session, statement):
        for uuid in batch:
            audit_record(
                session=session,
                actor=actor,
                action="export",
                patient_uuid=uuid,
                entity_type="Patient",
                entity_id=uuid,
                detail=detail,
            )
        session.flush()
        total += len(batch)
    return total
