"""CMS-HCC SQL definitions: they agree with the Python reference for every patient, explain themselves
(evidence rows add up to the score) and transpile to Spark SQL.

The SQL runs here on an in-memory DuckDB with the snapshot tables built from ``SNAPSHOT_SCHEMA`` and a
``dx_icd10`` table shaped like the crosswalk's view (so the reference's diagnoses go in as they are), the
definitions' views created as plain views.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
import sqlglot

from carenav.analytics.definition import Definition
from carenav.analytics.definitions.hcc import DEFINITIONS, HCC_DEMOGRAPHICS, hcc_v24, hcc_v28
from carenav.analytics.hcc_reference import (
    VERSIONS,
    Diagnosis,
    HccResult,
    Period,
    load_model,
    score_patient,
)
from carenav.analytics.snapshot import SNAPSHOT_SCHEMA
from carenav.synth.generate import DEFAULT_AS_OF, iter_patients

AS_OF = DEFAULT_AS_OF
VERSIONED = (hcc_v24, hcc_v28)
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
ACTIVE = {"active", "recurrence", "relapse"}
DX_COLUMNS = {
    "patient_id": "VARCHAR",
    "code": "VARCHAR",
    "onset_date": "DATE",
    "abatement_date": "DATE",
    "active": "BOOLEAN",
    "encounter_id": "VARCHAR",
    "mapped_from": "VARCHAR",
}


@dataclass
class Population:
    """Snapshot-shaped rows: patients, coverages, residence and dx_icd10."""

    patients: list[tuple[object, ...]] = field(default_factory=list)
    coverages: list[tuple[object, ...]] = field(default_factory=list)
    residence: list[tuple[object, ...]] = field(default_factory=list)
    dx_icd10: list[tuple[object, ...]] = field(default_factory=list)

    def reference(self, version: str, as_of: date = AS_OF) -> dict[str, HccResult]:
        """Every patient scored by the Python reference."""
        dx: dict[str, list[Diagnosis]] = {}
        for pid, code, onset, _abated, active, _enc, _from in self.dx_icd10:
            dx.setdefault(str(pid), []).append(Diagnosis(str(code), _date(onset), _bool(active)))
        cov: dict[str, list[Period]] = {}
        for pid, plan, start, end in self.coverages:
            cov.setdefault(str(pid), []).append(Period(str(plan), _date(start), _date(end)))
        res: dict[str, list[Period]] = {}
        for pid, institutional, start, end in self.residence:
            kind = "institutional" if institutional else "community"
            res.setdefault(str(pid), []).append(Period(kind, _date(start), _date(end)))
        return {
            str(pid): score_patient(
                version,
                as_of=as_of,
                birth_date=_date(birth),
                sex=None if sex is None else str(sex),
                diagnoses=dx.get(str(pid), []),
                coverages=cov.get(str(pid), []),
                residence=res.get(str(pid), []),
            )
            for pid, birth, sex, _deceased, _deceased_date in self.patients
        }


def _date(value: object) -> date | None:
    return value if isinstance(value, date) else None


def _bool(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text[:10]) if text else None


def _ref_id(reference: str) -> str:
    return reference.rsplit("/", 1)[-1]


def synth_population(*, patients: int, seed: int = 7, institutional_share: float = 0.05) -> Population:
    """Generated patients (``carenav.synth``), their ICD-10 diagnoses and coverages; a share of them gets
    a long-term institutional residence (the generator has none). SNOMED-only conditions are left out
    until the crosswalk's ``dx_icd10`` view is there."""
    rng = random.Random(seed)
    pop = Population()
    for bundle in iter_patients(seed=seed, start=0, stop=patients, as_of=AS_OF):
        patient = bundle["Patient"][0]
        pid = str(patient["id"])
        deceased = patient.get("deceasedDateTime")
        pop.patients.append(
            (pid, _day(patient.get("birthDate")), patient.get("gender"), deceased is not None, _day(deceased))
        )
        for coverage in bundle.get("Coverage", []):
            period = coverage.get("period", {})
            plan = coverage["type"]["coding"][0]["code"]
            pop.coverages.append((pid, plan, _day(period.get("start")), _day(period.get("end"))))
        for condition in bundle.get("Condition", []):
            status = condition.get("clinicalStatus", {}).get("coding", [{}])[0].get("code")
            for coding in condition["code"]["coding"]:
                if coding["system"] == ICD10:
                    pop.dx_icd10.append(
                        (
                            pid,
                            coding["code"].replace(".", "").upper(),
                            _day(condition.get("onsetDateTime") or condition.get("recordedDate")),
                            _day(condition.get("abatementDateTime")),
                            status is None or status in ACTIVE,
                            None,
                            None,
                        )
                    )
        if rng.random() < institutional_share:
            pop.residence.append((pid, True, AS_OF - timedelta(days=rng.randint(1, 2000)), None))
    return pop


def sweep_population(*, patients: int, seed: int = 11) -> Population:
    """Random patients over the whole of both models: codes drawn CC by CC from both mappings (so that
    every hierarchy family and interaction is reached), the edit codes, every segment, unknown sexes and
    birth dates, diagnoses before, inside and after the look-back window."""
    rng = random.Random(seed)
    by_cc: list[list[str]] = []
    for version in VERSIONS:
        model = load_model(version)
        inverse: dict[int, list[str]] = {}
        for code, ccs in model.dx_map.items():
            for cc in ccs:
                inverse.setdefault(cc, []).append(code)
        by_cc += [sorted(codes) for _, codes in sorted(inverse.items())]
        by_cc.append(sorted(model.edits))
    plans = ["medicare_ffs", "medicare_advantage", "medicaid", "dual", "commercial", "uninsured", "other"]
    pop = Population()
    for index in range(patients):
        pid = f"sweep-{index}"
        birth = None if rng.random() < 0.01 else AS_OF - timedelta(days=rng.randint(0, 365 * 101))
        if rng.random() < 0.05 and birth is not None:  # birthdays on and around the as-of day
            birth = AS_OF.replace(year=AS_OF.year - rng.randint(60, 70)) + timedelta(
                days=rng.choice([-1, 0, 1])
            )
        sex = rng.choice(["male", "female", "female", "male", "other", "unknown", None])
        pop.patients.append((pid, birth, sex, False, None))
        for plan in rng.sample(plans, rng.choice([0, 1, 1, 2, 2, 3])):
            start = AS_OF - timedelta(days=rng.randint(-30, 3000))
            end = None if rng.random() < 0.7 else start + timedelta(days=rng.randint(0, 4000))
            pop.coverages.append((pid, plan, None if rng.random() < 0.05 else start, end))
        if rng.random() < 0.12:
            start = AS_OF - timedelta(days=rng.randint(-10, 900))
            end = None if rng.random() < 0.8 else AS_OF + timedelta(days=rng.randint(-20, 200))
            pop.residence.append((pid, rng.random() < 0.9, start, end))
        for _ in range(rng.choice([0, 1, 2, 3, 4, 6, 8, 12, 16])):
            code = rng.choice(rng.choice(by_cc))
            onset = None if rng.random() < 0.05 else AS_OF - timedelta(days=rng.randint(-60, 1500))
            active = rng.random() < 0.6 if rng.random() > 0.02 else None
            mapped = f"{rng.randint(10**6, 10**9)}" if rng.random() < 0.3 else None
            pop.dx_icd10.append((pid, code, onset, None, active, None, mapped))
    return pop


# --------------------------------------------------------------------------- DuckDB harness


def _write_csv(path: Path, rows: list[tuple[object, ...]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        for row in rows:
            writer.writerow(
                ["" if v is None else (str(v).lower() if isinstance(v, bool) else v) for v in row]
            )


def _columns_sql(columns: dict[str, str]) -> str:
    return "{" + ", ".join(f"'{name}': '{kind}'" for name, kind in columns.items()) + "}"


def connect(pop: Population, tmp: Path, *, as_of: date = AS_OF) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB holding the snapshot tables, ``dx_icd10``, ``params`` and the HCC tables."""
    con = duckdb.connect()
    tables = {
        "patients": (SNAPSHOT_SCHEMA["patients"], pop.patients),
        "coverages": (SNAPSHOT_SCHEMA["coverages"], pop.coverages),
        "residence": (SNAPSHOT_SCHEMA["residence"], pop.residence),
        "dx_icd10": (DX_COLUMNS, pop.dx_icd10),
    }
    for name, (columns, rows) in tables.items():
        con.execute(f"CREATE TABLE {name} ({', '.join(f'{c} {t}' for c, t in columns.items())})")
        if rows:
            path = tmp / f"{name}.csv"
            _write_csv(path, rows)
            options = f"header=false, delim=',', quote='\"', columns={_columns_sql(columns)}, nullstr=''"
            con.execute(f"INSERT INTO {name} SELECT * FROM read_csv('{path}', {options})")  # noqa: S608
    con.execute("CREATE TABLE params AS SELECT ?::DATE AS as_of", [as_of])
    for definition in DEFINITIONS:
        load_reference_tables(con, definition)
        for view, sql in definition.views.items():
            con.execute(f"CREATE VIEW {view} AS {sql}")
    return con


def load_reference_tables(con: duckdb.DuckDBPyConnection, definition: Definition) -> None:
    for name, path in definition.table_paths().items():
        with path.open() as handle:
            skip = sum(1 for line in handle if line.startswith("#")) + 1  # the source lines and the header
        columns = _columns_sql(definition.typed[name])
        options = f"header=false, skip={skip}, delim=',', quote='\"', columns={columns}, nullstr=''"
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM read_csv('{path}', {options})")  # noqa: S608


def sql_scores(con: duckdb.DuckDBPyConnection, definition: Definition) -> dict[str, tuple[float, str, str]]:
    """Each patient's (score, payment HCCs, segment): the version's scores and the shared segment."""
    rows = con.execute(
        f"SELECT v.*, s.hcc_segment FROM ({definition.scores_sql}) AS v "  # noqa: S608
        f"JOIN ({HCC_DEMOGRAPHICS.scores_sql}) AS s ON s.patient_id = v.patient_id"
    ).fetchall()
    return {str(r[0]): (float(r[1]), str(r[2]), str(r[3])) for r in rows}


def sql_evidence(
    con: duckdb.DuckDBPyConnection, definition: Definition
) -> list[tuple[str, str, str, float, str]]:
    return [
        (str(a), str(b), str(c), float(d), str(e))
        for a, b, c, d, e in con.execute(definition.evidence_sql).fetchall()
    ]


# --------------------------------------------------------------------------- tests


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Population, duckdb.DuckDBPyConnection]]:
    pop = synth_population(patients=3000)
    con = connect(pop, tmp_path_factory.mktemp("synth"))
    yield pop, con
    con.close()


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Population, duckdb.DuckDBPyConnection]]:
    pop = sweep_population(patients=4000)
    con = connect(pop, tmp_path_factory.mktemp("sweep"))
    yield pop, con
    con.close()


@pytest.mark.parametrize("definition", VERSIONED, ids=lambda d: d.name)
@pytest.mark.parametrize("population", ["synth", "sweep"])
def test_sql_agrees_with_the_python_reference_for_every_patient(
    definition: Definition, population: str, request: pytest.FixtureRequest
) -> None:
    pop, con = request.getfixturevalue(population)
    version = definition.name.removeprefix("hcc_")
    expected = pop.reference(version)
    got = sql_scores(con, definition)
    assert set(got) == set(expected)
    mismatches = [
        (pid, got[pid], (ref.score, ref.hccs_text, ref.segment))
        for pid, ref in expected.items()
        if got[pid] != (ref.score, ref.hccs_text, ref.segment)
    ]
    assert mismatches == []
    # the population reaches what it is meant to test
    assert len({r.segment for r in expected.values()}) >= (5 if population == "sweep" else 3)
    assert sum(1 for r in expected.values() if r.hccs) > len(expected) / 10


@pytest.mark.parametrize("definition", VERSIONED, ids=lambda d: d.name)
def test_evidence_rows_add_up_to_the_score_and_name_every_hcc(
    definition: Definition, sweep: tuple[Population, duckdb.DuckDBPyConnection]
) -> None:
    _pop, con = sweep
    scores = sql_scores(con, definition)
    totals: dict[str, float] = {}
    components: dict[str, set[str]] = {}
    for pid, model, component, points, evidence in sql_evidence(con, definition):
        assert model == definition.name
        assert evidence
        totals[pid] = totals.get(pid, 0.0) + points
        components.setdefault(pid, set()).add(component)
    for pid, (score, hccs, _segment) in scores.items():
        assert round(totals.get(pid, 0.0), 3) == score, pid
        assert {h for h in hccs.split(";") if h} <= components.get(pid, set())
    # the explanation of one HCC names its ICD-10 code and onset; interactions name their HCCs
    rows = sql_evidence(con, definition)
    assert any(c.startswith("HCC") and "(onset " in e for _, _, c, _, e in rows)
    assert any(" x " in e for _, _, _, _, e in rows)
    assert any("from SNOMED CT" in e for _, _, _, _, e in rows)


def test_the_hand_worked_patient_explains_itself(tmp_path: Path) -> None:
    pop = Population(
        patients=[("p1", date(1953, 3, 1), "female", False, None)],
        coverages=[("p1", "medicare_ffs", date(2018, 3, 1), None)],
        dx_icd10=[
            ("p1", "E119", date(2019, 5, 2), None, True, None, "44054006"),
            ("p1", "I5022", date(2025, 1, 10), None, False, "enc-9", None),
        ],
    )
    con = connect(pop, tmp_path)
    assert sql_scores(con, hcc_v24) == {"p1": (0.943, "HCC19;HCC85", "CNA")}
    assert sql_scores(con, hcc_v28) == {"p1": (1.033, "HCC38;HCC226", "CNA")}
    evidence = {c: (p, e) for _, _, c, p, e in sql_evidence(con, hcc_v24)}
    assert set(evidence) == {"CNA_F70_74", "HCC19", "HCC85", "DIABETES_CHF"}
    assert evidence["CNA_F70_74"] == (
        0.386,
        "segment CNA: age 72, female, Medicare yes, Medicaid no, institutional no",
    )
    assert evidence["HCC19"] == (
        0.105,
        "Diabetes without Complication: E119 (onset 2019-05-02, from SNOMED CT 44054006)",
    )
    assert evidence["HCC85"][1] == "Congestive Heart Failure: I5022 (onset 2025-01-10)"
    assert evidence["DIABETES_CHF"] == (0.121, "DIABETES (HCC19) x CHF (HCC85)")


def test_an_empty_record_scores_its_demographics_only(tmp_path: Path) -> None:
    pop = Population(patients=[("a", date(1990, 1, 1), "male", False, None), ("b", None, None, False, None)])
    con = connect(pop, tmp_path)
    scores = sql_scores(con, hcc_v24)
    assert scores["a"] == (load_model("v24").coefficients["CND"]["M35_44"], "", "CND")
    assert scores["b"] == (0.0, "", "CNA")


@pytest.mark.parametrize("definition", DEFINITIONS, ids=lambda d: d.name)
def test_sql_transpiles_to_spark(definition: Definition) -> None:
    for sql in (definition.scores_sql, definition.evidence_sql, *definition.views.values()):
        spark = sqlglot.transpile(
            sql, read="duckdb", write="spark", unsupported_level=sqlglot.ErrorLevel.RAISE
        )
        assert len(spark) == 1
        sqlglot.parse_one(spark[0], read="spark")
        assert "LIST_" not in spark[0].upper()
