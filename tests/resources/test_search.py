"""Searching the directory imported from the real Miami 211 export (SQLite and PostgreSQL): by need (an
AIRS code or a social-needs domain), nearest first from the patient's ZIP code, by language and age, open now
in the location's time zone; unknown needs and ZIP codes are named."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.clock import frozen_at
from carenav.errors import InvalidInput
from carenav.resources.models import ResourceTerm
from carenav.resources.search import Criteria, miles, resources_search, zip_place

MIAMI = "hsds/open211-miami"
MONDAY_10AM_MIAMI = datetime(2025, 6, 2, 14, 0, tzinfo=UTC)  # 10:00 EDT
SUNDAY_3AM_MIAMI = datetime(2025, 6, 1, 7, 0, tzinfo=UTC)


@pytest.fixture
def operator(miami_org_id: int) -> Actor:
    return Actor.operator(miami_org_id, "tests")


def test_food_near_a_miami_zip_code_nearest_first_with_the_filters(session: Session, operator: Actor) -> None:
    found = resources_search(
        session=session, actor=operator, criteria=Criteria("food", zip_code="33157", limit=50)
    )
    assert len(found) == 50
    distances = [m.distance_miles for m in found]
    assert all(d is not None for d in distances)
    assert distances == sorted(distances), "nearest first"
    origin = zip_place("33157")
    assert origin is not None
    assert origin.county == "Miami-Dade County"
    first = found[0]
    assert first.location is not None
    codes = set(session.scalars(select(ResourceTerm.code).where(ResourceTerm.service_id == first.service.id)))
    assert any(c.startswith(("BD", "NL-6000")) for c in codes) or "food" in first.service.name.lower()
    assert (
        resources_search(
            session=session, actor=operator, criteria=Criteria("food-insecurity", zip_code="33157", limit=50)
        )
        == found
    ), "the SDOH domain names the same need"

    creole = resources_search(
        session=session,
        actor=operator,
        criteria=Criteria("food", zip_code="33157", language="creole", limit=500),
    )
    assert creole
    assert all(any(lang.lower().startswith("creole") for lang in m.service.languages) for m in creole)
    assert len(creole) < len(
        resources_search(session=session, actor=operator, criteria=Criteria("food", limit=500))
    )
    near = resources_search(
        session=session,
        actor=operator,
        criteria=Criteria("food", zip_code="33157", within_miles=3, limit=500),
    )
    assert near
    assert all(m.distance_miles is not None and m.distance_miles <= 3 for m in near)


def test_open_now_is_read_in_the_location_s_time_zone(session: Session, operator: Actor) -> None:
    criteria = Criteria("food", zip_code="33157", open_now=True, limit=500)
    with frozen_at(MONDAY_10AM_MIAMI):
        open_monday = resources_search(session=session, actor=operator, criteria=criteria)
    with frozen_at(SUNDAY_3AM_MIAMI):
        open_sunday_night = resources_search(session=session, actor=operator, criteria=criteria)
    assert open_monday
    assert all(m.open_now is True for m in open_monday)
    assert any("Mon 09:00-17:00" in m.hours or "Mon 08:00-17:00" in m.hours for m in open_monday)
    assert len(open_sunday_night) < len(open_monday)


def test_unknown_needs_and_zip_codes_are_named(session: Session, operator: Actor) -> None:
    with pytest.raises(InvalidInput, match="'fun' is not a need"):
        resources_search(session=session, actor=operator, criteria=Criteria("fun"))
    with pytest.raises(InvalidInput, match="'00000' is not a US ZIP code"):
        resources_search(session=session, actor=operator, criteria=Criteria("food", zip_code="00000"))


def test_miles_between_two_known_points() -> None:
    assert miles(25.7617, -80.1918, 26.1224, -80.1373) == pytest.approx(
        25.1, abs=0.3
    )  # Miami to Fort Lauderdale
    assert miles(0, 0, 0, 0) == 0
