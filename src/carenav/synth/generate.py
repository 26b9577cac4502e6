"""Generate a synthetic population into a Bulk Data directory: the public API of ``carenav.synth``.

    summary = generate_population(Path("out"), patients=1000, seed=7)

Patients are generated in batches (by one process, or by ``workers`` processes whose batches are written
in order), so memory stays bounded and the files are byte-identical whatever the worker count.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from carenav.errors import InvalidInput
from carenav.synth.codes import JSON
from carenav.synth.ids import MAX_PATIENTS, seed_tag
from carenav.synth.network import Network, build_network
from carenav.synth.patient import RESOURCE_TYPES, synthesize_patient
from carenav.synth.writer import OUTPUT_TYPES, NdjsonWriter, prepare_output_dir, serialise

DEFAULT_AS_OF = date(2025, 6, 30)
"""The default as-of date: fixed, so that a run is reproducible without naming one."""
BATCH_SIZE = 500
MAX_SEED = (1 << 63) - 1

Chunk = tuple[dict[str, bytes], dict[str, int]]


@dataclass(frozen=True)
class SynthSummary:
    out: Path
    patients: int
    seed: int
    as_of: date
    workers: int
    counts: dict[str, int]
    bytes_written: int
    seconds: float

    @property
    def resources(self) -> int:
        return sum(self.counts.values())

    @property
    def patients_per_second(self) -> float:
        return self.patients / self.seconds if self.seconds > 0 else 0.0

    @property
    def resources_per_second(self) -> float:
        return self.resources / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "out": str(self.out),
            "patients": self.patients,
            "seed": self.seed,
            "as_of": self.as_of.isoformat(),
            "workers": self.workers,
            "counts": self.counts,
            "resources": self.resources,
            "bytes": self.bytes_written,
            "seconds": round(self.seconds, 3),
            "patients_per_second": round(self.patients_per_second, 1),
            "resources_per_second": round(self.resources_per_second, 1),
        }


@cache
def _network(seed: int) -> Network:
    return build_network(seed, seed_tag(seed))


def validate_arguments(*, patients: int, seed: int, workers: int) -> None:
    if patients < 1 or patients >= MAX_PATIENTS:
        raise InvalidInput(f"must be between 1 and {MAX_PATIENTS - 1}, got {patients}", where="--patients")
    if seed < 0 or seed > MAX_SEED:
        raise InvalidInput(f"must be between 0 and {MAX_SEED}, got {seed}", where="--seed")
    if workers < 1:
        raise InvalidInput(f"must be at least 1, got {workers}", where="--workers")


def iter_patients(
    *, seed: int, start: int, stop: int, as_of: date = DEFAULT_AS_OF
) -> Iterator[dict[str, list[JSON]]]:
    """The resources of patients ``start`` .. ``stop - 1``, one dict (type -> resources) per patient."""
    tag = seed_tag(seed)
    network = _network(seed)
    day = as_of.toordinal()
    for index in range(start, stop):
        yield synthesize_patient(tag, seed, index, day, network)


def _generate_chunk(task: tuple[int, int, int, int]) -> Chunk:
    seed, start, stop, as_of_ordinal = task
    tag = seed_tag(seed)
    network = _network(seed)
    grouped: dict[str, list[JSON]] = {name: [] for name in RESOURCE_TYPES}
    for index in range(start, stop):
        for name, resources in synthesize_patient(tag, seed, index, as_of_ordinal, network).items():
            grouped[name].extend(resources)
    return (
        {name: serialise(resources) for name, resources in grouped.items()},
        {name: len(resources) for name, resources in grouped.items()},
    )


def _chunks(seed: int, patients: int, as_of: date, workers: int, batch_size: int) -> Iterator[Chunk]:
    tasks = [
        (seed, start, min(start + batch_size, patients), as_of.toordinal())
        for start in range(0, patients, batch_size)
    ]
    if workers == 1 or len(tasks) == 1:
        for task in tasks:
            yield _generate_chunk(task)
        return
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    with context.Pool(processes=workers) as pool:
        yield from pool.imap(_generate_chunk, tasks, chunksize=1)


def generate_population(
    out: Path,
    *,
    patients: int,
    seed: int,
    as_of: date = DEFAULT_AS_OF,
    force: bool = False,
    workers: int = 1,
    batch_size: int = BATCH_SIZE,
) -> SynthSummary:
    """Write ``patients`` synthetic patients (and the care network) as FHIR R4 NDJSON under ``out``."""
    validate_arguments(patients=patients, seed=seed, workers=workers)
    prepare_output_dir(out, force=force)
    began = time.perf_counter()
    network = _network(seed)
    with NdjsonWriter(out) as writer:
        writer.write_chunk("Organization", serialise(list(network.organizations)), len(network.organizations))
        writer.write_chunk("Practitioner", serialise(list(network.practitioners)), len(network.practitioners))
        for data, counts in _chunks(seed, patients, as_of, workers, max(1, batch_size)):
            for name in RESOURCE_TYPES:
                writer.write_chunk(name, data[name], counts[name])
        writer.write_manifest(
            f"{as_of.isoformat()}T00:00:00Z",
            f"carenav synth --patients {patients} --seed {seed} --as-of {as_of.isoformat()}",
        )
    seconds = time.perf_counter() - began
    return SynthSummary(
        out=out,
        patients=patients,
        seed=seed,
        as_of=as_of,
        workers=workers,
        counts={name: writer.counts[name] for name in OUTPUT_TYPES},
        bytes_written=writer.bytes_written,
        seconds=seconds,
    )
