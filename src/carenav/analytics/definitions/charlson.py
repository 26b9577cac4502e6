"""Charlson comorbidity index: the Quan 2005 ICD-10 coding algorithm with the original 1987 weights
(``charlson``), the Quan 2011 weights (``charlson_quan2011``) and age points (``charlson_age_adjusted``).

Which diagnoses count: every diagnosis in ``dx_as_of`` (ICD-10-CM, or SNOMED CT through the crosswalk)
with onset on or before as-of, active or resolved (Charlson scores comorbidity history: a resolved
myocardial infarction still counts), refuted and entered-in-error ones never (the snapshot leaves them out).
A category counts once however many of its codes a patient has; the hierarchy (``zeroed_by`` in
``charlson_weights.csv``) counts mild liver disease, diabetes and any malignancy only when the patient has
not the higher category. Age points: 1 per full decade over 40 (50-59 -> 1 ... 80 and over -> 4).
Prefix matching: ``carenav.analytics.definition.prefix_match``.
View ``charlson_comorbidities``: one row per patient and category found, with its weights and whether the
hierarchy zeroes it (what the scores sum and the evidence explains).
"""

from __future__ import annotations

from carenav.analytics.definition import Definition, prefix_match

CHARLSON_TABLES = {"charlson_quan2005": "charlson_quan2005.csv", "charlson_weights": "charlson_weights.csv"}
CHARLSON_TYPES = {"charlson_weights": {"charlson1987": "INTEGER", "quan2011": "INTEGER", "lace": "INTEGER"}}


def charlson_categories_sql(dx_source: str, keys: str) -> str:
    """One row per (``keys``, category) the diagnoses of ``dx_source`` fall in, with its weights and
    whether the hierarchy zeroes it. ``dx_source`` is a FROM item with ``keys``, ``code``,
    ``mapped_from`` and ``onset_date``; ``keys`` a comma-separated column list starting with
    ``patient_id``. The prefix join runs once: the hierarchy reads the categories it found."""
    key_list = [k.strip() for k in keys.split(",")]
    select_keys = ", ".join(f"dx.{k}" for k in key_list)
    group_keys = ", ".join(key_list)
    join_keys = " AND ".join(f"z.{k} = c.{k}" for k in key_list)
    c_keys = ", ".join(f"c.{k}" for k in key_list)
    return f"""
WITH found AS (
    SELECT {group_keys}, category, MIN(label) AS example, COUNT(DISTINCT code) AS codes,
           MIN(onset_date) AS first_onset
    FROM (
        SELECT {select_keys}, m.category, dx.code, dx.onset_date,
               dx.code || COALESCE(' from SNOMED CT ' || dx.mapped_from, '') AS label
        FROM {dx_source} AS dx
        JOIN charlson_quan2005 AS m ON {prefix_match("dx.code", "m.prefix")}
    ) AS hits
    GROUP BY {group_keys}, category
)
SELECT {c_keys}, c.category, c.example, c.codes, c.first_onset,
       w.description, w.charlson1987, w.quan2011, w.lace, w.zeroed_by,
       z.category IS NOT NULL AS zeroed
FROM found AS c
JOIN charlson_weights AS w ON w.category = c.category
LEFT JOIN found AS z ON {join_keys} AND z.category = w.zeroed_by
"""


AGE_POINTS = "LEAST(GREATEST(CAST(FLOOR((a.age - 40) / 10) AS INTEGER), 0), 4)"

SCORES_SQL = f"""
SELECT p.patient_id,
       CAST(COALESCE(s.charlson, 0) AS INTEGER) AS charlson,
       CAST(COALESCE(s.quan2011, 0) AS INTEGER) AS charlson_quan2011,
       CAST(COALESCE(s.charlson, 0) + COALESCE({AGE_POINTS}, 0) AS INTEGER) AS charlson_age_adjusted,
       COALESCE(s.categories, '') AS charlson_categories
FROM patients AS p
LEFT JOIN patient_age AS a ON a.patient_id = p.patient_id
LEFT JOIN (
    SELECT patient_id,
           SUM(charlson1987) AS charlson,
           SUM(quan2011) AS quan2011,
           array_to_string(list_sort(list(category)), ';') AS categories
    FROM charlson_comorbidities
    WHERE NOT zeroed
    GROUP BY patient_id
) AS s ON s.patient_id = p.patient_id
"""

EVIDENCE_SQL = f"""
SELECT cat.patient_id, 'charlson' AS model, cat.category AS component,
       CAST(CASE WHEN cat.zeroed THEN 0 ELSE cat.charlson1987 END AS DOUBLE) AS points,
       cat.description || ': ' || cat.example
       || CASE WHEN cat.codes > 1 THEN ' and ' || CAST(cat.codes - 1 AS VARCHAR) || ' more code(s)'
               ELSE '' END
       || COALESCE(', first onset ' || CAST(cat.first_onset AS VARCHAR), '')
       || CASE WHEN cat.zeroed THEN '; not counted: ' || cat.zeroed_by || ' counts instead'
               ELSE '; 1987 weight ' || CAST(cat.charlson1987 AS VARCHAR)
                    || ', Quan 2011 weight ' || CAST(cat.quan2011 AS VARCHAR) END AS evidence
FROM charlson_comorbidities AS cat
UNION ALL
SELECT a.patient_id, 'charlson_age_adjusted' AS model, 'age' AS component,
       CAST({AGE_POINTS} AS DOUBLE) AS points,
       'age ' || CAST(a.age AS VARCHAR) || ' at as-of: ' || CAST({AGE_POINTS} AS VARCHAR)
       || ' age point(s) added to charlson' AS evidence
FROM patient_age AS a
WHERE a.age >= 50
"""

CHARLSON = Definition(
    name="charlson",
    columns=("charlson", "charlson_quan2011", "charlson_age_adjusted", "charlson_categories"),
    scores_sql=SCORES_SQL,
    evidence_sql=EVIDENCE_SQL,
    tables=CHARLSON_TABLES,
    typed=CHARLSON_TYPES,
    depends_on=("crosswalk",),
    views={"charlson_comorbidities": charlson_categories_sql("dx_as_of", "patient_id")},
)
