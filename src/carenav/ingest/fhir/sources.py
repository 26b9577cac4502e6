"""Finding the files of an import and reading them: Bundle/resource JSON, Bulk Data NDJSON, HL7 v2.

Order is deterministic: the paths as given, a directory's files sorted by relative path; all JSON
files first, then NDJSON files by resource type (Organization, Practitioner, Patient, then what
references patients), so that every patient is known before anything that points at it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from carenav.ingest.fhir.registry import TYPE_ORDER

BUNDLE = "bundle"
NDJSON = "ndjson"
HL7V2 = "hl7v2"
SUFFIXES = {".json": BUNDLE, ".ndjson": NDJSON, ".hl7": HL7V2}
_TYPE_NAME = re.compile(r"^[A-Z][A-Za-z]{1,63}$")
_STEM_TYPE = re.compile(r"^([A-Z][A-Za-z]+)")


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: Path
    kind: str
    label: str  # how errors name the file: the path as given, or relative to the directory given

    @property
    def declared_type(self) -> str | None:
        """The resource type an NDJSON file's name declares (``Patient.ndjson``, ``Patient.000.ndjson``)."""
        match = _STEM_TYPE.match(self.path.name)
        return match.group(1) if match and self.kind == NDJSON else None


class SourceProblem(Exception):
    """A whole file cannot be read (missing, too big, not JSON, not FHIR)."""


def source_files(paths: Sequence[Path]) -> tuple[list[SourceFile], list[tuple[str, str]]]:
    """The files to import, in order, and (path, reason) for paths that cannot be used."""
    found: list[SourceFile] = []
    missing: list[tuple[str, str]] = []
    for path in paths:
        if path.is_dir():
            for child in sorted(
                (p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES),
                key=lambda p: p.relative_to(path).as_posix(),
            ):
                found.append(SourceFile(child, SUFFIXES[child.suffix.lower()], str(child)))
        elif path.is_file():
            kind = SUFFIXES.get(path.suffix.lower())
            if kind is None:
                missing.append((str(path), "not a .json, .ndjson or .hl7 file"))
            else:
                found.append(SourceFile(path, kind, str(path)))
        else:
            missing.append((str(path), "no such file or directory"))
    rank = {name: number for number, name in enumerate(TYPE_ORDER)}
    ndjson = sorted(
        (f for f in found if f.kind == NDJSON),
        key=lambda f: (rank.get(f.declared_type or "", len(rank)), f.label),
    )
    return [f for f in found if f.kind != NDJSON] + ndjson, missing


def read_json_file(source: SourceFile, max_bytes: int) -> dict[str, Any]:
    size = source.path.stat().st_size
    if size > max_bytes:
        raise SourceProblem(
            f"file is {size} bytes, over the import limit of {max_bytes} (CARENAV_IMPORT_MAX_FILE_BYTES)"
        )
    try:
        document = orjson.loads(source.path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise SourceProblem(f"not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise SourceProblem("not a FHIR resource: the file holds a JSON " + type(document).__name__)
    return document


def ndjson_lines(source: SourceFile, max_bytes: int) -> Iterator[tuple[int, bytes | None]]:
    """(line number, line) for each non-blank line; ``None`` for a line over ``max_bytes``."""
    with source.path.open("rb") as stream:
        number = 0
        while True:
            line = stream.readline(max_bytes + 1)
            if not line:
                return
            number += 1
            if len(line) > max_bytes and not (len(line) == max_bytes + 1 and line.endswith(b"\n")):
                while line and not line.endswith(b"\n"):
                    line = stream.readline(max_bytes + 1)
                yield number, None
                continue
            if line.strip():
                yield number, line


def is_type_name(value: Any) -> bool:
    return isinstance(value, str) and _TYPE_NAME.match(value) is not None
