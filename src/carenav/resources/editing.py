"""Keeping the directory in the app: a supervisor or an administrator corrects a service (its words, ages,
languages, phones, status) and sets the eligibility carenav holds in structure — the counties and ZIP codes
served and an income limit — or adds a service the imported directories lack (a local organization, with its
address placed at its ZIP code's centroid).

Eligibility by residence and income is carenav's own (HSDS carries it as free text), so a re-import of the
directory leaves it as set here; the fields the directory carries (name, description, eligibility words,
ages, fees...) come back as the directory has them on the next import of that directory, which the edit
screen says. Every change is audited with what changed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.audit.services import audit_record
from carenav.clock import now
from carenav.db.mixins import LOCAL_SOURCE
from carenav.errors import Forbidden, InvalidInput, NotFound
from carenav.resources.models import ResourceLocation, ResourceOrganization, ResourceService, ResourceTerm
from carenav.resources.needs import NEED_TERM_PREFIX, NEED_VOCABULARY, need_get
from carenav.resources.search import MAX_FPL_PERCENT, zip_place

EDITOR_ROLES = frozenset({"supervisor", "admin"})
STATUSES = ("active", "inactive", "temporarily closed")
MAX_AGE = 130
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def may_edit_directory(actor: Actor) -> bool:
    return actor.kind == "operator" or actor.role in EDITOR_ROLES


@dataclass(frozen=True)
class ServiceEdit:
    """A service as the edit form gives it; lists already split (one item per line or comma)."""

    name: str
    description: str = ""
    eligibility: str = ""
    fees: str = ""
    application_process: str = ""
    url: str = ""
    email: str = ""
    status: str = "active"
    minimum_age: int | None = None
    maximum_age: int | None = None
    languages: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    served_counties: list[str] = field(default_factory=list)
    served_zip_codes: list[str] = field(default_factory=list)
    income_limit_fpl: int | None = None
    needs: list[str] = field(default_factory=list)
    """The needs a local service meets (``needs.toml`` codes); an imported service's come from its
    directory's taxonomy."""


@dataclass(frozen=True)
class NewLocation:
    address_1: str
    city: str
    state: str
    postal_code: str


def _checked(edit: ServiceEdit) -> dict[str, Any]:
    """The columns ``edit`` sets, each checked; InvalidInput naming the field otherwise."""
    if not edit.name.strip():
        raise InvalidInput("a service needs its name", where="service name")
    if edit.status not in STATUSES:
        raise InvalidInput(f"status {edit.status!r} is not one of {', '.join(STATUSES)}", where="status")
    for age, where in ((edit.minimum_age, "minimum age"), (edit.maximum_age, "maximum age")):
        if age is not None and not 0 <= age <= MAX_AGE:
            raise InvalidInput(f"an age is 0 to {MAX_AGE}, not {age}", where=where)
    if edit.minimum_age is not None and edit.maximum_age is not None and edit.minimum_age > edit.maximum_age:
        raise InvalidInput(
            f"the minimum age {edit.minimum_age} is above the maximum {edit.maximum_age}", where="minimum age"
        )
    if edit.income_limit_fpl is not None and not 0 < edit.income_limit_fpl <= MAX_FPL_PERCENT:
        raise InvalidInput(
            f"an income limit is 1 to {MAX_FPL_PERCENT} percent of the poverty level, "
            f"not {edit.income_limit_fpl}",
            where="income limit",
        )
    for zip_code in edit.served_zip_codes:
        if zip_place(zip_code) is None:
            raise InvalidInput(f"{zip_code!r} is not a US ZIP code", where="ZIP codes served")
    if edit.url.strip() and not edit.url.strip().startswith(("http://", "https://")):
        raise InvalidInput(
            f"{edit.url.strip()!r} is not a web address (http:// or https://)", where="website"
        )
    if edit.email.strip() and not _EMAIL.match(edit.email.strip()):
        raise InvalidInput(f"{edit.email.strip()!r} is not an email address", where="email")
    return {
        "name": edit.name.strip(),
        "description": edit.description.strip() or None,
        "eligibility": edit.eligibility.strip() or None,
        "fees": edit.fees.strip() or None,
        "application_process": edit.application_process.strip() or None,
        "url": edit.url.strip() or None,
        "email": edit.email.strip() or None,
        "status": edit.status,
        "minimum_age": edit.minimum_age,
        "maximum_age": edit.maximum_age,
        "languages": _unique(edit.languages),
        "phones": [{"number": p, "type": "voice"} for p in _unique(edit.phones)],
        "served_counties": _unique(edit.served_counties),
        "served_zip_codes": _unique(z.strip()[:5] for z in edit.served_zip_codes),
        "income_limit_fpl": edit.income_limit_fpl,
    }


def _unique(values: Any) -> list[str]:
    out: list[str] = []
    for value in values:
        text = str(value).strip()
        if text and text not in out:
            out.append(text)
    return out


def _require_editor(actor: Actor) -> None:
    if not may_edit_directory(actor):
        raise Forbidden("the resource directory is kept by supervisors and administrators", where="directory")


def service_get(*, session: Session, actor: Actor, service_uuid: str) -> ResourceService:
    service = session.scalar(
        select(ResourceService).where(
            ResourceService.uuid == service_uuid, ResourceService.org_id == actor.org_id
        )
    )
    if service is None:
        raise NotFound(f"no service {service_uuid} in the directory", where="service")
    return service


def service_update(
    *, session: Session, actor: Actor, service_uuid: str, edit: ServiceEdit
) -> ResourceService:
    """Change a service; the audit row lists each field changed, before and after."""
    _require_editor(actor)
    service = service_get(session=session, actor=actor, service_uuid=service_uuid)
    values = _checked(edit)
    if [p.get("number") for p in service.phones] == [p["number"] for p in values["phones"]]:
        values["phones"] = service.phones  # the same numbers: keep their extensions, types, descriptions
    changed = [name for name, value in values.items() if getattr(service, name) != value]
    detail = "; ".join(f"{name}: {_said(getattr(service, name))} → {_said(values[name])}" for name in changed)
    for name in changed:
        setattr(service, name, values[name])
    if service.source_system == LOCAL_SOURCE:
        before = sorted(t.code for t in _need_terms(session, service))
        if before != sorted(_need_codes(edit.needs)):
            _set_needs(session, service, edit.needs)
            changed.append("needs")
            detail = "; ".join(t for t in (detail, f"needs: {', '.join(edit.needs) or 'none'}") if t)
    if changed:
        service.edited_by = actor.label
        service.edited_at = now()
        session.flush()
        _audit(session, actor, service, "directory-edit", detail)
    return service


def service_add(
    *, session: Session, actor: Actor, organization_name: str, edit: ServiceEdit, location: NewLocation
) -> ResourceService:
    """A service of a local organization (found by name, or made), at one address."""
    _require_editor(actor)
    values = _checked(edit)
    if not organization_name.strip():
        raise InvalidInput("name the organization that offers the service", where="organization")
    place = zip_place(location.postal_code)
    if place is None:
        raise InvalidInput(f"{location.postal_code!r} is not a US ZIP code", where="address ZIP code")
    if not location.address_1.strip() or not location.city.strip():
        raise InvalidInput("give the street address and the city", where="address")
    organization = session.scalar(
        select(ResourceOrganization).where(
            ResourceOrganization.org_id == actor.org_id,
            ResourceOrganization.source_system == LOCAL_SOURCE,
            ResourceOrganization.name == organization_name.strip(),
        )
    )
    if organization is None:
        organization = ResourceOrganization(org_id=actor.org_id, name=organization_name.strip())
        session.add(organization)
        session.flush()
    service = ResourceService(
        org_id=actor.org_id, organization_id=organization.id, edited_by=actor.label, edited_at=now(), **values
    )
    service.locations.append(
        ResourceLocation(
            org_id=actor.org_id,
            organization_id=organization.id,
            name=values["name"],
            address_1=location.address_1.strip(),
            city=location.city.strip(),
            state=(location.state.strip() or place.state).upper()[:2],
            postal_code=place.zip_code,
            latitude=place.latitude,
            longitude=place.longitude,
        )
    )
    if not edit.needs:
        raise InvalidInput("say which needs the service meets, so that searches find it", where="needs")
    session.add(service)
    session.flush()
    _set_needs(session, service, edit.needs)
    _audit(session, actor, service, "directory-add", f"{organization.name}: {service.name}")
    return service


def _need_codes(needs: list[str]) -> list[str]:
    return sorted({NEED_TERM_PREFIX + need_get(n).code for n in needs})


def _need_terms(session: Session, service: ResourceService) -> list[ResourceTerm]:
    return list(
        session.scalars(
            select(ResourceTerm).where(
                ResourceTerm.service_id == service.id, ResourceTerm.vocabulary == NEED_VOCABULARY
            )
        )
    )


def _set_needs(session: Session, service: ResourceService, needs: list[str]) -> None:
    codes = _need_codes(needs)
    for term in _need_terms(session, service):
        session.delete(term)
    for code in codes:
        label = need_get(code.removeprefix(NEED_TERM_PREFIX)).label
        session.add(ResourceTerm(service_id=service.id, code=code, name=label, vocabulary=NEED_VOCABULARY))
    session.flush()


def _said(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v.get("number") if isinstance(v, dict) else v) for v in value) or "none"
    return "none" if value is None else repr(value)


def _audit(session: Session, actor: Actor, service: ResourceService, action: str, detail: str) -> None:
    audit_record(
        session=session,
        actor=actor,
        action=action,
        entity_type="ResourceService",
        entity_id=service.uuid,
        detail=detail,
    )
