"""Benchmark of ``carenav synth``: patients/s, resources/s, MB/s and peak memory, extrapolated to 1M.

    .venv/bin/python bench/synth.py [--patients 20000] [--workers 1 2] [--seed 1]

Writes to a temporary directory that is removed afterwards. Peak memory is the maximum resident set size
(resource.getrusage) of this process and of the worker processes it waited for.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
from pathlib import Path

from carenav.synth.generate import generate_population


def _peak_mb(who: int) -> float:
    kilobytes = resource.getrusage(who).ru_maxrss  # kB on Linux
    return kilobytes / 1024 if sys.platform != "darwin" else kilobytes / 1024 / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=20_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    for workers in args.workers:
        with tempfile.TemporaryDirectory(prefix="carenav-synth-bench-") as tmp:
            summary = generate_population(
                Path(tmp) / "out", patients=args.patients, seed=args.seed, workers=workers
            )
        per_patient = summary.resources / summary.patients
        million_seconds = 1_000_000 / summary.patients_per_second
        print(
            f"workers={workers} patients={summary.patients:,} resources={summary.resources:,} "
            f"({per_patient:.1f}/patient) bytes={summary.bytes_written / 1e6:,.0f} MB "
            f"time={summary.seconds:.1f}s"
        )
        print(
            f"  {summary.patients_per_second:,.0f} patients/s, "
            f"{summary.resources_per_second:,.0f} resources/s, "
            f"{summary.bytes_written / 1e6 / summary.seconds:,.0f} MB/s"
        )
        print(
            f"  peak RSS: parent {_peak_mb(resource.RUSAGE_SELF):,.0f} MB, "
            f"largest worker {_peak_mb(resource.RUSAGE_CHILDREN):,.0f} MB"
        )
        print(
            f"  extrapolated to 1,000,000 patients: {million_seconds / 60:.1f} min, "
            f"{summary.bytes_written / summary.patients * 1e6 / 1e9:,.1f} GB"
        )
        for name, count in summary.counts.items():
            print(f"    {name:<18} {count / summary.patients:6.2f} per patient")


if __name__ == "__main__":
    main()
