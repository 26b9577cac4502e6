"""What a population model is: reference tables plus SQL, written once for every engine."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from carenav.errors import InvalidInput

TABLES_DIR = Path(__file__).parent / "tables"


@dataclass(frozen=True)
class Definition:
    """One model (a score, a set of flags) over the snapshot.

    ``tables``: reference tables this model needs, by table name -> CSV file under ``tables/``
    (first line = column names; lines starting with ``#`` before it cite the source). Loaded as-is
    into the engine, all columns as text unless ``typed`` names a type (DuckDB names: INTEGER,
    DOUBLE, DATE, BOOLEAN).
    ``scores_sql``: one SELECT, DuckDB dialect, producing exactly one row per ``patient_id`` of the
    ``patients`` snapshot table with the ``columns`` (patients without evidence get zeros, not NULLs,
    unless NULL means "not applicable", e.g. no discharge for LACE). It may read the snapshot tables,
    its reference tables, ``params`` (one row: ``as_of DATE``) and the outputs of the definitions it
    ``depends_on`` (a table named after each, with its columns).
    Inside an engine ``patient_id`` is an opaque key (the DuckDB engine numbers the patients and joins
    on integers): join and group on it, never print or parse it; the engine hands the FHIR ids back in
    the scores and the evidence.
    ``evidence_sql``: one SELECT producing the explanation rows: ``patient_id, model, component,
    points DOUBLE, evidence VARCHAR`` (which codes, which encounter, which dates), so that every score
    can explain itself for one patient. Points of a patient's rows add up to its score where the model
    is additive.
    ``views``: named SELECTs the engine creates (in order, before ``scores_sql``) as views that this
    definition and every definition run after it may read (the crosswalk's ``dx_icd10``, say). The
    engine stores their rows, as it does the scores, so that a view read by several statements is
    computed once; but for the names in ``inline``: views cheap enough to compute at every read (a
    filter or projection of one stored table), whose storing would cost more than it saves.
    ``reports``: named SELECTs over the same tables whose rows the engine hands back beside the scores
    (the run summary: SNOMED CT codes the crosswalk does not map, say); not per patient.
    """

    name: str
    columns: tuple[str, ...]
    scores_sql: str
    evidence_sql: str
    tables: dict[str, str] = field(default_factory=dict)
    typed: dict[str, dict[str, str]] = field(default_factory=dict)
    depends_on: tuple[str, ...] = ()
    version: str = "1"
    views: dict[str, str] = field(default_factory=dict)
    inline: frozenset[str] = frozenset()
    reports: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = sorted(self.inline - set(self.views))
        if unknown:
            raise InvalidInput(f"inline names no view: {', '.join(unknown)}", where=f"definition {self.name}")

    def table_paths(self) -> dict[str, Path]:
        return {name: TABLES_DIR / file for name, file in self.tables.items()}


def prefix_match(code: str, prefix: str) -> str:
    """The join condition "``code`` starts with ``prefix``" for reference prefixes of 3 to 5 characters
    (the ICD-10-CM prefix tables; tested): an equi-join on the first 3 characters, so each code is one
    hash probe, and a filter on the rest. Portable SQL (Spark reads it unchanged)."""
    return (
        f"SUBSTRING({prefix}, 1, 3) = SUBSTRING({code}, 1, 3) "
        f"AND SUBSTRING({code}, 1, LENGTH({prefix})) = {prefix}"
    )


def read_reference_table(path: Path) -> tuple[list[str], list[list[str | None]]]:
    """Column names and rows of a reference CSV: ``#`` lines before the header cite the source; empty
    cells are NULL."""
    if not path.is_file():
        raise InvalidInput("reference table is missing", where=str(path))
    with path.open(newline="", encoding="utf-8") as handle:
        lines = [line for line in handle if not line.startswith("#") and line.strip()]
    reader = csv.reader(lines)
    header = next(reader, None)
    if not header:
        raise InvalidInput("reference table has no header line", where=str(path))
    rows: list[list[str | None]] = []
    for number, row in enumerate(reader, start=2):
        if len(row) != len(header):
            raise InvalidInput(
                f"row has {len(row)} cells, the header {len(header)}", where=f"{path.name}, data row {number}"
            )
        rows.append([cell if cell != "" else None for cell in row])
    return header, rows
