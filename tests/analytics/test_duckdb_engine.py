"""The DuckDB engine's run options: no evidence when asked for none, working tables dropped when done."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from carenav.analytics.definitions import ordered
from carenav.analytics.engines import EVIDENCE_COLUMNS, duckdb_engine, no_evidence
from carenav.analytics.engines.duckdb_engine import DuckDBEngine, _later_statements, _names
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
    DuckDBEngine(threads=1, memory_limit="500MB").run(snapshot=snapshot, as_of=AS_OF, evidence=False)
    dropped = [sql.removeprefix("DROP TABLE ") for sql in statements if sql.startswith("DROP TABLE ")]
    assert {"lace_all", "chronic_hits", "encounters", "medications"} <= set(dropped)
    assert "patients" not in dropped  # the final join reads it
    statements.clear()
    DuckDBEngine(threads=1, memory_limit="500MB").run(snapshot=snapshot, as_of=AS_OF)
    dropped = [sql.removeprefix("DROP TABLE ") for sql in statements if sql.startswith("DROP TABLE ")]
    # the evidence, run last, reads the views of every definition
    assert "chronic_hits" not in dropped
    assert "lace_all" not in dropped


def test_later_statements_name_what_is_still_read() -> None:
    chosen = ordered()
    with_evidence = _later_statements(chosen, evidence=True)
    without = _later_statements(chosen, evidence=False)
    assert len(with_evidence) == len(without) == len(chosen)
    last = len(chosen) - 1
    assert not _names(without[last], "chronic_hits")
    assert _names(with_evidence[last], "chronic_hits")
    assert _names("SELECT * FROM dx_as_of AS d", "dx_as_of")
    assert not _names("SELECT * FROM dx_as_of_2", "dx_as_of")
    assert not _names("SELECT x.dx_as_of_flag FROM t AS x", "dx_as_of")
