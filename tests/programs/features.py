"""Feature tables for compiler tests: the output tables of the definitions the rules read, in DuckDB."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import duckdb

from carenav.programs.rules import FEATURES, FeatureType, Scalar


def column_type(name: str) -> str:
    feature = FEATURES[name]
    if feature.type is FeatureType.BOOLEAN:
        return "BOOLEAN"
    return "INTEGER" if feature.integer else "DOUBLE"


def feature_database(
    rows: Sequence[Mapping[str, Scalar | None]], *, missing: Mapping[str, set[int]] | None = None
) -> duckdb.DuckDBPyConnection:
    """A DuckDB with ``patients`` (p0, p1, ...) and one table per feature source holding every feature of
    that source. ``missing``: source -> row numbers left out of that table (a LEFT JOIN miss)."""
    db = duckdb.connect(":memory:")
    db.execute("CREATE TABLE patients (patient_id VARCHAR)")
    db.executemany("INSERT INTO patients VALUES (?)", [[f"p{i}"] for i in range(len(rows))])
    sources: dict[str, list[str]] = {}
    for name, feature in sorted(FEATURES.items()):
        sources.setdefault(feature.source, []).append(name)
    for source, names in sources.items():
        columns = ", ".join(f'"{n}" {column_type(n)}' for n in names)
        db.execute(f'CREATE TABLE "{source}" (patient_id VARCHAR, {columns})')
        skip = (missing or {}).get(source, set())
        values = [[f"p{i}", *(row.get(n) for n in names)] for i, row in enumerate(rows) if i not in skip]
        if values:
            marks = ", ".join("?" for _ in range(len(names) + 1))
            db.executemany(f'INSERT INTO "{source}" VALUES ({marks})', values)  # noqa: S608
    return db
