"""The DuckDB engine's run options: no evidence when asked for none, working tables dropped when done."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from carenav.analytics.definition import Definition
from carenav.analytics.definitions import ordered
from carenav.analytics.definitions.charlson import CHARLSON
from carenav.analytics.engines import EVIDENCE_COLUMNS, duckdb_engine, no_evidence
from carenav.analytics.engines.duckdb_engine import DuckDBEngine, _later_statements, _names, _view_kinds
from carenav.errors import InvalidInput
from tests.analytics.snapshots import AS_OF, Population


def _population() -> Population:
    population = Population()
    population.patient("a", birth=date(1950, 7, 1))
    for code in ("I509", "E1122", "F329", "N183"):
        population.dx("a", code)
    population.encounter("a", "IMP", datetime(2025, 5, 1, 10), datetime(2025, 5, 4, 10))
    population.patient("b", birth=date(1990, 1, 1))
    population.dx("b", "J449")
    population.patient("c")
    return population


def test_without_evidence_the_scores_and_reports_are_the_same(tmp_path: Path) -> None:
    snapshot = _population().write(tmp_path / "snapshot")
    engine = DuckDBEngine(threads=1, memory_limit="500MB")
    full = engine.run(snapshot=snapshot, as_of=AS_OF)
    lean = engine.run(snapshot=snapshot, as_of=AS_OF, evidence=False)
    assert full.evidence.num_rows > 0
    assert lean.evidence.num_rows == 0
    assert lean.evidence.schema == full.evidence.schema == no_evidence().schema
    assert tuple(lean.evidence.column_names) == EVIDENCE_COLUMNS
    assert lean.scores == full.scores
    assert lean.reports.keys() == full.reports.keys()
    for name, table in full.reports.items():
        assert lean.reports[name] == table, name


def test_a_working_table_is_dropped_once_nothing_later_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    statements: list[str] = []
    real = duckdb_engine._run

    def recording(con: duckdb.DuckDBPyConnection, sql: str) -> None:
        statements.append(sql)
        real(con, sql)

    monkeypatch.setattr(duckdb_engine, "_run", recording)
    snapshot = _population().write(tmp_path / "snapshot")
    for evidence in (False, True):
        statements.clear()
        DuckDBEngine(threads=1, memory_limit="500MB").run(snapshot=snapshot, as_of=AS_OF, evidence=evidence)
        dropped = [sql.split()[-1] for sql in statements if sql.startswith("DROP ")]
        # each definition's evidence runs right after its scores, so its views go as early either way
        assert {"lace_all", "lace_last", "chronic_hits", "dx_icd10"} <= set(dropped), evidence
        # the snapshot tables are views over the Parquet files: nothing to drop, nothing copied
        assert not {"patients", "encounters", "diagnoses"} & set(dropped)
        assert [sql for sql in statements if sql.startswith("CREATE VIEW encounters AS")]


def test_an_inline_view_is_a_plain_view(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    created: list[str] = []
    real = duckdb_engine._execute

    def recording(con: duckdb.DuckDBPyConnection, sql: str, where: str) -> duckdb.DuckDBPyConnection:
        created.append(" ".join(sql.split()[:3]))
        return real(con, sql, where)

    monkeypatch.setattr(duckdb_engine, "_execute", recording)
    snapshot = _population().write(tmp_path / "snapshot")
    DuckDBEngine(threads=1, memory_limit="500MB").run(snapshot=snapshot, as_of=AS_OF, evidence=False)
    assert "CREATE VIEW dx_as_of" in created
    assert "CREATE TABLE dx_icd10" in created


def test_a_view_is_stored_only_when_read_more_than_once() -> None:
    full = _view_kinds(ordered(), evidence=True)
    assert full["dx_icd10"] == "TABLE"  # Charlson, chronic conditions, CMS-HCC and LACE read it
    assert full["dx_as_of"] == "VIEW"  # declared inline
    assert full["chronic_hits"] == "TABLE"  # utilisation's scores and evidence
    lean = _view_kinds(ordered(), evidence=False)
    assert lean["chronic_hits"] == "VIEW"  # only the scores read it
    assert lean["lace_last"] == "VIEW"
    assert lean["dx_icd10"] == "TABLE"
    charlson_only = _view_kinds(ordered([CHARLSON]), evidence=False)
    # read once, through the inline dx_as_of, by charlson_comorbidities, itself read once by the scores
    assert charlson_only["dx_icd10"] == "VIEW"
    assert charlson_only["charlson_comorbidities"] == "VIEW"
    # the evidence reads the categories too; the crosswalk's scores and report read dx_unmapped
    assert _view_kinds(ordered([CHARLSON]), evidence=True)["charlson_comorbidities"] == "TABLE"
    assert charlson_only["dx_unmapped"] == "TABLE"


def test_an_inline_name_must_be_a_view() -> None:
    with pytest.raises(InvalidInput, match="inline names no view: nowhere"):
        Definition(name="d", columns=(), scores_sql="", evidence_sql="", inline=frozenset({"nowhere"}))


def test_later_statements_name_what_is_still_read() -> None:
    chosen = ordered()
    with_evidence = _later_statements(chosen, evidence=True)
    without = _later_statements(chosen, evidence=False)
    assert len(with_evidence) == len(without) == len(chosen)
    last = len(chosen) - 1
    assert with_evidence[last] == without[last] == ""  # nothing runs after the last definition
    utilization = [d.name for d in chosen].index("utilization")
    assert not _names(without[utilization], "chronic_hits")
    assert _names(without[0], "dx_icd10")  # the crosswalk's view: every model reads it
    assert _names("SELECT * FROM dx_as_of AS d", "dx_as_of")
    assert not _names("SELECT * FROM dx_as_of_2", "dx_as_of")
    assert not _names("SELECT x.dx_as_of_flag FROM t AS x", "dx_as_of")
