"""Benchmark of `carenav import` on the 40 Synthea bundles: parse-only vs SQLite vs PostgreSQL.

Run: .venv/bin/python bench/ingest.py [--profile sqlite|postgresql]
Makes its own temporary SQLite file and PostgreSQL database (CARENAV_TEST_PG, default
postgresql://postgres@127.0.0.1:5432/test), both dropped afterwards. Targets: SQLite within 4x of
parse-only time, PostgreSQL within 8x.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import psycopg

from carenav.access import Actor
from carenav.accounts.services import organization_create
from carenav.db.engine import make_engine
from carenav.db.migrate import upgrade
from carenav.db.session import make_session_factory, unit_of_work
from carenav.ingest.fhir.driver import ImportLimits, fhir_import

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "synthea-r4"
PG_ADMIN = os.environ.get("CARENAV_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
LIMITS = ImportLimits(max_file_bytes=256 * 1024 * 1024, max_line_bytes=16 * 1024 * 1024)
ROUNDS = 3


def parse_only(files: list[Path]) -> tuple[float, int]:
    best, count = float("inf"), 0
    for _ in range(ROUNDS):
        started = time.perf_counter()
        count = sum(len(orjson.loads(path.read_bytes())["entry"]) for path in files)
        best = min(best, time.perf_counter() - started)
    return best, count


@contextmanager
def database(kind: str) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    name = f"carenav_bench_{os.getpid()}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + f"/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_import(kind: str, profile: bool) -> tuple[float, float, int]:
    """Seconds for a first import (empty database) and a re-import (nothing changed), resources seen."""
    with database(kind) as url:
        engine = make_engine(url)
        upgrade(engine)
        sessions = make_session_factory(engine)
        with unit_of_work(sessions) as session:
            org = organization_create(session=session, slug="bench", name="Bench", timezone="UTC")
            actor = Actor.operator(org.id, "bench")
        timings = []
        resources = 0
        for round_number in range(2):
            profiler = cProfile.Profile() if profile and round_number == 0 else None
            started = time.perf_counter()
            if profiler:
                profiler.enable()
            with unit_of_work(sessions) as session:
                summary = fhir_import(session=session, actor=actor, paths=[DATA], limits=LIMITS)
            if profiler:
                profiler.disable()
            timings.append(time.perf_counter() - started)
            assert not summary.failed, summary.as_text()
            resources = sum(sum(c.values()) for c in summary.counts.values())
            if profiler:
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
        engine.dispose()
    return timings[0], timings[1], resources


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", choices=["sqlite", "postgresql"], help="print a cProfile of that import")
    args = parser.parse_args()
    files = sorted(DATA.glob("*.json"))
    size = sum(path.stat().st_size for path in files)
    parse_seconds, resources = parse_only(files)
    print(f"{len(files)} bundles, {size / 1e6:.1f} MB, {resources} resources")
    print(f"{'parse only (orjson)':<28}{parse_seconds:8.3f} s {resources / parse_seconds:10.0f} resources/s")
    targets = {"sqlite": 4, "postgresql": 8}
    for kind, target in targets.items():
        first, again, seen = run_import(kind, args.profile == kind)
        ratio = first / parse_seconds
        verdict = "meets" if ratio <= target else "MISSES"
        print(
            f"{'import ' + kind:<28}{first:8.3f} s {seen / first:10.0f} resources/s"
            f"  {ratio:5.1f}x parse ({verdict} target {target}x)"
        )
        print(f"{'re-import ' + kind + ' (unchanged)':<28}{again:8.3f} s {seen / again:10.0f} resources/s")


if __name__ == "__main__":
    main()
