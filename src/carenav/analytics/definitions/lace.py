"""LACE readmission index (van Walraven et al., CMAJ 2010;182:551) at every inpatient discharge, and at the
last discharge on or before as-of (``lace_last_discharge``, NULL when there is none).

- A discharge: an encounter of class IMP, ACUTE or NONAC with a start and an end, ending on or before
  as-of, whose disposition is not death (NUBC 20, 40, 41, 42).
- L: days from admission to discharge, both days counted (a same-day stay is 1 day); bands in
  ``lace_points.csv``.
- A (3 points): an acute or emergent admission: ``admission_type`` emergency or urgent, or the stay began
  in the emergency department: ``admitted_via_ed`` (an admit source naming the ED: FHIR admit-source
  ``emd``, HL7 v2 table 0023 ``7``), or an emergency (EMER) encounter that started on the admission day,
  or the day before and ran into the admission day. Synthea states none of these on the stay itself, so
  its admissions are acute exactly when an emergency encounter leads into them.
- C: the Charlson score with the weights of the LACE table as printed in BMJ Open 2017;7:e016921 (column
  ``lace`` of ``charlson_weights.csv``; hierarchy applied), over diagnoses with onset on or before the
  discharge day; 0-3 -> same, 4 and over -> 5.
- E: emergency encounters that started in the 6 months before the admission day and ended before it (the
  visit that led to the admission, which runs into the admission day, is not counted); 4 and over -> 4.
View ``inpatient_discharges`` (one row per discharge: patient_id, encounter_id, admit_date,
discharge_date, discharge_disposition, acute) is available to the definitions run after this one.
"""

from __future__ import annotations

from carenav.analytics.definition import Definition
from carenav.analytics.definitions.charlson import (
    CHARLSON_TABLES,
    CHARLSON_TYPES,
    charlson_categories_sql,
)

INPATIENT_CLASSES = ("IMP", "ACUTE", "NONAC")
DEATH_DISPOSITIONS = ("20", "40", "41", "42")


def _sql_list(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


DISCHARGES_SQL = f"""
SELECT s.patient_id, s.encounter_id, s.admit_date, s.discharge_date, s.discharge_disposition,
       (s.admission_type IN ('emergency', 'urgent') OR COALESCE(s.admitted_via_ed, FALSE)
        OR COALESCE(ed.n, 0) > 0) AS acute,
       s.admission_type, COALESCE(s.admitted_via_ed, FALSE) AS admitted_via_ed,
       COALESCE(ed.n, 0) > 0 AS ed_led_to_admission
FROM (
    SELECT e.patient_id, e.encounter_id, CAST(e.start_ts AS DATE) AS admit_date,
           CAST(e.end_ts AS DATE) AS discharge_date, e.end_ts, e.discharge_disposition, e.admission_type,
           e.admitted_via_ed
    FROM encounters AS e
    CROSS JOIN params AS p
    WHERE e.class IN ({_sql_list(INPATIENT_CLASSES)})
      AND e.start_ts IS NOT NULL AND e.end_ts IS NOT NULL
      AND CAST(e.end_ts AS DATE) <= p.as_of
      AND COALESCE(e.discharge_disposition, '') NOT IN ({_sql_list(DEATH_DISPOSITIONS)})
) AS s
LEFT JOIN (
    SELECT i.encounter_id, COUNT(*) AS n
    FROM encounters AS i
    JOIN encounters AS v ON v.patient_id = i.patient_id AND v.class = 'EMER'
    WHERE i.class IN ({_sql_list(INPATIENT_CLASSES)}) AND i.start_ts IS NOT NULL
      AND v.start_ts IS NOT NULL
      AND (CAST(v.start_ts AS DATE) = CAST(i.start_ts AS DATE)
           OR (CAST(v.start_ts AS DATE) = CAST(CAST(i.start_ts AS DATE) - INTERVAL 1 DAY AS DATE)
               AND CAST(COALESCE(v.end_ts, v.start_ts) AS DATE) >= CAST(i.start_ts AS DATE)))
    GROUP BY i.encounter_id
) AS ed ON ed.encounter_id = s.encounter_id
"""

_C_DX = """(
    SELECT d.patient_id, d.encounter_id AS stay_id, dx.code, dx.mapped_from, dx.onset_date
    FROM inpatient_discharges AS d
    JOIN dx_icd10 AS dx ON dx.patient_id = d.patient_id
    WHERE dx.onset_date IS NULL OR dx.onset_date <= d.discharge_date
)"""


LACE_ALL_SQL = """
SELECT x.*, lpl.points AS l_points, CASE WHEN x.acute THEN 3 ELSE 0 END AS a_points,
       lpc.points AS c_points, lpe.points AS e_points,
       lpl.points + CASE WHEN x.acute THEN 3 ELSE 0 END + lpc.points + lpe.points AS lace
FROM (
    SELECT d.patient_id, d.encounter_id, d.admit_date, d.discharge_date, d.discharge_disposition,
           d.acute, d.admission_type, d.admitted_via_ed, d.ed_led_to_admission,
           CAST(DATE_DIFF('day', d.admit_date, d.discharge_date) + 1 AS INTEGER) AS los_days,
           CAST(COALESCE(c.score, 0) AS INTEGER) AS charlson_lace, COALESCE(c.categories, '') AS categories,
           CAST(COALESCE(v.n, 0) AS INTEGER) AS ed_visits
    FROM inpatient_discharges AS d
    LEFT JOIN (
        SELECT stay_id, SUM(lace) AS score,
               array_to_string(list_sort(list(category || '=' || CAST(lace AS VARCHAR))), ';') AS categories
        FROM lace_charlson
        WHERE NOT zeroed AND lace > 0
        GROUP BY stay_id
    ) AS c ON c.stay_id = d.encounter_id
    LEFT JOIN (
        SELECT d2.encounter_id, COUNT(*) AS n
        FROM inpatient_discharges AS d2
        JOIN encounters AS v ON v.patient_id = d2.patient_id AND v.class = 'EMER'
        WHERE v.start_ts IS NOT NULL
          AND CAST(v.start_ts AS DATE) >= CAST(d2.admit_date - INTERVAL 6 MONTH AS DATE)
          AND CAST(v.start_ts AS DATE) < d2.admit_date
          AND CAST(COALESCE(v.end_ts, v.start_ts) AS DATE) < d2.admit_date
        GROUP BY d2.encounter_id
    ) AS v ON v.encounter_id = d.encounter_id
) AS x
JOIN lace_points AS lpl ON lpl.component = 'L' AND x.los_days BETWEEN lpl.lo AND lpl.hi
JOIN lace_points AS lpc ON lpc.component = 'C' AND x.charlson_lace BETWEEN lpc.lo AND lpc.hi
JOIN lace_points AS lpe ON lpe.component = 'E' AND x.ed_visits BETWEEN lpe.lo AND lpe.hi
"""

LAST_SQL = """
SELECT * FROM (
    SELECT la.*, ROW_NUMBER() OVER (
        PARTITION BY la.patient_id ORDER BY la.discharge_date DESC, la.admit_date DESC, la.encounter_id DESC
    ) AS rn
    FROM lace_all AS la
) AS ranked WHERE rn = 1
"""

SCORES_SQL = """
SELECT p.patient_id,
       CAST(l.lace AS INTEGER) AS lace_last_discharge,
       l.encounter_id AS lace_encounter_id
FROM patients AS p
LEFT JOIN lace_last AS l ON l.patient_id = p.patient_id
"""

EVIDENCE_SQL = """
SELECT patient_id, 'lace' AS model, 'L' AS component, CAST(l_points AS DOUBLE) AS points,
       'length of stay ' || CAST(los_days AS VARCHAR) || ' day(s): admitted '
       || CAST(admit_date AS VARCHAR) || ', discharged ' || CAST(discharge_date AS VARCHAR)
       || ' (encounter ' || encounter_id || ')' AS evidence
FROM lace_last
UNION ALL
SELECT patient_id, 'lace', 'A', CAST(a_points AS DOUBLE),
       CASE WHEN acute THEN 'acute admission: '
            || CASE WHEN admission_type IN ('emergency', 'urgent') THEN 'admission type ' || admission_type
                    WHEN admitted_via_ed THEN 'admitted from the emergency department'
                    ELSE 'an emergency encounter led into it' END
            ELSE 'elective or unknown admission' END
FROM lace_last
UNION ALL
SELECT patient_id, 'lace', 'C', CAST(c_points AS DOUBLE),
       'LACE Charlson ' || CAST(charlson_lace AS VARCHAR)
       || CASE WHEN categories = '' THEN '' ELSE ' (' || categories || ')' END
FROM lace_last
UNION ALL
SELECT patient_id, 'lace', 'E', CAST(e_points AS DOUBLE),
       CAST(ed_visits AS VARCHAR) || ' emergency visit(s) in the 6 months before admission'
FROM lace_last
UNION ALL
SELECT patient_id, 'lace_history', 'discharge ' || CAST(discharge_date AS VARCHAR), CAST(lace AS DOUBLE),
       'encounter ' || encounter_id || ': L=' || CAST(l_points AS VARCHAR)
       || ' A=' || CAST(a_points AS VARCHAR)
       || ' C=' || CAST(c_points AS VARCHAR) || ' E=' || CAST(e_points AS VARCHAR)
FROM lace_all
"""

LACE = Definition(
    name="lace",
    columns=("lace_last_discharge", "lace_encounter_id"),
    scores_sql=SCORES_SQL,
    evidence_sql=EVIDENCE_SQL,
    tables={**CHARLSON_TABLES, "lace_points": "lace_points.csv"},
    typed={**CHARLSON_TYPES, "lace_points": {"lo": "INTEGER", "hi": "INTEGER", "points": "INTEGER"}},
    depends_on=("crosswalk",),
    views={
        "inpatient_discharges": DISCHARGES_SQL,
        "lace_charlson": charlson_categories_sql(_C_DX, "patient_id, stay_id"),
        "lace_all": LACE_ALL_SQL,
        "lace_last": LAST_SQL,
    },
)
