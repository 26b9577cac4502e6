"""Charlson by comorbidipy 0.8.0, run inside the peers venv (Python 3.13: `make peers`).

    .venv-peers/bin/python bench/peers/comorbidipy_charlson.py IN.parquet OUT.parquet

IN: one row per (patient, diagnosis): ``id`` (string), ``code`` (ICD-10, dot-less upper case; an empty
string for a patient without diagnoses, so that comorbidipy still returns the patient and its age points),
``age`` (integer, NULL when unknown). OUT: one row per patient: ``id``, ``charlson`` (Quan 2005 mapping,
``weighting="charlson"``: the 1987 weights), ``charlson_age_adjusted`` (its ``age_adj_comorbidity_score``),
``charlson_quan2011`` (``weighting="quan"``) and one 0/1 column per category (after the hierarchy).
Prints one JSON line: seconds spent reading, scoring and writing, and the package versions.

comorbidipy's API (0.8.0, read from its source): ``comorbidity(df, id_col=, code_col=, age_col=,
score="charlson", icd="icd10", variant="quan", weighting=..., assign0=True)``; the age-adjusted score is only
computed with ``weighting="charlson"`` and an age column; patients appear only if they have a row.
"""

from __future__ import annotations

import json
import sys
import time

import comorbidipy
import polars as pl
from comorbidipy import comorbidity

CATEGORIES = [
    "ami",
    "chf",
    "pvd",
    "cevd",
    "dementia",
    "copd",
    "rheumd",
    "pud",
    "mld",
    "diab",
    "diabwc",
    "hp",
    "rend",
    "canc",
    "msld",
    "metacanc",
    "aids",
]


def main(source: str, target: str) -> None:
    started = time.perf_counter()
    frame = pl.read_parquet(source, columns=["id", "code", "age"])
    read = time.perf_counter()
    common = {
        "id_col": "id",
        "code_col": "code",
        "score": "charlson",
        "icd": "icd10",
        "variant": "quan",
        "assign0": True,
    }
    original = comorbidity(frame, age_col="age", weighting="charlson", **common)
    quan = comorbidity(frame, weighting="quan", **common)
    result = original.select(
        pl.col("id"),
        pl.col("comorbidity_score").cast(pl.Int64).alias("charlson"),
        pl.col("age_adj_comorbidity_score").cast(pl.Int64).alias("charlson_age_adjusted"),
        *[pl.col(c).cast(pl.Int8) for c in CATEGORIES],
    ).join(
        quan.select(pl.col("id"), pl.col("comorbidity_score").cast(pl.Int64).alias("charlson_quan2011")),
        on="id",
        how="left",
    )
    scored = time.perf_counter()
    result.write_parquet(target)
    written = time.perf_counter()
    print(
        json.dumps(
            {
                "rows_in": frame.height,
                "patients_out": result.height,
                "read_s": read - started,
                "score_s": scored - read,
                "write_s": written - scored,
                "comorbidipy": comorbidipy.__version__,
                "polars": pl.__version__,
                "python": sys.version.split()[0],
            }
        )
    )


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
