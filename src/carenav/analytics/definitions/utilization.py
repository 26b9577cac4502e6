"""Utilisation and burden: chronic conditions (CMS Chronic Conditions Warehouse categories), behavioral
health and substance use flags, admissions and emergency visits in 6 and 12 months, medications, age,
frailty, and the last discharge (for transitional care rules).

- Chronic conditions: active diagnoses at as-of (``dx_as_of.active_at_as_of``) whose ICD-10-CM code
  starts with a prefix of ``chronic_conditions.csv``; counted per category.
- Windows: ``ip_admits_6m`` counts inpatient stays (IMP, ACUTE, NONAC) admitted in the 6 months up to
  and including as-of (admission day after as-of minus 6 months); ``_12m`` likewise over 12 months;
  ``ed_visits_*`` count emergency (EMER) encounters started in those windows.
- ``active_medications``: medication orders with status active, authored on or before as-of (or with no
  date), counted by distinct code (or per order without a code). ``polypharmacy``: 10 or more.
- ``frail_elder``: age 65 or over and the latest functional assessment on or before as-of records an ADL
  dependency.
- Last discharge: from ``inpatient_discharges`` (the LACE definition's view: discharges alive on or
  before as-of). ``discharged_to_community``: its NUBC disposition is one of COMMUNITY_DISPOSITIONS
  (false without a discharge).
"""

from __future__ import annotations

from carenav.analytics.definition import Definition, prefix_match

INPATIENT_CLASSES = "('IMP', 'ACUTE', 'NONAC')"

COMMUNITY_DISPOSITIONS: dict[str, str] = {
    "01": "Discharged to home or self care (routine discharge)",
    "06": "Discharged to home under care of an organized home health service organization",
    "50": "Discharged to hospice - home",
    "81": "Discharged to home or self care with a planned acute care hospital readmission",
    "86": "Discharged to home under care of organized home health service with a planned readmission",
}
"""NUBC patient discharge status codes that send the patient to a community setting (home, home health,
hospice at home), as the transitional care management rules (CMS TCM: discharge to the community) need.
Facility transfers (02, 03, 04, 05, 62, 63, 64, 65, 66, 70...), leaving against medical advice (07) and
death (20, 40-42) are not community discharges."""

POLYPHARMACY_THRESHOLD = 10

_COMMUNITY = ", ".join(f"'{code}'" for code in COMMUNITY_DISPOSITIONS)

CHRONIC_HITS_SQL = f"""
SELECT DISTINCT dx.patient_id, cc.category, cc.flag, dx.code, dx.mapped_from
FROM dx_as_of AS dx
JOIN chronic_conditions AS cc ON {prefix_match("dx.code", "cc.prefix")}
WHERE dx.active_at_as_of
"""

WINDOWS_SQL = f"""
SELECT e.patient_id,
       SUM(CASE WHEN e.class IN {INPATIENT_CLASSES} AND e.start_date > p.from_6m THEN 1 ELSE 0 END)
           AS ip_6m,
       SUM(CASE WHEN e.class IN {INPATIENT_CLASSES} THEN 1 ELSE 0 END) AS ip_12m,
       SUM(CASE WHEN e.class = 'EMER' AND e.start_date > p.from_6m THEN 1 ELSE 0 END) AS ed_6m,
       SUM(CASE WHEN e.class = 'EMER' THEN 1 ELSE 0 END) AS ed_12m
FROM (SELECT patient_id, class, CAST(start_ts AS DATE) AS start_date FROM encounters) AS e
CROSS JOIN (
    SELECT as_of, CAST(as_of - INTERVAL 6 MONTH AS DATE) AS from_6m,
           CAST(as_of - INTERVAL 12 MONTH AS DATE) AS from_12m
    FROM params
) AS p
WHERE e.start_date > p.from_12m AND e.start_date <= p.as_of
  AND (e.class IN {INPATIENT_CLASSES} OR e.class = 'EMER')
GROUP BY e.patient_id
"""

MEDS_SQL = """
SELECT m.patient_id,
       COUNT(DISTINCT m.code) + SUM(CASE WHEN m.code IS NULL THEN 1 ELSE 0 END) AS n
FROM medications AS m
CROSS JOIN params AS p
WHERE m.status = 'active' AND (m.authored_date IS NULL OR m.authored_date <= p.as_of)
GROUP BY m.patient_id
"""

ADL_SQL = """
SELECT patient_id, adl_dependent FROM (
    SELECT f.patient_id, f.adl_dependent,
           ROW_NUMBER() OVER (PARTITION BY f.patient_id ORDER BY f.assessed_date DESC,
                              f.adl_dependent DESC) AS rn
    FROM functional_status AS f
    CROSS JOIN params AS p
    WHERE f.assessed_date <= p.as_of
) AS latest WHERE rn = 1
"""

LAST_DISCHARGE_SQL = """
SELECT * FROM (
    SELECT d.patient_id, d.encounter_id, d.discharge_date, d.discharge_disposition,
           ROW_NUMBER() OVER (PARTITION BY d.patient_id
                              ORDER BY d.discharge_date DESC, d.admit_date DESC, d.encounter_id DESC) AS rn
    FROM inpatient_discharges AS d
) AS ranked WHERE rn = 1
"""

SCORES_SQL = f"""
SELECT p.patient_id,
       CAST(COALESCE(cc.n, 0) AS INTEGER) AS chronic_condition_count,
       COALESCE(cc.categories, '') AS chronic_conditions,
       COALESCE(cc.codes, '') AS chronic_condition_codes,
       COALESCE(cc.behavioral, FALSE) AS behavioral_health,
       COALESCE(cc.substance, FALSE) AS substance_use,
       CAST(COALESCE(w.ip_6m, 0) AS INTEGER) AS ip_admits_6m,
       CAST(COALESCE(w.ip_12m, 0) AS INTEGER) AS ip_admits_12m,
       CAST(COALESCE(w.ed_6m, 0) AS INTEGER) AS ed_visits_6m,
       CAST(COALESCE(w.ed_12m, 0) AS INTEGER) AS ed_visits_12m,
       CAST(COALESCE(m.n, 0) AS INTEGER) AS active_medications,
       COALESCE(m.n, 0) >= {POLYPHARMACY_THRESHOLD} AS polypharmacy,
       CAST(a.age AS INTEGER) AS age,
       COALESCE(a.age >= 65 AND adl.adl_dependent, FALSE) AS frail_elder,
       a.deceased_at_as_of AS deceased,
       ld.discharge_date AS last_discharge_date,
       ld.discharge_disposition AS last_discharge_disposition,
       CAST(DATE_DIFF('day', ld.discharge_date, prm.as_of) AS INTEGER) AS days_since_discharge,
       COALESCE(ld.discharge_disposition IN ({_COMMUNITY}), FALSE) AS discharged_to_community
FROM patients AS p
CROSS JOIN params AS prm
LEFT JOIN patient_age AS a ON a.patient_id = p.patient_id
LEFT JOIN (
    SELECT patient_id, array_length(categories) AS n, array_to_string(categories, ';') AS categories,
           array_to_string(list_sort(list_distinct(codes)), ';') AS codes, behavioral, substance
    FROM (
        SELECT patient_id, list_sort(list_distinct(list(category))) AS categories, list(code) AS codes,
               MAX(CASE WHEN flag = 'behavioral' THEN 1 ELSE 0 END) = 1 AS behavioral,
               MAX(CASE WHEN flag = 'substance' THEN 1 ELSE 0 END) = 1 AS substance
        FROM chronic_hits
        GROUP BY patient_id
    ) AS h
) AS cc ON cc.patient_id = p.patient_id
LEFT JOIN ({WINDOWS_SQL}) AS w ON w.patient_id = p.patient_id
LEFT JOIN ({MEDS_SQL}) AS m ON m.patient_id = p.patient_id
LEFT JOIN ({ADL_SQL}) AS adl ON adl.patient_id = p.patient_id
LEFT JOIN ({LAST_DISCHARGE_SQL}) AS ld ON ld.patient_id = p.patient_id
"""

EVIDENCE_SQL = """
SELECT h.patient_id, 'chronic_conditions' AS model, h.category AS component, CAST(1 AS DOUBLE) AS points,
       h.label || ': ' || h.codes AS evidence
FROM (
    SELECT ch.patient_id, ch.category, MIN(cl.label) AS label,
           array_to_string(list_sort(list(ch.code || COALESCE(' from SNOMED CT ' || ch.mapped_from, ''))),
                           '; ') AS codes
    FROM chronic_hits AS ch
    JOIN (SELECT DISTINCT category, label FROM chronic_conditions) AS cl ON cl.category = ch.category
    GROUP BY ch.patient_id, ch.category
) AS h
"""

UTILIZATION = Definition(
    name="utilization",
    columns=(
        "chronic_condition_count",
        "chronic_conditions",
        "chronic_condition_codes",
        "behavioral_health",
        "substance_use",
        "ip_admits_6m",
        "ip_admits_12m",
        "ed_visits_6m",
        "ed_visits_12m",
        "active_medications",
        "polypharmacy",
        "age",
        "frail_elder",
        "deceased",
        "last_discharge_date",
        "last_discharge_disposition",
        "days_since_discharge",
        "discharged_to_community",
    ),
    scores_sql=SCORES_SQL,
    evidence_sql=EVIDENCE_SQL,
    tables={"chronic_conditions": "chronic_conditions.csv"},
    depends_on=("crosswalk", "lace"),
    views={"chronic_hits": CHRONIC_HITS_SQL},
)
