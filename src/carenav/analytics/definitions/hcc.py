"""CMS-HCC risk models V24 and V28: one SQL template, two definitions (``hcc_v24``, ``hcc_v28``).

Output per version: ``hcc_vNN`` the raw model score (sum of the relative factors of the patient's segment:
demographic cell, payment HCCs after hierarchies, interactions, payment-HCC count; before normalisation
and coding-intensity adjustment) and ``hccs_vNN`` the payment HCCs after hierarchies (``HCC18;HCC85``).
What both versions share is the definition ``hcc_demographics``: the column ``hcc_segment`` (CNA, CND,
CFA, CFD or INS, from age, Medicare and Medicaid coverage at as-of and institutional residence) and the
views ``hcc_demo`` (one row per patient: age, sex, coverage, segment, demographic cell), ``hcc_dx`` (the
diagnoses that count for CMS-HCC) and ``hcc_codes`` (each patient's distinct codes with age and sex, as
the code edits need them), computed once for both versions. Each version stores its steps as views
``hcc_vNN_cc`` (code -> condition category after the edits), ``hcc_vNN_hcc`` (payment HCCs after
hierarchies), ``hcc_vNN_term`` and ``hcc_vNN_inter`` (interaction terms) and ``hcc_vNN_points`` (every
relative factor that applies), which its scores and its evidence both read. The steps follow the CMS
SAS macros (``V2419P1M``, ``V2823T2M``); the tables are built from the CMS model software by
``scripts/build_hcc_tables.py``; ``carenav.analytics.hcc_reference`` is the same model in Python.
Choices: ``docs/hcc.md``.

Reads ``dx_icd10`` (the crosswalk's view), ``patients``, ``coverages``, ``residence``, ``params``.
Every step is a plain join or aggregate, so that sqlglot transpiles it to Spark SQL unchanged in meaning.
"""

from __future__ import annotations

from carenav.analytics.definition import Definition

_TABLE_TYPES: dict[str, dict[str, str]] = {
    "dx_map": {"code": "VARCHAR", "cc": "INTEGER"},
    "edits": {
        "code": "VARCHAR",
        "sex": "VARCHAR",
        "age_min": "INTEGER",
        "age_max": "INTEGER",
        "cc": "INTEGER",
    },
    "hierarchy": {"kind": "VARCHAR", "rule_order": "INTEGER", "parent": "INTEGER", "child": "INTEGER"},
    "groups": {"grp": "VARCHAR", "cc": "INTEGER"},
    "interactions": {"variable": "VARCHAR", "term1": "VARCHAR", "term2": "VARCHAR"},
    "coefficients": {"segment": "VARCHAR", "variable": "VARCHAR", "coefficient": "DOUBLE"},
    "labels": {"cc": "INTEGER", "label": "VARCHAR"},
}

HCC_DEMO_SQL = """
WITH ages AS (
    SELECT pt.patient_id, pt.sex,
        CASE WHEN pt.birth_date IS NOT NULL THEN GREATEST(
            YEAR(pr.as_of) - YEAR(pt.birth_date) - CASE
                WHEN MONTH(pr.as_of) < MONTH(pt.birth_date)
                    OR (MONTH(pr.as_of) = MONTH(pt.birth_date) AND DAY(pr.as_of) < DAY(pt.birth_date))
                THEN 1 ELSE 0 END,
            0) END AS age
    FROM patients pt CROSS JOIN params pr
)
SELECT
    a.patient_id,
    a.age,
    CASE WHEN a.sex = 'male' THEN 'M' ELSE 'F' END AS sex,
    CASE WHEN a.sex = 'male' THEN 'male' ELSE 'female' END AS sex_label,
    COALESCE(cv.medicare, 0) AS medicare,
    COALESCE(cv.medicaid, 0) AS medicaid,
    CASE WHEN ins.patient_id IS NULL THEN 0 ELSE 1 END AS institutional,
    CASE WHEN a.age < 65 THEN 1 ELSE 0 END AS disabled,
    CASE
        WHEN ins.patient_id IS NOT NULL THEN 'INS'
        WHEN COALESCE(cv.medicare, 0) = 1 AND COALESCE(cv.medicaid, 0) = 1
            THEN CASE WHEN a.age < 65 THEN 'CFD' ELSE 'CFA' END
        ELSE CASE WHEN a.age < 65 THEN 'CND' ELSE 'CNA' END
    END AS segment,
    (CASE WHEN a.sex = 'male' THEN 'M' ELSE 'F' END) || CASE
        WHEN a.age <= 34 THEN '0_34' WHEN a.age <= 44 THEN '35_44' WHEN a.age <= 54 THEN '45_54'
        WHEN a.age <= 59 THEN '55_59' WHEN a.age <= 64 THEN '60_64' WHEN a.age <= 69 THEN '65_69'
        WHEN a.age <= 74 THEN '70_74' WHEN a.age <= 79 THEN '75_79' WHEN a.age <= 84 THEN '80_84'
        WHEN a.age <= 89 THEN '85_89' WHEN a.age <= 94 THEN '90_94' ELSE '95_GT'
    END AS cell
FROM ages a
LEFT JOIN (
    SELECT c.patient_id,
        MAX(CASE WHEN c.plan_type IN ('medicare_ffs', 'medicare_advantage', 'dual') THEN 1 ELSE 0 END)
            AS medicare,
        MAX(CASE WHEN c.plan_type IN ('medicaid', 'dual') THEN 1 ELSE 0 END) AS medicaid
    FROM coverages c CROSS JOIN params pc
    WHERE (c.start_date IS NULL OR c.start_date <= pc.as_of)
        AND (c.end_date IS NULL OR c.end_date >= pc.as_of)
    GROUP BY c.patient_id
) cv ON cv.patient_id = a.patient_id
LEFT JOIN (
    SELECT DISTINCT r.patient_id
    FROM residence r CROSS JOIN params pi
    WHERE COALESCE(r.institutional, FALSE)
        AND (r.start_date IS NULL OR r.start_date <= pi.as_of)
        AND (r.end_date IS NULL OR r.end_date >= pi.as_of)
) ins ON ins.patient_id = a.patient_id
"""

HCC_DX_SQL = """
SELECT d.patient_id, d.code, d.onset_date, d.mapped_from
FROM dx_icd10 d CROSS JOIN params pd
WHERE (d.onset_date IS NULL OR d.onset_date <= pd.as_of)
    AND (COALESCE(d.active, FALSE) OR d.onset_date > pd.as_of - INTERVAL 12 MONTH)
"""

HCC_CODES_SQL = """
SELECT c.patient_id, c.code, dm.sex, dm.age
FROM (SELECT DISTINCT patient_id, code FROM hcc_dx) c
JOIN hcc_demo dm ON dm.patient_id = c.patient_id
"""

HCC_DEMOGRAPHICS = Definition(
    name="hcc_demographics",
    columns=("hcc_segment",),
    scores_sql="SELECT patient_id, segment AS hcc_segment FROM hcc_demo",
    # Explained by each version's demographic evidence row ("segment CNA: age 72, female, Medicare
    # yes, ..."), which names the same inputs beside the factor they give.
    evidence_sql="""
SELECT patient_id, 'hcc_segment' AS model, segment AS component, CAST(0 AS DOUBLE) AS points,
    segment AS evidence
FROM hcc_demo WHERE FALSE
""",
    depends_on=("crosswalk",),
    views={"hcc_demo": HCC_DEMO_SQL, "hcc_dx": HCC_DX_SQL, "hcc_codes": HCC_CODES_SQL},
    inline=frozenset({"hcc_dx"}),
)

# The steps of one version: {v} is the version (v24, v28).
_CC_SQL = """
WITH code_edit AS (
    SELECT c.patient_id, c.code, e.cc AS edit_cc, CASE WHEN e.code IS NULL THEN 0 ELSE 1 END AS edited
    FROM hcc_codes c
    LEFT JOIN hcc_{v}_edits e
        ON e.code = c.code AND COALESCE(e.sex, '') IN ('', c.sex) AND c.age BETWEEN e.age_min AND e.age_max
)
SELECT patient_id, code, edit_cc AS cc FROM code_edit WHERE edited = 1 AND edit_cc IS NOT NULL
UNION ALL
SELECT ce.patient_id, ce.code, m.cc
FROM code_edit ce JOIN hcc_{v}_dx_map m ON m.code = ce.code
WHERE ce.edited = 0
"""

_HCC_SQL = """
WITH cc_set AS (
    SELECT DISTINCT patient_id, cc FROM hcc_{v}_cc
),
cc_requirement AS (
    SELECT s.patient_id, s.cc, MAX(CASE WHEN o.cc IS NULL THEN 0 ELSE 1 END) AS met
    FROM cc_set s
    JOIN hcc_{v}_hierarchy r ON r.kind = 'requires' AND r.parent = s.cc
    LEFT JOIN cc_set o ON o.patient_id = s.patient_id AND o.cc = r.child
    GROUP BY s.patient_id, s.cc
),
cc_ok AS (
    SELECT s.patient_id, s.cc
    FROM cc_set s
    LEFT JOIN cc_requirement q ON q.patient_id = s.patient_id AND q.cc = s.cc
    WHERE q.cc IS NULL OR q.met = 1
),
rule_blocked AS (
    SELECT DISTINCT a.patient_id, hp.parent
    FROM cc_ok a
    JOIN (SELECT DISTINCT rule_order, parent FROM hcc_{v}_hierarchy WHERE kind = 'drop') hp
        ON hp.parent = a.cc
    JOIN hcc_{v}_hierarchy hq ON hq.kind = 'drop' AND hq.child = hp.parent AND hq.rule_order < hp.rule_order
    JOIN cc_ok q ON q.patient_id = a.patient_id AND q.cc = hq.parent
),
dropped AS (
    SELECT DISTINCT a.patient_id, h.child AS cc
    FROM cc_ok a
    JOIN hcc_{v}_hierarchy h ON h.kind = 'drop' AND h.parent = a.cc
    LEFT JOIN rule_blocked b ON b.patient_id = a.patient_id AND b.parent = a.cc
    WHERE b.parent IS NULL
)
SELECT a.patient_id, a.cc
FROM cc_ok a
LEFT JOIN dropped x ON x.patient_id = a.patient_id AND x.cc = a.cc
WHERE x.cc IS NULL
"""

_TERM_SQL = """
SELECT DISTINCT h.patient_id, g.grp, h.cc FROM hcc_{v}_hcc h JOIN hcc_{v}_groups g ON g.cc = h.cc
UNION ALL
SELECT patient_id, 'DISABLED' AS grp, 0 AS cc FROM hcc_demo WHERE disabled = 1
"""

_INTER_SQL = """
WITH term_hit AS (
    SELECT DISTINCT patient_id, grp FROM hcc_{v}_term
)
SELECT a.patient_id, i.variable, i.term1, i.term2
FROM hcc_{v}_interactions i
JOIN term_hit a ON a.grp = i.term1
JOIN term_hit b ON b.patient_id = a.patient_id AND b.grp = i.term2
"""

_POINTS_SQL = """
WITH hcc_count AS (
    SELECT patient_id, COUNT(*) AS n FROM hcc_{v}_hcc GROUP BY patient_id
),
vars AS (
    SELECT patient_id, cell AS variable, 'demographic' AS kind, CAST(NULL AS INTEGER) AS cc,
        'age ' || CAST(age AS VARCHAR) || ', ' || sex_label
        || ', Medicare ' || CASE WHEN medicare = 1 THEN 'yes' ELSE 'no' END
        || ', Medicaid ' || CASE WHEN medicaid = 1 THEN 'yes' ELSE 'no' END
        || ', institutional ' || CASE WHEN institutional = 1 THEN 'yes' ELSE 'no' END AS detail
    FROM hcc_demo WHERE age IS NOT NULL
    UNION ALL
    SELECT patient_id, 'LTIMCAID' AS variable, 'medicaid' AS kind, CAST(NULL AS INTEGER) AS cc,
        'Medicaid at as-of, long-term institutional' AS detail
    FROM hcc_demo WHERE medicaid = 1
    UNION ALL
    SELECT patient_id, 'HCC' || CAST(cc AS VARCHAR) AS variable, 'hcc' AS kind, cc,
        CAST(NULL AS VARCHAR) AS detail
    FROM hcc_{v}_hcc
    UNION ALL
    SELECT patient_id, variable, 'interaction' AS kind, CAST(NULL AS INTEGER) AS cc,
        CAST(NULL AS VARCHAR) AS detail
    FROM hcc_{v}_inter
    UNION ALL
    SELECT patient_id, CASE WHEN n >= 10 THEN 'D10P' ELSE 'D' || CAST(n AS VARCHAR) END AS variable,
        'count' AS kind, CAST(NULL AS INTEGER) AS cc, CAST(n AS VARCHAR) || ' payment HCCs' AS detail
    FROM hcc_count
)
SELECT v.patient_id, v.variable, v.kind, v.cc, v.detail, dm.segment, k.coefficient
FROM vars v
JOIN hcc_demo dm ON dm.patient_id = v.patient_id
JOIN hcc_{v}_coefficients k ON k.segment = dm.segment AND k.variable = v.variable
"""

_SCORES = """
SELECT
    dm.patient_id,
    ROUND(COALESCE(s.score, 0), 3) AS hcc_{v},
    COALESCE(l.hccs, '') AS hccs_{v}
FROM hcc_demo dm
LEFT JOIN (SELECT patient_id, SUM(coefficient) AS score FROM hcc_{v}_points GROUP BY patient_id) s
    ON s.patient_id = dm.patient_id
LEFT JOIN (
    SELECT patient_id,
        array_to_string(list_transform(list_sort(list(cc)), lambda x: 'HCC' || CAST(x AS VARCHAR)), ';')
            AS hccs
    FROM hcc_{v}_hcc GROUP BY patient_id
) l ON l.patient_id = dm.patient_id
"""

_EVIDENCE = """
WITH code_text AS (
    SELECT cc.patient_id, cc.cc,
        array_to_string(list_sort(list_distinct(list(
            d.code || ' (onset ' || COALESCE(CAST(d.onset_date AS VARCHAR), 'unknown')
            || COALESCE(', from SNOMED CT ' || d.mapped_from, '') || ')'
        ))), '; ') AS codes
    FROM hcc_{v}_cc cc JOIN hcc_dx d ON d.patient_id = cc.patient_id AND d.code = cc.code
    GROUP BY cc.patient_id, cc.cc
),
term_text AS (
    SELECT t.patient_id, t.grp,
        CASE WHEN t.grp = 'DISABLED' THEN 'DISABLED (under 65)'
        ELSE t.grp || ' (' || array_to_string(list_transform(list_sort(list(t.cc)),
            lambda x: 'HCC' || CAST(x AS VARCHAR)), ', ') || ')' END AS txt
    FROM hcc_{v}_term t
    JOIN (
        SELECT patient_id, term1 AS grp FROM hcc_{v}_inter
        UNION
        SELECT patient_id, term2 AS grp FROM hcc_{v}_inter
    ) used ON used.patient_id = t.patient_id AND used.grp = t.grp
    GROUP BY t.patient_id, t.grp
),
inter_text AS (
    SELECT i.patient_id, i.variable, t1.txt || ' x ' || t2.txt AS txt
    FROM hcc_{v}_inter i
    JOIN term_text t1 ON t1.patient_id = i.patient_id AND t1.grp = i.term1
    JOIN term_text t2 ON t2.patient_id = i.patient_id AND t2.grp = i.term2
)
SELECT
    p.patient_id,
    'hcc_{v}' AS model,
    CASE WHEN p.kind = 'demographic' THEN p.segment || '_' || p.variable ELSE p.variable END AS component,
    p.coefficient AS points,
    CASE p.kind
        WHEN 'demographic' THEN 'segment ' || p.segment || ': ' || p.detail
        WHEN 'hcc' THEN COALESCE(lb.label, p.variable) || ': ' || COALESCE(ct.codes, '')
        WHEN 'interaction' THEN it.txt
        ELSE p.detail
    END AS evidence
FROM hcc_{v}_points p
LEFT JOIN hcc_{v}_labels lb ON lb.cc = p.cc
LEFT JOIN code_text ct ON ct.patient_id = p.patient_id AND ct.cc = p.cc
LEFT JOIN inter_text it
    ON p.kind = 'interaction' AND it.patient_id = p.patient_id AND it.variable = p.variable
WHERE p.coefficient <> 0 OR p.kind = 'hcc'
"""

_VIEWS = {"cc": _CC_SQL, "hcc": _HCC_SQL, "term": _TERM_SQL, "inter": _INTER_SQL, "points": _POINTS_SQL}


def _definition(version: str) -> Definition:
    def text(sql: str) -> str:
        return sql.replace("{v}", version)

    return Definition(
        name=f"hcc_{version}",
        columns=(f"hcc_{version}", f"hccs_{version}"),
        scores_sql=text(_SCORES),
        evidence_sql=text(_EVIDENCE),
        tables={f"hcc_{version}_{kind}": f"hcc_{version}_{kind}.csv" for kind in _TABLE_TYPES},
        typed={f"hcc_{version}_{kind}": dict(types) for kind, types in _TABLE_TYPES.items()},
        depends_on=("crosswalk", HCC_DEMOGRAPHICS.name),
        views={f"hcc_{version}_{step}": text(sql) for step, sql in _VIEWS.items()},
        version="1",
    )


hcc_v24 = _definition("v24")
hcc_v28 = _definition("v28")

DEFINITIONS = (HCC_DEMOGRAPHICS, hcc_v24, hcc_v28)
"""The shared demographics first, then both versions: run them together."""
