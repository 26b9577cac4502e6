"""Reading an Open Referral HSDS directory (1.1 or 3.0 CSV, with or without ``datapackage.json``) into plain
records, with every fault found: the file, the row (its line in the file) and the reason. Pure: no SQL.

- The files are found through ``datapackage.json`` when there is one (its paths are tried beside it and
  in ``data/``, as real exports differ); a file it lists but that is absent is reported and read as empty.
  Without a descriptor, the CSVs beside it or in ``data/`` are read.
- Columns are matched by header name, never by position; values are trimmed; the literal two characters
  ``\\n`` that some exports write for a line break become one.
- Ids are per table (a service and a location may share an id). A row without its id is refused; a
  reference to a row that does not exist is reported, and the row is kept without the link.
- Opening times are read from 12- and 24-hour text (``9:00am``, ``9am``, ``17:30``, ``10:00:00``); a time
  that cannot be read is reported with its row and the day is kept without hours.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any

from carenav.errors import InvalidInput

DESCRIPTOR = "datapackage.json"
WEEKDAYS = {
    "monday": 1, "tuesday": 2, "wednesday": 3, "thursday": 4, "friday": 5, "saturday": 6, "sunday": 7,
    "mo": 1, "tu": 2, "we": 3, "th": 4, "fr": 5, "sa": 6, "su": 7,
}  # fmt: skip
_TIME = re.compile(r"^(\d{1,2})(?::(\d{2}))?(?::(\d{2}))?\s*([ap])?\.?\s*m?\.?$")


@dataclass(frozen=True)
class Problem:
    """A fault in the directory: where (file and line) and what. ``refused``: the row was left out;
    otherwise it was kept without what was wrong."""

    file: str
    row: int | None
    reason: str
    refused: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"file": self.file, "row": self.row, "reason": self.reason}


@dataclass
class Directory:
    """The directory as read: records by table, each a dict of normalized fields with its ``id``."""

    version: str
    name: str
    organizations: dict[str, dict[str, Any]] = field(default_factory=dict)
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    locations: dict[str, dict[str, Any]] = field(default_factory=dict)
    service_locations: list[tuple[str, str]] = field(default_factory=list)
    phones: list[dict[str, Any]] = field(default_factory=list)
    languages: list[dict[str, Any]] = field(default_factory=list)
    schedules: list[dict[str, Any]] = field(default_factory=list)
    terms: list[dict[str, Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    rows_read: dict[str, int] = field(default_factory=dict)

    def warn(self, file: str, row: int | None, reason: str) -> None:
        self.problems.append(Problem(file, row, reason))

    def refuse(self, file: str, row: int | None, reason: str) -> None:
        self.problems.append(Problem(file, row, reason, refused=True))


Row = tuple[int, dict[str, str]]


class _Files:
    """The directory's CSV files by table file name (``services.csv``), found through the descriptor."""

    def __init__(self, folder: Path, directory: Directory, listed: Mapping[str, Path | None]) -> None:
        self.folder = folder
        self.directory = directory
        self.listed = listed

    def rows(self, name: str) -> Iterator[Row]:
        path = self.listed.get(name)
        if path is None:
            return
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            count = 0
            for line, raw in enumerate(reader, start=2):
                count += 1
                yield line, {k.strip(): _clean(v) for k, v in raw.items() if k is not None}
            self.directory.rows_read[name] = count


def _clean(value: str | list[str] | None) -> str:
    if value is None or isinstance(value, list):
        return ""
    return value.strip().replace("\\n", "\n")


def hsds_read(folder: Path) -> Directory:
    """Read the HSDS directory in ``folder``; InvalidInput when it is not one at all."""
    if not folder.is_dir():
        raise InvalidInput("not a folder", where=str(folder))
    descriptor = folder / DESCRIPTOR
    listed: dict[str, Path | None] = {}
    name = folder.name
    version = ""
    directory = Directory(version="", name=name)
    if descriptor.is_file():
        try:
            package = json.loads(descriptor.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise InvalidInput(f"not readable JSON ({exc})", where=str(descriptor)) from exc
        version = str(package.get("version", ""))
        name = str(package.get("name") or name)
        for resource in package.get("resources", []):
            path = str(resource.get("path", ""))
            file_name = Path(path).name
            found = next((p for p in (folder / path, folder / "data" / file_name) if p.is_file()), None)
            listed[file_name] = found
            if found is None:
                directory.warn(file_name, None, f"listed in {DESCRIPTOR} but absent: read as empty")
    for place in (folder, folder / "data"):
        for csv_path in sorted(place.glob("*.csv")):
            listed.setdefault(csv_path.name, csv_path)
    if not any(listed.values()):
        raise InvalidInput("no HSDS CSV files here (nor in data/)", where=str(folder))
    directory.version = (
        "3.0" if version.startswith("3") or "schedules.csv" in listed or "addresses.csv" in listed else "1.1"
    )
    directory.name = name
    files = _Files(folder, directory, listed)
    _organizations(files, directory)
    _services(files, directory)
    _locations(files, directory)
    _links(files, directory)
    return directory


def _organizations(files: _Files, d: Directory) -> None:
    for line, row in files.rows("organizations.csv"):
        if not row.get("id") or not row.get("name"):
            d.refuse("organizations.csv", line, "an organization needs its id and name")
            continue
        d.organizations[row["id"]] = {
            "id": row["id"],
            "name": row["name"],
            "alternate_name": row.get("alternate_name", ""),
            "description": row.get("description", ""),
            "email": row.get("email", ""),
            "website": row.get("website") or row.get("url", ""),
        }


def _services(files: _Files, d: Directory) -> None:
    for line, row in files.rows("services.csv"):
        if not row.get("id") or not row.get("name"):
            d.refuse("services.csv", line, "a service needs its id and name")
            continue
        organization = row.get("organization_id", "")
        if organization and organization not in d.organizations:
            d.warn(
                "services.csv",
                line,
                f"organization_id {organization!r} is not in organizations.csv: kept without it",
            )
            organization = ""
        d.services[row["id"]] = {
            "id": row["id"],
            "organization_id": organization,
            "name": row["name"],
            "alternate_name": row.get("alternate_name", ""),
            "description": row.get("description", ""),
            "url": row.get("url", ""),
            "email": row.get("email", ""),
            "status": row.get("status", "") or "active",
            "application_process": row.get("application_process", ""),
            "fees": row.get("fees_description") or row.get("fees", ""),
            "eligibility": row.get("eligibility_description", ""),
            "minimum_age": _age(row.get("minimum_age", ""), d, "services.csv", line),
            "maximum_age": _age(row.get("maximum_age", ""), d, "services.csv", line),
            "interpretation_services": row.get("interpretation_services", ""),
            "areas": [],
        }
    for line, row in files.rows("eligibility.csv"):  # HSDS 1.1: eligibility apart, by service
        service = d.services.get(row.get("service_id", ""))
        if service is None:
            d.refuse("eligibility.csv", line, f"service_id {row.get('service_id', '')!r} names no service")
            continue
        text = row.get("eligibility", "")
        service["eligibility"] = "\n".join(t for t in (service["eligibility"], text) if t)
    for line, row in files.rows("service_areas.csv"):
        service = d.services.get(row.get("service_id", ""))
        if service is None:
            d.refuse("service_areas.csv", line, f"service_id {row.get('service_id', '')!r} names no service")
            continue
        service["areas"].append(row.get("service_area") or row.get("name") or row.get("description", ""))


def _age(text: str, d: Directory, file: str, line: int) -> int | None:
    if not text:
        return None
    if not text.isdigit() or int(text) > 130:
        d.warn(file, line, f"age {text!r} is not a number of years: left out")
        return None
    return int(text)


def _locations(files: _Files, d: Directory) -> None:
    for line, row in files.rows("locations.csv"):
        if not row.get("id"):
            d.refuse("locations.csv", line, "a location needs its id")
            continue
        organization = row.get("organization_id", "")
        if organization and organization not in d.organizations:
            d.warn(
                "locations.csv",
                line,
                f"organization_id {organization!r} is not in organizations.csv: kept without it",
            )
            organization = ""
        latitude, longitude = _coordinates(row, d, line)
        d.locations[row["id"]] = {
            "id": row["id"],
            "organization_id": organization,
            "name": row.get("name", ""),
            "description": row.get("description", ""),
            "transportation": row.get("transportation", ""),
            "latitude": latitude,
            "longitude": longitude,
            "address_1": "",
            "address_2": "",
            "city": "",
            "state": "",
            "postal_code": "",
            "accessibility": "",
        }
    for file in ("physical_addresses.csv", "addresses.csv", "postal_addresses.csv"):
        for line, row in files.rows(file):
            location = d.locations.get(row.get("location_id", ""))
            if location is None:
                d.refuse(file, line, f"location_id {row.get('location_id', '')!r} names no location")
                continue
            kind = row.get("address_type") or ("postal" if file.startswith("postal") else "physical")
            if location["address_1"] and kind != "physical":
                continue  # a physical address stands before a postal one
            location.update(
                address_1=row.get("address_1", ""),
                address_2=row.get("address_2", ""),
                city=row.get("city", ""),
                state=row.get("state_province", ""),
                postal_code=row.get("postal_code", ""),
            )
    for file in ("accessibility_for_disabilities.csv", "accessibility.csv"):
        for line, row in files.rows(file):
            location = d.locations.get(row.get("location_id", ""))
            if location is None:
                d.refuse(file, line, f"location_id {row.get('location_id', '')!r} names no location")
                continue
            words = row.get("accessibility") or row.get("description", "")
            details = row.get("details", "")
            location["accessibility"] = ": ".join(t for t in (words, details) if t)


def _coordinates(row: Mapping[str, str], d: Directory, line: int) -> tuple[float | None, float | None]:
    text_lat, text_lon = row.get("latitude", ""), row.get("longitude", "")
    if not text_lat and not text_lon:
        return None, None
    try:
        latitude, longitude = float(text_lat), float(text_lon)
    except ValueError:
        d.warn(
            "locations.csv", line, f"latitude/longitude {text_lat!r}, {text_lon!r} are not numbers: left out"
        )
        return None, None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        d.warn(
            "locations.csv", line, f"latitude/longitude {latitude}, {longitude} are off the globe: left out"
        )
        return None, None
    return latitude, longitude


def _links(files: _Files, d: Directory) -> None:
    for file in ("services_at_location.csv", "service_at_location.csv"):
        for line, row in files.rows(file):
            service, location = row.get("service_id", ""), row.get("location_id", "")
            if service not in d.services or location not in d.locations:
                d.refuse(file, line, f"service {service!r} or location {location!r} does not exist")
                continue
            d.service_locations.append((service, location))
    for line, row in files.rows("phones.csv"):
        if not row.get("number"):
            d.refuse("phones.csv", line, "a phone needs its number")
            continue
        owners = {
            "service_id": row.get("service_id", "") if row.get("service_id", "") in d.services else "",
            "location_id": row.get("location_id", "") if row.get("location_id", "") in d.locations else "",
            "organization_id": row.get("organization_id", "")
            if row.get("organization_id", "") in d.organizations
            else "",
        }
        if not any(owners.values()):
            d.refuse(
                "phones.csv",
                line,
                "the phone belongs to no service, location or organization of the directory",
            )
            continue
        d.phones.append({**owners, "number": row["number"].strip('"'), "extension": row.get("extension", ""),
                         "type": row.get("type", ""), "description": row.get("description", "")})  # fmt: skip
    for line, row in files.rows("languages.csv"):
        service = row.get("service_id", "")
        name = row.get("language") or row.get("name", "")
        if service not in d.services or not name:
            d.refuse(
                "languages.csv", line, f"a language needs a known service (service_id {service!r}) and a name"
            )
            continue
        d.languages.append({"service_id": service, "name": name, "code": row.get("code", "")})
    _schedules(files, d)
    _terms(files, d)


def _schedules(files: _Files, d: Directory) -> None:
    for line, row in files.rows("regular_schedules.csv"):  # HSDS 1.1: one row per weekday
        day = WEEKDAYS.get(row.get("weekday", "").lower())
        _schedule(d, "regular_schedules.csv", line, row, [day] if day else [], row.get("original_text", ""))
        if day is None:
            d.warn(
                "regular_schedules.csv", line, f"weekday {row.get('weekday', '')!r} is not a day of the week"
            )
    for line, row in files.rows("schedules.csv"):  # HSDS 3.0: RRULE parts
        days = [WEEKDAYS.get(p.strip().lower()) for p in row.get("byday", "").split(",") if p.strip()]
        if row.get("freq", "").upper() not in ("", "WEEKLY") or not days or None in days:
            d.warn("schedules.csv", line, f"freq {row.get('freq', '')!r} byday {row.get('byday', '')!r}: "
                   "only weekly days are understood, kept as its description")  # fmt: skip
            days = []
        _schedule(d, "schedules.csv", line, row, [x for x in days if x], row.get("description", ""))


def _schedule(d: Directory, file: str, line: int, row: Mapping[str, str], days: list[int], text: str) -> None:
    service = row.get("service_id", "")
    if service not in d.services:
        d.refuse(file, line, f"service_id {service!r} names no service")
        return
    opens, closes = (
        _time(row.get("opens_at", ""), d, file, line),
        _time(row.get("closes_at", ""), d, file, line),
    )
    weekdays: list[int | None] = list(days) or [None]
    for day in weekdays:
        d.schedules.append({"service_id": service, "weekday": day, "opens_at": opens, "closes_at": closes,
                            "description": text})  # fmt: skip


def schedule_time(text: str) -> time | None:
    """A time of day from ``9:00am``, ``9am``, ``7:30 am``, ``17:30``, ``10:00:00``; None if unreadable."""
    match = _TIME.match(text.strip().lower())
    if not match:
        return None
    hour, minute, second, half = int(match[1]), int(match[2] or 0), int(match[3] or 0), match[4]
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half == "p" else 0)
    elif match[2] is None or text.strip().lower().endswith("m"):
        return None  # "9" alone, or "8:00m": not a time
    if hour > 23 or minute > 59 or second > 59:
        return None
    return time(hour, minute, second)


def _time(text: str, d: Directory, file: str, line: int) -> time | None:
    if not text:
        return None
    found = schedule_time(text)
    if found is None:
        d.warn(file, line, f"time {text!r} cannot be read: the day is kept without hours")
    return found


def _terms(files: _Files, d: Directory) -> None:
    names: dict[str, tuple[str, str]] = {}
    for line, row in files.rows("taxonomy.csv"):  # 1.1: the AIRS terms
        if row.get("id", "") in names:
            d.warn("taxonomy.csv", line, f"id {row['id']!r} is given twice: the first stands")
            continue
        names[row.get("id", "")] = (row.get("name", ""), row.get("vocabulary", ""))
    for line, row in files.rows("services_taxonomy.csv"):
        service, code = row.get("service_id", ""), row.get("taxonomy_id", "")
        if service not in d.services or not code:
            d.refuse("services_taxonomy.csv", line, f"service_id {service!r} names no service")
            continue
        name, vocabulary = names.get(code, ("", ""))
        d.terms.append({"service_id": service, "code": code, "name": name, "vocabulary": vocabulary})
    terms: dict[str, dict[str, str]] = {}
    for _line, row in files.rows("taxonomy_terms.csv"):  # 3.0: terms, linked by attributes
        terms[row.get("id", "")] = row
    for line, row in files.rows("attributes.csv"):
        service, term = row.get("link_id", ""), terms.get(row.get("taxonomy_term_id", ""))
        if service not in d.services:
            continue  # attributes of other tables (organizations, locations...) are not kept
        if term is None:
            d.refuse(
                "attributes.csv", line, f"taxonomy_term_id {row.get('taxonomy_term_id', '')!r} names no term"
            )
            continue
        d.terms.append({"service_id": service, "code": term.get("code", ""), "name": term.get("name", ""),
                        "vocabulary": term.get("taxonomy", "")})  # fmt: skip
