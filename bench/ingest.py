"""Benchmark of `carenav import` on the 40 Synthea bundles: parse-only vs SQLite vs PostgreSQL.

Run: .venv/bin/python bench/ingest.py [--profile sqlite|postgresql]
Makes its own temporary SQLite files and PostgreSQL databases (CARENAV_TEST_PG, default
postgresql://postgres@127.0.0.1:5432/test), all dropped afterwards. Targets: SQLite within 4x of
parse-only time, PostgreSQL within 8x.

Like is compared with like: both sides are the best of ROUNDS runs (each first import into a fresh,
empty database; the range is printed too), and parse-only runs with the cyclic garbage collector
paused, as ``fhir_import`` runs. With the collector running, each parse rescans the ~100,000 objects
this process holds (SQLAlchemy, psycopg...) and parse-only looks three to four times slower than
the parse inside the import really is; that figure is printed for reference, never used as the base.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
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


def parse_only(files: list[Path], *, collector: bool = False) -> tuple[float, int]:
    """Best seconds of reading and parsing every file, resources seen. ``collector``: leave the cyclic
    garbage collector running (the import pauses it, so by default this pauses it too)."""
    best, count = float("inf"), 0
    collecting = gc.isenabled()
    if not collector:
        gc.disable()
    try:
        for _ in range(ROUNDS):
            started = time.perf_counter()
            count = sum(len(orjson.loads(path.read_bytes())["entry"]) for path in files)
            best = min(best, time.perf_counter() - started)
    finally:
        if collecting:
            gc.enable()
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


def first_import(kind: str, profile: bool) -> tuple[float, float, int]:
    """Seconds of a first import (empty database) and of a re-import (nothing changed), resources."""
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
                pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        engine.dispose()
    return timings[0], timings[1], resources


def run_import(kind: str, profile: bool) -> tuple[list[float], list[float], int]:
    """ROUNDS first imports, each into a fresh database, and the re-import after each."""
    firsts, agains, seen = [], [], 0
    for round_number in range(ROUNDS):
        first, again, seen = first_import(kind, profile and round_number == 0)
        firsts.append(first)
        agains.append(again)
    return firsts, agains, seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", choices=["sqlite", "postgresql"], help="print a cProfile of that import")
    args = parser.parse_args()
    files = sorted(DATA.glob("*.json"))
    size = sum(path.stat().st_size for path in files)
    parse_seconds, resources = parse_only(files)
    collected_seconds, _ = parse_only(files, collector=True)
    print(f"{len(files)} bundles, {size / 1e6:.1f} MB, {resources} resources; best of {ROUNDS} runs (range)")
    print(f"{'parse only (orjson)':<32}{parse_seconds:8.3f} s {resources / parse_seconds:10.0f} resources/s")
    print(
        f"{'  (with the collector running)':<32}{collected_seconds:8.3f} s  (not the base: see the docstring)"
    )
    targets = {"sqlite": 4, "postgresql": 8}
    for kind, target in targets.items():
        firsts, agains, seen = run_import(kind, args.profile == kind)
        first, again = min(firsts), min(agains)
        ratio = first / parse_seconds
        verdict = "meets" if ratio <= target else "MISSES"
        print(
            f"{'import ' + kind:<32}{first:8.3f} s {seen / first:10.0f} resources/s"
            f"  {ratio:5.1f}x parse ({verdict} target {target}x)  range {min(firsts):.3f}-{max(firsts):.3f} s"
        )
        print(
            f"{'re-import ' + kind + ' (unchanged)':<32}{again:8.3f} s {seen / again:10.0f} resources/s"
            f"  range {min(agains):.3f}-{max(agains):.3f} s"
        )


if __name__ == "__main__":
    main()
