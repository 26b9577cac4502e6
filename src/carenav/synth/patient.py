"""One synthetic patient, from (seed, index, as-of) to its FHIR resources.

The order of random draws is fixed, so patient k's resources depend only on (seed, k, as-of): the same
person comes out whatever the batch size, worker count or population size.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date

from carenav.patients.rules import PlanType
from carenav.synth import codes as c
from carenav.synth import epidemiology as epi
from carenav.synth.ids import PatientIds
from carenav.synth.network import Facility, Network
from carenav.synth.people import REGION_WEIGHTS, mbi, person_name, phone, postal_code, slug, street_line
from carenav.synth.sampling import Weighted, condition_thresholds, poisson

JSON = c.JSON
RESOURCE_TYPES: tuple[str, ...] = (
    "Patient",
    "Coverage",
    "Encounter",
    "Condition",
    "Observation",
    "MedicationRequest",
)

_AGE_BAND = Weighted(list(enumerate(epi.AGE_BAND_SHARE)))
_REGION = Weighted(list(enumerate(REGION_WEIGHTS)))
_COVERAGE = tuple(Weighted(mix) for mix in epi.COVERAGE_MIX)
_DISCHARGE = tuple(Weighted(mix) for mix in epi.DISCHARGE_MIX)
_RACE = Weighted(epi.RACE_MIX)
_OTHER_LANGUAGES = Weighted([(code, share) for code, share in epi.LANGUAGE_MIX if code not in ("en", "es")])
_OTHER_LANGUAGE_SHARE = sum(share for code, share in epi.LANGUAGE_MIX if code not in ("en", "es"))
_SPANISH_SHARE = dict(epi.LANGUAGE_MIX)["es"]
_DIABETES = Weighted(epi.DIABETES_CODE_WEIGHTS)
_CKD = Weighted(epi.CKD_STAGE_WEIGHTS)
_CHOICES: dict[str, Weighted[str]] = {
    key: Weighted(pairs)
    for key, pairs in {
        "hyperlipidemia": [("E78.5", 0.55), ("E78.00", 0.25), ("E78.2", 0.20)],
        "ihd": [("I25.10", 0.60), ("I25.2", 0.25), ("I25.119", 0.15)],
        "heart_failure": [("I50.9", 0.30), ("I50.22", 0.30), ("I50.32", 0.30), ("I50.42", 0.10)],
        "afib": [("I48.91", 0.45), ("I48.0", 0.25), ("I48.20", 0.20), ("I48.19", 0.10)],
        "stroke": [("Z86.73", 0.50), ("I69.30", 0.30), ("I69.351", 0.20)],
        "copd": [("J44.9", 0.80), ("J43.9", 0.20)],
        "asthma": [("J45.909", 0.40), ("J45.20", 0.20), ("J45.30", 0.15), ("J45.40", 0.15), ("J45.50", 0.10)],
        "depression": [("F32.A", 0.30), ("F32.9", 0.20), ("F32.1", 0.15), ("F33.1", 0.20), ("F33.9", 0.15)],
        "anxiety": [("F41.1", 0.50), ("F41.9", 0.50)],
        "dementia": [("F03.90", 0.55), ("G30.9", 0.35), ("F01.50", 0.10)],
        "cancer_female": [("C50.911", 0.45), ("C18.9", 0.20), ("C34.90", 0.25), ("C67.9", 0.10)],
        "cancer_male": [("C61", 0.45), ("C18.9", 0.20), ("C34.90", 0.25), ("C67.9", 0.10)],
        "metastasis": [("C78.00", 0.30), ("C78.7", 0.25), ("C79.51", 0.35), ("C79.31", 0.10)],
        "liver_alcohol": [("K70.30", 0.60), ("K74.60", 0.40)],
        "liver_other": [("K76.0", 0.50), ("K74.60", 0.20), ("B18.2", 0.30)],
        "rheumatoid": [("M06.9", 0.60), ("M05.79", 0.40)],
        "smi": [("F20.9", 0.40), ("F31.9", 0.45), ("F25.9", 0.15)],
        "ed_reason": [
            ("R07.9", 0.20),
            ("R10.9", 0.16),
            ("J06.9", 0.12),
            ("R55", 0.07),
            ("N39.0", 0.10),
            ("M54.50", 0.10),
            ("S09.90XA", 0.09),
            ("R06.02", 0.08),
            ("R51.9", 0.08),
        ],
    }.items()
}
_FIXED_CODE = {
    "obesity": "E66.9",
    "tobacco": "F17.210",
    "alcohol": "F10.20",
    "opioid": "F11.20",
    "osteoporosis": "M81.0",
    "hypothyroid": "E03.9",
    "pvd": "I73.9",
    "hiv": "B20",
}
_CHRONIC_KEYS = frozenset(spec.key for spec in epi.CONDITIONS if spec.chronic)
_PARENT_INDEX = tuple(
    epi.CONDITION_INDEX[spec.parent] if spec.parent is not None else -1 for spec in epi.CONDITIONS
)
_LOADINGS = tuple((spec.frailty, math.sqrt(1 - spec.frailty**2)) for spec in epi.CONDITIONS)
_PLAN_TEXT: dict[PlanType, str] = {
    PlanType.MEDICARE_FFS: "Medicare (fee-for-service)",
    PlanType.MEDICARE_ADVANTAGE: "Medicare Advantage",
    PlanType.MEDICAID: "Medicaid",
    PlanType.DUAL: "Dual eligible (Medicare and Medicaid)",
    PlanType.COMMERCIAL: "Commercial",
    PlanType.UNINSURED: "Uninsured (self-pay)",
}
_PLAN_TYPE: dict[PlanType, JSON] = {
    plan: {"coding": [{"system": c.PLAN_TYPE_SYSTEM, "code": plan.value, "display": text}], "text": text}
    for plan, text in _PLAN_TEXT.items()
}
_MA_PAYERS = ("Evergreen Medicare Advantage (HMO)", "Summit Senior Advantage (PPO)")
_DUAL_PAYERS = ("Evergreen Dual Complete (HMO D-SNP)",)
_COMMERCIAL_PAYERS = ("Blue Ridge Health Plan (PPO)", "Northwind Employer Health (HMO)")
_MEDICARE_PLANS = frozenset({PlanType.MEDICARE_FFS, PlanType.MEDICARE_ADVANTAGE, PlanType.DUAL})
_SELF = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/subscriber-relationship",
            "code": "self",
            "display": "Self",
        }
    ]
}
_TIMES = tuple(f"T{m // 60:02d}:{m % 60:02d}:00Z" for m in range(0, 24 * 60, 5))
_DAY_CACHE: dict[int, str] = {}


def _day(ordinal: int) -> str:
    text = _DAY_CACHE.get(ordinal)
    if text is None:
        text = date.fromordinal(ordinal).isoformat()
        if len(_DAY_CACHE) < 200_000:
            _DAY_CACHE[ordinal] = text
    return text


def _instant(ordinal: int, minute: int) -> str:
    return _day(ordinal) + _TIMES[minute // 5]


@dataclass
class _Problem:
    key: str
    code: str
    resource_id: str
    concept: JSON


@dataclass
class _Visit:
    kind: str  # AMB, EMER, IMP
    start: int
    end: int | None  # None = still admitted
    minute: int
    resource_id: str = ""
    discharge: str | None = None
    from_ed: bool = False
    acute: list[str] = field(default_factory=list)


def synthesize_patient(
    seed_tag: str, seed: int, index: int, as_of: int, network: Network
) -> dict[str, list[JSON]]:
    """All resources of patient ``index``, grouped by resource type (Patient first)."""
    rng = random.Random((seed << 64) | index)
    r = rng.random
    gauss = rng.gauss
    ids = PatientIds(seed_tag, index)
    patient_id = ids.next("Patient")
    subject = {"reference": f"Patient/{patient_id}"}
    out: dict[str, list[JSON]] = {name: [] for name in RESOURCE_TYPES}

    # ---- demographics
    band = _AGE_BAND.pick(rng)
    low, high = epi.AGE_BANDS[band]
    age = rng.randint(low, high)
    female = r() < epi.FEMALE_SHARE[band]
    sex = 0 if female else 1
    birth = as_of - age * 365 - age // 4 - rng.randrange(365)
    region_net = network.regions[_REGION.pick(rng)]
    region = region_net.region
    city = region.cities[rng.randrange(len(region.cities))]
    language = "en"
    roll = r()
    if roll < _SPANISH_SHARE * region.spanish_weight:
        language = "es"
    elif roll > 1 - _OTHER_LANGUAGE_SHARE:
        language = _OTHER_LANGUAGES.pick(rng)
    interpreter = language != "en" and r() < epi.INTERPRETER_SHARE
    hispanic = language == "es" or r() < epi.HISPANIC_SHARE_NON_SPANISH * region.spanish_weight
    race = _RACE.pick(rng)
    given, family = person_name(rng, female=female, hispanic=hispanic)
    clinic: Facility = region_net.clinics[rng.randrange(len(region_net.clinics))]
    hospital: Facility = region_net.hospitals[rng.randrange(len(region_net.hospitals))]
    pcp = clinic.staff[rng.randrange(len(clinic.staff))]
    pcp_ref = {"reference": f"Practitioner/{pcp}"}
    clinic_ref = {"reference": f"Organization/{clinic.id}", "display": clinic.name}
    hospital_ref = {"reference": f"Organization/{hospital.id}", "display": hospital.name}

    # ---- chronic conditions: latent burden + parent effects (see sampling.condition_thresholds)
    frailty = gauss(0.0, 1.0)
    thresholds = condition_thresholds()[band][sex]
    present: list[bool] = []
    for i, (loading, rest) in enumerate(_LOADINGS):
        parent = _PARENT_INDEX[i]
        threshold = thresholds[i][1 if parent >= 0 and present[parent] else 0]
        present.append(loading * frailty + rest * gauss(0.0, 1.0) < threshold)
    has = {spec.key for spec, flag in zip(epi.CONDITIONS, present, strict=True) if flag}
    if age < 50:
        has.discard("dementia")
    chronic_count = len(has & _CHRONIC_KEYS)

    ckd_code = _CKD.pick(rng) if "ckd" in has else ""
    codes_by_key: dict[str, list[str]] = {}
    for key in has:
        codes_by_key[key] = [_condition_code(rng, key, has, ckd_code, female)]
    if ckd_code == "N18.6" and r() < 0.8:
        codes_by_key["ckd"].append("Z99.2")
    if "cancer" in has and r() < epi.METASTATIC_SHARE * 2.5:  # x2.5: metastatic cancers are coded more often
        codes_by_key["cancer"].append(_CHOICES["metastasis"].pick(rng))
    if "liver" in has and codes_by_key["liver"][0] in ("K70.30", "K74.60") and r() < 0.15:
        codes_by_key["liver"].append("K76.6")

    # ---- death, coverage
    window_start = as_of - epi.LOOKBACK_DAYS
    burden = math.exp(0.2 * chronic_count + 0.35 * frailty)
    death: int | None = None
    if r() < min(0.9, epi.ANNUAL_MORTALITY[band] * 2 * math.exp(0.15 * (chronic_count - 3) + 0.3 * frailty)):
        death = window_start + 1 + rng.randrange(epi.LOOKBACK_DAYS - 1)
    end = death if death is not None else as_of

    plan = _COVERAGE[band].pick(rng)

    # ---- encounters
    years = (end - window_start) / 365.0
    visits: list[_Visit] = []
    for _ in range(poisson(rng, epi.INPATIENT_RATE[band] * burden * years)):
        start = window_start + rng.randrange(max(1, end - window_start - 1))
        los = max(1, min(30, int(rng.lognormvariate(1.15, 0.6))))
        visits.append(_Visit("IMP", start, start + los, 480 + rng.randrange(720), from_ed=r() < 0.7))
    for _ in range(poisson(rng, epi.ED_RATE[band] * burden * years)):
        start = window_start + rng.randrange(max(1, end - window_start))
        visits.append(_Visit("EMER", start, start, rng.randrange(20 * 60)))
    ambulatory = min(
        14,
        max(
            1,
            poisson(
                rng, (epi.AMBULATORY_RATE_BASE + epi.AMBULATORY_RATE_PER_CONDITION * chronic_count) * years
            ),
        ),
    )
    for _ in range(ambulatory):
        start = window_start + rng.randrange(max(1, end - window_start))
        visits.append(_Visit("AMB", start, start, 480 + 15 * rng.randrange(35)))
    # readmissions, then keep inpatient stays from overlapping
    for visit in [v for v in visits if v.kind == "IMP"]:
        if visit.end is not None and r() < epi.READMISSION_SHARE * (1 + 0.08 * chronic_count):
            start = visit.end + 2 + rng.randrange(28)
            if start < end - 1:
                los = max(1, min(30, int(rng.lognormvariate(1.2, 0.6))))
                visits.append(_Visit("IMP", start, start + los, 480 + rng.randrange(720), from_ed=True))
    visits.sort(key=lambda v: (v.start, v.minute))
    last_discharge = -1
    kept: list[_Visit] = []
    for visit in visits:
        if visit.kind == "IMP":
            if visit.start <= last_discharge:
                continue
            assert visit.end is not None
            if visit.end >= end:
                visit.end = end - 1 if death is None else end
            if visit.end <= visit.start:
                visit.end = visit.start + 1
            last_discharge = visit.end
        elif last_discharge >= visit.start and visit.kind == "AMB":
            continue  # no clinic visit while admitted
        kept.append(visit)
    visits = [v for v in kept if (v.end or v.start) <= end]
    if death is not None and r() < epi.IN_HOSPITAL_DEATH_SHARE:
        los = max(1, min(20, int(rng.lognormvariate(1.4, 0.6))))
        admit = max(window_start, death - los)
        if admit > last_discharge:
            visits = [v for v in visits if v.start < admit]
            visits.append(_Visit("IMP", admit, death, 480 + rng.randrange(720), discharge="20", from_ed=True))
    elif death is None and r() < epi.CURRENTLY_ADMITTED_SHARE * burden:
        admit = as_of - rng.randrange(6)
        if admit > last_discharge:
            visits.append(_Visit("IMP", admit, None, rng.randrange(1440), from_ed=True))

    # ---- problem list (chronic conditions)
    problems: list[_Problem] = []
    conditions = out["Condition"]
    min_onset = birth + 18 * 365
    amb_visits = [v for v in visits if v.kind == "AMB"]
    for spec in epi.CONDITIONS:
        key = spec.key
        if key not in has:
            continue
        for n, code in enumerate(codes_by_key[key]):
            cid = ids.next("Condition")
            if n == 0 and key in c.SNOMED_CONCEPTS and r() < epi.SNOMED_ONLY_SHARE:
                concept = c.SNOMED_CONCEPTS[key]
            else:
                concept = c.ICD_CONCEPTS[code]
            # 12% diagnosed in the last year, the rest over the 15 years before
            onset = end - 30 - rng.randrange(335) if r() < 0.12 else end - 365 - rng.randrange(15 * 365)
            onset = max(onset, min_onset if key != "asthma" else birth + 3 * 365)
            status = "active"
            if key in ("depression", "alcohol", "opioid", "cancer") and n == 0 and r() < 0.2:
                status = "remission"
            elif key == "tobacco" and r() < 0.2:
                status = "resolved"
            verification = "confirmed" if r() < 0.95 else ("provisional" if r() < 0.6 else "unconfirmed")
            resource: JSON = {
                "resourceType": "Condition",
                "id": cid,
                "clinicalStatus": c.CLINICAL_STATUS[status],
                "verificationStatus": c.VERIFICATION_STATUS[verification],
                "category": c.CATEGORY_PROBLEM_LIST,
                "code": concept,
                "subject": subject,
                "onsetDateTime": _day(onset),
                "recordedDate": _day(onset + rng.randrange(30)),
            }
            if amb_visits and r() < 0.10:
                resource["category"] = c.CATEGORY_ENCOUNTER_DIAGNOSIS
                visit = amb_visits[rng.randrange(len(amb_visits))]
                resource["encounter"] = {"reference": f"Encounter/{_encounter_id(ids, visit)}"}
                resource["onsetDateTime"] = _day(min(onset, visit.start))
                resource["recordedDate"] = _day(visit.start)
            conditions.append(resource)
            problems.append(_Problem(key, code, cid, concept))
    chronic_problems = [p for p in problems if p.key in _CHRONIC_KEYS]

    # ---- encounters as resources, with acute diagnoses
    encounters = out["Encounter"]
    pneumonia_discharges: list[int] = []
    for visit in visits:
        eid = _encounter_id(ids, visit)
        attending = pcp
        provider = clinic_ref
        facility = clinic
        resource = {
            "resourceType": "Encounter",
            "id": eid,
            "status": "finished" if visit.end is not None else "in-progress",
            "class": c.ENCOUNTER_CLASS[visit.kind],
        }
        if visit.kind == "AMB":
            resource["type"] = c.ENCOUNTER_TYPE["checkup" if r() < 0.3 else "followup"]
            period = {
                "start": _instant(visit.start, visit.minute),
                "end": _instant(visit.start, min(visit.minute + 30, 1435)),
            }
            coded = chronic_problems if len(chronic_problems) <= 2 else rng.sample(chronic_problems, 2)
            diagnosis = [
                {"condition": {"reference": f"Condition/{p.resource_id}"}, "rank": rank}
                for rank, p in enumerate(coded, start=1)
            ]
        else:
            facility = hospital
            provider = hospital_ref
            attending = hospital.staff[rng.randrange(len(hospital.staff))]
            reason = _acute_reason(rng, visit.kind, has, age, visit.discharge == "20")
            acute_id = ids.next("Condition")
            onset_day = _day(visit.start)
            acute: JSON = {
                "resourceType": "Condition",
                "id": acute_id,
                "clinicalStatus": c.CLINICAL_STATUS["resolved" if visit.end is not None else "active"],
                "verificationStatus": c.VERIFICATION_STATUS["confirmed"],
                "category": c.CATEGORY_ENCOUNTER_DIAGNOSIS,
                "code": c.ICD_CONCEPTS[reason],
                "subject": subject,
                "encounter": {"reference": f"Encounter/{eid}"},
                "onsetDateTime": onset_day,
                "recordedDate": onset_day,
            }
            if visit.end is not None:
                acute["abatementDateTime"] = _day(visit.end)
            conditions.append(acute)
            diagnosis = [
                {"condition": {"reference": f"Condition/{acute_id}"}, "use": c.DIAGNOSIS_USE["AD"], "rank": 1}
            ]
            if visit.kind == "EMER":
                resource["type"] = c.ENCOUNTER_TYPE["emergency"]
                period = {
                    "start": _instant(visit.start, visit.minute),
                    "end": _instant(visit.start, min(visit.minute + 180 + rng.randrange(36) * 5, 1435)),
                }
            else:
                resource["type"] = c.ENCOUNTER_TYPE["emergency_admission" if visit.from_ed else "admission"]
                period = {"start": _instant(visit.start, visit.minute)}
                diagnosis.extend(
                    {
                        "condition": {"reference": f"Condition/{p.resource_id}"},
                        "use": c.DIAGNOSIS_USE["CM"],
                        "rank": rank,
                    }
                    for rank, p in enumerate(chronic_problems[:3], start=2)
                )
                hospitalization: JSON = {
                    "admitSource": c.ADMIT_FROM_ED if visit.from_ed else c.ADMIT_FROM_PHYSICIAN
                }
                if visit.end is not None:
                    period["end"] = _instant(visit.end, 600 + 5 * rng.randrange(72))
                    disposition = visit.discharge or _DISCHARGE[band].pick(rng)
                    if disposition == "01" and ("alcohol" in has or "opioid" in has) and r() < 0.1:
                        disposition = "07"  # leaving against medical advice is commoner with substance use
                    visit.discharge = disposition
                    hospitalization["dischargeDisposition"] = c.DISCHARGE_DISPOSITION[disposition]
                    if reason == "J18.9" and disposition != "20":
                        pneumonia_discharges.append(visit.end)
                resource["hospitalization"] = hospitalization
        resource["identifier"] = [
            {
                "use": "official",
                "type": c.IDENTIFIER_TYPE["VN"],
                "system": facility.visit_system,
                "value": f"V{eid[24:]}{eid[19:23]}",
            }
        ]
        resource["subject"] = subject
        resource["participant"] = [
            {
                "type": c.PARTICIPANT_ATTENDER if visit.kind != "AMB" else c.PARTICIPANT_PRIMARY,
                "individual": {"reference": f"Practitioner/{attending}"},
            }
        ]
        resource["period"] = period
        if diagnosis:
            resource["diagnosis"] = diagnosis
        resource["serviceProvider"] = provider
        encounters.append(resource)

    # ---- observations at the last two clinic visits
    amb_visits = [v for v in visits if v.kind == "AMB"]
    _observations(
        rng, ids, out["Observation"], subject, amb_visits[-2:], has, codes_by_key, ckd_code, female, age
    )

    # ---- medications
    meds = _medication_plan(rng, has, codes_by_key, ckd_code)
    problem_by_key = {p.key: p for p in problems}
    med_out = out["MedicationRequest"]
    for key, reason_key in meds:
        status = "active" if death is None else "stopped"
        authored = end - rng.randrange(365)
        resource = _medication(ids, key, status, authored, subject, pcp_ref, problem_by_key.get(reason_key))
        med_out.append(resource)
        if r() < epi.STOPPED_MEDICATION_SHARE:
            earlier = authored - 180 - rng.randrange(900)
            med_out.append(
                _medication(ids, key, "stopped", earlier, subject, pcp_ref, problem_by_key.get(reason_key))
            )
    for discharge in pneumonia_discharges:
        med_out.append(
            _medication(ids, "amoxicillin_clavulanate", "completed", discharge, subject, pcp_ref, None)
        )

    # ---- coverage and the patient
    identifiers: list[JSON] = [
        {
            "use": "usual",
            "type": c.IDENTIFIER_TYPE["MR"],
            "system": clinic.mrn_system,
            "value": f"{(index * 7919 + 100_003) % 10**9:09d}",
            "assigner": {"display": clinic.name},
        },
    ]
    if any(v.kind != "AMB" for v in visits):
        identifiers.append(
            {
                "use": "secondary",
                "type": c.IDENTIFIER_TYPE["MR"],
                "system": hospital.mrn_system,
                "value": f"H{(index * 104_729 + 7) % 10**9:09d}",
                "assigner": {"display": hospital.name},
            }
        )
    member_id = ""
    medicare_id = ""
    payer = ""
    if plan in _MEDICARE_PLANS:
        medicare_id = mbi(seed, index)
        identifiers.append({"type": c.IDENTIFIER_TYPE["MC"], "system": c.MBI_SYSTEM, "value": medicare_id})
    if plan == PlanType.MEDICARE_FFS:
        payer = "Medicare (CMS)"
    elif plan == PlanType.MEDICARE_ADVANTAGE:
        payer = _MA_PAYERS[rng.randrange(len(_MA_PAYERS))]
    elif plan == PlanType.DUAL:
        payer = _DUAL_PAYERS[0]
    elif plan == PlanType.MEDICAID:
        payer = region.medicaid
    elif plan == PlanType.COMMERCIAL:
        payer = _COMMERCIAL_PAYERS[rng.randrange(len(_COMMERCIAL_PAYERS))]
    if plan not in (PlanType.MEDICARE_FFS, PlanType.UNINSURED):
        member_id = f"{payer[:2].upper()}{(index * 15_485_863 + seed) % 10**10:010d}"
        identifiers.append(
            {
                "type": c.IDENTIFIER_TYPE["MB"],
                "system": f"{c.SYNTH_BASE}/payer/{slug(payer)}/member",
                "value": member_id,
                "assigner": {"display": payer},
            }
        )
    coverage_start = (
        max(birth + 65 * 365, as_of - 3650)
        if plan in _MEDICARE_PLANS and age >= 65
        else (as_of - 365 * (1 + rng.randrange(8)))
    )
    if death is not None:
        # Coverage began before death (a month at least), or its period would end before it starts.
        coverage_start = min(coverage_start, death - 31)
    coverages = out["Coverage"]
    coverage: JSON = {
        "resourceType": "Coverage",
        "id": ids.next("Coverage"),
        "status": "active",
        "type": _PLAN_TYPE[plan],
        "subscriberId": member_id or medicare_id or identifiers[0]["value"],
        "beneficiary": subject,
        "relationship": _SELF,
        "period": {"start": _day(_first_of_month(coverage_start))},
        "payor": [{"display": payer}]
        if payer
        else [{"reference": f"Patient/{patient_id}", "display": "Self-pay"}],
    }
    if death is not None:
        coverage["period"]["end"] = _day(death)
    coverages.append(coverage)
    if r() < epi.PRIOR_COVERAGE_SHARE:
        prior_plan = PlanType.COMMERCIAL if plan in _MEDICARE_PLANS else PlanType.MEDICAID
        prior_payer = _COMMERCIAL_PAYERS[0] if prior_plan == PlanType.COMMERCIAL else region.medicaid
        prior_end = _first_of_month(coverage_start) - 1
        coverages.append(
            {
                "resourceType": "Coverage",
                "id": ids.next("Coverage"),
                "status": "cancelled",
                "type": _PLAN_TYPE[prior_plan],
                "subscriberId": f"{prior_payer[:2].upper()}{(index * 32_452_843 + seed) % 10**10:010d}",
                "beneficiary": subject,
                "relationship": _SELF,
                "period": {"start": _day(prior_end - 365 * (2 + rng.randrange(10))), "end": _day(prior_end)},
                "payor": [{"display": prior_payer}],
            }
        )

    extensions: list[JSON] = [c.RACE_EXTENSIONS[race], c.ETHNICITY_EXTENSIONS[hispanic]]
    if interpreter:
        extensions.append(c.INTERPRETER_EXTENSION)
    patient: JSON = {
        "resourceType": "Patient",
        "id": patient_id,
        "extension": extensions,
        "identifier": identifiers,
        "active": True,
        "name": [{"use": "official", "family": family, "given": [given]}],
        "telecom": [{"system": "phone", "value": phone(rng, city), "use": "home" if r() < 0.6 else "mobile"}],
        "gender": "female" if female else "male",
        "birthDate": _day(birth),
    }
    if death is not None:
        patient["deceasedDateTime"] = _instant(death, rng.randrange(1440))
    patient["address"] = [
        {
            "use": "home",
            "line": [street_line(rng)],
            "city": city.name,
            "state": city.state,
            "postalCode": postal_code(rng, city),
            "country": "US",
        }
    ]
    if ("dementia" in has or age >= 85) and r() < 0.4:
        contact_given, _ = person_name(rng, female=r() < 0.6, hispanic=hispanic)
        patient["contact"] = [
            {
                "relationship": c.CONTACT_RELATIONSHIP,
                "name": {"family": family, "given": [contact_given]},
                "telecom": [{"system": "phone", "value": phone(rng, city)}],
            }
        ]
    patient["communication"] = [{"language": c.LANGUAGES[language], "preferred": True}]
    patient["generalPractitioner"] = [pcp_ref]
    patient["managingOrganization"] = clinic_ref
    out["Patient"].append(patient)
    return out


def _first_of_month(ordinal: int) -> int:
    day = date.fromordinal(ordinal)
    return ordinal - day.day + 1


def _encounter_id(ids: PatientIds, visit: _Visit) -> str:
    if not visit.resource_id:
        visit.resource_id = ids.next("Encounter")
    return visit.resource_id


def _condition_code(rng: random.Random, key: str, has: set[str], ckd_code: str, female: bool) -> str:
    if key in _FIXED_CODE:
        if key == "obesity" and rng.random() < 0.25:
            return "E66.01"
        return _FIXED_CODE[key]
    if key == "hypertension":
        if ckd_code in ("N18.5", "N18.6"):
            return "I12.0"
        if ckd_code and "heart_failure" in has:
            return "I13.0"
        if ckd_code:
            return "I12.9"
        return "I11.0" if "heart_failure" in has else "I10"
    if key == "diabetes":
        if ckd_code and rng.random() < 0.7:
            return "E11.22"
        if "pvd" in has and rng.random() < 0.5:
            return "E11.51"
        return _DIABETES.pick(rng)
    if key == "ckd":
        return ckd_code
    if key == "cancer":
        return _CHOICES["cancer_female" if female else "cancer_male"].pick(rng)
    if key == "liver":
        return _CHOICES["liver_alcohol" if "alcohol" in has else "liver_other"].pick(rng)
    return _CHOICES[key].pick(rng)


def _acute_reason(rng: random.Random, kind: str, has: set[str], age: int, fatal: bool) -> str:
    if kind == "EMER":
        if "copd" in has and rng.random() < 0.2:
            return "J44.1"
        if "asthma" in has and rng.random() < 0.2:
            return "J45.901"
        return _CHOICES["ed_reason"].pick(rng)
    options: list[tuple[str, float]] = [
        ("J18.9", 1.5),
        ("A41.9", 1.0 + (1.0 if fatal else 0.0)),
        ("N39.0", 0.5),
        ("K92.2", 0.4),
        ("E86.0", 0.4),
        ("R55", 0.4),
    ]
    if age >= 70:
        options.append(("S72.001A", 0.4))
    if "heart_failure" in has:
        options += [("I50.23", 1.6), ("I50.33", 1.4)]
    if "copd" in has:
        options.append(("J44.1", 3.0))
    if "diabetes" in has:
        options.append(("E11.649", 0.6))
    if "ckd" in has:
        options.append(("N17.9", 1.0))
    if "ihd" in has:
        options.append(("I21.4", 1.5))
    if "afib" in has:
        options.append(("I63.9", 0.8))
    if "dementia" in has:
        options.append(("N39.0", 1.0))
    if "alcohol" in has:
        options.append(("F10.239", 2.0))
    if "opioid" in has:
        options.append(("T40.2X1A", 1.5))
    return Weighted(options).pick(rng)


def _medication_plan(
    rng: random.Random, has: set[str], codes_by_key: dict[str, list[str]], ckd_code: str
) -> list[tuple[str, str]]:
    """(medication key, condition key it treats), first-line choices by condition (approximate shares)."""
    r = rng.random
    plan: dict[str, str] = {}

    def add(med: str, reason: str, share: float) -> None:
        if med not in plan and r() < share:
            plan[med] = reason

    severe_ckd = ckd_code in ("N18.4", "N18.5", "N18.6")
    if "hypertension" in has:
        if r() < 0.6:
            add("lisinopril", "hypertension", 1.0)
        else:
            add("losartan", "hypertension", 0.75)
        add("amlodipine", "hypertension", 0.35)
        add("hctz", "hypertension", 0.25 if not severe_ckd else 0.0)
    if "hyperlipidemia" in has or "ihd" in has or "diabetes" in has:
        reason = "hyperlipidemia" if "hyperlipidemia" in has else ("ihd" if "ihd" in has else "diabetes")
        add("atorvastatin" if r() < 0.6 else "simvastatin", reason, 0.75)
    if "diabetes" in has:
        complicated = codes_by_key["diabetes"][0] != "E11.9"
        if not severe_ckd:
            add("metformin", "diabetes", 0.75)
        add("insulin_glargine" if r() < 0.6 else "insulin_70_30", "diabetes", 0.35 if complicated else 0.15)
        add("empagliflozin", "diabetes", 0.15)
        add("sitagliptin", "diabetes", 0.08)
        add("semaglutide", "diabetes", 0.10)
        if codes_by_key["diabetes"][0] == "E11.40":
            add("gabapentin", "diabetes", 0.6)
    if "heart_failure" in has:
        add("furosemide", "heart_failure", 0.85)
        add("metoprolol" if r() < 0.6 else "carvedilol", "heart_failure", 0.8)
        add("spironolactone", "heart_failure", 0.35)
        add("lisinopril", "heart_failure", 0.3)
    if "afib" in has:
        add("apixaban" if r() < 0.75 else "warfarin", "afib", 0.8)
        add("metoprolol", "afib", 0.6)
        add("digoxin", "afib", 0.1)
    if "ihd" in has:
        add("aspirin", "ihd", 0.7)
        add("clopidogrel", "ihd", 0.25)
        add("nitroglycerin", "ihd", 0.25)
        add("metoprolol", "ihd", 0.4)
    if "stroke" in has:
        add("aspirin", "stroke", 0.5)
        add("clopidogrel", "stroke", 0.3)
    if "copd" in has:
        add("tiotropium", "copd", 0.6)
        add("fluticasone_salmeterol", "copd", 0.4)
        add("albuterol", "copd", 0.85)
    if "asthma" in has:
        add("albuterol", "asthma", 0.9)
        add("fluticasone_salmeterol", "asthma", 0.4)
    if "depression" in has:
        roll = r()
        add(
            "sertraline" if roll < 0.45 else ("escitalopram" if roll < 0.8 else "bupropion"),
            "depression",
            0.75,
        )
    if "anxiety" in has:
        add("sertraline" if r() < 0.5 else "escitalopram", "anxiety", 0.5)
    if "dementia" in has:
        add("donepezil", "dementia", 0.5)
        add("memantine", "dementia", 0.2)
        add("galantamine", "dementia", 0.05)
    if "alcohol" in has:
        add("naltrexone", "alcohol", 0.2)
    if "opioid" in has:
        add("buprenorphine", "opioid", 0.5)
    if "hypothyroid" in has:
        add("levothyroxine", "hypothyroid", 0.9)
    if "osteoporosis" in has:
        add("alendronate", "osteoporosis", 0.5)
    if "rheumatoid" in has:
        add("methotrexate", "rheumatoid", 0.6)
    if "smi" in has:
        roll = r()
        add("quetiapine" if roll < 0.4 else ("aripiprazole" if roll < 0.75 else "lithium"), "smi", 0.8)
    if "tobacco" in has:
        add("nicotine_patch", "tobacco", 0.2)
    if "obesity" in has:
        add("semaglutide", "obesity", 0.08)
    add("acetaminophen", "", 0.12)
    add("omeprazole", "", 0.12)
    return list(plan.items())


def _medication(
    ids: PatientIds,
    key: str,
    status: str,
    authored: int,
    subject: JSON,
    requester: JSON,
    reason: _Problem | None,
) -> JSON:
    resource: JSON = {
        "resourceType": "MedicationRequest",
        "id": ids.next("MedicationRequest"),
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": c.MEDICATION_CONCEPTS[key],
        "subject": subject,
        "authoredOn": _day(authored),
        "requester": requester,
        "dosageInstruction": c.MEDICATION_DOSAGE[key],
    }
    if reason is not None:
        resource["reasonReference"] = [{"reference": f"Condition/{reason.resource_id}"}]
    return resource


def _quantity(value: float | int, key: str) -> JSON:
    unit, code = c.UNITS[key]
    return {"value": value, "unit": unit, "system": c.UCUM_SYSTEM, "code": code}


def _observations(
    rng: random.Random,
    ids: PatientIds,
    out: list[JSON],
    subject: JSON,
    visits: list[_Visit],
    has: set[str],
    codes_by_key: dict[str, list[str]],
    ckd_code: str,
    female: bool,
    age: int,
) -> None:
    if not visits:
        return
    gauss = rng.gauss
    r = rng.random
    if "obesity" in has:
        bmi = 40 + 12 * r() if codes_by_key["obesity"][0] == "E66.01" else 30 + 9.9 * r()
    else:
        bmi = min(29.9, max(17.5, gauss(26.0, 3.2)))
    height = gauss(1.62, 0.07) if female else gauss(1.76, 0.07)
    hypertensive = "hypertension" in has
    diabetic = "diabetes" in has
    hba1c_mean = 7.6 + (1.2 if diabetic and codes_by_key["diabetes"][0] == "E11.65" else 0.0)
    statin = "hyperlipidemia" in has or "ihd" in has
    check_egfr = bool(ckd_code) or diabetic or (hypertensive and r() < 0.7) or r() < 0.2
    check_ldl = statin or diabetic or r() < 0.25
    egfr_code = "egfr_ckdepi" if r() < 0.7 else "egfr_mdrd"

    def observation(visit: _Visit, category: list[JSON], key: str, when: str) -> JSON:
        eid = visit.resource_id
        return {
            "resourceType": "Observation",
            "id": ids.next("Observation"),
            "status": "final",
            "category": category,
            "code": c.LOINC_CONCEPTS[key],
            "subject": subject,
            "encounter": {"reference": f"Encounter/{eid}"},
            "effectiveDateTime": when,
        }

    for n, visit in enumerate(visits):
        latest = n == len(visits) - 1
        when = _instant(visit.start, visit.minute)
        if hypertensive:
            systolic = int(min(210, max(95, gauss(138, 16))))
            diastolic = int(min(125, max(50, gauss(80, 10))))
        else:
            systolic = int(min(170, max(88, gauss(121, 11))))
            diastolic = int(min(105, max(48, gauss(75, 8))))
        diastolic = min(diastolic, systolic - 20)
        bp = observation(visit, c.CATEGORY_VITALS, "bp", when)
        bp["component"] = [
            {"code": c.LOINC_CONCEPTS["sbp"], "valueQuantity": _quantity(systolic, "sbp")},
            {"code": c.LOINC_CONCEPTS["dbp"], "valueQuantity": _quantity(diastolic, "dbp")},
        ]
        out.append(bp)
        visit_bmi = round(bmi + gauss(0, 0.3), 1)
        weight = observation(visit, c.CATEGORY_VITALS, "weight", when)
        weight["valueQuantity"] = _quantity(round(visit_bmi * height * height, 1), "weight")
        out.append(weight)
        body_mass = observation(visit, c.CATEGORY_VITALS, "bmi", when)
        body_mass["valueQuantity"] = _quantity(visit_bmi, "bmi")
        out.append(body_mass)
        if diabetic or (latest and r() < 0.15):
            mean, sd, top = (hba1c_mean, 1.3, 14.0) if diabetic else (5.4, 0.35, 6.4)
            lab = observation(visit, c.CATEGORY_LAB, "hba1c", when)
            lab["valueQuantity"] = _quantity(
                round(min(top, max(4.3 if not diabetic else 5.6, gauss(mean, sd))), 1), "hba1c"
            )
            out.append(lab)
        if latest and check_egfr:
            lab = observation(visit, c.CATEGORY_LAB, egfr_code, when)
            lab["valueQuantity"] = _quantity(_egfr(rng, ckd_code, age), egfr_code)
            out.append(lab)
        if latest and check_ldl:
            if statin and r() < 0.75:
                ldl = gauss(95, 28)
            elif "hyperlipidemia" in has:
                ldl = gauss(150, 30)
            else:
                ldl = gauss(112, 28)
            lab = observation(visit, c.CATEGORY_LAB, "ldl", when)
            lab["valueQuantity"] = _quantity(int(min(280, max(35, ldl))), "ldl")
            out.append(lab)


_EGFR_RANGE = {
    "N18.2": (60, 89),
    "N18.30": (30, 59),
    "N18.31": (45, 59),
    "N18.32": (30, 44),
    "N18.4": (15, 29),
    "N18.5": (8, 14),
    "N18.6": (4, 12),
}


def _egfr(rng: random.Random, ckd_code: str, age: int) -> int:
    if ckd_code:
        low, high = _EGFR_RANGE[ckd_code]
        return rng.randint(low, high)
    return int(min(130, max(60, rng.gauss(108 - 0.7 * (age - 30), 12))))
