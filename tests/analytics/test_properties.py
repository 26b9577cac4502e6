"""Scoring properties over generated populations (one engine run per example, many patients each)."""

from __future__ import annotations

import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path

import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carenav.analytics.definitions import ordered
from tests.analytics.snapshots import Population, by_patient, evidence_of

# Codes of every Charlson category, hierarchy pairs included, and some that are none.
CODES = [
    "I219",
    "I252",
    "I509",
    "I110",
    "I739",
    "I639",
    "G459",
    "F03",
    "G309",
    "J449",
    "J459",
    "M069",
    "K259",
    "K703",
    "K746",
    "B181",
    "E119",
    "E109",
    "E1122",
    "E1140",
    "G819",
    "N184",
    "N186",
    "C509",
    "C189",
    "C787",
    "C800",
    "K766",
    "I850",
    "B20",
    "I10",
    "E785",
    "Z00",
    "R51",
]
HIERARCHY = {"mld": "msld", "diab": "diabwc", "canc": "metacanc"}

code_sets = st.lists(st.sets(st.sampled_from(CODES), max_size=8), min_size=1, max_size=12)
settings_ = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@settings_
@given(patients=code_sets, extra=st.sampled_from(CODES))
def test_hierarchy_and_monotonicity(patients: list[set[str]], extra: str) -> None:
    population = Population()
    for number, codes in enumerate(patients):
        population.patient(f"p{number}")
        population.patient(f"q{number}")
        for code in codes:
            population.dx(f"p{number}", code)
            population.dx(f"q{number}", code)
        population.dx(f"q{number}", extra)
    with tempfile.TemporaryDirectory() as tmp:
        result = population.score(Path(tmp))
    rows = by_patient(result)
    for number in range(len(patients)):
        base, more = rows[f"p{number}"], rows[f"q{number}"]
        counted = set(base["charlson_categories"].split(";")) - {""}
        for lower, higher in HIERARCHY.items():
            assert not {lower, higher} <= counted
        # Adding a condition never lowers a Charlson score (1987 weights, 2011 weights, age adjusted).
        for column in ("charlson", "charlson_quan2011", "charlson_age_adjusted", "chronic_condition_count"):
            assert more[column] >= base[column], (column, patients[number], extra)
        points = sum(r["points"] for r in evidence_of(result, f"p{number}", "charlson"))
        assert points == base["charlson"]


stays = st.lists(
    st.tuples(st.integers(0, 400), st.integers(0, 40), st.booleans(), st.integers(0, 6)),
    min_size=1,
    max_size=4,
)


@settings_
@given(
    patients=st.lists(st.tuples(stays, st.sets(st.sampled_from(CODES), max_size=10)), min_size=1, max_size=8)
)
def test_lace_stays_within_0_to_19(patients: list[tuple[list[tuple[int, int, bool, int]], set[str]]]) -> None:
    population = Population()
    base = datetime(2025, 6, 30, 12)
    for number, (visits, codes) in enumerate(patients):
        pid = population.patient(f"p{number}")
        for code in codes:
            population.dx(pid, code, onset=date(2000, 1, 1))
        for days_ago, los, emergency, ed_before in visits:
            admit = base - timedelta(days=days_ago + los)
            for k in range(ed_before):
                population.encounter(pid, "EMER", admit - timedelta(days=3 + 7 * k))
            population.encounter(
                pid,
                "IMP",
                admit,
                admit + timedelta(days=los),
                admission_type="emergency" if emergency else None,
            )
    with tempfile.TemporaryDirectory() as tmp:
        result = population.score(Path(tmp))
    for row in result.scores.to_pylist():
        assert row["lace_last_discharge"] is not None
        assert 0 <= row["lace_last_discharge"] <= 19
    for row in result.evidence.to_pylist():
        if row["model"] == "lace_history":
            assert 0 <= row["points"] <= 19


def test_every_definition_transpiles_to_spark() -> None:
    for definition in ordered():
        statements = {
            "scores": definition.scores_sql,
            "evidence": definition.evidence_sql,
            **definition.views,
            **definition.reports,
        }
        for name, sql in statements.items():
            out = sqlglot.transpile(sql, read="duckdb", write="spark")
            assert len(out) == 1, f"{definition.name} {name}"
            assert out[0].strip(), f"{definition.name} {name}"
