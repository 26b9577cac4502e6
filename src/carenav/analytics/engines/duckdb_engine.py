"""The DuckDB engine: in-process, set-based SQL over the Parquet snapshot.

The snapshot tables are views over their Parquet files (DuckDB reads only the columns and row groups a
statement needs, and keeps no copy); the reference tables are loaded. The definitions run in dependency
order: each definition's views (stored as tables, but for its ``inline`` views, kept as plain views),
then its scores (stored, checked to give exactly one row per patient), then its reports and, when asked
for, its evidence rows, written to a Parquet file of the run's. A stored table is dropped as soon as no
later definition names it. The result: the joined scores, the reports and the evidence as Arrow tables.
No extension is loaded (Parquet is built in); nothing is downloaded.

The database is a file in the run's temporary folder, not ``:memory:``: the blocks of its tables can then
be written out and evicted under the memory limit.
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
import pyarrow.dataset as ds

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
        with tempfile.TemporaryDirectory(prefix="carenav-duckdb-") as work:
            folder = Path(work)
            con = duckdb.connect(str(folder / "run.duckdb"))
            try:
                _run(con, f"SET memory_limit = '{self.memory_limit}'")
                _run(con, f"SET threads = {int(self.threads)}")
                _run(con, "SET preserve_insertion_order = false")
                _run(con, "SET TimeZone = 'UTC'")
                _run(con, f"SET temp_directory = '{_quote(folder)}'")
                self._attach_snapshot(con, snapshot)
                _run(con, f"CREATE TABLE params AS SELECT CAST('{as_of.isoformat()}' AS DATE) AS as_of")
                scores, reports, evidence_files = self._run_definitions(
                    con, chosen, folder if evidence else None
                )
            finally:
                con.close()
            # Read back once DuckDB's memory is released: the evidence of a big run is its largest result.
            rows = _evidence_files(evidence_files) if evidence else no_evidence()
        return EngineResult(scores=scores, evidence=rows, reports=reports)

    # -- loading ---------------------------------------------------------------------------------

    def _attach_snapshot(self, con: duckdb.DuckDBPyConnection, snapshot: Path) -> None:
        """Every snapshot table as a view over its Parquet file, cast to ``SNAPSHOT_SCHEMA`` (a column
        the file lacks is NULL), with ``patient_id`` an integer key: ``patient_keys`` (stored: each
        patient's ``patient_key``, the row's number in the file, and FHIR ``patient_id``) numbers the
        patients, and the other tables' rows are joined to it (rows of a patient the snapshot does not
        hold are left out). Joins and groups on an integer are cheaper than on a 36-character id; the
        scores and evidence get the FHIR id back."""
        if not snapshot.is_dir():
            raise InvalidInput("snapshot folder does not exist", where=str(snapshot))
        for table, columns in SNAPSHOT_SCHEMA.items():
            path = snapshot / f"{table}{PARQUET_SUFFIX}"
            if not path.is_file():
                raise InvalidInput(f"snapshot table {table} is missing", where=str(path))
            source = f"read_parquet('{_quote(path.resolve())}', file_row_number = true)"
            try:
                present = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
            except duckdb.Error as exc:
                raise InvalidInput(
                    f"not a readable Parquet file ({_first_line(exc)})", where=str(path)
                ) from exc
            cast = {
                name: f"CAST(t.{name} AS {kind})" if name in present else f"CAST(NULL AS {kind})"
                for name, kind in columns.items()
            }
            if table == "patients":  # the key: the row's number in the file
                key = "CAST(t.file_row_number AS INTEGER)"
                _run(
                    con,
                    f"CREATE TABLE patient_keys AS SELECT {key} AS patient_key, "
                    f"{cast['patient_id']} AS patient_id FROM {source} AS t",
                )
                select = ", ".join(
                    f"{key} AS patient_id" if name == "patient_id" else f"{value} AS {name}"
                    for name, value in cast.items()
                )
                _run(con, f"CREATE VIEW patients AS SELECT {select} FROM {source} AS t")
                continue
            select = ", ".join(
                "k.patient_key AS patient_id" if name == "patient_id" else f"{value} AS {name}"
                for name, value in cast.items()
            )
            _run(
                con,
                f"CREATE VIEW {table} AS SELECT {select} FROM {source} AS t "
                f"JOIN patient_keys AS k ON k.patient_id = {cast['patient_id']}",
            )

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
        self, con: duckdb.DuckDBPyConnection, chosen: list[Definition], evidence_folder: Path | None
    ) -> tuple[pa.Table, dict[str, pa.Table], list[Path]]:
        """(scores, reports, evidence files) of the chosen definitions; evidence only when
        ``evidence_folder`` is given (the files are written there)."""
        loaded: set[str] = set()
        patient_count = _scalar(con, "SELECT COUNT(*) FROM patients")
        later = _later_statements(chosen, evidence=evidence_folder is not None)
        kinds = _view_kinds(chosen, evidence=evidence_folder is not None)
        stored: dict[str, tuple[str, str]] = {}  # name -> (TABLE | VIEW, its SQL), still there
        reports: dict[str, pa.Table] = {}
        evidence_files: list[Path] = []
        for index, definition in enumerate(chosen):
            where = f"definition {definition.name}"
            self._load_reference_tables(con, definition, loaded)
            for view, sql in definition.views.items():
                kind = kinds[view]
                _execute(con, f"CREATE {kind} {view} AS {sql}", f"{where}, view {view}").fetchall()
                stored[view] = (kind, sql)
            _execute(
                con, f"CREATE TABLE {definition.name} AS {definition.scores_sql}", f"{where}, scores"
            ).fetchall()
            _check_scores(con, definition, patient_count)
            for report, sql in definition.reports.items():
                reports[report] = _arrow(con, sql, f"{where}, report {report}")
            if evidence_folder is not None:
                path = evidence_folder / f"evidence-{index}.parquet"
                _execute(
                    con,
                    f"COPY ({_evidence_select(definition.evidence_sql)}) TO '{_quote(path)}' "
                    "(FORMAT PARQUET, COMPRESSION SNAPPY)",
                    f"{where}, evidence",
                ).fetchall()
                evidence_files.append(path)
            for name in _unread(stored, later[index]):
                _run(con, f"DROP {stored.pop(name)[0]} {name}")
        select = ["k.patient_id"]
        joins = []
        for index, definition in enumerate(chosen):
            alias = f"d{index}"
            select.extend(f"{alias}.{column}" for column in definition.columns)
            joins.append(f"JOIN {definition.name} AS {alias} ON {alias}.patient_id = k.patient_key")
        scores = _arrow(
            con,
            f"SELECT {', '.join(select)} FROM patient_keys AS k {' '.join(joins)} ORDER BY k.patient_id",
            "scores",
        )
        assert scores.column_names == output_columns(chosen)
        return scores, reports, evidence_files


def _check_scores(con: duckdb.DuckDBPyConnection, definition: Definition, patient_count: int) -> None:
    """The definition's scores table has its columns and exactly one row per patient."""
    where = f"definition {definition.name}"
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


def _evidence_select(sql: str) -> str:
    """A definition's evidence query with EVIDENCE_COLUMNS' names and types, the FHIR patient id back."""
    return (
        "SELECT k.patient_id, CAST(e.model AS VARCHAR) AS model, "
        "CAST(e.component AS VARCHAR) AS component, CAST(e.points AS DOUBLE) AS points, "
        f"CAST(e.evidence AS VARCHAR) AS evidence FROM ({sql}) AS e "
        "JOIN patient_keys AS k ON k.patient_key = e.patient_id"
    )


def _evidence_files(paths: list[Path]) -> pa.Table:
    """The evidence rows the run wrote, as one table typed as ``no_evidence()`` (every field nullable,
    no metadata: read with that schema, as casting after the read would copy every column). Allocated
    from the system allocator: after a DuckDB run, Arrow's default (mimalloc) spends three times as
    long faulting in pages for the same 1.5 GB (measured at 1M patients, docs/benchmarks.md)."""
    schema = no_evidence().schema
    table = ds.dataset([str(path) for path in paths], format="parquet", schema=schema).to_table(
        memory_pool=pa.system_memory_pool()
    )
    assert tuple(table.column_names) == EVIDENCE_COLUMNS
    return table


def _view_kinds(chosen: list[Definition], *, evidence: bool) -> dict[str, str]:
    """How each view of the run is created: ``TABLE`` (its rows stored) when the statements after it
    read it more than once, ``VIEW`` (computed where it is read) when it is ``inline`` or read once or
    never in this run (a view read once costs less inline than stored; the Charlson-only run reads
    ``dx_icd10`` once, the full run five times). A read through a plain view counts that view's reads."""
    statements: list[tuple[str | None, str]] = []
    for definition in chosen:
        statements.extend(definition.views.items())
        statements.append((None, definition.scores_sql))
        statements.extend((None, sql) for sql in definition.reports.values())
        if evidence:
            statements.append((None, definition.evidence_sql))
    declared_inline = {view for d in chosen for view in d.inline}
    kinds: dict[str, str] = {}
    reads: dict[str, int] = {}
    for index in reversed(range(len(statements))):
        name = statements[index][0]
        if name is None:
            continue
        count = 0
        for reader, sql in statements[index + 1 :]:
            times = _occurrences(sql, name)
            if times and reader is not None and kinds[reader] == "VIEW":
                times *= reads[reader]
            count += times
        reads[name] = count
        kinds[name] = "VIEW" if name in declared_inline or count <= 1 else "TABLE"
    return kinds


def _unread(stored: dict[str, tuple[str, str]], later: str) -> list[str]:
    """The names of ``stored`` that nothing still reads: neither the ``later`` statements nor a plain
    view still read (whose rows come from the tables it names), in an order safe to drop them."""
    read = {name for name in stored if _names(later, name)}
    while True:
        through_views = {
            name
            for name in stored
            if name not in read
            and any(stored[view][0] == "VIEW" and _names(stored[view][1], name) for view in read)
        }
        if not through_views:
            break
        read |= through_views
    return [name for name in reversed(stored) if name not in read]


def _later_statements(chosen: list[Definition], *, evidence: bool) -> list[str]:
    """For each definition of ``chosen``, the text of every statement the definitions run after it run:
    their views, scores, reports and (when computed) evidence."""
    texts = []
    for index in range(len(chosen)):
        statements = [
            sql
            for d in chosen[index + 1 :]
            for sql in (
                *d.views.values(),
                d.scores_sql,
                *d.reports.values(),
                *((d.evidence_sql,) if evidence else ()),
            )
        ]
        texts.append("\n".join(statements))
    return texts


def _names(sql: str, name: str) -> bool:
    """Whether ``name`` occurs in ``sql`` as a word (case-insensitive)."""
    return _occurrences(sql, name) > 0


def _occurrences(sql: str, name: str) -> int:
    """How many times ``name`` occurs in ``sql`` as a word (case-insensitive)."""
    return len(re.findall(rf"(?<![\w$]){re.escape(name)}(?![\w$])", sql, re.IGNORECASE))


def _quote(path: str | Path) -> str:
    return str(path).replace("'", "''")


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


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
        raise InvalidInput(_first_line(exc), where=where) from exc


def _execute(con: duckdb.DuckDBPyConnection, sql: str, where: str) -> duckdb.DuckDBPyConnection:
    try:
        return con.execute(sql)
    except duckdb.Error as exc:
        raise InvalidInput(_first_line(exc), where=where) from exc


__all__ = ["PARAMS_SCHEMA", "DuckDBEngine"]
