"""Importing an HSDS directory into the resource tables of one organization.

Rows are matched on the directory (``source_system`` ``hsds:<source>``) and their HSDS id, so importing the
same directory again updates them instead of duplicating them; a service's locations, hours and terms are
replaced by the directory's. The import is one unit: the caller's transaction holds all of it or, on an
error, none of it. The summary counts what was imported per table and lists every row refused or kept
with a gap, with its file, line (for JSON, its path in the reason) and reason."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.audit.services import audit_record
from carenav.errors import Forbidden, InvalidInput
from carenav.resources.hsds import Directory
from carenav.resources.hsds_json import hsds_read_path
from carenav.resources.models import (
    ResourceLocation,
    ResourceOrganization,
    ResourceSchedule,
    ResourceService,
    ResourceTerm,
    resource_service_locations,
)

SOURCE_PREFIX = "hsds:"
M = TypeVar("M", ResourceOrganization, ResourceService, ResourceLocation)


@dataclass(frozen=True)
class ResourceImport:
    source: str
    version: str
    imported: Mapping[str, int]
    refused: Sequence[Mapping[str, Any]]
    warnings: Sequence[Mapping[str, Any]]

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "hsds_version": self.version,
            "imported": dict(self.imported),
            "refused_count": len(self.refused),
            "warning_count": len(self.warnings),
            "refused": list(self.refused),
            "warnings": list(self.warnings),
        }


def resources_import(
    *, session: Session, actor: Actor, folder: Path, source: str | None = None
) -> ResourceImport:
    """Import the HSDS directory in ``folder`` (CSV or JSON), or the HSDS JSON file ``folder``, named
    ``source`` (by default the folder's name)."""
    if not actor.sees_whole_organization:
        raise Forbidden(
            "importing a resource directory is for administrators and operators", where="resources"
        )
    name = (source or (folder.resolve().parent if folder.is_file() else folder.resolve()).name).strip()
    if not name:
        raise InvalidInput("name the directory with --source", where="source")
    directory = hsds_read_path(folder)
    system = f"{SOURCE_PREFIX}{name}"
    languages: dict[str, set[str]] = defaultdict(set)
    for language in directory.languages:
        languages[language["service_id"]].add(language["name"])
    service_phones: dict[str, list[dict[str, Any]]] = defaultdict(list)
    location_phones: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for phone in directory.phones:
        if phone["service_id"]:
            service_phones[phone["service_id"]].append(_phone(phone))
        elif phone["location_id"]:
            location_phones[phone["location_id"]].append(_phone(phone))
    organizations = _upsert(session, actor, ResourceOrganization, system, directory.organizations, {})
    services = _upsert(
        session,
        actor,
        ResourceService,
        system,
        directory.services,
        {"organization_id": organizations},
        extra=lambda row: {"languages": sorted(languages[row["id"]]), "phones": service_phones[row["id"]]},
    )
    locations = _upsert(
        session,
        actor,
        ResourceLocation,
        system,
        directory.locations,
        {"organization_id": organizations},
        extra=lambda row: {"phones": location_phones[row["id"]]},
    )
    counts = _children(session, directory, services, locations)
    imported = {
        "organizations": len(organizations),
        "services": len(services),
        "locations": len(locations),
        **counts,
        "languages": len(directory.languages),
        "phones": len(directory.phones),
    }
    refused = [p.as_json() for p in directory.problems if p.refused]
    warnings = [p.as_json() for p in directory.problems if not p.refused]
    audit_record(
        session=session,
        actor=actor,
        action="resources-import",
        entity_type="ResourceDirectory",
        entity_id=system,
        detail=f"HSDS {directory.version}: {imported}; {len(refused)} refused, {len(warnings)} warnings",
    )
    return ResourceImport(name, directory.version, imported, refused, warnings)


def _phone(phone: Mapping[str, Any]) -> dict[str, Any]:
    return {k: phone[k] for k in ("number", "extension", "type", "description") if phone.get(k)}


FIELDS: dict[type[Any], tuple[str, ...]] = {
    ResourceOrganization: ("name", "alternate_name", "description", "email", "website"),
    ResourceService: (
        "name",
        "alternate_name",
        "description",
        "url",
        "email",
        "status",
        "application_process",
        "fees",
        "eligibility",
        "minimum_age",
        "maximum_age",
        "interpretation_services",
        "areas",
    ),
    ResourceLocation: (
        "name",
        "description",
        "transportation",
        "latitude",
        "longitude",
        "address_1",
        "address_2",
        "city",
        "state",
        "postal_code",
        "accessibility",
    ),
}


def _upsert(
    session: Session,
    actor: Actor,
    model: type[M],
    system: str,
    rows: Mapping[str, Mapping[str, Any]],
    references: Mapping[str, Mapping[str, int]],
    extra: Any = None,
) -> dict[str, int]:
    """Insert or update one table's rows; their keys by HSDS id."""
    query = select(model).where(model.org_id == actor.org_id, model.source_system == system)
    existing: dict[str, M] = {row.source_id or "": row for row in session.scalars(query)}
    for hsds_id, row in rows.items():
        values: dict[str, Any] = {name: _blank(row.get(name)) for name in FIELDS[model]}
        for column, keys in references.items():
            values[column] = keys.get(row.get(column) or "")
        if extra is not None:
            values.update(extra(row))
        found = existing.get(hsds_id)
        if found is None:
            found = model(org_id=actor.org_id, source_system=system, source_id=hsds_id, **values)
            session.add(found)
            existing[hsds_id] = found
        else:
            for name, value in values.items():
                setattr(found, name, value)
    session.flush()
    return {hsds_id: existing[hsds_id].id for hsds_id in rows}


def _blank(value: Any) -> Any:
    return None if value == "" else value


def _children(
    session: Session, directory: Directory, services: Mapping[str, int], locations: Mapping[str, int]
) -> dict[str, int]:
    """Replace the imported services' locations, hours and terms with the directory's."""
    ids = list(services.values())
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        session.execute(delete(ResourceSchedule).where(ResourceSchedule.service_id.in_(chunk)))
        session.execute(delete(ResourceTerm).where(ResourceTerm.service_id.in_(chunk)))
        session.execute(
            delete(resource_service_locations).where(resource_service_locations.c.service_id.in_(chunk))
        )
    links = sorted({(services[s], locations[loc]) for s, loc in directory.service_locations})
    if links:
        session.execute(
            insert(resource_service_locations), [{"service_id": s, "location_id": loc} for s, loc in links]
        )
    schedules = [
        {**s, "service_id": services[s["service_id"]], "description": s["description"] or None}
        for s in directory.schedules
    ]
    if schedules:
        session.execute(insert(ResourceSchedule), schedules)
    terms = [{"service_id": services[t["service_id"]], "code": t["code"], "name": t["name"] or None,
              "vocabulary": t["vocabulary"] or None} for t in directory.terms if t["code"]]  # fmt: skip
    if terms:
        session.execute(insert(ResourceTerm), terms)
    session.expire_all()
    return {"service_locations": len(links), "schedules": len(schedules), "terms": len(terms)}
