"""The rule compiler: its SQL runs on DuckDB, transpiles to Spark, and agrees with the Python semantics."""

from __future__ import annotations

from typing import Any

import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carenav.analytics.definitions.programs import programs_definition
from carenav.programs.rules import (
    DEFAULT_RULES_PATH,
    FEATURES,
    AllOf,
    AnyOf,
    Compare,
    Condition,
    FeatureType,
    Not,
    Op,
    Program,
    ProgramKind,
    RuleSet,
    Scalar,
    Tier,
    condition_sql,
    evidence_rows,
    evidence_sql,
    programs_eligible,
    rules_load,
    rules_parse,
    scores_sql,
    sql_literal,
    sql_string,
    tier_of,
)
from tests.programs.features import feature_database

FEATURE_NAMES = sorted(FEATURES)
# Doubles with at most two decimals print alike in Python and DuckDB (evidence text compares exactly).
EVIDENCE_DOUBLES = st.integers(min_value=0, max_value=800).map(lambda k: k / 100)
ANY_DOUBLES = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12)


def feature_value(name: str, doubles: st.SearchStrategy[float]) -> st.SearchStrategy[Scalar | None]:
    feature = FEATURES[name]
    if feature.type is FeatureType.BOOLEAN:
        value: st.SearchStrategy[Any] = st.booleans()
    elif feature.integer:
        value = st.integers(min_value=-2, max_value=40)
    else:
        value = doubles
    return st.none() | value


def rows_strategy(doubles: st.SearchStrategy[float]) -> st.SearchStrategy[list[dict[str, Scalar | None]]]:
    row = st.fixed_dictionaries({name: feature_value(name, doubles) for name in FEATURE_NAMES})
    return st.lists(row, min_size=1, max_size=12)


@st.composite
def comparisons(draw: st.DrawFn, doubles: st.SearchStrategy[float]) -> Compare:
    name = draw(st.sampled_from(FEATURE_NAMES))
    feature = FEATURES[name]
    if feature.type is FeatureType.BOOLEAN:
        return Compare(name, draw(st.sampled_from([Op.EQ, Op.NE])), draw(st.booleans()))
    literal: st.SearchStrategy[Any] = (
        st.integers(min_value=-2, max_value=40) if feature.integer else doubles | st.integers(0, 8)
    )
    op = draw(st.sampled_from(list(Op)))
    if op is Op.IN:
        return Compare(name, op, tuple(draw(st.lists(literal, min_size=1, max_size=4))))
    return Compare(name, op, draw(literal))


def conditions(doubles: st.SearchStrategy[float]) -> st.SearchStrategy[Condition]:
    return st.recursive(
        comparisons(doubles),
        lambda children: st.one_of(
            st.lists(children, min_size=1, max_size=3).map(lambda items: AllOf(tuple(items))),
            st.lists(children, min_size=1, max_size=3).map(lambda items: AnyOf(tuple(items))),
            children.map(Not),
        ),
        max_leaves=6,
    )


@st.composite
def rule_sets(draw: st.DrawFn, doubles: st.SearchStrategy[float]) -> RuleSet:
    codes = draw(
        st.lists(st.sampled_from(["ccm", "pcm", "tcm", "bhi", "x_1"]), min_size=1, max_size=4, unique=True)
    )
    programs = tuple(
        Program(code, code.upper(), ProgramKind.CARE_MANAGEMENT, True, draw(conditions(doubles)))
        for code in sorted(codes)
    )
    tiers = (
        *(Tier(level, f"T{level}", draw(conditions(doubles))) for level in (4, 3, 2)),
        Tier(1, "T1", None),
    )
    exclude = draw(st.none() | conditions(doubles))
    return RuleSet(
        source="generated", version="0", title="generated", programs=programs, tiers=tiers, exclude=exclude
    )


def run_scores(rules: RuleSet, rows: list[dict[str, Scalar | None]]) -> dict[str, tuple[int, str]]:
    db = feature_database(rows)
    result = db.execute(scores_sql(rules)).fetchall()
    return {patient: (tier, programs) for patient, tier, programs in result}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules=rule_sets(ANY_DOUBLES), rows=rows_strategy(ANY_DOUBLES))
def test_sql_agrees_with_python(rules: RuleSet, rows: list[dict[str, Scalar | None]]) -> None:
    got = run_scores(rules, rows)
    assert len(got) == len(rows)
    for number, row in enumerate(rows):
        expected = (tier_of(rules, row), ";".join(programs_eligible(rules, row)))
        assert got[f"p{number}"] == expected, row


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules=rule_sets(EVIDENCE_DOUBLES), rows=rows_strategy(EVIDENCE_DOUBLES))
def test_evidence_sql_agrees_with_python(rules: RuleSet, rows: list[dict[str, Scalar | None]]) -> None:
    db = feature_database(rows)
    got: dict[str, list[tuple[str, float, str]]] = {}
    for patient, model, component, points, evidence in db.execute(evidence_sql(rules)).fetchall():
        assert model == "programs"
        got.setdefault(patient, []).append((component, points, evidence))
    for number, row in enumerate(rows):
        expected = sorted(evidence_rows(rules, row))
        assert sorted(got.get(f"p{number}", [])) == expected, row
        # the points of a patient's rows add up to the tier
        assert sum(points for _, points, _ in expected) == tier_of(rules, row)


@settings(max_examples=60, deadline=None)
@given(rules=rule_sets(ANY_DOUBLES))
def test_sql_transpiles_to_spark(rules: RuleSet) -> None:
    for sql in (scores_sql(rules), evidence_sql(rules)):
        spark = sqlglot.transpile(sql, read="duckdb", write="spark")[0]
        # and Spark's parser (sqlglot's) reads it back
        assert sqlglot.parse_one(spark, read="spark") is not None
        assert '"' not in spark.replace("\\'", "")  # identifiers became backticks


def test_default_rules_on_hand_made_patients() -> None:
    rules = rules_load(DEFAULT_RULES_PATH)
    rows: list[dict[str, Scalar | None]] = [
        # two chronic conditions, Charlson 2: CCM, rising risk
        {"chronic_condition_count": 2, "charlson": 2, "hcc_v28": 0.9},
        # complex: Charlson 6, two admissions in 6 months, discharged home 5 days ago, LACE 12
        {
            "chronic_condition_count": 3,
            "charlson": 6,
            "ip_admits_6m": 2,
            "ip_admits_12m": 2,
            "days_since_discharge": 5,
            "discharged_to_community": True,
            "lace_last_discharge": 12,
        },
        # one serious condition and an admission: PCM; depression: BHI
        {"chronic_condition_count": 1, "charlson": 2, "ip_admits_12m": 1, "behavioral_health": True},
        # nothing known at all
        {},
        # two chronic conditions but deceased: no program, still a tier
        {"chronic_condition_count": 2, "deceased": True},
        # discharged to a facility 10 days ago: no TCM; 30 days ago home: no TCM (period is day 0-29)
        {"days_since_discharge": 10, "discharged_to_community": False},
        {"days_since_discharge": 30, "discharged_to_community": True},
    ]
    got = run_scores(rules, rows)
    assert got == {
        "p0": (2, "ccm"),
        "p1": (4, "case_mgmt;ccm;ccm_complex;tcm"),
        "p2": (3, "bhi;pcm"),
        "p3": (1, ""),
        "p4": (2, ""),
        "p5": (1, ""),
        "p6": (1, ""),
    }


def test_a_patient_missing_from_a_feature_table_counts_as_missing() -> None:
    rules = rules_load(DEFAULT_RULES_PATH)
    rows: list[dict[str, Scalar | None]] = [{"chronic_condition_count": 2, "charlson": 5}] * 2
    db = feature_database(rows, missing={"charlson": {1}})
    got = {p: (t, pr) for p, t, pr in db.execute(scores_sql(rules)).fetchall()}
    assert got == {"p0": (4, "ccm;ccm_complex"), "p1": (2, "ccm")}


def test_evidence_names_the_rule_and_the_values_that_met_it() -> None:
    rules = rules_load(DEFAULT_RULES_PATH)
    row: dict[str, Scalar | None] = {"chronic_condition_count": 3, "hcc_v28": 2.25, "charlson": 1}
    db = feature_database([row])
    evidence = {c: e for _, _, c, _, e in db.execute(evidence_sql(rules)).fetchall()}
    assert evidence["program:ccm"] == "program ccm: chronic_condition_count >= 2 [chronic_condition_count=3]"
    assert evidence["program:ccm_complex"] == (
        "program ccm_complex: chronic_condition_count >= 2 [chronic_condition_count=3]; "
        "hcc_v28 >= 2.0 [hcc_v28=2.25]"
    )
    assert evidence["tier"] == "tier 3: hcc_v28 >= 1.5 [hcc_v28=2.25]"


def test_negated_comparisons_explain_themselves() -> None:
    condition = AllOf((Compare("age", Op.GE, 65), Not(Compare("frail_elder", Op.EQ, True))))
    rules = RuleSet(
        source="t",
        version="0",
        title="t",
        programs=(Program("x", "X", ProgramKind.CASE_MANAGEMENT, False, condition),),
        tiers=(Tier(4, "4", Compare("age", Op.GE, 200)), Tier(3, "3", condition), Tier(2, "2", condition)),
    )
    rows = evidence_rows(rules, {"age": 70, "frail_elder": None})
    assert rows[0] == (
        "program:x",
        0.0,
        "program x: age >= 65 [age=70]; not(frail_elder == true) [frail_elder=missing]",
    )


@pytest.mark.parametrize(
    ("value", "sql"),
    [
        (True, "TRUE"),
        (False, "FALSE"),
        (10, "10"),
        (-3, "-3"),
        (2.5, "CAST('2.5' AS DOUBLE)"),
        (1e-05, "CAST('1e-05' AS DOUBLE)"),
        (0.30000000000000004, "CAST('0.30000000000000004' AS DOUBLE)"),
    ],
)
def test_literals(value: Scalar, sql: str) -> None:
    assert sql_literal(value) == sql


def test_doubles_round_trip_exactly_through_duckdb() -> None:
    db = feature_database([{}])
    for value in (0.1, 0.30000000000000004, 1e-05, 123456789.123456789, 2.0**-40):
        assert db.execute(f"SELECT {sql_literal(value)}").fetchone() == (value,)


def test_non_finite_and_odd_values_are_refused() -> None:
    with pytest.raises(ValueError, match="finite"):
        sql_literal(float("nan"))
    with pytest.raises(ValueError, match="finite"):
        sql_literal(float("inf"))
    with pytest.raises(ValueError, match="safe identifier"):
        condition_sql(Compare('x"; DROP TABLE patients; --', Op.EQ, 1))


def test_string_literals_are_quoted_for_duckdb_and_spark() -> None:
    text = "it's a \\ test; '' --"
    db = feature_database([{}])
    assert db.execute(f"SELECT {sql_string(text)}").fetchone() == (text,)
    spark = sqlglot.transpile(f"SELECT {sql_string(text)} AS t", read="duckdb", write="spark")[0]
    parsed = sqlglot.parse_one(spark, read="spark")
    assert parsed.selects[0].this.this == text


def test_definition_wraps_the_compiled_sql() -> None:
    rules = rules_load(DEFAULT_RULES_PATH)
    definition = programs_definition(rules)
    assert definition.name == "programs"
    assert definition.columns == ("tier", "programs")
    assert definition.version == rules.version
    assert set(definition.depends_on) == {FEATURES[f].source for f in rules.features_used()}
    assert definition.scores_sql == scores_sql(rules)


def test_the_version_is_a_hash_of_the_file() -> None:
    text = DEFAULT_RULES_PATH.read_text()
    one = rules_parse(text, source="a.toml")
    same = rules_parse(text, source="b.toml")
    other = rules_parse(text + "\n# a comment\n", source="a.toml")
    assert one.version == same.version != other.version
