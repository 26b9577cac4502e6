"""The Spark engine gives the DuckDB engine's results, exactly, on the same snapshot.

Parity on two populations: the 40 Synthea R4 bundles of ``shared/data`` and a synthetic population of
3,000 patients (``carenav.synth``), written as NDJSON and turned into one snapshot by the Bulk Data
snapshot writer. Every registered definition runs on both engines; scores, evidence and reports must be
equal: same column names, same Arrow types, same rows (scores in the same order, by patient; evidence
rows come in no particular order, so they are compared sorted by every column). No float is rounded for the
comparison: the only computed floats (``hcc_vNN``) are rounded to 3 decimals by the SQL itself, and the
evidence points are table coefficients or small integers, so the engines give the same doubles.

One SparkSession serves the whole test session (starting one costs seconds); each engine run uses a
session of its own on it.
"""

from __future__ import annotations

import itertools
import json
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import orjson
import pyarrow as pa
import pytest
import sqlglot
from pyspark.sql import SparkSession

from carenav.analytics.definition import Definition
from carenav.analytics.definitions import ordered, output_columns, registered
from carenav.analytics.definitions.crosswalk import CROSSWALK
from carenav.analytics.engines import EngineResult, engine_named
from carenav.analytics.engines.duckdb_engine import DuckDBEngine
from carenav.analytics.engines.spark_engine import SparkEngine, spark_session
from carenav.analytics.engines.transpile import to_spark, to_spark_steps
from carenav.analytics.sources.bulk_ndjson import RESOURCE_TYPES, write_bulk_snapshot
from carenav.errors import InvalidInput
from carenav.synth.generate import DEFAULT_AS_OF, iter_patients
from tests.analytics.snapshots import Population, by_patient, sorted_evidence
from tests.databases import IN_CI

AS_OF = DEFAULT_AS_OF
SYNTHETIC_PATIENTS = 3000
SYNTHETIC_SEED = 20250630


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    if shutil.which("java") is None:
        if IN_CI:
            pytest.fail("CI needs a Java runtime for the Spark engine (scripts/prereqs.sh installs one)")
        pytest.skip("no Java runtime: the Spark engine cannot start")
    session = spark_session(shuffle_partitions=2)
    yield session
    session.stop()


def _write_ndjson(folder: Path, resources: Iterator[dict[str, object]]) -> Path:
    folder.mkdir(parents=True)
    handles = {kind: (folder / f"{kind}.ndjson").open("wb") for kind in RESOURCE_TYPES}
    try:
        for resource in resources:
            handle = handles.get(str(resource["resourceType"]))
            if handle is not None:
                handle.write(orjson.dumps(resource) + b"\n")
    finally:
        for handle in handles.values():
            handle.close()
    return folder


def _synthea_resources(shared_data: Path) -> Iterator[dict[str, object]]:
    for path in sorted((shared_data / "synthea-r4").glob("*.json")):
        for entry in json.loads(path.read_text(encoding="utf-8"))["entry"]:
            yield entry["resource"]


def _synthetic_resources() -> Iterator[dict[str, object]]:
    for patient in iter_patients(seed=SYNTHETIC_SEED, start=0, stop=SYNTHETIC_PATIENTS, as_of=AS_OF):
        for resources in patient.values():
            yield from resources


@pytest.fixture(scope="session")
def parity(
    spark: SparkSession, shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, EngineResult, EngineResult]:
    """(population, DuckDB's result, Spark's result) over every registered definition.

    Both populations go into one snapshot, scored by one run per engine: a patient's results depend on
    that patient's rows only, and a Spark run costs tens of seconds whatever its size (each of its ~70
    statements is planned and scheduled), so one run proves both at half the cost."""
    folder = tmp_path_factory.mktemp("spark-parity")
    resources = itertools.chain(_synthea_resources(shared_data), _synthetic_resources())
    snapshot = folder / "snapshot"
    counts = write_bulk_snapshot(_write_ndjson(folder / "ndjson", resources), snapshot)
    assert counts["patients"] == 40 + SYNTHETIC_PATIENTS
    duck = DuckDBEngine(threads=2, memory_limit="1GB").run(snapshot=snapshot, as_of=AS_OF)
    sparks = SparkEngine(session=spark).run(snapshot=snapshot, as_of=AS_OF)
    return "synthea + synthetic", duck, sparks


def test_both_populations_are_scored(
    parity: tuple[str, EngineResult, EngineResult], shared_data: Path
) -> None:
    _name, _duck, spark = parity
    synthea_ids = {
        str(resource["id"])
        for resource in _synthea_resources(shared_data)
        if resource["resourceType"] == "Patient"
    }
    assert len(synthea_ids) == 40
    scored = set(spark.scores.column("patient_id").to_pylist())
    assert synthea_ids <= scored
    assert len(scored - synthea_ids) == SYNTHETIC_PATIENTS
    # the populations exercise every model: Synthea through SNOMED CT, the synthetic one through ICD-10-CM
    synthea_rows = [row for row in spark.scores.to_pylist() if row["patient_id"] in synthea_ids]
    assert any(row["charlson"] > 0 for row in synthea_rows)
    assert any(row["lace_last_discharge"] is not None for row in synthea_rows)
    assert sum(row["hccs_v28"] != "" for row in spark.scores.to_pylist()) > 100


def _differences(expected: pa.Table, got: pa.Table, limit: int = 10) -> list[str]:
    """Cells that differ (rows paired by position), for a readable failure."""
    found = []
    for index, (a, b) in enumerate(zip(expected.to_pylist(), got.to_pylist(), strict=False)):
        for column, value in a.items():
            if b.get(column) != value:
                found.append(
                    f"row {index} ({a.get('patient_id')}) {column}: duckdb {value!r}, spark {b.get(column)!r}"
                )
                if len(found) >= limit:
                    return found
    return found


def test_scores_are_identical(parity: tuple[str, EngineResult, EngineResult]) -> None:
    name, duck, spark = parity
    assert spark.scores.schema == duck.scores.schema, name
    assert spark.scores.num_rows == duck.scores.num_rows
    assert spark.scores == duck.scores, _differences(duck.scores, spark.scores)


def test_evidence_is_identical(parity: tuple[str, EngineResult, EngineResult]) -> None:
    name, duck, spark = parity
    assert spark.evidence.schema == duck.evidence.schema, name
    assert duck.evidence.num_rows > 0
    duck_rows, spark_rows = sorted_evidence(duck), sorted_evidence(spark)
    assert spark_rows == duck_rows, _differences(duck_rows, spark_rows)


def test_reports_are_identical(parity: tuple[str, EngineResult, EngineResult]) -> None:
    _name, duck, spark = parity
    assert set(spark.reports) == set(duck.reports) == {"unmapped_codes"}
    for report, table in duck.reports.items():
        assert spark.reports[report].schema == table.schema, report
        assert spark.reports[report] == table, _differences(table, spark.reports[report])


def test_every_registered_definition_runs_on_spark(parity: tuple[str, EngineResult, EngineResult]) -> None:
    _name, duck, spark = parity
    definitions = ordered()
    assert spark.scores.column_names == output_columns(definitions)
    assert spark.scores.num_rows == duck.scores.num_rows > 0
    models = set(spark.evidence.column("model").to_pylist())
    # every model that explains itself on this population did so on Spark too
    assert models == set(duck.evidence.column("model").to_pylist())
    assert {"charlson", "hcc_v24", "hcc_v28", "chronic_conditions"} <= models


@pytest.mark.parametrize("definition", registered(), ids=lambda d: d.name)
def test_every_registered_definition_transpiles(definition: Definition) -> None:
    parts = {
        **{f"view {k}": v for k, v in definition.views.items()},
        "scores": definition.scores_sql,
        "evidence": definition.evidence_sql,
        **{f"report {k}": v for k, v in definition.reports.items()},
    }
    for part, sql in parts.items():
        steps: list[str] = []
        final = to_spark_steps(
            sql, where=part, materialise=lambda cte, body, steps=steps: steps.append(body) or f"s_{cte}"
        )
        for text in [*steps, final, to_spark(sql, where=part)]:
            assert sqlglot.parse_one(text, read="spark") is not None
            assert "LIST_" not in text.upper()
            assert "STRING_AGG" not in text.upper()


# -- the generic transforms, on both engines ------------------------------------------------------

PROBE = Definition(
    name="probe",
    columns=("halves", "distinct_codes", "no_codes", "ordered_codes", "first_code"),
    scores_sql="""
        WITH coded AS (
            SELECT dx.patient_id, dx.code FROM dx_icd10 AS dx
            UNION ALL
            SELECT patient_id, NULL AS code FROM patients
        ),
        counted AS (
            SELECT patient_id, COUNT(DISTINCT code) AS n,
                   STRING_AGG(DISTINCT code, ';' ORDER BY code) AS distinct_codes,
                   STRING_AGG(DISTINCT CASE WHEN code = 'none' THEN code END, ';'
                              ORDER BY CASE WHEN code = 'none' THEN code END) AS no_codes,
                   STRING_AGG(code, ',' ORDER BY code DESC) AS ordered_codes
            FROM coded GROUP BY patient_id
        )
        SELECT p.patient_id,
               CAST(CAST(c.n AS INTEGER) * 5 / 2 AS INTEGER) AS halves,
               c.distinct_codes, c.no_codes, c.ordered_codes,
               f.code AS first_code
        FROM patients AS p
        JOIN counted AS c ON c.patient_id = p.patient_id
        LEFT JOIN (
            SELECT patient_id, code FROM (
                SELECT patient_id, code,
                       ROW_NUMBER() OVER (PARTITION BY patient_id ORDER BY code) AS rn
                FROM coded
            ) AS r WHERE rn = 1
        ) AS f ON f.patient_id = p.patient_id""",
    evidence_sql="""
        SELECT patient_id, 'probe' AS model, code AS component, CAST(1 AS DOUBLE) AS points,
               'code ' || code AS evidence
        FROM dx_icd10""",
    depends_on=("crosswalk",),
)


def test_generic_transforms_agree_with_duckdb(spark: SparkSession, tmp_path: Path) -> None:
    population = Population()
    population.patient("a")
    for code in ("I10", "E119", "I10", "J449", "N183"):
        population.dx("a", code)
    population.patient("b")
    population.dx("b", "I10")
    population.patient("c")
    snapshot = population.write(tmp_path / "snapshot")
    duck = DuckDBEngine(threads=1, memory_limit="500MB").run(
        snapshot=snapshot, as_of=AS_OF, definitions=[CROSSWALK, PROBE]
    )
    sparks = SparkEngine(session=spark).run(snapshot=snapshot, as_of=AS_OF, definitions=[CROSSWALK, PROBE])
    rows = by_patient(sparks)
    # 4 distinct codes * 5 / 2 = 10; 1 * 5 / 2 = 2.5 -> 2 (half to even, as DuckDB casts)
    assert [rows[p]["halves"] for p in "abc"] == [10, 2, 0]
    assert rows["a"]["distinct_codes"] == "E119;I10;J449;N183"
    assert rows["c"]["distinct_codes"] is None  # no value: NULL, not ''
    assert rows["a"]["no_codes"] is None
    assert rows["a"]["ordered_codes"] == "N183,J449,I10,I10,E119"
    assert rows["a"]["first_code"] == "E119"  # NULLs sort last ascending, as in DuckDB
    assert rows["c"]["first_code"] is None
    assert sparks.scores == duck.scores, _differences(duck.scores, sparks.scores)
    assert sorted_evidence(sparks) == sorted_evidence(duck)


def test_a_failing_statement_names_its_definition(spark: SparkSession, tmp_path: Path) -> None:
    population = Population()
    population.patient("a")
    broken = Definition(
        name="broken",
        columns=("x",),
        scores_sql="SELECT patient_id, no_such_column AS x FROM patients",
        evidence_sql="SELECT patient_id, 'b' AS model, 'c' AS component, 0.0 AS points, '' AS evidence "
        "FROM patients WHERE FALSE",
    )
    with pytest.raises(InvalidInput) as caught:
        SparkEngine(session=spark).run(
            snapshot=population.write(tmp_path / "snapshot"), as_of=date(2025, 1, 1), definitions=[broken]
        )
    assert caught.value.where == "definition broken, scores"
    assert "no_such_column" in caught.value.message


def test_unportable_sql_is_refused_with_its_place() -> None:
    with pytest.raises(InvalidInput) as caught:
        to_spark("SELECT CAST(x AS HUGEINT) FROM t", where="definition d, scores")
    assert caught.value.where == "definition d, scores"
    with pytest.raises(InvalidInput, match="parse"):
        to_spark("SELECT FROM WHERE (", where="definition d, evidence")


def test_the_cli_hook_names_the_spark_engine() -> None:
    engine = engine_named("spark")
    assert isinstance(engine, SparkEngine)
    assert engine.name == "spark"


def test_without_evidence_spark_gives_the_same_scores(spark: SparkSession, tmp_path: Path) -> None:
    population = Population()
    population.patient("a")
    for code in ("I509", "E1122", "N183"):
        population.dx("a", code)
    population.patient("b")
    snapshot = population.write(tmp_path / "snapshot")
    duck = DuckDBEngine(threads=1, memory_limit="500MB").run(snapshot=snapshot, as_of=AS_OF)
    lean = SparkEngine(session=spark).run(snapshot=snapshot, as_of=AS_OF, evidence=False)
    assert lean.evidence.num_rows == 0
    assert lean.evidence.schema == duck.evidence.schema
    assert lean.scores == duck.scores, _differences(duck.scores, lean.scores)
    assert lean.reports.keys() == duck.reports.keys()
