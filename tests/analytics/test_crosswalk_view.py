"""The dx_icd10 view other definitions read: every diagnosis as dot-less ICD-10-CM, SNOMED CT mapped."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from carenav.analytics.definition import Definition
from carenav.analytics.definitions.crosswalk import CROSSWALK
from tests.analytics.snapshots import Population, by_patient

PROBE = Definition(
    name="probe",
    columns=("codes", "sources"),
    scores_sql="""
        SELECT p.patient_id,
               COALESCE(STRING_AGG(dx.code, ';' ORDER BY dx.code), '') AS codes,
               COALESCE(STRING_AGG(COALESCE(dx.mapped_from, '-'), ';' ORDER BY dx.code), '') AS sources
        FROM patients AS p LEFT JOIN dx_icd10 AS dx ON dx.patient_id = p.patient_id
        GROUP BY p.patient_id""",
    evidence_sql="SELECT patient_id, 'probe' AS model, 'x' AS component, 0.0 AS points, '' AS evidence "
    "FROM patients WHERE FALSE",
    depends_on=("crosswalk",),
)


def test_dx_icd10_maps_snomed_and_keeps_icd10(tmp_path: Path) -> None:
    population = Population()
    population.patient("a")
    population.dx("a", "E119")
    population.dx("a", "88805009", system="snomed")  # chronic congestive heart failure -> I509
    population.dx("a", "444814009", system="snomed")  # viral sinusitis: deliberately unmapped
    population.dx("a", "999999999", system="snomed")  # unknown
    population.patient("b")
    result = population.score(tmp_path, definitions=[CROSSWALK, PROBE])
    rows = by_patient(result)
    assert rows["a"]["codes"] == "E119;I509"
    assert rows["a"]["sources"] == "-;88805009"
    assert rows["a"]["unmapped_diagnosis_count"] == 1
    assert rows["b"]["codes"] == ""
    report = {r["code"]: r for r in result.reports["unmapped_codes"].to_pylist()}
    assert set(report) == {"444814009", "999999999"}
    assert report["444814009"]["deliberate"] is True
    assert report["999999999"]["deliberate"] is False
    assert report["999999999"]["patients"] == 1


def test_dx_icd10_columns_are_the_promised_ones(tmp_path: Path) -> None:
    population = Population()
    population.patient("a")
    population.dx(
        "a",
        "I10",
        onset=date(2001, 2, 3),
        abatement_date=date(2002, 1, 1),
        active=False,
        encounter_id="enc-1",
    )
    probe = Definition(
        name="probe",
        columns=("row",),
        scores_sql="""
            SELECT p.patient_id,
                   dx.code || '|' || CAST(dx.onset_date AS VARCHAR)
                   || '|' || CAST(dx.abatement_date AS VARCHAR)
                   || '|' || CAST(dx.active AS VARCHAR) || '|' || dx.encounter_id
                   || '|' || COALESCE(dx.mapped_from, 'null') AS "row"
            FROM patients AS p JOIN dx_icd10 AS dx ON dx.patient_id = p.patient_id""",
        evidence_sql="SELECT patient_id, 'probe' AS model, 'x' AS component, 0.0 AS points, '' AS evidence "
        "FROM patients WHERE FALSE",
    )
    rows = by_patient(population.score(tmp_path, definitions=[CROSSWALK, probe]))
    assert rows["a"]["row"] == "I10|2001-02-03|2002-01-01|false|enc-1|null"
