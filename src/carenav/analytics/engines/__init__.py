"""Engines run the registered definitions over a snapshot. Every engine implements ``Engine`` and must
give the same per-patient results for the same snapshot, as-of date and definitions.

- ``duckdb`` (default): in-process, ``carenav.analytics.engines.duckdb_engine``.
- ``spark``: Apache Spark (PySpark), running the same SQL transpiled with sqlglot,
  ``carenav.analytics.engines.spark_engine`` (local mode, or ``CARENAV_SPARK_MASTER``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from carenav.errors import InvalidInput

if TYPE_CHECKING:
    import pyarrow as pa

    from carenav.analytics.definition import Definition

EVIDENCE_COLUMNS = ("patient_id", "model", "component", "points", "evidence")


@dataclass
class EngineResult:
    """``scores``: one row per patient, ``patient_id`` then every definition's columns, sorted by
    ``patient_id``. ``evidence``: the explanation rows (EVIDENCE_COLUMNS), in no particular order; no
    rows when the run was asked for none (``Engine.run(evidence=False)``). ``reports``: each
    definition's named reports (``unmapped_codes``...)."""

    scores: pa.Table
    evidence: pa.Table
    reports: dict[str, pa.Table] = field(default_factory=dict)


class Engine(Protocol):
    name: str

    def run(
        self,
        *,
        snapshot: Path,
        as_of: date,
        definitions: list[Definition] | None = None,
        evidence: bool = True,
    ) -> EngineResult:
        """Score every patient of the snapshot directory (``<table>.parquet`` per snapshot table).
        ``evidence=False``: the evidence rows are not computed (``EngineResult.evidence`` is empty)."""
        ...


def no_evidence() -> pa.Table:
    """The evidence of a run asked for none: no rows, the columns and types of EVIDENCE_COLUMNS."""
    import pyarrow as pa

    return pa.schema(
        [(name, pa.float64() if name == "points" else pa.string()) for name in EVIDENCE_COLUMNS]
    ).empty_table()


ENGINE_NAMES = ("duckdb", "spark")


def engine_named(name: str) -> Engine:
    """The engine called ``name``."""
    if name == "duckdb":
        from carenav.analytics.engines.duckdb_engine import DuckDBEngine

        return DuckDBEngine()
    if name == "spark":
        from carenav.analytics.engines.spark_engine import SparkEngine

        return SparkEngine()
    raise InvalidInput(f"unknown engine {name!r} (known: {', '.join(ENGINE_NAMES)})", where="--engine")
