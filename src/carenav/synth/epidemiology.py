"""The distributions the synthetic population is drawn from, with their sources.

The population imitates the panel of a regional health plan with Medicare Advantage, Medicaid and dual
members plus some commercial members: adults, skewed older, multimorbid. Figures are rounded from the
published tables named beside them; where a table does not exist for exactly what we need (for example
prevalence among 18-44-year-old Medicaid members), the figure is an informed approximation and says so.
None of this is meant for research: it is meant to make stratification, program eligibility and
dashboards behave the way they do on real data.

Age bands used throughout: 18-44, 45-64, 65-74, 75-84, 85-100 (index 0..4).
"""

from __future__ import annotations

from dataclasses import dataclass

from carenav.patients.rules import PlanType

AGE_BANDS: tuple[tuple[int, int], ...] = ((18, 44), (45, 64), (65, 74), (75, 84), (85, 100))

# Share of members per age band. Approximation of a combined MA + Medicaid + dual panel: the Medicare part
# follows the CMS Medicare enrollment dashboard age mix (65-74 ~ 50%, 75-84 ~ 30%, 85+ ~ 12%, <65 disabled
# ~ 12% of beneficiaries, 2022), blended 70/30 with an adult Medicaid/commercial book whose ages follow
# the ACS 2022 adult age pyramid. Approximate.
AGE_BAND_SHARE: tuple[float, ...] = (0.16, 0.22, 0.32, 0.21, 0.09)

# Female share per age band: Census ACS 2022 (S0101), sex ratio by age; women outlive men.
FEMALE_SHARE: tuple[float, ...] = (0.52, 0.53, 0.54, 0.57, 0.65)


@dataclass(frozen=True)
class ConditionSpec:
    """One chronic condition category.

    ``prevalence`` is the share per age band for (female, male) as a pair of tuples. ``parent`` names an
    earlier category whose presence multiplies the risk by ``relative_risk`` (the marginal is kept close
    to the table by lowering the risk of those without the parent). ``frailty`` is the loading on the
    shared latent burden factor (0 = independent of everything else).
    """

    key: str
    female: tuple[float, float, float, float, float]
    male: tuple[float, float, float, float, float]
    frailty: float
    parent: str | None = None
    relative_risk: float = 1.0
    chronic: bool = True  # counts towards the CCM chronic-condition count


def _sexed(
    base: tuple[float, ...], female: float, male: float
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    return tuple(min(0.95, p * female) for p in base), tuple(min(0.95, p * male) for p in base)


def _spec(
    key: str,
    base: tuple[float, float, float, float, float],
    *,
    female: float = 1.0,
    male: float = 1.0,
    frailty: float = 0.5,
    parent: str | None = None,
    relative_risk: float = 1.0,
    chronic: bool = True,
) -> ConditionSpec:
    f, m = _sexed(base, female, male)
    return ConditionSpec(key, f, m, frailty, parent, relative_risk, chronic)  # type: ignore[arg-type]


# Prevalence per age band (18-44, 45-64, 65-74, 75-84, 85+), before the sex multipliers.
# Sources:
#   [CCW]   CMS Chronic Conditions Warehouse, Medicare FFS beneficiaries, chronic condition prevalence by
#           age (www2.ccwdata.org, condition categories; 2018-2021 tables). Used for 65+ and <65 disabled.
#   [CDC]   CDC NCHS: National Health Interview Survey 2019-2022 (diagnosed hypertension, diabetes, COPD,
#           asthma, cancer, arthritis by age), NHANES 2017-2020 (obesity, CKD), NSDUH 2022 (alcohol and
#           opioid use disorder), CDC Chronic Kidney Disease Surveillance System.
#   [CHW]   CMS Chronic Conditions Dashboard / MMD "Multiple chronic conditions" charts (co-occurrence).
# The under-65 figures are coded (diagnosed) prevalence in a Medicaid-heavy book: approximate.
CONDITIONS: tuple[ConditionSpec, ...] = (
    # obesity first: it is the parent of diabetes. NHANES measured obesity is ~40%; coded obesity on
    # claims is lower ([CCW] obesity ~ 20-25% in 65-74). Approximate.
    _spec("obesity", (0.28, 0.33, 0.28, 0.20, 0.10), female=1.1, male=0.9, frailty=0.3),
    _spec("tobacco", (0.20, 0.18, 0.11, 0.06, 0.03), female=0.85, male=1.15, frailty=0.2, chronic=False),
    _spec("hypertension", (0.12, 0.38, 0.55, 0.66, 0.70), frailty=0.5),  # [CDC] NHIS; [CCW] 65+
    _spec("hyperlipidemia", (0.08, 0.33, 0.50, 0.52, 0.44), frailty=0.4),  # [CCW]
    _spec("diabetes", (0.04, 0.15, 0.26, 0.28, 0.22), frailty=0.5, parent="obesity", relative_risk=2.5),
    _spec("ckd", (0.02, 0.06, 0.17, 0.28, 0.38), frailty=0.6, parent="diabetes", relative_risk=2.4),  # [CCW]
    _spec(
        "ihd",
        (0.01, 0.07, 0.20, 0.30, 0.36),
        female=0.7,
        male=1.35,
        frailty=0.5,
        parent="diabetes",
        relative_risk=1.8,
    ),  # [CCW] ischemic heart disease
    _spec(
        "heart_failure", (0.005, 0.03, 0.08, 0.15, 0.26), frailty=0.7, parent="ihd", relative_risk=3.0
    ),  # [CCW]
    _spec(
        "afib",
        (0.002, 0.02, 0.07, 0.14, 0.21),
        female=0.85,
        male=1.15,
        frailty=0.5,
        parent="heart_failure",
        relative_risk=3.0,
    ),  # [CCW]
    _spec("stroke", (0.003, 0.015, 0.03, 0.05, 0.07), frailty=0.6, parent="afib", relative_risk=2.5),  # [CCW]
    _spec("copd", (0.01, 0.06, 0.11, 0.13, 0.12), frailty=0.6, parent="tobacco", relative_risk=3.5),  # [CCW]
    _spec("asthma", (0.08, 0.08, 0.07, 0.06, 0.05), female=1.4, male=0.6, frailty=0.3),  # [CDC] NHIS
    _spec("depression", (0.12, 0.15, 0.14, 0.13, 0.12), female=1.35, male=0.65, frailty=0.5),  # [CCW]
    _spec(
        "anxiety",
        (0.14, 0.12, 0.09, 0.08, 0.07),
        female=1.35,
        male=0.65,
        frailty=0.4,
        parent="depression",
        relative_risk=3.0,
    ),  # [CCW] anxiety disorders
    _spec(
        "dementia",
        (0.0, 0.005, 0.03, 0.11, 0.30),
        female=1.1,
        male=0.9,
        frailty=0.6,
        parent="stroke",
        relative_risk=2.0,
    ),  # [CCW] Alzheimer's and related dementia
    _spec(
        "alcohol", (0.05, 0.04, 0.02, 0.01, 0.005), female=0.5, male=1.5, frailty=0.3
    ),  # [CDC] NSDUH, coded
    _spec("opioid", (0.02, 0.012, 0.004, 0.002, 0.001), female=0.7, male=1.3, frailty=0.3),  # [CDC] NSDUH
    _spec("cancer", (0.01, 0.04, 0.08, 0.11, 0.12), frailty=0.4),  # [CCW] breast/colorectal/lung/prostate
    _spec("liver", (0.01, 0.025, 0.02, 0.015, 0.01), frailty=0.4, parent="alcohol", relative_risk=4.0),
    _spec("rheumatoid", (0.005, 0.012, 0.02, 0.02, 0.02), female=1.5, male=0.5, frailty=0.3),  # [CDC]
    _spec("osteoporosis", (0.002, 0.02, 0.08, 0.14, 0.20), female=1.7, male=0.3, frailty=0.4),  # [CCW]
    _spec("hypothyroid", (0.04, 0.08, 0.14, 0.18, 0.20), female=1.6, male=0.4, frailty=0.2),  # [CCW]
    _spec("pvd", (0.002, 0.015, 0.05, 0.08, 0.10), frailty=0.5, parent="diabetes", relative_risk=2.0),
    _spec("smi", (0.02, 0.018, 0.008, 0.005, 0.003), frailty=0.3),  # schizophrenia/bipolar, Medicaid-heavy
    _spec(
        "hiv", (0.004, 0.006, 0.003, 0.001, 0.0005), female=0.5, male=1.5, frailty=0.2
    ),  # CDC HIV surveillance
)
CONDITION_INDEX: dict[str, int] = {spec.key: i for i, spec in enumerate(CONDITIONS)}

# Share of chronic problem-list conditions emitted with a SNOMED CT coding only (no ICD-10-CM), so that
# the SNOMED -> ICD-10-CM crosswalk is exercised. Only categories in codes.SNOMED_BY_CATEGORY qualify.
SNOMED_ONLY_SHARE = 0.04

# Share of diabetics among whom the complication codes apply (when no CKD / PVD code forces one).
DIABETES_CODE_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("E11.9", 0.52),
    ("E11.65", 0.20),
    ("E11.40", 0.15),
    ("E11.319", 0.07),
    ("E10.9", 0.06),
)
# CKD stage mix among coded CKD ([CDC] CKD surveillance; stage 3 dominates coded CKD). Approximate.
CKD_STAGE_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("N18.2", 0.08),
    ("N18.30", 0.14),
    ("N18.31", 0.30),
    ("N18.32", 0.22),
    ("N18.4", 0.14),
    ("N18.5", 0.04),
    ("N18.6", 0.08),
)
# Share of cancers with metastasis coded (C77-C80) — about one in ten active cancers. Approximate.
METASTATIC_SHARE = 0.10

# Coverage mix per age band (shares of PlanType), approximations of:
#   KFF "Medicare Advantage in 2024" (54% of eligible beneficiaries in MA), MedPAC/MACPAC data book on
#   dual-eligible beneficiaries (~19% of Medicare), KFF health insurance coverage of adults 19-64 (ACS
#   2022: employer 60%, Medicaid 17%, uninsured 11%), over-weighted towards Medicaid for a plan that runs
#   Medicaid managed care.
COVERAGE_MIX: tuple[tuple[tuple[PlanType, float], ...], ...] = (
    (
        (PlanType.MEDICAID, 0.48),
        (PlanType.COMMERCIAL, 0.36),
        (PlanType.UNINSURED, 0.08),
        (PlanType.DUAL, 0.04),
        (PlanType.MEDICARE_FFS, 0.02),
        (PlanType.MEDICARE_ADVANTAGE, 0.02),
    ),
    (
        (PlanType.MEDICAID, 0.38),
        (PlanType.COMMERCIAL, 0.38),
        (PlanType.UNINSURED, 0.07),
        (PlanType.DUAL, 0.08),
        (PlanType.MEDICARE_FFS, 0.05),
        (PlanType.MEDICARE_ADVANTAGE, 0.04),
    ),
    (
        (PlanType.MEDICARE_ADVANTAGE, 0.52),
        (PlanType.MEDICARE_FFS, 0.30),
        (PlanType.DUAL, 0.14),
        (PlanType.COMMERCIAL, 0.03),
        (PlanType.UNINSURED, 0.01),
    ),
    (
        (PlanType.MEDICARE_ADVANTAGE, 0.52),
        (PlanType.MEDICARE_FFS, 0.31),
        (PlanType.DUAL, 0.16),
        (PlanType.COMMERCIAL, 0.01),
    ),
    ((PlanType.MEDICARE_ADVANTAGE, 0.48), (PlanType.MEDICARE_FFS, 0.32), (PlanType.DUAL, 0.20)),
)
# Share of members who also carry an earlier, ended coverage (e.g. commercial before Medicare).
PRIOR_COVERAGE_SHARE = 0.10

# Annual all-cause mortality per age band, CDC NCHS life tables 2021 (qx averaged over the band, both
# sexes), before the burden adjustment. Deaths fall inside the 24-month look-back window.
ANNUAL_MORTALITY: tuple[float, ...] = (0.002, 0.008, 0.02, 0.05, 0.14)
IN_HOSPITAL_DEATH_SHARE = 0.30  # ~ 30% of Medicare deaths occur in hospital (CDC NCHS place of death).

# Utilisation: events per person-year per age band before the burden multiplier (exp(0.2 per condition)).
# Medicare FFS ~ 250 inpatient stays and ~ 650 ED visits per 1,000 beneficiaries a year (MedPAC data
# book 2023); Medicaid adults have more ED use (MACPAC). The multiplier makes rates rise with burden.
INPATIENT_RATE: tuple[float, ...] = (0.04, 0.05, 0.06, 0.085, 0.12)
ED_RATE: tuple[float, ...] = (0.36, 0.30, 0.24, 0.28, 0.34)
AMBULATORY_RATE_BASE = 1.2  # visits per year, plus 0.35 per chronic condition
AMBULATORY_RATE_PER_CONDITION = 0.35
READMISSION_SHARE = 0.15  # ~ 15-18% 30-day all-cause readmission in Medicare (CMS Hospital Compare)
CURRENTLY_ADMITTED_SHARE = 0.004  # in-progress inpatient stay at the as-of date
LOOKBACK_DAYS = 730

# Discharge disposition mix for live discharges, per age band (NUBC code, weight). Approximation of
# HCUP NIS 2019 discharge disposition by age (routine ~ 55-70%, SNF rises with age, home health ~ 18%).
DISCHARGE_MIX: tuple[tuple[tuple[str, float], ...], ...] = (
    (("01", 0.82), ("06", 0.07), ("03", 0.01), ("07", 0.05), ("62", 0.01), ("02", 0.02), ("50", 0.02)),
    (("01", 0.70), ("06", 0.13), ("03", 0.06), ("07", 0.04), ("62", 0.02), ("02", 0.02), ("50", 0.03)),
    (("01", 0.58), ("06", 0.18), ("03", 0.13), ("07", 0.02), ("62", 0.03), ("02", 0.02), ("50", 0.04)),
    (("01", 0.46), ("06", 0.21), ("03", 0.22), ("07", 0.01), ("62", 0.04), ("02", 0.02), ("50", 0.04)),
    (("01", 0.35), ("06", 0.22), ("03", 0.32), ("07", 0.01), ("62", 0.03), ("02", 0.02), ("50", 0.05)),
)

# Preferred language: ACS 2022 language spoken at home (S1601) for adults, weighted towards the plan's
# regions (Texas, Florida, Arizona, Ohio). Share needing an interpreter among non-English speakers:
# ~ 60% (ACS "speaks English less than very well"). Approximate.
LANGUAGE_MIX: tuple[tuple[str, float], ...] = (
    ("en", 0.835),
    ("es", 0.125),
    ("zh", 0.008),
    ("vi", 0.009),
    ("ru", 0.005),
    ("ko", 0.004),
    ("ar", 0.007),
    ("ht", 0.007),
)
INTERPRETER_SHARE = 0.60

# Race (OMB categories) among non-Hispanic members, and Hispanic share among Spanish speakers / others.
# Census 2020 redistricting data, rounded. Approximate.
RACE_MIX: tuple[tuple[str, float], ...] = (
    ("white", 0.70),
    ("black", 0.20),
    ("asian", 0.07),
    ("aian", 0.02),
    ("nhpi", 0.01),
)
HISPANIC_SHARE_NON_SPANISH = 0.10

# Medications: probability of each drug given a condition is set in generate.py next to the rules; the
# shares follow common first-line guideline use, not dispensing data (approximate).
# Share of prescriptions that are historical (status stopped) rather than active.
STOPPED_MEDICATION_SHARE = 0.12
