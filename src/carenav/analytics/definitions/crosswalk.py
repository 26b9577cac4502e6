"""The diagnosis views every model reads: ICD-10-CM for every diagnosis, SNOMED CT mapped through the
crosswalk (``tables/snomed_icd10.csv``), and the patient's age at the as-of date.

Views (available to every definition, which all run after this one):
- ``dx_icd10(patient_id, code, onset_date, abatement_date, active, encounter_id, mapped_from)``: every
  diagnosis of the snapshot as a dot-less upper-case ICD-10-CM code. ICD-10-CM (and WHO ICD-10) rows as
  they are (``mapped_from`` NULL); SNOMED CT rows through the crosswalk (``mapped_from`` = the SNOMED CT
  code); rows that map to nothing are left out (and reported). No date filter: models choose theirs.
- ``dx_as_of``: ``dx_icd10`` restricted to diagnoses with onset on or before as-of (or no onset date),
  with ``active_at_as_of``: not resolved by as-of (abatement after as-of, or no abatement and the
  snapshot's status active).
- ``patient_age(patient_id, age, deceased_at_as_of)``: whole years at as-of (at death for the dead),
  NULL without a birth date.
- ``dx_unmapped(patient_id, system, code, display, reason)``: the non-ICD-10 diagnoses that map to
  nothing, with the reason when they are deliberately unmapped.

Report ``unmapped_codes``: every non-ICD-10 code of the snapshot that maps to nothing, with how many
diagnoses and patients carry it, and whether it is deliberately unmapped (``snomed_not_mapped.csv``).
"""

from __future__ import annotations

from carenav.analytics.definition import Definition

DX_ICD10_SQL = """
SELECT d.patient_id,
       CASE WHEN d.system = 'icd10cm' THEN d.code ELSE x.icd10_code END AS code,
       d.onset_date,
       d.abatement_date,
       d.active,
       d.encounter_id,
       CASE WHEN d.system = 'snomed' THEN d.code END AS mapped_from
FROM diagnoses AS d
LEFT JOIN snomed_icd10 AS x ON d.system = 'snomed' AND x.snomed_code = d.code
WHERE d.system = 'icd10cm' OR x.icd10_code IS NOT NULL
"""

DX_AS_OF_SQL = """
SELECT dx.patient_id, dx.code, dx.onset_date, dx.abatement_date, dx.active, dx.encounter_id,
       dx.mapped_from,
       (dx.abatement_date > p.as_of OR (dx.abatement_date IS NULL AND dx.active)) AS active_at_as_of
FROM dx_icd10 AS dx
CROSS JOIN params AS p
WHERE dx.onset_date IS NULL OR dx.onset_date <= p.as_of
"""

PATIENT_AGE_SQL = """
SELECT t.patient_id,
       CASE WHEN t.birth_date IS NULL THEN NULL
            ELSE EXTRACT(YEAR FROM t.at_date) - EXTRACT(YEAR FROM t.birth_date)
                 - CASE WHEN EXTRACT(MONTH FROM t.at_date) * 100 + EXTRACT(DAY FROM t.at_date)
                             < EXTRACT(MONTH FROM t.birth_date) * 100 + EXTRACT(DAY FROM t.birth_date)
                        THEN 1 ELSE 0 END
       END AS age,
       t.deceased_at_as_of
FROM (
    SELECT pt.patient_id, pt.birth_date,
           CASE WHEN pt.deceased_date IS NOT NULL AND pt.deceased_date < p.as_of
                THEN pt.deceased_date ELSE p.as_of END AS at_date,
           COALESCE(pt.deceased_date <= p.as_of, pt.deceased_date IS NULL AND pt.deceased, FALSE)
               AS deceased_at_as_of
    FROM patients AS pt
    CROSS JOIN params AS p
) AS t
"""

DX_UNMAPPED_SQL = """
SELECT d.patient_id, d.system, d.code, d.display, n.reason
FROM diagnoses AS d
LEFT JOIN snomed_icd10 AS x ON d.system = 'snomed' AND x.snomed_code = d.code
LEFT JOIN snomed_not_mapped AS n ON d.system = 'snomed' AND n.snomed_code = d.code
WHERE d.system <> 'icd10cm' AND x.icd10_code IS NULL
"""

SCORES_SQL = """
SELECT p.patient_id, CAST(COALESCE(u.n, 0) AS INTEGER) AS unmapped_diagnosis_count
FROM patients AS p
LEFT JOIN (
    SELECT patient_id, COUNT(*) AS n FROM dx_unmapped WHERE reason IS NULL GROUP BY patient_id
) AS u ON u.patient_id = p.patient_id
"""

EVIDENCE_SQL = """
SELECT um.patient_id, 'crosswalk' AS model, 'unmapped' AS component, CAST(0 AS DOUBLE) AS points,
       um.system || ' ' || um.code || ' ' || COALESCE(um.display, '')
       || ': maps to no ICD-10-CM code' AS evidence
FROM dx_unmapped AS um
WHERE um.reason IS NULL
"""

UNMAPPED_REPORT_SQL = """
SELECT um.system, um.code, MIN(um.display) AS display, COUNT(*) AS diagnoses,
       COUNT(DISTINCT um.patient_id) AS patients, um.reason IS NOT NULL AS deliberate,
       um.reason
FROM dx_unmapped AS um
GROUP BY um.system, um.code, um.reason
ORDER BY um.system, um.code
"""

CROSSWALK = Definition(
    name="crosswalk",
    columns=("unmapped_diagnosis_count",),
    scores_sql=SCORES_SQL,
    evidence_sql=EVIDENCE_SQL,
    tables={"snomed_icd10": "snomed_icd10.csv", "snomed_not_mapped": "snomed_not_mapped.csv"},
    views={
        "dx_icd10": DX_ICD10_SQL,
        "dx_as_of": DX_AS_OF_SQL,
        "patient_age": PATIENT_AGE_SQL,
        "dx_unmapped": DX_UNMAPPED_SQL,
    },
    inline=frozenset({"dx_as_of"}),
    reports={"unmapped_codes": UNMAPPED_REPORT_SQL},
)
