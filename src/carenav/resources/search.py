"""Searching the directory: the services that meet a need, nearest first from the patient's ZIP code, kept
to those speaking the patient's language, taking their age and (when asked) open now. One search serves
the screen and ``carenav resources search``.

Distances are great-circle miles from the ZIP code's centroid (the ``zipcodes`` package, US ZIP codes with
their coordinates, county and time zone) to the location's coordinates, or to its own ZIP code's centroid
when the directory gives none. "Open now" is read in the location's time zone."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

import zipcodes
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.clock import now
from carenav.errors import InvalidInput
from carenav.resources.models import ResourceLocation, ResourceSchedule, ResourceService, ResourceTerm
from carenav.resources.needs import NEED_TERM_PREFIX, Need, need_get

EARTH_RADIUS_MILES = 3958.8
MAX_FPL_PERCENT = 1000
CLOSED_STATUSES = ("inactive", "defunct", "temporarily closed")


@dataclass(frozen=True)
class Place:
    zip_code: str
    latitude: float
    longitude: float
    county: str
    timezone: str
    state: str = ""


def zip_place(zip_code: str) -> Place | None:
    """The centroid of a US ZIP code (its first five digits), or None when there is no such ZIP."""
    five = zip_code.strip()[:5]
    if len(five) != 5 or not five.isdigit():
        return None
    try:
        found = zipcodes.matching(five)  # type: ignore[no-untyped-call]  # the package types its core, not this wrapper
    except (TypeError, ValueError):
        return None
    if not found:
        return None
    row = found[0]
    return Place(
        five,
        float(row["lat"]),
        float(row["long"]),
        str(row.get("county", "")),
        str(row.get("timezone", "")),
        str(row.get("state", "")),
    )


def miles(a_lat: float, a_lon: float, b_lat: float, b_lon: float) -> float:
    """Great-circle distance in miles."""
    phi1, phi2 = math.radians(a_lat), math.radians(b_lat)
    d_phi, d_lambda = phi2 - phi1, math.radians(b_lon - a_lon)
    h = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_MILES * math.asin(math.sqrt(h))


@dataclass(frozen=True)
class Criteria:
    need: str
    zip_code: str | None = None
    language: str | None = None
    age: int | None = None
    open_now: bool = False
    within_miles: float | None = None
    income_fpl: int | None = None
    """The household's income in percent of the federal poverty level: services with a lower limit drop."""
    limit: int = 20


@dataclass(frozen=True)
class Match:
    """A service found, at its nearest location; ``open_now``: None when its hours are not known."""

    service: ResourceService
    location: ResourceLocation | None
    distance_miles: float | None
    open_now: bool | None
    hours: list[str]

    def as_json(self) -> dict[str, object]:
        location = self.location
        return {
            "service": self.service.name,
            "id": self.service.uuid,
            "organization": self.service.organization.name if self.service.organization else None,
            "organization_id": self.service.organization.uuid if self.service.organization else None,
            "distance_miles": None if self.distance_miles is None else round(self.distance_miles, 1),
            "address": _address(location) if location else None,
            "phones": [
                p.get("number") for p in (self.service.phones or (location.phones if location else []))
            ],
            "languages": list(self.service.languages or []),
            "open_now": self.open_now,
            "hours": self.hours,
            "eligibility": self.service.eligibility,
            "fees": self.service.fees,
            "url": self.service.url,
        }


def _address(location: ResourceLocation) -> str:
    parts = [location.address_1, location.address_2, location.city, location.state, location.postal_code]
    return ", ".join(p for p in parts if p)


DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def resources_search(*, session: Session, actor: Actor, criteria: Criteria) -> list[Match]:
    """The services of the actor's organization that meet the need, ranked nearest first."""
    need = need_get(criteria.need)
    origin = None
    if criteria.zip_code:
        origin = zip_place(criteria.zip_code)
        if origin is None:
            raise InvalidInput(f"{criteria.zip_code!r} is not a US ZIP code", where="zip")
    if criteria.limit < 1:
        raise InvalidInput("the limit is at least 1", where="limit")
    if criteria.income_fpl is not None and not 0 <= criteria.income_fpl <= MAX_FPL_PERCENT:
        raise InvalidInput(
            f"household income is 0 to {MAX_FPL_PERCENT} percent of the poverty level, "
            f"not {criteria.income_fpl}",
            where="income",
        )
    services = _candidates(session, actor, need)
    schedules = _schedules(session, [s.id for s in services])
    moment = now()
    matches: list[Match] = []
    for service in services:
        if not _speaks(service, criteria.language) or not _takes(service, criteria.age):
            continue
        if not serves_residence(service.served_counties, service.served_zip_codes, origin):
            continue
        if not income_eligible(service.income_limit_fpl, criteria.income_fpl):
            continue
        location, distance = _nearest(service, origin)
        if criteria.within_miles is not None and (distance is None or distance > criteria.within_miles):
            continue
        rows = schedules.get(service.id, [])
        open_now = _open_at(rows, moment, _zone(location, origin))
        if criteria.open_now and open_now is not True:
            continue
        matches.append(Match(service, location, distance, open_now, _hours(rows)))
    matches.sort(
        key=lambda m: (
            m.distance_miles is None,
            m.distance_miles or 0.0,
            m.open_now is not True,
            m.service.name,
        )
    )
    return matches[: criteria.limit]


def _candidates(session: Session, actor: Actor, need: Need) -> list[ResourceService]:
    by_term = select(ResourceTerm.service_id).where(
        or_(*(ResourceTerm.code.startswith(p) for p in need.airs))
    )
    by_word = [func.lower(ResourceService.name).contains(w) for w in need.words]
    by_term_name = select(ResourceTerm.service_id).where(
        or_(*(func.lower(ResourceTerm.name).contains(w) for w in need.words))
    )
    by_own_term = select(ResourceTerm.service_id).where(ResourceTerm.code == NEED_TERM_PREFIX + need.code)
    conditions = [ResourceService.id.in_(by_term_name), ResourceService.id.in_(by_own_term), *by_word]
    if need.airs:
        conditions.append(ResourceService.id.in_(by_term))
    return list(
        session.scalars(
            select(ResourceService).where(
                ResourceService.org_id == actor.org_id,
                or_(ResourceService.status.is_(None), ResourceService.status.not_in(CLOSED_STATUSES)),
                or_(*conditions),
            )
        )
    )


def weekly_hours(session: Session, service_ids: list[int]) -> dict[int, list[str]]:
    """Each service's weekly hours as lines ("Mon 09:00-17:00"), or the directory's words about them."""
    return {key: _hours(rows) for key, rows in _schedules(session, service_ids).items()}


def _schedules(session: Session, service_ids: list[int]) -> dict[int, list[ResourceSchedule]]:
    out: dict[int, list[ResourceSchedule]] = {}
    for start in range(0, len(service_ids), 900):
        chunk = service_ids[start : start + 900]
        for row in session.scalars(
            select(ResourceSchedule)
            .where(ResourceSchedule.service_id.in_(chunk))
            .order_by(ResourceSchedule.id)
        ):
            out.setdefault(row.service_id, []).append(row)
    return out


def _speaks(service: ResourceService, language: str | None) -> bool:
    if not language:
        return True
    wanted = language.strip().lower()
    return any(str(spoken).lower().startswith(wanted) for spoken in service.languages or [])


def _takes(service: ResourceService, age: int | None) -> bool:
    if age is None:
        return True
    return (service.minimum_age is None or age >= service.minimum_age) and (
        service.maximum_age is None or age <= service.maximum_age
    )


def _county_key(name: str) -> str:
    return name.strip().lower().removesuffix(" county").removesuffix(" parish").strip()


def serves_residence(counties: list[str], zip_codes: list[str], origin: Place | None) -> bool:
    """Whether a resident of ``origin`` may use a service restricted to these counties or ZIP codes (no
    restriction, or no place to check: yes)."""
    if origin is None or not (counties or zip_codes):
        return True
    if origin.zip_code in {z.strip()[:5] for z in zip_codes}:
        return True
    return bool(origin.county) and _county_key(origin.county) in {_county_key(c) for c in counties}


def income_eligible(limit_fpl: int | None, income_fpl: int | None) -> bool:
    """Whether a household at ``income_fpl`` percent of the poverty level is under the service's limit."""
    return limit_fpl is None or income_fpl is None or income_fpl <= limit_fpl


def _nearest(service: ResourceService, origin: Place | None) -> tuple[ResourceLocation | None, float | None]:
    locations = list(service.locations)
    if not locations:
        return None, None
    if origin is None:
        return locations[0], None
    best: tuple[ResourceLocation | None, float | None] = (locations[0], None)
    for location in locations:
        point = _point(location)
        if point is None:
            continue
        distance = miles(origin.latitude, origin.longitude, *point)
        if best[1] is None or distance < best[1]:
            best = (location, distance)
    return best


def _point(location: ResourceLocation) -> tuple[float, float] | None:
    if location.latitude is not None and location.longitude is not None:
        return location.latitude, location.longitude
    place = zip_place(location.postal_code or "")
    return (place.latitude, place.longitude) if place else None


def _zone(location: ResourceLocation | None, origin: Place | None) -> ZoneInfo:
    place = zip_place(location.postal_code or "") if location else None
    for candidate in (place, origin):
        if candidate is not None and candidate.timezone:
            try:
                return ZoneInfo(candidate.timezone)
            except (KeyError, ValueError):
                continue
    return ZoneInfo("UTC")


def _open_at(rows: list[ResourceSchedule], moment: datetime, zone: ZoneInfo) -> bool | None:
    """Open at ``moment`` by the weekly hours; None when the service gives no hours."""
    timed = [r for r in rows if r.weekday and r.opens_at and r.closes_at]
    if not timed:
        return None
    local = moment.astimezone(zone)
    day, clock = local.isoweekday(), local.time().replace(tzinfo=None)
    return any(r.weekday == day and _within(clock, r.opens_at, r.closes_at) for r in timed)


def _within(clock: time, opens: time | None, closes: time | None) -> bool:
    if opens is None or closes is None:
        return False
    if closes <= opens:  # open past midnight
        return clock >= opens or clock < closes
    return opens <= clock < closes


def _hours(rows: list[ResourceSchedule]) -> list[str]:
    """The weekly hours as lines ("Mon 9:00-17:00"), or the directory's words."""
    lines = [
        f"{DAYS[r.weekday - 1]} {r.opens_at:%H:%M}-{r.closes_at:%H:%M}"
        for r in rows
        if r.weekday and r.opens_at and r.closes_at
    ]
    if lines:
        return lines
    return sorted({r.description for r in rows if r.description})
