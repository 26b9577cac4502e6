"""Reading an Open Referral HSDS 3.0 directory published as JSON (the API's documents) into the same records
as the CSV reader (:mod:`carenav.resources.hsds`), with every fault found: the file, the JSON path
(``$.services[0].schedules[1].opens_at``) and the reason. Pure: no SQL.

- ``hsds_read_path`` takes a folder or one ``.json`` file. A folder with CSV files or ``datapackage.json``
  (beside it or in ``data/``) is read as CSV; one with only JSON files is read as JSON (``datapackage.json``
  describes CSV, and a ``datapackage.json`` path reads its folder as CSV).
- A file holds one object, a list of them or an API page (``{"contents": [...]}``); ``tabular.json`` (rows
  keyed by CSV file name) and ``base.json`` (the API root: its ``version``) are read too. What an object is,
  is told by its fields (a service has ``status``, a location ``location_type``...), else by the file's
  name (``service_list.json``); an object of no known kind is reported and left out.
- Objects nest: an organization its phones, locations and services; a service its organization, phones,
  schedules, service areas, languages, attributes (with their taxonomy term) and service_at_locations (with
  their location); a location its addresses, accessibility and phones. The same object (same id, else the
  same content) may appear many times, in one file or several: the first occurrence's own fields stand,
  and every occurrence adds what it nests, each child kept once.
- References by id (``organization_id``, ``service_id``, ``location_id``, ``taxonomy_term_id``) are resolved
  once every file is read. As in CSV: an object without its id (or name) is refused with what it nests; a
  reference that names nothing is reported and its link left out, or its row refused; times, ages and
  coordinates that cannot be read are reported and left out.
- What the CSV reader leaves out is left out here too: contacts, programs, funding, cost options, the hours
  and languages of a location alone, attributes of other objects than services.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any

from carenav.errors import InvalidInput
from carenav.resources.hsds import DESCRIPTOR, WEEKDAYS, Directory, hsds_read, schedule_time

VERSION = "3.0"
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TIME_ZONE = re.compile(r"^(\d{1,2}:\d{2}(?::\d{2})?)(?:\.\d+)?(?:z|[+-]\d{2}:?\d{2})?$")
_OWNERS = ("service_id", "location_id", "organization_id")
_ORGANIZATION_FIELDS = {
    "services", "locations", "website", "tax_status", "tax_id", "year_incorporated", "legal_status",
    "organization_identifiers", "parent_organization_id", "programs",
}  # fmt: skip
# a file's name tells what it holds when an object's fields do not: the longer names first
_HINTS = (
    ("service_at_location", "service_at_location"),
    ("services_at_location", "service_at_location"),
    ("taxonomy_term", "taxonomy_term"),
    ("taxonomy", "taxonomy"),
    ("taxonomies", "taxonomy"),
    ("organization", "organization"),
    ("service", "service"),
    ("location", "location"),
)


def hsds_read_path(path: Path) -> Directory:
    """Read the HSDS directory at ``path``: a folder of CSV (1.1 or 3.0) or of 3.0 JSON files, or one JSON
    file; InvalidInput when it is none of them."""
    if path.is_file():
        if path.name == DESCRIPTOR:
            return hsds_read(path.parent)
        if path.suffix.lower() != ".json":
            raise InvalidInput(
                "a file to import is an HSDS JSON file (.json); a CSV directory is imported by its folder",
                where=str(path),
            )
        return hsds_json_read([(path, path.name)], path.resolve().parent.name)
    if not path.is_dir():
        raise InvalidInput("neither a folder nor a JSON file", where=str(path))
    places = (path, path / "data")
    files = [
        (found, found.relative_to(path).as_posix())
        for place in places
        for found in sorted(place.glob("*.json"))
        if found.name != DESCRIPTOR and found.is_file()
    ]
    if (path / DESCRIPTOR).is_file() or any(next(place.glob("*.csv"), None) for place in places):
        directory = hsds_read(path)
        for _found, label in files:
            directory.warn(label, None, "a JSON file beside CSV files: not read (import it on its own)")
        return directory
    if not files:
        raise InvalidInput("no HSDS CSV files here, nor JSON files (nor in data/)", where=str(path))
    return hsds_json_read(files, path.name)


def hsds_json_read(files: list[tuple[Path, str]], name: str) -> Directory:
    """Read HSDS 3.0 JSON files (each a path and the name it is reported by) as one directory."""
    directory = Directory(version=VERSION, name=name)
    reader = _Reader(directory)
    for path, label in files:
        reader.file = label
        try:
            document = json.loads(path.read_text(encoding="utf-8-sig"))
        except json.JSONDecodeError as exc:
            directory.refuse(label, exc.lineno, f"not readable JSON ({exc}): the file is left out")
            continue
        except (OSError, ValueError) as exc:
            directory.refuse(label, None, f"not readable ({exc}): the file is left out")
            continue
        directory.rows_read[label] = reader.document(document, _hint(path.stem))
    reader.resolve()
    return directory


def _hint(stem: str) -> str:
    lowered = stem.lower()
    return next((kind for prefix, kind in _HINTS if lowered.startswith(prefix)), "")


def _at(path: str, key: str) -> str:
    return f"{path}.{key}" if _KEY.match(key) else f"{path}[{key!r}]"


def _kind_of(value: Any) -> str:
    kinds = {
        dict: "an object",
        list: "a list",
        bool: "a boolean",
        str: "text",
        int: "a number",
        float: "a number",
    }
    return kinds.get(type(value), "null" if value is None else type(value).__name__)


def _identity(value: Mapping[str, Any]) -> str:
    """An object's id, else its content: the same object repeated is read once."""
    found = value.get("id")
    if isinstance(found, str | int) and not isinstance(found, bool) and str(found).strip():
        return f"id:{str(found).strip()}"
    return "content:" + json.dumps(value, sort_keys=True, default=str)


@dataclass(frozen=True)
class _Child:
    """An object kept by its owner's id (a service's schedule, a location's address...), where it was."""

    owner: str
    value: Mapping[str, Any]
    file: str
    path: str


class _Reader:
    """Collects every file's objects, then resolves the references between them into the directory."""

    def __init__(self, directory: Directory) -> None:
        self.d = directory
        self.file = ""
        self.organization_refs: dict[tuple[str, str], list[tuple[str, str, str]]] = defaultdict(list)
        self.links: list[tuple[str, str, str, str]] = []
        self.children: dict[str, dict[tuple[str, str], _Child]] = defaultdict(dict)
        self.phones: dict[str, _Child] = {}
        self.phone_owners: dict[str, dict[str, str]] = {}
        self.terms: dict[str, Mapping[str, Any]] = {}
        self.kept: set[tuple[Any, ...]] = set()  # the schedules, languages and terms kept, once each

    # -- reporting and reading values -------------------------------------------------------------------

    def warn(self, path: str, reason: str) -> None:
        self.d.warn(self.file, None, f"{path}: {reason}")

    def refuse(self, path: str, reason: str) -> None:
        self.d.refuse(self.file, None, f"{path}: {reason}")

    def text(self, value: Mapping[str, Any], key: str, path: str) -> str:
        found = value.get(key)
        if found is None:
            return ""
        if isinstance(found, str):
            return found.strip()
        if isinstance(found, int | float) and not isinstance(found, bool):
            return str(found)
        self.warn(_at(path, key), f"{_kind_of(found)} is not text: left out")
        return ""

    def objects(
        self, value: Mapping[str, Any], key: str, path: str
    ) -> Iterator[tuple[Mapping[str, Any], str]]:
        """The objects of the list ``value[key]``, each with its path."""
        found = value.get(key)
        if found is None:
            return
        if not isinstance(found, list):
            self.warn(_at(path, key), f"{_kind_of(found)} is not a list: left out")
            return
        for index, item in enumerate(found):
            where = f"{_at(path, key)}[{index}]"
            if isinstance(item, dict):
                yield item, where
            else:
                self.refuse(where, f"{_kind_of(item)} is not an object: left out")

    def nested(self, value: Mapping[str, Any], key: str, path: str) -> tuple[Mapping[str, Any], str] | None:
        found = value.get(key)
        if found is None:
            return None
        if not isinstance(found, dict):
            self.warn(_at(path, key), f"{_kind_of(found)} is not an object: left out")
            return None
        return found, _at(path, key)

    def age(self, value: Mapping[str, Any], key: str, path: str) -> int | None:
        found = value.get(key)
        if found is None or found == "":
            return None
        years = found.strip() if isinstance(found, str) else found
        if (isinstance(years, str) and years.isdigit()) or (isinstance(years, float) and years.is_integer()):
            years = int(years)
        if isinstance(years, bool) or not isinstance(years, int) or not 0 <= years <= 130:
            self.warn(_at(path, key), f"age {found!r} is not a number of years: left out")
            return None
        return years

    def coordinates(self, value: Mapping[str, Any], path: str) -> tuple[float | None, float | None]:
        raw_lat, raw_lon = value.get("latitude"), value.get("longitude")
        if raw_lat in (None, "") and raw_lon in (None, ""):
            return None, None
        try:
            latitude, longitude = _number(raw_lat), _number(raw_lon)
        except (TypeError, ValueError):
            self.warn(path, f"latitude/longitude {raw_lat!r}, {raw_lon!r} are not numbers: left out")
            return None, None
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            self.warn(path, f"latitude/longitude {latitude}, {longitude} are off the globe: left out")
            return None, None
        return latitude, longitude

    def time_of_day(self, value: Mapping[str, Any], key: str, path: str) -> time | None:
        found = value.get(key)
        if found is None or found == "":
            return None
        read = None
        if isinstance(found, str):
            zoned = _TIME_ZONE.match(found.strip().lower())  # RFC 3339 "10:00:00Z": its wall time
            read = schedule_time(zoned[1] if zoned else found)
        if read is None:
            self.warn(_at(path, key), f"time {found!r} cannot be read: the day is kept without hours")
        return read

    # -- documents --------------------------------------------------------------------------------------

    def document(self, document: Any, hint: str) -> int:
        """Read one file's document; the number of objects at its top."""
        if isinstance(document, list):
            items = [(item, f"$[{index}]") for index, item in enumerate(document)]
        elif isinstance(document, dict) and "contents" in document:
            contents = document["contents"]
            if not isinstance(contents, list):
                self.refuse("$.contents", f"{_kind_of(contents)} is not a list: the page is left out")
                return 0
            items = [(item, f"$.contents[{index}]") for index, item in enumerate(contents)]
        elif isinstance(document, dict) and document and all(str(k).endswith(".csv") for k in document):
            return self.tabular(document)
        elif isinstance(document, dict) and "openapi_url" in document and "id" not in document:
            version = document.get("version")
            if isinstance(version, str) and version.startswith("3"):
                self.d.version = version
            return 0
        elif isinstance(document, dict):
            items = [(document, "$")]
        else:
            self.refuse("$", f"{_kind_of(document)} is neither an HSDS object, a list nor a page of them")
            return 0
        for item, path in items:
            if isinstance(item, dict):
                self.record(item, path, hint)
            else:
                self.refuse(path, f"{_kind_of(item)} is not an object: left out")
        return len(items)

    def record(self, value: Mapping[str, Any], path: str, hint: str) -> None:
        kind = _kind_of_record(value) or hint
        if kind == "organization":
            self.organization(value, path)
        elif kind == "service":
            self.service(value, path)
        elif kind == "location":
            self.location(value, path)
        elif kind == "service_at_location":
            self.service_at_location(value, path)
        elif kind == "taxonomy_term":
            self.term(value, path)
        elif kind != "taxonomy":  # the vocabularies themselves are not kept
            self.warn(
                path,
                "not an HSDS organization, service, location, service_at_location or taxonomy term: left out",
            )

    def tabular(self, document: Mapping[str, Any]) -> int:
        """``tabular.json``: the CSV tables' rows as objects, linked by their ids."""
        readers: dict[str, Callable[[Mapping[str, Any], str], object]] = {
            "organizations.csv": self.organization,
            "services.csv": self.service,
            "locations.csv": self.location,
            "service_at_location.csv": self.service_at_location,
            "services_at_location.csv": self.service_at_location,
            "phones.csv": self.phone,
            "taxonomy_terms.csv": self.term,
            "schedules.csv": lambda v, p: self.child("schedule", v, p, v.get("service_id")),
            "languages.csv": lambda v, p: self.child("language", v, p, v.get("service_id")),
            "service_areas.csv": lambda v, p: self.child("area", v, p, v.get("service_id")),
            "addresses.csv": lambda v, p: self.child("address", v, p, v.get("location_id")),
            "accessibility.csv": lambda v, p: self.child("accessibility", v, p, v.get("location_id")),
            "attributes.csv": lambda v, p: self.child("attribute", v, p, v.get("link_id")),
        }
        count = 0
        for table, read in readers.items():
            for value, path in self.objects(document, table, "$"):
                read(value, path)
                count += 1
        return count

    # -- objects ----------------------------------------------------------------------------------------

    def organization(self, value: Mapping[str, Any], path: str) -> str:
        """Read an organization and what it nests; its id, or "" when it is refused."""
        key, name = self.text(value, "id", path), self.text(value, "name", path)
        if not key or not name:
            self.refuse(path, "an organization needs its id and name: left out with what it nests")
            return ""
        if key not in self.d.organizations:
            self.d.organizations[key] = {
                "id": key,
                "name": name,
                "alternate_name": self.text(value, "alternate_name", path),
                "description": self.text(value, "description", path),
                "email": self.text(value, "email", path),
                "website": self.text(value, "website", path) or self.text(value, "url", path),
            }
        for phone, where in self.objects(value, "phones", path):
            self.phone(phone, where, organization_id=key)
        for location, where in self.objects(value, "locations", path):
            self.location(location, where, organization=key)
        for service, where in self.objects(value, "services", path):
            self.service(service, where, organization=key)
        return key

    def refer(self, table: str, key: str, value: Mapping[str, Any], path: str, organization: str) -> None:
        """Note the organization of a service or location: the one it is nested in, else its own."""
        if organization:
            self.organization_refs[table, key].append((organization, self.file, path))
            return
        nested = self.nested(value, "organization", path) if table == "service" else None
        if nested is not None:
            found = self.organization(*nested)
            if found:
                self.organization_refs[table, key].append((found, self.file, nested[1]))
            return
        named = self.text(value, "organization_id", path)
        if named:
            self.organization_refs[table, key].append((named, self.file, _at(path, "organization_id")))

    def service(self, value: Mapping[str, Any], path: str, organization: str = "") -> str:
        """Read a service and what it nests; its id, or "" when it is refused."""
        key, name = self.text(value, "id", path), self.text(value, "name", path)
        if not key or not name:
            self.refuse(path, "a service needs its id and name: left out with what it nests")
            return ""
        if key not in self.d.services:
            self.d.services[key] = {
                "id": key,
                "organization_id": "",
                "name": name,
                "alternate_name": self.text(value, "alternate_name", path),
                "description": self.text(value, "description", path),
                "url": self.text(value, "url", path),
                "email": self.text(value, "email", path),
                "status": self.text(value, "status", path) or "active",
                "application_process": self.text(value, "application_process", path),
                "fees": self.text(value, "fees_description", path) or self.text(value, "fees", path),
                "eligibility": self.text(value, "eligibility_description", path),
                "minimum_age": self.age(value, "minimum_age", path),
                "maximum_age": self.age(value, "maximum_age", path),
                "interpretation_services": self.text(value, "interpretation_services", path),
                "areas": [],
            }
        self.refer("service", key, value, path, organization)
        for phone, where in self.objects(value, "phones", path):
            self.phone(phone, where, service_id=key)
        for kind, field in (
            ("schedule", "schedules"),
            ("area", "service_areas"),
            ("language", "languages"),
            ("attribute", "attributes"),
        ):
            for child, where in self.objects(value, field, path):
                self.child(kind, child, where, key)
        for link, where in self.objects(value, "service_at_locations", path):
            self.service_at_location(link, where, service=key)
        return key

    def location(self, value: Mapping[str, Any], path: str, organization: str = "") -> str:
        """Read a location and what it nests; its id, or "" when it is refused."""
        key = self.text(value, "id", path)
        if not key:
            self.refuse(path, "a location needs its id: left out with what it nests")
            return ""
        if key not in self.d.locations:
            latitude, longitude = self.coordinates(value, path)
            self.d.locations[key] = {
                "id": key,
                "organization_id": "",
                "name": self.text(value, "name", path),
                "description": self.text(value, "description", path),
                "transportation": self.text(value, "transportation", path),
                "latitude": latitude,
                "longitude": longitude,
                "address_1": "",
                "address_2": "",
                "city": "",
                "state": "",
                "postal_code": "",
                "accessibility": "",
            }
        self.refer("location", key, value, path, organization)
        for kind, field in (("address", "addresses"), ("accessibility", "accessibility")):
            for child, where in self.objects(value, field, path):
                self.child(kind, child, where, key)
        for phone, where in self.objects(value, "phones", path):
            self.phone(phone, where, location_id=key)
        return key

    def service_at_location(self, value: Mapping[str, Any], path: str, service: str = "") -> None:
        """A service offered at a location: each nested, or named by its id."""
        if not service:
            nested = self.nested(value, "service", path)
            service = self.service(*nested) if nested else self.text(value, "service_id", path)
        place = self.nested(value, "location", path)
        location = self.location(*place) if place else self.text(value, "location_id", path)
        self.links.append((service, location, self.file, path))
        for schedule, where in self.objects(value, "schedules", path):
            self.child("schedule", schedule, where, service)
        for phone, where in self.objects(value, "phones", path):
            self.phone(phone, where, service_id=service, location_id=location)

    def term(self, value: Mapping[str, Any], path: str) -> None:
        key = self.text(value, "id", path)
        if key and key not in self.terms:
            self.terms[key] = value

    def child(self, kind: str, value: Mapping[str, Any], path: str, owner: Any) -> None:
        """Keep an object of its owner's (by the owner's id), once."""
        owner_id = str(owner).strip() if isinstance(owner, str | int) and not isinstance(owner, bool) else ""
        if kind == "attribute":
            term = self.nested(value, "taxonomy_term", path)
            if term is not None:
                self.term(*term)
        self.children[kind].setdefault((owner_id, _identity(value)), _Child(owner_id, value, self.file, path))

    def phone(self, value: Mapping[str, Any], path: str, **owners: str) -> None:
        """A phone, kept once by its id with every owner it is nested in (or names)."""
        key = _identity(value)
        for owner in _OWNERS:
            owners.setdefault(owner, self.text(value, owner, path))
        if key not in self.phones:
            self.phones[key] = _Child("", value, self.file, path)
            self.phone_owners[key] = dict.fromkeys(_OWNERS, "")
        known = self.phone_owners[key]
        for owner in _OWNERS:
            known[owner] = known[owner] or owners[owner]

    # -- references -------------------------------------------------------------------------------------

    def resolve(self) -> None:
        """Link what was read, once every file is: each reference to nothing reported where it is."""
        self._organizations_of()
        self._links()
        self._phones()
        for child in self.children["schedule"].values():
            self._schedule(child)
        self._languages()
        self._areas()
        self._locations()
        self._terms()

    def _organizations_of(self) -> None:
        d = self.d
        for table, records in (("service", d.services), ("location", d.locations)):
            for key, record in records.items():
                for organization, file, path in self.organization_refs.get((table, key), []):
                    if organization in d.organizations:
                        record["organization_id"] = record["organization_id"] or organization
                        continue
                    reason = f"{organization!r} names no organization of the directory: the link is left out"
                    d.warn(file, None, f"{path}: {reason}")

    def _links(self) -> None:
        d = self.d
        for service, location, file, path in self.links:
            if service not in d.services or location not in d.locations:
                d.refuse(file, None, f"{path}: service {service!r} or location {location!r} does not exist")
            elif self.once("link", service, location):
                d.service_locations.append((service, location))

    def _languages(self) -> None:
        for child in self.children["language"].values():
            self.file, value, path = child.file, child.value, child.path
            name = self.text(value, "name", path) or self.text(value, "language", path)
            if child.owner not in self.d.services or not name:
                self.refuse(path, f"a language needs a known service (service_id {child.owner!r}) and a name")
            elif self.once("language", child.owner, name):
                code = self.text(value, "code", path)
                self.d.languages.append({"service_id": child.owner, "name": name, "code": code})

    def _areas(self) -> None:
        for child in self.children["area"].values():
            self.file = child.file
            service = self.d.services.get(child.owner)
            if service is None:
                self.refuse(child.path, f"service_id {child.owner!r} names no service")
                continue
            texts = (self.text(child.value, k, child.path) for k in ("service_area", "name", "description"))
            area = next((t for t in texts if t), "")
            areas: list[str] = service["areas"]
            if area and area not in areas:
                areas.append(area)

    def once(self, *key: Any) -> bool:
        """Whether ``key`` is new (and now known)."""
        if key in self.kept:
            return False
        self.kept.add(key)
        return True

    def _phones(self) -> None:
        d = self.d
        tables = {"service_id": d.services, "location_id": d.locations, "organization_id": d.organizations}
        for key, child in self.phones.items():
            self.file = child.file
            number = self.text(child.value, "number", child.path).strip('"')
            if not number:
                self.refuse(child.path, "a phone needs its number")
                continue
            owners = {o: (v if v in tables[o] else "") for o, v in self.phone_owners[key].items()}
            if not any(owners.values()):
                self.refuse(
                    child.path, "the phone belongs to no service, location or organization of the directory"
                )
                continue
            fields = {k: self.text(child.value, k, child.path) for k in ("extension", "type", "description")}
            d.phones.append({**owners, "number": number, **fields})

    def _schedule(self, child: _Child) -> None:
        self.file = child.file
        if child.owner not in self.d.services:
            self.refuse(child.path, f"service_id {child.owner!r} names no service")
            return
        value, path = child.value, child.path
        freq, byday = self.text(value, "freq", path), self.text(value, "byday", path)
        days = [WEEKDAYS.get(p.strip().lower()) for p in byday.split(",") if p.strip()]
        if freq.upper() not in ("", "WEEKLY") or not days or None in days:
            self.warn(
                path,
                f"freq {freq!r} byday {byday!r}: only weekly days are understood, kept as its description",
            )
            days = []
        opens, closes = self.time_of_day(value, "opens_at", path), self.time_of_day(value, "closes_at", path)
        text = self.text(value, "description", path)
        weekdays: list[int | None] = [x for x in days if x] or [None]
        for day in weekdays:
            row = {"service_id": child.owner, "weekday": day, "opens_at": opens, "closes_at": closes,
                   "description": text}  # fmt: skip
            if self.once("schedule", *row.values()):
                self.d.schedules.append(row)

    def _locations(self) -> None:
        d = self.d
        for kind in ("address", "accessibility"):
            for child in self.children[kind].values():
                self.file = child.file
                location = d.locations.get(child.owner)
                if location is None:
                    self.refuse(child.path, f"location_id {child.owner!r} names no location")
                    continue
                value, path = child.value, child.path
                if kind == "accessibility":
                    words = self.text(value, "accessibility", path) or self.text(value, "description", path)
                    details = self.text(value, "details", path)
                    location["accessibility"] = ": ".join(t for t in (words, details) if t)
                    continue
                if (
                    location["address_1"]
                    and (self.text(value, "address_type", path) or "physical") != "physical"
                ):
                    continue  # a physical address stands before a postal one
                location.update(
                    address_1=self.text(value, "address_1", path),
                    address_2=self.text(value, "address_2", path),
                    city=self.text(value, "city", path),
                    state=self.text(value, "state_province", path),
                    postal_code=self.text(value, "postal_code", path),
                )

    def _terms(self) -> None:
        for child in self.children["attribute"].values():
            if child.owner not in self.d.services:
                continue  # attributes of other objects (organizations, locations...) are not kept
            self.file = child.file
            value, path = child.value, child.path
            nested = value.get("taxonomy_term")
            named = self.text(value, "taxonomy_term_id", path)
            term = nested if isinstance(nested, dict) else self.terms.get(named)
            if term is None:
                self.refuse(_at(path, "taxonomy_term_id"), f"{named!r} names no taxonomy term")
                continue
            row = {
                "service_id": child.owner,
                "code": self.text(term, "code", path),
                "name": self.text(term, "name", path),
                "vocabulary": self.text(term, "taxonomy", path),
            }
            if self.once("term", *row.values()):
                self.d.terms.append(row)


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(value)
    return float(value)


def _kind_of_record(value: Mapping[str, Any]) -> str:
    """What an object is by its fields ("" when they do not tell)."""
    keys = set(value)
    if keys & {"status", "service_at_locations", "eligibility_description", "fees_description"}:
        return "service"
    if keys & {"location_type", "addresses", "latitude", "longitude"}:
        return "location"
    if isinstance(value.get("service"), dict) or isinstance(value.get("location"), dict):
        return "service_at_location"
    if {"service_id", "location_id"} <= keys and "name" not in keys:
        return "service_at_location"
    if keys & {"code", "taxonomy_detail", "term_uri", "taxonomy_id"}:
        return "taxonomy_term"
    if keys & _ORGANIZATION_FIELDS:
        return "organization"
    return ""
