"""The Spark engine: the same definitions as the DuckDB engine, transpiled to Spark SQL, on Apache Spark.

Local mode (``local[2]``) by default, or the master URL of a cluster (``master=`` or the environment
variable ``CARENAV_SPARK_MASTER``; the snapshot folder must then be on storage every executor reads).
A run mirrors ``DuckDBEngine``: the snapshot tables read from Parquet and cast to ``SNAPSHOT_SCHEMA``
(missing columns NULL), ``params``, then per definition in dependency order its reference tables
(typed as ``Definition.typed`` says), its views and its scores, each materialised (cached) under its
name as a temporary view, checked to give exactly one row per patient; then the joined scores, the
evidence rows and the reports, as Arrow tables of the same column names, types and order as DuckDB's,
so that the two results compare with ``==``.

Nothing is downloaded: no ``spark.jars.packages``; the UI is off; in local mode the driver binds to
127.0.0.1; shuffle and spill files go to a temporary folder removed after the run. Every run uses a
session of its own (``newSession``), so its temporary views never meet another run's.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pyarrow as pa

from carenav.analytics.definition import read_reference_table
from carenav.analytics.definitions import ordered, output_columns
from carenav.analytics.engines import EVIDENCE_COLUMNS, EngineResult, no_evidence
from carenav.analytics.engines.transpile import spark_type, to_spark, to_spark_steps
from carenav.analytics.snapshot import PARQUET_SUFFIX, SNAPSHOT_SCHEMA
from carenav.errors import InvalidInput

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from carenav.analytics.definition import Definition

DEFAULT_MASTER = "local[2]"
DEFAULT_SHUFFLE_PARTITIONS = 8
DEFAULT_DRIVER_MEMORY = "2g"
WHERE = "Spark engine"
T = TypeVar("T")


def spark_session(
    *,
    master: str | None = None,
    shuffle_partitions: int | None = None,
    driver_memory: str | None = None,
    local_dir: Path | None = None,
) -> SparkSession:
    """A SparkSession configured for carenav (or the process's active one, which Spark hands back
    whatever the builder says). ``master``: default ``CARENAV_SPARK_MASTER``, else ``local[2]``."""
    from pyspark.errors import PySparkException
    from pyspark.sql import SparkSession

    url = master or os.environ.get("CARENAV_SPARK_MASTER") or DEFAULT_MASTER
    partitions = shuffle_partitions or int(
        os.environ.get("CARENAV_SPARK_SHUFFLE_PARTITIONS", DEFAULT_SHUFFLE_PARTITIONS)
    )
    scratch = local_dir or Path(tempfile.gettempdir()) / "carenav-spark"
    scratch.mkdir(parents=True, exist_ok=True)
    builder = (
        SparkSession.builder.master(url)
        .appName("carenav-stratify")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(partitions))
        .config("spark.local.dir", str(scratch))
        .config("spark.sql.warehouse.dir", str(scratch / "warehouse"))
        .config(
            "spark.driver.memory",
            driver_memory or os.environ.get("CARENAV_SPARK_DRIVER_MEMORY", DEFAULT_DRIVER_MEMORY),
        )
    )
    if url.startswith("local"):
        # In local mode everything stays on the loopback interface.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = builder.config("spark.driver.host", "127.0.0.1").config(
            "spark.driver.bindAddress", "127.0.0.1"
        )
    try:
        session = builder.getOrCreate()
    except (PySparkException, OSError) as exc:
        raise InvalidInput(
            f"Spark could not start ({_first_line(exc)}); it needs a Java 17 or newer runtime "
            "(`java` on PATH or JAVA_HOME set)",
            where=WHERE,
        ) from exc
    session.sparkContext.setLogLevel("ERROR")
    return session


class SparkEngine:
    name = "spark"

    def __init__(
        self,
        *,
        session: SparkSession | None = None,
        master: str | None = None,
        shuffle_partitions: int | None = None,
    ) -> None:
        """``session``: an existing SparkSession to run in (kept open); otherwise one is started for the
        run (``master``, ``shuffle_partitions``: see ``spark_session``) and stopped after it, unless one
        was already active in the process."""
        self.session = session
        self.master = master
        self.shuffle_partitions = shuffle_partitions

    def run(
        self,
        *,
        snapshot: Path,
        as_of: date,
        definitions: list[Definition] | None = None,
        evidence: bool = True,
    ) -> EngineResult:
        chosen = ordered(definitions)
        if not snapshot.is_dir():
            raise InvalidInput("snapshot folder does not exist", where=str(snapshot))
        with self._session() as base:
            spark = _run_session(base)
            cached: list[DataFrame] = []
            try:
                self._load_snapshot(spark, snapshot)
                _sql(
                    spark, f"SELECT CAST('{as_of.isoformat()}' AS DATE) AS as_of", "params"
                ).createOrReplaceTempView("params")
                return self._run_definitions(spark, chosen, cached, evidence=evidence)
            finally:
                for frame in cached:
                    frame.unpersist()

    @contextmanager
    def _session(self) -> Iterator[SparkSession]:
        if self.session is not None:
            yield self.session
            return
        from pyspark.sql import SparkSession

        already = SparkSession.getActiveSession()
        session = spark_session(master=self.master, shuffle_partitions=self.shuffle_partitions)
        try:
            yield session
        finally:
            if already is None:
                session.stop()

    # -- loading ---------------------------------------------------------------------------------

    def _load_snapshot(self, spark: SparkSession, snapshot: Path) -> None:
        for table, columns in SNAPSHOT_SCHEMA.items():
            path = snapshot / f"{table}{PARQUET_SUFFIX}"
            if not path.is_file():
                raise InvalidInput(f"snapshot table {table} is missing", where=str(path))
            where = f"snapshot table {table}"
            frame = _guard(partial(spark.read.parquet, str(path.resolve())), str(path))
            present = set(frame.columns)
            select = [
                f"CAST({'`' + name + '`' if name in present else 'NULL'} AS {spark_type(kind, where=where)}) "
                f"AS `{name}`"
                for name, kind in columns.items()
            ]
            _guard(partial(frame.selectExpr, *select), where).createOrReplaceTempView(table)

    def _load_reference_tables(self, spark: SparkSession, definition: Definition, loaded: set[str]) -> None:
        for name, path in definition.table_paths().items():
            if name in loaded:
                continue
            header, rows = read_reference_table(path)
            types = definition.typed.get(name, {})
            unknown = set(types) - set(header)
            if unknown:
                raise InvalidInput(f"typed columns {sorted(unknown)} are not in the table", where=str(path))
            arrow = pa.table(
                {column: [row[i] for row in rows] for i, column in enumerate(header)},
                schema=pa.schema([(column, pa.string()) for column in header]),
            )
            where = f"definition {definition.name}, table {name}"
            select = [
                f"CAST(`{column}` AS {spark_type(types[column], where=where)}) AS `{column}`"
                if column in types
                else f"`{column}`"
                for column in header
            ]
            frame = _guard(partial(spark.createDataFrame, arrow), where)
            frame = _guard(partial(frame.selectExpr, *select), where)
            frame.createOrReplaceTempView(name)
            loaded.add(name)

    # -- running ---------------------------------------------------------------------------------

    def _run_definitions(
        self, spark: SparkSession, chosen: list[Definition], cached: list[DataFrame], *, evidence: bool
    ) -> EngineResult:
        columns = output_columns(chosen)
        loaded: set[str] = set()
        patient_count = int(_sql(spark, "SELECT COUNT(*) FROM patients", "patients").collect()[0][0])
        steps = _Steps(spark, cached)
        for definition in chosen:
            where = f"definition {definition.name}"
            self._load_reference_tables(spark, definition, loaded)
            for view, sql in definition.views.items():
                if view in definition.inline:
                    steps.view(view, sql, f"{where}, view {view}")
                else:
                    steps.materialise(view, sql, f"{where}, view {view}")
            scores = steps.materialise(definition.name, definition.scores_sql, f"{where}, scores")
            missing = [c for c in ("patient_id", *definition.columns) if c not in scores.columns]
            if missing:
                raise InvalidInput(f"scores lack the columns {', '.join(missing)}", where=where)
            rows, distinct = _sql(
                spark, f"SELECT COUNT(*), COUNT(DISTINCT patient_id) FROM `{definition.name}`", where
            ).collect()[0]
            if rows != patient_count or distinct != patient_count:
                raise InvalidInput(
                    f"scores have {rows} rows for {distinct} patients; the snapshot has {patient_count}",
                    where=where,
                )
        select = ["p.patient_id"]
        joins = []
        for index, definition in enumerate(chosen):
            alias = f"d{index}"
            select.extend(f"{alias}.`{column}`" for column in definition.columns)
            joins.append(f"JOIN `{definition.name}` AS {alias} ON {alias}.patient_id = p.patient_id")
        scores = _arrow(
            spark,
            f"SELECT {', '.join(select)} FROM patients AS p {' '.join(joins)} "
            "ORDER BY p.patient_id NULLS LAST",
            "scores",
        )
        if scores.column_names != columns:
            raise InvalidInput(
                f"scores have the columns {scores.column_names}, expected {columns}", where=WHERE
            )
        reports: dict[str, pa.Table] = {}
        for definition in chosen:
            for report, sql in definition.reports.items():
                where = f"definition {definition.name}, report {report}"
                reports[report] = _arrow(spark, to_spark(sql, where=where), where)
        if not evidence:
            return EngineResult(scores=scores, evidence=no_evidence(), reports=reports)
        evidence_parts = [
            "SELECT CAST(patient_id AS STRING) AS patient_id, CAST(model AS STRING) AS model, "
            "CAST(component AS STRING) AS component, CAST(points AS DOUBLE) AS points, "
            f"CAST(evidence AS STRING) AS evidence FROM ("
            f"{steps.final(d.evidence_sql, f'definition {d.name}, evidence')}) AS e{i}"
            for i, d in enumerate(chosen)
        ]
        rows = _arrow(spark, " UNION ALL ".join(evidence_parts), "evidence")
        if tuple(rows.column_names) != EVIDENCE_COLUMNS:
            raise InvalidInput(f"evidence has the columns {rows.column_names}", where=WHERE)
        return EngineResult(scores=scores, evidence=rows, reports=reports)


def _run_session(base: SparkSession) -> SparkSession:
    """A session of the run's own (its temporary views meet no other run's) with the SQL settings of
    ``base`` (``newSession`` starts from the context's defaults), in UTC."""
    from pyspark.errors import PySparkException

    spark = base.newSession()
    for key, value in base.conf.getAll.items():
        if key.startswith("spark.sql.") and value is not None:
            try:
                spark.conf.set(key, value)
            except PySparkException:  # a static setting: the same in every session anyway
                continue
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    return spark


class _Steps:
    """Materialises definitions' statements, their WITH queries as steps of their own (see
    ``to_spark_steps``), each step stored once per run however many statements share it."""

    def __init__(self, spark: SparkSession, cached: list[DataFrame]) -> None:
        self.spark = spark
        self.cached = cached
        self.by_sql: dict[str, str] = {}

    def final(self, sql: str, where: str) -> str:
        """The Spark SQL of the statement's final SELECT, its WITH steps stored."""

        def step(cte: str, spark_sql: str) -> str:
            if spark_sql not in self.by_sql:
                name = f"step{len(self.by_sql) + 1}_{cte}"
                _materialise(self.spark, name, spark_sql, f"{where}, WITH {cte}", self.cached)
                self.by_sql[spark_sql] = name
            return self.by_sql[spark_sql]

        return to_spark_steps(sql, where=where, materialise=step)

    def view(self, name: str, sql: str, where: str) -> None:
        """Name the statement's rows ``name`` without storing them (an ``inline`` view)."""
        _sql(self.spark, self.final(sql, where), where).createOrReplaceTempView(name)

    def materialise(self, name: str, sql: str, where: str) -> DataFrame:
        return _materialise(self.spark, name, self.final(sql, where), where, self.cached)


def _materialise(spark: SparkSession, name: str, sql: str, where: str, cached: list[DataFrame]) -> DataFrame:
    """Run ``sql``, keep its rows and name them ``name`` (DuckDB's ``CREATE TABLE name AS``).

    A local checkpoint, not a cache: it cuts the lineage, so a later definition reading ``name`` plans
    over the stored rows instead of inlining every step that made them (planning the programs
    definition over the inlined CMS-HCC steps exhausts the driver's heap)."""
    from pyspark.storagelevel import StorageLevel

    frame = _sql(spark, sql, where)
    stored = _guard(
        lambda: frame.localCheckpoint(eager=True, storageLevel=StorageLevel.MEMORY_AND_DISK), where
    )
    cached.append(stored)
    # Fresh column ids: the checkpointed rows keep the ids of the columns they were computed from, and a
    # statement joining them to those sources (``inpatient_discharges`` beside ``encounters``) would
    # then hold one id on both sides, which Spark's analyzer does not always tell apart.
    renamed = _guard(partial(stored.toDF, *stored.columns), where)
    renamed.createOrReplaceTempView(name)
    return renamed


def _sql(spark: SparkSession, sql: str, where: str) -> DataFrame:
    return _guard(lambda: spark.sql(sql), where)


def _arrow(spark: SparkSession, sql: str, where: str) -> pa.Table:
    """The rows of ``sql`` as an Arrow table typed as DuckDB's would be: every field nullable, no
    metadata, strings as ``string``."""
    table = _guard(lambda: spark.sql(sql).toArrow(), where)
    return arrow_like_duckdb(table)


def arrow_like_duckdb(table: pa.Table) -> pa.Table:
    """``table`` with the schema DuckDB's Arrow export gives the same columns: every field nullable,
    no schema metadata, large strings as strings, time zone-less timestamps (Spark's are UTC)."""
    fields = []
    for field in table.schema:
        kind = field.type
        if pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
            kind = pa.string()
        elif pa.types.is_timestamp(kind):
            kind = pa.timestamp("us")
        fields.append(pa.field(field.name, kind, nullable=True))
    schema = pa.schema(fields)
    return (
        pa.Table.from_batches([batch.cast(schema) for batch in table.to_batches()], schema=schema)
        if table.num_rows
        else schema.empty_table()
    )


def _guard(action: Callable[[], T], where: str) -> T:
    """Run ``action``; a Spark failure becomes ``InvalidInput`` naming ``where``."""
    from py4j.protocol import Py4JError  # type: ignore[import-untyped]
    from pyspark.errors import PySparkException

    try:
        return action()
    except (PySparkException, Py4JError) as exc:
        raise InvalidInput(f"Spark: {_first_line(exc)}", where=where) from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


__all__ = ["DEFAULT_MASTER", "SparkEngine", "arrow_like_duckdb", "spark_session"]
