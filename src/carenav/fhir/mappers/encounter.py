"""Encounter: visits, ED stays and admissions with their discharge disposition and diagnoses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from carenav.fhir.mappers.common import (
    DIAGNOSIS_ROLE,
    PARTICIPATION_TYPE,
    V3_ACT_CODE,
    V3_ACT_PRIORITY,
    FHIRDict,
    Refs,
    compact,
    concept,
    instant,
    period,
    reference,
    resource,
)

if TYPE_CHECKING:
    from carenav.patients.models import Encounter, EncounterDiagnosis

CLASS_DISPLAY = {
    "IMP": "inpatient encounter",
    "ACUTE": "inpatient acute",
    "NONAC": "inpatient non-acute",
    "OBSENC": "observation encounter",
    "EMER": "emergency",
    "AMB": "ambulatory",
    "HH": "home health",
    "VR": "virtual",
    "FLD": "field",
    "PRENC": "pre-admission",
    "SS": "short stay",
}

# HL7 v2 admission types (PV1-4) as v3 ActPriority codes.
ADMISSION_PRIORITY = {
    "E": ("EM", "emergency"),
    "U": ("UR", "urgent"),
    "R": ("R", "routine"),
    "C": ("EL", "elective"),
    "A": ("EM", "emergency"),
}

DIAGNOSIS_USES = {
    "AD": "Admission diagnosis",
    "DD": "Discharge diagnosis",
    "CC": "Chief complaint",
    "CM": "Comorbidity diagnosis",
    "pre-op": "pre-op diagnosis",
    "post-op": "post-op diagnosis",
    "billing": "Billing",
}


def _diagnosis(row: EncounterDiagnosis, refs: Refs) -> FHIRDict | None:
    condition_id = refs.conditions.get(row.condition_id) if row.condition_id else None
    condition = reference("Condition", condition_id, row.display or row.code)
    if condition is None:
        return None
    out: FHIRDict = {"condition": condition}
    if row.use:
        out["use"] = concept(
            DIAGNOSIS_ROLE if row.use in DIAGNOSIS_USES else None, row.use, DIAGNOSIS_USES.get(row.use)
        )
    out["rank"] = row.rank + 1
    return out


def _hospitalization(row: Encounter) -> FHIRDict | None:
    out: FHIRDict = {}
    if row.admit_source:
        out["admitSource"] = {"coding": [{"code": row.admit_source}]}
    disposition = concept(
        row.discharge_disposition_system, row.discharge_disposition_code, row.discharge_disposition_display
    )
    if disposition:
        out["dischargeDisposition"] = disposition
    return out or None


def _priority(code: str | None) -> FHIRDict | None:
    if not code:
        return None
    mapped = ADMISSION_PRIORITY.get(code)
    if mapped:
        return concept(V3_ACT_PRIORITY, mapped[0], mapped[1])
    return {"text": code}


def encounter_resource(row: Encounter, refs: Refs) -> FHIRDict:
    """Our encounter as FHIR R4. Loads ``diagnoses``."""
    facility_id = refs.facilities.get(row.facility_id) if row.facility_id else None
    participant = None
    if row.attending:
        participant = [
            {
                "type": [concept(PARTICIPATION_TYPE, "ATND", "attender")],
                "individual": {"display": row.attending},
            }
        ]
    return resource(
        "Encounter",
        row.uuid,
        row.updated_at,
        identifier=[{"value": row.visit_number}] if row.visit_number else None,
        status=row.status,
        **{
            "class": {
                "system": V3_ACT_CODE,
                "code": row.encounter_class,
                **(
                    {"display": CLASS_DISPLAY[row.encounter_class]}
                    if row.encounter_class in CLASS_DISPLAY
                    else {}
                ),
            }
        },
        type=compact([concept(row.type_system, row.type_code, row.type_display)]),
        priority=_priority(row.admission_type),
        subject=reference("Patient", refs.patients.get(row.patient_id)),
        participant=participant,
        period=period(instant(row.period_start), instant(row.period_end)),
        reasonCode=compact([concept(None, row.reason_code, row.reason_display)]),
        diagnosis=compact([_diagnosis(d, refs) for d in row.diagnoses]),
        hospitalization=_hospitalization(row),
        location=[{"location": {"display": row.location}}] if row.location else None,
        serviceProvider=reference("Organization", facility_id, row.facility_name),
    )
