"""The import driver: read sources, map and check each resource, write in atomic units, summarize.

Atomicity:
- A Bundle (or a single-resource JSON file): each patient's resources form one unit, written all or
  nothing. A resource that fails its checks is reported and left out; the rest of its patient goes
  in. A Patient that fails makes every resource of that bundle pointing at it fail with "references
  a patient that was not imported". Organizations and Practitioners form a unit of their own.
- NDJSON: files are read Patients first (see ``sources``); each resource is checked completely before
  anything is written and is its own unit (with its child rows: names, diagnoses, components), so
  nothing is half-written. Resources pointing at a Patient that failed in this run, or that is neither
  in this run nor stored, fail. Coverage from ExplanationOfBenefit is collapsed over the whole run.
Units are written in batches with one bulk statement per table; see ``patient_record_upsert``.
"""

from __future__ import annotations

import gc
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.ingest.fhir.coverage import CoverageSpan, collapse_spans, eob_coverage
from carenav.ingest.fhir.datatypes import ResourceProblem
from carenav.ingest.fhir.references import ReferenceIndex
from carenav.ingest.fhir.registry import MAPPERS, not_stored_reason
from carenav.ingest.fhir.sources import (
    BUNDLE,
    HL7V2,
    SourceFile,
    SourceProblem,
    is_type_name,
    ndjson_lines,
    read_json_file,
    source_files,
)
from carenav.ingest.fhir.summary import ImportProblem, ImportSummary
from carenav.patients.services import (
    CREATED,
    UNCHANGED,
    UPDATED,
    RecordKind,
    RecordUnit,
    SourceRecord,
    patient_record_upsert,
)
from carenav.transitions.services import transitions_after_import

DEFAULT_SOURCE = "fhir"
BUNDLE_TYPES = frozenset({"collection", "transaction", "batch", "searchset"})
BATCH_RECORDS = 20_000
MAX_ID_LENGTH = 200
NOTHING_TO_STORE = "nothing to store (a CareTeam without participants)"
HL7V2_NOT_FHIR = "an HL7 v2 file, not FHIR: give it to the HL7 v2 intake (carenav import sorts them itself)"


@dataclass(frozen=True, slots=True)
class ImportLimits:
    max_file_bytes: int
    max_line_bytes: int


@dataclass(slots=True)
class _Tracked:
    """One source resource and the records made from it, so its outcome can be counted once."""

    resource_type: str
    problem_at: ImportProblem
    records: list[SourceRecord]


@dataclass
class _Batch:
    session: Session
    actor: Actor
    source_system: str
    summary: ImportSummary
    units: list[RecordUnit] = field(default_factory=list)
    tracked: list[list[_Tracked]] = field(default_factory=list)
    size: int = 0

    def add(self, items: list[_Tracked], label: str) -> None:
        if not items:
            return
        records = [record for item in items for record in item.records]
        self.units.append(RecordUnit(records, label=label))
        self.tracked.append(items)
        self.size += len(records)
        if self.size >= BATCH_RECORDS:
            self.flush()

    def flush(self) -> None:
        if not self.units:
            return
        outcomes = patient_record_upsert(
            session=self.session, actor=self.actor, units=self.units, source_system=self.source_system
        )
        transitions_after_import(
            session=self.session, actor=self.actor, source_system=self.source_system, outcomes=outcomes
        )
        for outcome, items in zip(outcomes, self.tracked, strict=True):
            status_of = {id(r): s for r, s in zip(outcome.unit.records, outcome.statuses, strict=True)}
            for item in items:
                statuses = [status_of[id(record)] for record in item.records]
                failures = [s for s in statuses if s not in (CREATED, UPDATED, UNCHANGED)]
                if failures:
                    self.summary.fail(_with_reason(item.problem_at, failures[0]))
                elif CREATED in statuses:
                    self.summary.count(item.resource_type, CREATED)
                elif UPDATED in statuses:
                    self.summary.count(item.resource_type, UPDATED)
                else:
                    self.summary.count(item.resource_type, UNCHANGED)
        self.units, self.tracked, self.size = [], [], 0


def _with_reason(at: ImportProblem, reason: str) -> ImportProblem:
    return ImportProblem(at.file, reason, at.line, at.entry, at.resource_type, at.resource_id)


def fhir_import(
    *,
    session: Session,
    actor: Actor,
    paths: Sequence[Path],
    limits: ImportLimits,
    source_system: str = DEFAULT_SOURCE,
    on_file: Callable[[SourceFile], None] | None = None,
) -> ImportSummary:
    """Import FHIR R4 Bundles, single resources and Bulk Data NDJSON from ``paths`` (files or folders)."""
    # Parsed JSON is millions of short-lived dicts and lists with no cycles: the cyclic collector would
    # rescan every live object again and again (it took a third of the import time), so pause it.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _import(
            session=session,
            actor=actor,
            paths=paths,
            limits=limits,
            source_system=source_system,
            on_file=on_file,
        )
    finally:
        if collecting:
            gc.enable()


def _import(
    *,
    session: Session,
    actor: Actor,
    paths: Sequence[Path],
    limits: ImportLimits,
    source_system: str,
    on_file: Callable[[SourceFile], None] | None,
) -> ImportSummary:
    started = time.perf_counter()
    summary = ImportSummary()
    files, unusable = source_files(paths)
    for label, reason in unusable:
        summary.fail(ImportProblem(label, reason))
    batch = _Batch(session=session, actor=actor, source_system=source_system, summary=summary)
    run = _NdjsonRun()
    for source in files:
        summary.files += 1
        try:
            if source.kind == BUNDLE:
                _import_json(source, limits, batch, run.plans)
            elif source.kind == HL7V2:
                raise SourceProblem(HL7V2_NOT_FHIR)
            else:
                _import_ndjson(source, limits, batch, run)
        except SourceProblem as exc:
            summary.fail(ImportProblem(source.label, str(exc)))
        if on_file is not None:
            on_file(source)
    if run.spans:
        _add_coverage_spans(run.spans, None, batch)
    batch.flush()
    summary.seconds = time.perf_counter() - started
    return summary


def _entry_id(resource: dict[str, Any], full_url: Any) -> str | None:
    rid = resource.get("id")
    if isinstance(rid, str) and rid:
        return rid
    if isinstance(full_url, str) and full_url.startswith("urn:uuid:"):
        return full_url[len("urn:uuid:") :]
    return None


def _import_json(
    source: SourceFile, limits: ImportLimits, batch: _Batch, plans: dict[tuple[str, str], str]
) -> None:
    document = read_json_file(source, limits.max_file_bytes)
    summary = batch.summary
    kind = document.get("resourceType")
    if kind is None and "output" in document and "transactionTime" in document:
        return  # a Bulk Data manifest: it describes the NDJSON files beside it, which are read on their own
    if not is_type_name(kind):
        raise SourceProblem(f"resourceType is missing or not a FHIR type name: {kind!r}")
    if kind == "Bundle":
        bundle_type = document.get("type")
        if bundle_type not in BUNDLE_TYPES:
            raise SourceProblem(
                f"Bundle type {bundle_type!r} is not imported (only {', '.join(sorted(BUNDLE_TYPES))})"
            )
        raw_entries = document.get("entry") or []
        if not isinstance(raw_entries, list):
            raise SourceProblem("Bundle.entry must be a JSON array")
        entries: list[tuple[int | None, Any]] = list(enumerate(raw_entries))
    else:
        entries = [(None, {"resource": document})]

    index = ReferenceIndex(plans=plans)
    checked: list[tuple[int | None, str, str, dict[str, Any]]] = []
    for number, entry in entries:
        at = ImportProblem(source.label, "", entry=number)
        if not isinstance(entry, dict):
            summary.fail(_with_reason(at, "entry is not a JSON object"))
            continue
        resource = entry.get("resource")
        request = entry.get("request")
        method = request.get("method") if isinstance(request, dict) else None
        if method == "DELETE" or method == "PATCH":
            summary.fail(_with_reason(at, f"{method} entries are not supported; send the resource itself"))
            continue
        if not isinstance(resource, dict):
            summary.fail(_with_reason(at, "entry has no resource"))
            continue
        problem = _identity_problem(resource, entry.get("fullUrl"), at)
        if problem is not None:
            summary.fail(problem)
            continue
        rtype = resource["resourceType"]
        rid = _entry_id(resource, entry.get("fullUrl"))
        assert rid is not None
        index.add(entry.get("fullUrl"), rtype, rid, resource)
        checked.append((number, rtype, rid, resource))

    shared: list[_Tracked] = []
    by_patient: dict[str, list[_Tracked]] = defaultdict(list)
    failed_patients: set[str] = set()
    dependents: list[_Tracked] = []
    spans: list[CoverageSpan] = []
    for number, rtype, rid, resource in checked:
        at = ImportProblem(source.label, "", entry=number, resource_type=rtype, resource_id=rid)
        mapper = MAPPERS.get(rtype)
        if mapper is None:
            if rtype == "ExplanationOfBenefit":
                try:
                    span = eob_coverage(resource, index)
                except ResourceProblem as exc:
                    summary.fail(_with_reason(at, f"its contained Coverage: {exc.message}"))
                    continue
                if span is not None:
                    spans.append(span)
            summary.skip(rtype, not_stored_reason(rtype))
            continue
        try:
            records = mapper(resource, index, rid)
        except ResourceProblem as exc:
            summary.fail(_with_reason(at, exc.message))
            if rtype == "Patient":
                failed_patients.add(rid)
            continue
        if not records:
            summary.skip(rtype, NOTHING_TO_STORE)
            continue
        item = _Tracked(rtype, at, records)
        if rtype == "Patient":
            by_patient[rid].append(item)
        elif records[0].patient is None:
            shared.append(item)
        else:
            dependents.append(item)
    for item in dependents:
        patient = item.records[0].patient
        assert patient is not None
        if patient in failed_patients:
            summary.fail(
                _with_reason(
                    item.problem_at, f"references a patient that was not imported (Patient/{patient})"
                )
            )
        else:
            by_patient[patient].append(item)
    batch.add(shared, f"{source.label}: organizations and practitioners")
    if spans:
        _add_coverage_spans(
            [s for s in spans if s.patient not in failed_patients], source.label, batch, by_patient
        )
    for patient, items in by_patient.items():
        batch.add(items, f"{source.label}: Patient/{patient}")


def _identity_problem(resource: dict[str, Any], full_url: Any, at: ImportProblem) -> ImportProblem | None:
    rtype = resource.get("resourceType")
    if rtype is None:
        return _with_reason(at, "resourceType is missing")
    if not is_type_name(rtype):
        return _with_reason(at, f"resourceType {rtype!r} is not a FHIR resource type name")
    rid = _entry_id(resource, full_url)
    located = ImportProblem(at.file, "", at.line, at.entry, rtype, rid)
    if rid is None:
        return _with_reason(located, "has no id (and no urn:uuid fullUrl to take one from)")
    if len(rid) > MAX_ID_LENGTH:
        return _with_reason(located, f"id is longer than {MAX_ID_LENGTH} characters")
    return None


def _add_coverage_spans(
    spans: list[CoverageSpan],
    label: str | None,
    batch: _Batch,
    by_patient: dict[str, list[_Tracked]] | None = None,
) -> None:
    """Coverage collapsed from EOBs joins its patient's unit (bundles) or a unit of its own (NDJSON)."""
    for record in collapse_spans(spans):
        at = ImportProblem(
            label or "ExplanationOfBenefit", "", resource_type="Coverage", resource_id=record.source_id
        )
        item = _Tracked("Coverage", at, [record])
        if by_patient is not None:
            by_patient[str(record.patient)].append(item)
        else:
            batch.add([item], f"coverage of Patient/{record.patient}")


@dataclass
class _NdjsonRun:
    failed_patients: set[str] = field(default_factory=set)
    spans: list[CoverageSpan] = field(default_factory=list)
    plans: dict[tuple[str, str], str] = field(default_factory=dict)  # see ReferenceIndex.plans


def _import_ndjson(source: SourceFile, limits: ImportLimits, batch: _Batch, run: _NdjsonRun) -> None:
    summary = batch.summary
    index = ReferenceIndex(plans=run.plans)
    declared = source.declared_type
    for number, line in ndjson_lines(source, limits.max_line_bytes):
        at = ImportProblem(source.label, "", line=number)
        if line is None:
            summary.fail(
                _with_reason(
                    at, f"line is longer than {limits.max_line_bytes} bytes (CARENAV_IMPORT_MAX_LINE_BYTES)"
                )
            )
            continue
        try:
            resource = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            summary.fail(_with_reason(at, f"not valid JSON: {exc}"))
            continue
        if not isinstance(resource, dict):
            summary.fail(_with_reason(at, "the line is not a JSON object"))
            continue
        problem = _identity_problem(resource, None, at)
        if problem is not None:
            summary.fail(problem)
            continue
        rtype, rid = resource["resourceType"], resource["id"]
        at = ImportProblem(source.label, "", line=number, resource_type=rtype, resource_id=rid)
        if declared is not None and rtype != declared:
            summary.fail(
                _with_reason(
                    at, f"a {rtype} in a file of {declared} resources (Bulk Data files hold one type)"
                )
            )
            continue
        mapper = MAPPERS.get(rtype)
        if mapper is None:
            if rtype == "ExplanationOfBenefit":
                try:
                    span = eob_coverage(resource, index)
                except ResourceProblem as exc:
                    summary.fail(_with_reason(at, f"its contained Coverage: {exc.message}"))
                    continue
                if span is not None and span.patient not in run.failed_patients:
                    run.spans.append(span)
            summary.skip(rtype, not_stored_reason(rtype))
            continue
        try:
            records = mapper(resource, index, rid)
        except ResourceProblem as exc:
            summary.fail(_with_reason(at, exc.message))
            if rtype == "Patient":
                run.failed_patients.add(rid)
            continue
        if not records:
            summary.skip(rtype, NOTHING_TO_STORE)
            continue
        patient = records[0].patient
        if patient is not None and patient in run.failed_patients:
            summary.fail(_with_reason(at, f"references a patient that was not imported (Patient/{patient})"))
            continue
        batch.add([_Tracked(rtype, at, records)], f"{source.label}:{number}")


__all__ = ["DEFAULT_SOURCE", "ImportLimits", "RecordKind", "fhir_import"]
