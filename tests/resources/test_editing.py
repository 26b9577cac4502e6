"""Keeping the directory in the app (SQLite and PostgreSQL): a supervisor restricts a real Miami 211 service
to its county and an income limit, which the search then honours and a re-import keeps; adds a local
pantry that a search by need finds, nearest first; every change audited; care managers and bad values
refused with the field named."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.audit.models import AuditEvent
from carenav.errors import Forbidden, InvalidInput
from carenav.resources.editing import NewLocation, ServiceEdit, service_add, service_update
from carenav.resources.importer import resources_import
from carenav.resources.models import ResourceService
from carenav.resources.search import Criteria, resources_search

MIAMI = "hsds/open211-miami"
IN_MIAMI_DADE = "33157"
IN_BROWARD = "33301"  # Fort Lauderdale, Broward County


@pytest.fixture
def directory(miami_org_id: int) -> tuple[Actor, Actor, Actor]:
    operator = Actor.operator(miami_org_id, "tests")
    supervisor = Actor(
        org_id=miami_org_id, label="user:sam.sup", kind="user", user_id=None, role="supervisor"
    )
    care_manager = Actor(
        org_id=miami_org_id, label="user:casey.cm", kind="user", user_id=None, role="care_manager"
    )
    return operator, supervisor, care_manager


def _edit_of(service: ResourceService, **changes: object) -> ServiceEdit:
    values: dict[str, object] = {
        "name": service.name,
        "description": service.description or "",
        "eligibility": service.eligibility or "",
        "fees": service.fees or "",
        "application_process": service.application_process or "",
        "url": service.url or "",
        "email": service.email or "",
        "status": service.status or "active",
        "minimum_age": service.minimum_age,
        "maximum_age": service.maximum_age,
        "languages": list(service.languages),
        "phones": [p["number"] for p in service.phones if p.get("number")],
        "served_counties": list(service.served_counties),
        "served_zip_codes": list(service.served_zip_codes),
        "income_limit_fpl": service.income_limit_fpl,
    }
    values.update(changes)
    return ServiceEdit(**values)  # type: ignore[arg-type]


def _found(session: Session, actor: Actor, zip_code: str, income: int | None = None) -> list[str]:
    criteria = Criteria("food", zip_code=zip_code, income_fpl=income, limit=500)
    return [m.service.uuid for m in resources_search(session=session, actor=actor, criteria=criteria)]


def test_residence_and_income_eligibility_set_in_the_app_and_kept_over_a_re_import(
    session: Session, directory: tuple[Actor, Actor, Actor], shared_data: Path
) -> None:
    operator, supervisor, care_manager = directory
    pantry_uuid = _found(session, supervisor, IN_MIAMI_DADE)[0]
    pantry = session.scalars(select(ResourceService).where(ResourceService.uuid == pantry_uuid)).one()
    assert pantry_uuid in _found(session, supervisor, IN_BROWARD), "no restriction yet"

    service_update(
        session=session,
        actor=supervisor,
        service_uuid=pantry.uuid,
        edit=_edit_of(pantry, served_counties=["Miami-Dade County"], income_limit_fpl=200),
    )
    assert pantry_uuid in _found(session, supervisor, IN_MIAMI_DADE)
    assert pantry_uuid not in _found(session, supervisor, IN_BROWARD), "not a resident of the county"
    assert pantry_uuid in _found(session, supervisor, IN_MIAMI_DADE, income=150)
    assert pantry_uuid not in _found(session, supervisor, IN_MIAMI_DADE, income=250), "above the limit"
    service_update(
        session=session,
        actor=supervisor,
        service_uuid=pantry.uuid,
        edit=_edit_of(pantry, served_zip_codes=[IN_BROWARD]),
    )
    assert pantry_uuid in _found(session, supervisor, IN_BROWARD), "a ZIP code served, outside the county"
    audit = session.scalars(
        select(AuditEvent.detail).where(
            AuditEvent.action == "directory-edit", AuditEvent.entity_id == pantry_uuid
        )
    ).all()
    assert audit[0] == "served_counties: none → Miami-Dade County; income_limit_fpl: none → 200"
    assert pantry.edited_by == "user:sam.sup"

    resources_import(session=session, actor=operator, folder=shared_data / MIAMI)
    session.refresh(pantry)
    assert pantry.served_counties == ["Miami-Dade County"], "carenav's own eligibility survives a re-import"
    assert pantry.income_limit_fpl == 200

    with pytest.raises(Forbidden, match="supervisors and administrators"):
        service_update(session=session, actor=care_manager, service_uuid=pantry.uuid, edit=_edit_of(pantry))
    bad = {
        "minimum age": {"minimum_age": 70, "maximum_age": 60},
        "ZIP codes served": {"served_zip_codes": ["00000"]},
        "website": {"url": "www.example.org"},
        "income limit": {"income_limit_fpl": 0},
        "status": {"status": "open-ish"},
        "service name": {"name": "  "},
    }
    for where, changes in bad.items():
        with pytest.raises(InvalidInput) as refused:
            service_update(
                session=session, actor=supervisor, service_uuid=pantry.uuid, edit=_edit_of(pantry, **changes)
            )
        assert refused.value.where == where
    with pytest.raises(InvalidInput, match="household income"):
        _found(session, supervisor, IN_MIAMI_DADE, income=5000)


def test_a_local_service_is_found_by_the_needs_it_meets(
    session: Session, directory: tuple[Actor, Actor, Actor]
) -> None:
    _operator, supervisor, care_manager = directory
    edit = ServiceEdit(
        name="Saturday grocery pantry",
        needs=["food"],
        languages=["English", "Haitian Creole"],
        phones=["305-555-0142"],
    )
    where = NewLocation("9000 SW 152nd St", "Palmetto Bay", "", IN_MIAMI_DADE)
    with pytest.raises(InvalidInput, match="which needs"):
        service_add(
            session=session,
            actor=supervisor,
            organization_name="St. Luke's Parish",
            edit=ServiceEdit(name="x"),
            location=where,
        )
    with pytest.raises(Forbidden):
        service_add(session=session, actor=care_manager, organization_name="A", edit=edit, location=where)
    added = service_add(
        session=session, actor=supervisor, organization_name="St. Luke's Parish", edit=edit, location=where
    )
    found = resources_search(
        session=session, actor=supervisor, criteria=Criteria("food", zip_code=IN_MIAMI_DADE, limit=500)
    )
    match = next(m for m in found if m.service.uuid == added.uuid)
    assert match.distance_miles is not None
    assert match.distance_miles < 1, "placed at its ZIP code's centroid"
    assert match.location is not None
    assert match.location.state == "FL"
    assert added.uuid not in [
        m.service.uuid
        for m in resources_search(
            session=session, actor=supervisor, criteria=Criteria("housing", zip_code=IN_MIAMI_DADE, limit=500)
        )
    ]
    service_update(
        session=session,
        actor=supervisor,
        service_uuid=added.uuid,
        edit=ServiceEdit(name="Saturday grocery pantry", needs=["food", "housing"]),
    )
    assert added.uuid in [
        m.service.uuid
        for m in resources_search(
            session=session, actor=supervisor, criteria=Criteria("housing", zip_code=IN_MIAMI_DADE, limit=500)
        )
    ]
    with pytest.raises(InvalidInput, match="not a US ZIP code"):
        service_add(
            session=session,
            actor=supervisor,
            organization_name="St. Luke's Parish",
            edit=edit,
            location=NewLocation("1 Main St", "Nowhere", "", "99999"),
        )
