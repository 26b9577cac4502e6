"""Streaming NDJSON output in the FHIR Bulk Data layout: one ``<Type>.ndjson`` per resource type."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import IO

import orjson

from carenav.errors import InvalidInput

OUTPUT_TYPES: tuple[str, ...] = (
    "Patient",
    "Coverage",
    "Encounter",
    "Condition",
    "Observation",
    "MedicationRequest",
    "Organization",
    "Practitioner",
)
MANIFEST = "manifest.json"
_BUFFER = 1 << 20


def prepare_output_dir(out: Path, *, force: bool) -> None:
    """Create ``out``; refuse a non-empty one unless ``force`` (then our files are overwritten)."""
    if out.exists() and not out.is_dir():
        raise InvalidInput("is not a directory", where=str(out))
    if out.is_dir() and any(out.iterdir()) and not force:
        raise InvalidInput(
            "directory is not empty (use --force to overwrite the generated files)", where=str(out)
        )
    out.mkdir(parents=True, exist_ok=True)


class NdjsonWriter:
    """Appends already-serialised NDJSON chunks to one file per type and counts lines and bytes."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.counts: dict[str, int] = dict.fromkeys(OUTPUT_TYPES, 0)
        self.bytes_written = 0
        self._files: dict[str, IO[bytes]] = {}

    def __enter__(self) -> NdjsonWriter:
        for name in OUTPUT_TYPES:
            self._files[name] = (self.out / f"{name}.ndjson").open("wb", buffering=_BUFFER)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for handle in self._files.values():
            handle.close()
        self._files.clear()

    def write_chunk(self, resource_type: str, data: bytes, count: int) -> None:
        if data:
            self._files[resource_type].write(data)
            self.bytes_written += len(data)
        self.counts[resource_type] += count

    def write_manifest(self, transaction_time: str, request: str) -> None:
        """A Bulk Data style manifest (relative file names as ``url``), deterministic for a run."""
        manifest = {
            "transactionTime": transaction_time,
            "request": request,
            "requiresAccessToken": False,
            "output": [
                {"type": name, "url": f"{name}.ndjson", "count": self.counts[name]} for name in OUTPUT_TYPES
            ],
            "error": [],
        }
        (self.out / MANIFEST).write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n")


def serialise(resources: list[dict[str, object]]) -> bytes:
    """NDJSON lines for a list of resources (each line ends with a newline)."""
    if not resources:
        return b""
    dumps = orjson.dumps
    return b"\n".join([dumps(resource) for resource in resources]) + b"\n"
