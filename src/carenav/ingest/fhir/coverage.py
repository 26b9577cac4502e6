"""Coverage: standalone resources, and Synthea's coverage, which lives only inside ExplanationOfBenefit.

Synthea v2 writes no Coverage resources; each ExplanationOfBenefit contains one Coverage whose
``type.text`` says private / medicare / medicaid / dual_eligible / no_insurance. Those are collapsed to
one coverage row per patient and plan type, from the earliest ``billablePeriod.start`` to the latest
``billablePeriod.end`` of that patient's EOBs with that plan type, with the source id
``<patient id>/eob-coverage/<plan type>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from carenav.ingest.fhir.datatypes import (
    ResourceProblem,
    as_list,
    as_object,
    clip,
    codings,
    concept_text,
    parse_date,
)
from carenav.ingest.fhir.references import ReferenceIndex
from carenav.ingest.fhir.vocabulary import plan_type
from carenav.patients.services import RecordKind, SourceRecord

_COVERAGE_STATUSES = frozenset({"active", "cancelled", "draft", "entered-in-error"})


def _plan_type_of(coverage: dict[str, Any]) -> str:
    concept = coverage.get("type")
    found = [(c["system"], c["code"]) for c in codings(concept, "type")]
    text = as_object(concept, "type").get("text") if concept is not None else None
    return plan_type(found, text if isinstance(text, str) else None).value


def _payer(coverage: dict[str, Any]) -> str | None:
    payors = as_list(coverage.get("payor"), "payor")
    if not payors:
        return None
    display = as_object(payors[0], "payor[0]").get("display")
    return clip(display, 300) if isinstance(display, str) else None


def map_coverage(resource: dict[str, Any], refs: ReferenceIndex, source_id: str) -> list[SourceRecord]:
    patient = refs.patient_id(resource.get("beneficiary"), "beneficiary")
    status = resource.get("status")
    if status not in _COVERAGE_STATUSES:
        raise ResourceProblem(f"status {status!r} is not one of {', '.join(sorted(_COVERAGE_STATUSES))}")
    period = as_object(resource.get("period") or {}, "period")
    start = parse_date(period.get("start"), "period.start")
    end = parse_date(period.get("end"), "period.end")
    if start and end and end < start:
        raise ResourceProblem(f"period ends ({end}) before it starts ({start})")
    plan_name = None
    for number, item in enumerate(as_list(resource.get("class"), "class")):
        item = as_object(item, f"class[{number}]")
        if any(c["code"] == "plan" for c in codings(item.get("type"), f"class[{number}].type")):
            plan_name = item.get("name") or item.get("value")
            break
    member_id = resource.get("subscriberId")
    if not isinstance(member_id, str):
        identifiers = as_list(resource.get("identifier"), "identifier")
        member_id = as_object(identifiers[0], "identifier[0]").get("value") if identifiers else None
    values = {
        "status": status,
        "plan_type": _plan_type_of(resource),
        "payer_name": _payer(resource),
        "plan_name": clip(plan_name if isinstance(plan_name, str) else None, 300)
        or clip(concept_text(resource.get("type"), "type"), 300),
        "member_id": clip(member_id if isinstance(member_id, str) else None, 100),
        "period_start": start,
        "period_end": end,
    }
    return [SourceRecord(RecordKind.COVERAGE, source_id, values, patient=patient)]


@dataclass(slots=True)
class CoverageSpan:
    """One EOB's contained coverage: whose, which plan type, which billable period."""

    patient: str
    plan_type: str
    payer_name: str | None
    start: date | None
    end: date | None


def eob_coverage(resource: dict[str, Any], refs: ReferenceIndex) -> CoverageSpan | None:
    """The contained Coverage of an ExplanationOfBenefit as a span, or None if it has none.

    Only what the span needs is read: the EOB body (items, totals) is not looked at."""
    inner = next(
        (
            c
            for c in resource.get("contained") or ()
            if isinstance(c, dict) and c.get("resourceType") == "Coverage"
        ),
        None,
    )
    if inner is None:
        return None
    patient = refs.patient_id(resource.get("patient") or inner.get("beneficiary"), "patient")
    period = as_object(resource.get("billablePeriod") or {}, "billablePeriod")
    return CoverageSpan(
        patient=patient,
        plan_type=_plan_type_of(inner),
        payer_name=_payer(inner),
        start=parse_date(period.get("start"), "billablePeriod.start"),
        end=parse_date(period.get("end"), "billablePeriod.end"),
    )


def collapse_spans(spans: list[CoverageSpan]) -> list[SourceRecord]:
    """One coverage record per (patient, plan type), covering the earliest start to the latest end."""
    merged: dict[tuple[str, str], CoverageSpan] = {}
    for span in spans:
        key = (span.patient, span.plan_type)
        seen = merged.get(key)
        if seen is None:
            merged[key] = CoverageSpan(span.patient, span.plan_type, span.payer_name, span.start, span.end)
            continue
        if span.start is not None and (seen.start is None or span.start < seen.start):
            seen.start = span.start
        if span.end is not None and (seen.end is None or span.end > seen.end):
            seen.end = span.end
            seen.payer_name = span.payer_name or seen.payer_name
    return [
        SourceRecord(
            RecordKind.COVERAGE,
            f"{span.patient}/eob-coverage/{span.plan_type}",
            {
                "status": "active",
                "plan_type": span.plan_type,
                "payer_name": span.payer_name,
                "period_start": span.start,
                "period_end": span.end,
            },
            patient=span.patient,
        )
        for span in merged.values()
    ]
