"""Writing a snapshot directory: one Parquet file per snapshot table, streamed in row groups."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from carenav.analytics.snapshot import PARQUET_SUFFIX, SNAPSHOT_SCHEMA

ARROW_TYPES = {
    "VARCHAR": pa.string(),
    "DATE": pa.date32(),
    "BOOLEAN": pa.bool_(),
    "TIMESTAMP": pa.timestamp("us"),
    "INTEGER": pa.int32(),
    "DOUBLE": pa.float64(),
}
ROW_GROUP = 50_000


def arrow_schema(table: str) -> pa.Schema:
    return pa.schema([(name, ARROW_TYPES[kind]) for name, kind in SNAPSHOT_SCHEMA[table].items()])


class SnapshotWriter:
    """``add(table, row)`` with rows as tuples in SNAPSHOT_SCHEMA order; rows are buffered and written a
    row group at a time, so memory stays bounded. Every table gets a file, empty or not."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.buffers: dict[str, list[tuple[Any, ...]]] = {table: [] for table in SNAPSHOT_SCHEMA}
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.counts: dict[str, int] = dict.fromkeys(SNAPSHOT_SCHEMA, 0)

    def add(self, table: str, row: tuple[Any, ...]) -> None:
        buffer = self.buffers[table]
        buffer.append(row)
        self.counts[table] += 1
        if len(buffer) >= ROW_GROUP:
            self._flush(table)

    def _flush(self, table: str) -> None:
        rows = self.buffers[table]
        schema = arrow_schema(table)
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in schema.names]
        batch = pa.table(
            [pa.array(list(col), type=field.type) for col, field in zip(columns, schema, strict=True)],
            schema=schema,
        )
        writer = self.writers.get(table)
        if writer is None:
            writer = pq.ParquetWriter(self.directory / f"{table}{PARQUET_SUFFIX}", schema)
            self.writers[table] = writer
        writer.write_table(batch)
        rows.clear()

    def close(self) -> None:
        for table in SNAPSHOT_SCHEMA:
            if self.buffers[table] or table not in self.writers:
                self._flush(table)
            self.writers[table].close()

    def __enter__(self) -> SnapshotWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is None:
            self.close()
        else:
            for writer in self.writers.values():
                writer.close()
