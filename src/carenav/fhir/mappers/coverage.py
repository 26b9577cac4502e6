"""Coverage: who pays, by plan type (Medicare FFS, Medicare Advantage, Medicaid, dual, commercial...)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from carenav.fhir.mappers.common import FHIRDict, Refs, concept, day, period, reference, resource

if TYPE_CHECKING:
    from carenav.patients.models import Coverage

PLAN_TYPE_SYSTEM = "https://carenav.org/fhir/CodeSystem/plan-type"
PLAN_TYPE_DISPLAY = {
    "medicare_ffs": "Medicare fee-for-service",
    "medicare_advantage": "Medicare Advantage",
    "medicaid": "Medicaid",
    "dual": "Dual eligible (Medicare and Medicaid)",
    "commercial": "Commercial",
    "uninsured": "No insurance",
    "other": "Other",
}
CLASS_TYPE = "http://terminology.hl7.org/CodeSystem/coverage-class"


def coverage_resource(row: Coverage, refs: Refs) -> FHIRDict:
    patient = reference("Patient", refs.patients.get(row.patient_id))
    plan_class = None
    if row.plan_name:
        plan_class = [
            {
                "type": {"coding": [{"system": CLASS_TYPE, "code": "plan", "display": "Plan"}]},
                "value": row.plan_name,
                "name": row.plan_name,
            }
        ]
    display = PLAN_TYPE_DISPLAY.get(row.plan_type)
    return resource(
        "Coverage",
        row.uuid,
        row.updated_at,
        status=row.status,
        type=concept(PLAN_TYPE_SYSTEM, row.plan_type, display, text=display or row.plan_type),
        subscriberId=row.member_id,
        beneficiary=patient,
        period=period(day(row.period_start), day(row.period_end)),
        # Coverage.payor is required; we hold the payer's name only.
        payor=[{"display": row.payer_name or "unknown payer"}],
        **{"class": plan_class},
    )
