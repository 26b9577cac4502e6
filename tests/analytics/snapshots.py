"""Building small snapshots in tests: rows as dicts (missing columns NULL), written as Parquet, scored."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from carenav.analytics.definition import Definition
from carenav.analytics.engines import EVIDENCE_COLUMNS, EngineResult
from carenav.analytics.engines.duckdb_engine import DuckDBEngine
from carenav.analytics.snapshot import SNAPSHOT_SCHEMA
from carenav.analytics.sources.parquet import SnapshotWriter

AS_OF = date(2025, 6, 30)


@dataclass
class Population:
    """Rows per snapshot table; ``patient(...)``, ``dx(...)``, ``stay(...)`` add typical rows."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {t: [] for t in SNAPSHOT_SCHEMA})
    _numbers: int = 0

    def patient(self, patient_id: str, *, birth: date | None = date(1950, 1, 1), **values: Any) -> str:
        self.rows["patients"].append(
            {"patient_id": patient_id, "birth_date": birth, "sex": "female", "deceased": False, **values}
        )
        return patient_id

    def dx(
        self,
        patient_id: str,
        code: str,
        *,
        system: str = "icd10cm",
        onset: date | None = date(2020, 1, 1),
        active: bool = True,
        **values: Any,
    ) -> None:
        self.rows["diagnoses"].append(
            {
                "patient_id": patient_id,
                "system": system,
                "code": code,
                "onset_date": onset,
                "active": active,
                **values,
            }
        )

    def encounter(
        self, patient_id: str, kind: str, start: datetime, end: datetime | None = None, **values: Any
    ) -> str:
        self._numbers += 1
        encounter_id = values.pop("encounter_id", f"{patient_id}-e{self._numbers}")
        self.rows["encounters"].append(
            {
                "patient_id": patient_id,
                "encounter_id": encounter_id,
                "class": kind,
                "start_ts": start,
                "end_ts": end,
                **values,
            }
        )
        return encounter_id

    def write(self, directory: Path) -> Path:
        with SnapshotWriter(directory) as writer:
            for table, columns in SNAPSHOT_SCHEMA.items():
                for row in self.rows[table]:
                    unknown = set(row) - set(columns)
                    assert not unknown, f"{table} has no columns {unknown}"
                    writer.add(table, tuple(row.get(c) for c in columns))
        return directory

    def score(
        self, directory: Path, *, as_of: date = AS_OF, definitions: list[Definition] | None = None
    ) -> EngineResult:
        return DuckDBEngine(threads=1, memory_limit="500MB").run(
            snapshot=self.write(directory), as_of=as_of, definitions=definitions
        )


def by_patient(result: EngineResult) -> dict[str, dict[str, Any]]:
    return {row["patient_id"]: row for row in result.scores.to_pylist()}


def sorted_evidence(result: EngineResult) -> pa.Table:
    """The run's evidence rows sorted by every column (engines return them in no particular order)."""
    return result.evidence.sort_by([(column, "ascending") for column in EVIDENCE_COLUMNS])


def evidence_of(result: EngineResult, patient_id: str, model: str | None = None) -> list[dict[str, Any]]:
    """One patient's evidence rows (of one model), sorted by model, component, points and text."""
    return [
        row
        for row in sorted_evidence(result).to_pylist()
        if row["patient_id"] == patient_id and (model is None or row["model"] == model)
    ]
