"""The DuckDB engine: in-process, set-based SQL over the Parquet snapshot.

Loads the snapshot tables and the reference tables, runs the definitions in dependency order (each
definition's views, then its scores, materialised as tables), checks each gives exactly one row per
patient, and returns the joined scores, the evidence rows (unless asked for none) and the reports as
Arrow tables. No extension is loaded (Parquet is built in); nothing is downloaded.

The database is a file in the run's temporary folder, not ``:memory:``: the blocks of its tables can then
be written out and evicted under the memory limit. A materialised view's table is dropped as soon as no
statement still to run names it, and so is a snapshot table (but ``patients``).
"""

from __future__ import annotations

import os
import re
import tempfile
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

from carenav.analytics.definition import read_reference_table
from carenav.analytics.definitions import ordered, output_columns
from carenav.analytics.engines import EVIDENCE_COLUMNS, EngineResult, no_evidence
from carenav.analytics.snapshot import PARAMS_SCHEMA, PARQUET_SUFFIX, SNAPSHOT_SCHEMA
from carenav.errors import InvalidInput

if TYPE_CHECKING:
    from carenav.analytics.definition import Definition

DEFAULT_MEMORY_LIMIT = "3GB"


class DuckDBEngine:
    name = "duckdb"

    def __init__(self, *, memory_limit: str | None = None, threads: int | None = None) -> None:
        self.memory_limit = memory_limit or os.environ.get("CARENAV_DUCKDB_MEMORY", DEFAULT_MEMORY_LIMIT)
        self.threads = threads or os.cpu_count() or 1

    def run(
        self,
        *,
        snapshot: Path,
        as_of: date,
        definitions: list[Definition] | None = None,
        evidence: bool = True,
    ) -> EngineResult:
        chosen = ordered(definitions)
        with tempfile.TemporaryDirectory(prefix="carenav-duckdb-") as spill:
            con = duckdb.connect(str(Path(spill) / "run.duckdb"))
            try:
                _run(con, f"SET memory_limit = '{self.memory_limit}'")
                _run(con, f"SET threads = {int(self.threads)}")
                _run(con, "SET preserve_insertion_order = false")
                _run(con, "SET TimeZone = 'UTC'")
                _run(con, f"SET temp_directory = '{_quote(spill)}'")
                self._load_snapshot(con, snapshot)
                _run(con, f"CREATE TABLE params AS SELECT CAST('{as_of.isoformat()}' AS DATE) AS as_of")
                return self._run_definitions(con, chosen, evidence=evidence)
            finally:
                con.close()

    # -- loading ---------------------------------------------------------------------------------

    def _load_snapshot(self, con: duckdb.DuckDBPyConnection, snapshot: Path) -> None:
        if not snapshot.is_dir():
            raise InvalidInput("snapshot folder does not exist", where=str(snapshot))
        for table, columns in SNAPSHOT_SCHEMA.items():
            path = snapshot / f"{table}{PARQUET_SUFFIX}"
            if not path.is_file():
                raise InvalidInput(f"snapshot table {table} is missing", where=str(path))
            present = {
                row[0]
                for row in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{_quote(path)}')").fetchall()
            }
            select = ", ".join(
                f"CAST({name} AS {kind}) AS {name}" if name in present else f"CAST(NULL AS {kind}) AS {name}"
                for name, kind in columns.items()
            )
            _run(con, f"CREATE TABLE {table} AS SELECT {select} FROM read_parquet('{_quote(path)}')")

    def _load_reference_tables(
        self, con: duckdb.DuckDBPyConnection, definition: Definition, loaded: set[str]
    ) -> None:
        for name, path in definition.table_paths().items():
            if name in loaded:
                continue
            header, rows = read_reference_table(path)
            arrow = pa.table(
                {column: [row[i] for row in rows] for i, column in enumerate(header)},
                schema=pa.schema([(column, pa.string()) for column in header]),
            )
            types = definition.typed.get(name, {})
            unknown = set(types) - set(header)
            if unknown:
                raise InvalidInput(f"typed columns {sorted(unknown)} are not in the table", where=str(path))
            select = ", ".join(
                f"CAST({column} AS {types[column]}) AS {column}" if column in types else column
                for column in header
            )
            con.register("_reference_rows", arrow)
            try:
                _run(con, f"CREATE TABLE {name} AS SELECT {select} FROM _reference_rows")
            finally:
                con.unregister("_reference_rows")
            loaded.add(name)

    # -- running ---------------------------------------------------------------------------------

    def _run_definitions(
        self, con: duckdb.DuckDBPyConnection, chosen: list[Definition], *, evidence: bool
    ) -> EngineResult:
        columns = output_columns(chosen)
        loaded: set[str] = set()
        patient_count = _scalar(con, "SELECT COUNT(*) FROM patients")
        # Every statement still to run after each definition's own: a view's table is dropped once none
        # of them names it (a name in the text is enough to keep it: the check errs on keeping).
        later = _later_statements(chosen, evidence=evidence)
        views = [table for table in SNAPSHOT_SCHEMA if table != "patients"]  # patients: the final join
        for index, definition in enumerate(chosen):
            where = f"definition {definition.name}"
            self._load_reference_tables(con, definition, loaded)
            for view, sql in definition.views.items():
                _execute(con, f"CREATE TABLE {view} AS {sql}", f"{where}, view {view}").fetchall()
                views.append(view)
            _execute(
                con, f"CREATE TABLE {definition.name} AS {definition.scores_sql}", f"{where}, scores"
            ).fetchall()
            got = {row[0] for row in con.execute(f"DESCRIBE {definition.name}").fetchall()}
            missing = [c for c in ("patient_id", *definition.columns) if c not in got]
            if missing:
                raise InvalidInput(f"scores lack the columns {', '.join(missing)}", where=where)
            rows, distinct = con.execute(
                f"SELECT COUNT(*), COUNT(DISTINCT patient_id) FROM {definition.name}"
            ).fetchall()[0]
            if rows != patient_count or distinct != patient_count:
                raise InvalidInput(
                    f"scores have {rows} rows for {distinct} patients; the snapshot has {patient_count}",
                    where=where,
                )
            for view in [v for v in views if not _names(later[index], v)]:
                _run(con, f"DROP TABLE {view}")
                views.remove(view)
        select = ["p.patient_id"]
        joins = []
        for index, definition in enumerate(chosen):
            alias = f"d{index}"
            select.extend(f"{alias}.{column}" for column in definition.columns)
            joins.append(f"JOIN {definition.name} AS {alias} ON {alias}.patient_id = p.patient_id")
        scores = _arrow(
            con,
            f"SELECT {', '.join(select)} FROM patients AS p {' '.join(joins)} ORDER BY p.patient_id",
            "scores",
        )
        assert scores is not None
        assert scores.column_names == columns
        reports: dict[str, pa.Table] = {}
        for definition in chosen:
            for report, sql in definition.reports.items():
                reports[report] = _arrow(con, sql, f"definition {definition.name}, report {report}")
        if not evidence:
            return EngineResult(scores=scores, evidence=no_evidence(), reports=reports)
        evidence_parts = [
            f"SELECT CAST(patient_id AS VARCHAR) AS patient_id, CAST(model AS VARCHAR) AS model, "
            f"CAST(component AS VARCHAR) AS component, CAST(points AS DOUBLE) AS points, "
            f"CAST(evidence AS VARCHAR) AS evidence FROM ({d.evidence_sql}) AS e{i}"
            for i, d in enumerate(chosen)
        ]
        rows = _arrow(
            con,
            " UNION ALL ".join(evidence_parts) + " ORDER BY patient_id, model, component, evidence",
            "evidence",
        )
        assert tuple(rows.column_names) == EVIDENCE_COLUMNS
        return EngineResult(scores=scores, evidence=rows, reports=reports)


def _later_statements(chosen: list[Definition], *, evidence: bool) -> list[str]:
    """For each definition of ``chosen``, the text of every statement run after its scores: the later
    definitions' views and scores, and every definition's reports and (when computed) evidence."""
    final = [sql for d in chosen for sql in d.reports.values()]
    if evidence:
        final.extend(d.evidence_sql for d in chosen)
    texts = []
    for index in range(len(chosen)):
        statements = [sql for d in chosen[index + 1 :] for sql in (*d.views.values(), d.scores_sql)]
        texts.append("\n".join([*statements, *final]))
    return texts


def _names(sql: str, name: str) -> bool:
    """Whether ``name`` occurs in ``sql`` as a word (case-insensitive)."""
    return re.search(rf"(?<![\w$]){re.escape(name)}(?![\w$])", sql, re.IGNORECASE) is not None


def _quote(path: str | Path) -> str:
    return str(path).replace("'", "''")


def _run(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Execute a statement and consume its result (DuckDB refuses new work while one is pending)."""
    con.execute(sql).fetchall()


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    rows = con.execute(sql).fetchall()
    return int(rows[0][0]) if rows else 0


def _arrow(con: duckdb.DuckDBPyConnection, sql: str, where: str) -> pa.Table:
    try:
        return con.sql(sql).to_arrow_table()
    except duckdb.Error as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InvalidInput(first_line, where=where) from exc


def _execute(con: duckdb.DuckDBPyConnection, sql: str, where: str) -> duckdb.DuckDBPyConnection:
    try:
        return con.execute(sql)
    except duckdb.Error as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InvalidInput(first_line, where=where) from exc


__all__ = ["PARAMS_SCHEMA", "DuckDBEngine"]
