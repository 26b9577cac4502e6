"""The community resource directory from HSDS 3.0 JSON (SQLite and PostgreSQL): the official examples — nested
documents (an organization with its services and locations, a service with its schedules, phones, languages,
terms and service_at_locations), API pages of ``contents``, single objects, ``tabular.json`` — read into the
same rows as the CSV examples, so both land as one record; a broken copy (a malformed time, dangling ids,
a nameless service, invalid JSON) reports each defect with its file and JSON path while the rest imports;
the CLI takes a JSON folder or file."""

from __future__ import annotations

import json
import shutil
from datetime import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.cli.main import cli
from carenav.errors import InvalidInput
from carenav.resources.hsds import hsds_read
from carenav.resources.hsds_json import hsds_read_path
from carenav.resources.importer import resources_import
from carenav.resources.models import (
    ResourceLocation,
    ResourceOrganization,
    ResourceSchedule,
    ResourceService,
    ResourceTerm,
)
from carenav.settings import get_settings
from tests.builders import make_org

EXAMPLES = "hsds/hsds-3.0-spec-examples/examples"
CSV = f"{EXAMPLES}/csv"
SERVICE = "ac148810-d857-441c-9679-408f346de14b"
ORGANIZATION = "d9d5e0f5-d3ce-4f73-9a2f-4dd0ecc6c610"
LOCATION = "3a19ff88-4620-4d17-9830-ac1d859eb5d5"
COUNTS = {
    "organizations": 1,
    "services": 1,
    "locations": 1,
    "service_locations": 1,
    "schedules": 2,
    "terms": 1,
    "languages": 1,
    "phones": 1,
}


def _count(session: Session, model: type[Any], system: str) -> int:
    return session.scalar(select(func.count()).select_from(model).where(model.source_system == system)) or 0


def _service(session: Session, system: str) -> ResourceService:
    query = select(ResourceService).where(ResourceService.source_system == system)
    return session.scalars(query).one()


def _hours(session: Session, service: ResourceService) -> list[tuple[Any, ...]]:
    query = select(ResourceSchedule).where(ResourceSchedule.service_id == service.id)
    return sorted((h.weekday, h.opens_at, h.closes_at) for h in session.scalars(query))


def _json_copy(shared_data: Path, folder: Path) -> Path:
    """The examples' JSON files (not their csv/ folder) in ``folder``."""
    folder.mkdir()
    for path in (shared_data / EXAMPLES).glob("*.json"):
        shutil.copy(path, folder / path.name)
    return folder


def test_the_json_examples_import_with_what_they_nest(session: Session, shared_data: Path) -> None:
    org = make_org(session)
    operator = Actor.operator(org.id, "tests")
    summary = resources_import(
        session=session, actor=operator, folder=shared_data / EXAMPLES, source="spec-json"
    ).as_json()
    assert summary["hsds_version"] == "3.0"
    assert summary["imported"] == COUNTS, "each object once, however many documents repeat it"
    assert summary["refused"] == []
    # the defects of the examples themselves, each with its file and path
    assert {(w["file"], w["row"]) for w in summary["warnings"]} == {
        ("location.json", None),
        ("tabular.json", None),
    }
    reasons = sorted(w["reason"] for w in summary["warnings"])
    assert reasons[0] == "$: latitude/longitude 100.0, 101.0 are off the globe: left out"
    assert reasons[1] == (
        "$['locations.csv'][0].organization_id: '985e4a42-bd9f-4edc-911d-0243a4640aca' names no organization "
        "of the directory: the link is left out"
    )

    service = _service(session, "hsds:spec-json")
    assert (service.source_id, service.name, service.status) == (SERVICE, "Community Counselling", "active")
    assert (service.minimum_age, service.maximum_age) == (12, 100)
    assert (service.fees or "").startswith("Non-NHS patients are expected to pay")
    assert (service.eligibility or "").startswith("This service is intended for all people aged 12 and over")
    organization = session.get(ResourceOrganization, service.organization_id)
    assert organization is not None
    assert (organization.source_id, organization.name) == (ORGANIZATION, "Example Organization Inc.")
    assert service.languages == ["Urdu"]
    assert service.areas == [
        "The service is available to all residents of the MyCity area. We provide the service in our "
        "offices or via video conferencing to any who can provide evidence of their residency."
    ]
    assert service.phones == [
        {
            "number": "+44 1234 234567",
            "extension": "100",
            "type": "voice",
            "description": "Our main reception phone number. The phones will be available from 0800 (8am) "
            "until 1800 (6pm) local time. There may be some slight delays in answering your call if we are "
            "busy.",
        }
    ]
    hours = session.scalars(select(ResourceSchedule).where(ResourceSchedule.service_id == service.id)).all()
    assert sorted(h.weekday for h in hours) == [4, 5], "byday TH,FR, once though nested three times"
    assert {(h.opens_at, h.closes_at) for h in hours} == {(time(10), time(18))}
    terms = session.scalars(select(ResourceTerm).where(ResourceTerm.service_id == service.id)).all()
    assert [(t.code, t.name, t.vocabulary) for t in terms] == [("code", "name", "taxonomy")]
    (location,) = service.locations
    assert (location.source_id, location.name) == (LOCATION, "MyCity Civic Center")
    assert (location.address_1, location.city, location.state, location.postal_code) == (
        "1-30 Main Street",
        "MyCity",
        "MyState",
        "ABC 1234",
    )
    assert (location.accessibility or "").startswith("The building is equipped with induction loops")
    assert (location.latitude, location.longitude) == (None, None)

    again = resources_import(
        session=session, actor=operator, folder=shared_data / EXAMPLES, source="spec-json"
    ).as_json()
    assert again["imported"] == COUNTS
    for model in (ResourceOrganization, ResourceService, ResourceLocation):
        assert _count(session, model, "hsds:spec-json") == 1
    ours = select(ResourceService.id).where(ResourceService.org_id == operator.org_id)
    hours = select(func.count()).select_from(ResourceSchedule).where(ResourceSchedule.service_id.in_(ours))
    assert session.scalar(hours) == 2


def test_the_same_record_from_csv_and_from_json_lands_as_one(session: Session, shared_data: Path) -> None:
    org = make_org(session)
    operator = Actor.operator(org.id, "tests")
    resources_import(session=session, actor=operator, folder=shared_data / CSV, source="spec")
    from_csv = _service(session, "hsds:spec")
    columns = (
        "name",
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
        "languages",
        "phones",
    )
    before = {c: getattr(from_csv, c) for c in columns}
    csv_hours = _hours(session, from_csv)

    summary = resources_import(
        session=session, actor=operator, folder=shared_data / EXAMPLES, source="spec"
    ).as_json()
    assert summary["imported"]["services"] == 1
    for model in (ResourceOrganization, ResourceService, ResourceLocation):
        assert _count(session, model, "hsds:spec") == 1, f"{model.__name__}: updated, not doubled"
    from_json = _service(session, "hsds:spec")
    assert from_json.id == from_csv.id
    assert {c: getattr(from_json, c) for c in columns} == before, "JSON reads as CSV does"
    assert _hours(session, from_json) == csv_hours == [(4, time(10), time(18)), (5, time(10), time(18))]
    # the CSV location names a missing organization; the JSON nests it in its organization
    location = session.scalars(
        select(ResourceLocation).where(ResourceLocation.source_system == "hsds:spec")
    ).one()
    assert location.organization_id == from_json.organization_id is not None

    # one JSON file of the folder, by default named as its folder: the same rows again
    single = resources_import(
        session=session, actor=operator, folder=shared_data / EXAMPLES / "service_full.json"
    )
    assert single.source == "examples"
    resources_import(
        session=session, actor=operator, folder=shared_data / EXAMPLES / "service_full.json", source="spec"
    )
    assert _count(session, ResourceService, "hsds:spec") == 1


@pytest.mark.parametrize(
    ("file", "organizations", "services", "locations", "links"),
    [
        ("organization_full.json", 1, 1, 1, 1),
        ("service_full.json", 1, 1, 1, 1),
        ("service_at_location_full.json", 1, 1, 1, 1),
        ("service_at_location_list.json", 1, 1, 1, 1),
        ("organization_list.json", 1, 0, 0, 0),
        ("service_list.json", 1, 1, 0, 0),
        ("location.json", 0, 0, 1, 0),
        ("tabular.json", 1, 1, 1, 1),
        ("taxonomy_term_list.json", 0, 0, 0, 0),
        ("base.json", 0, 0, 0, 0),
    ],
)
def test_each_kind_of_document(
    shared_data: Path, file: str, organizations: int, services: int, locations: int, links: int
) -> None:
    directory = hsds_read_path(shared_data / EXAMPLES / file)
    assert directory.version == "3.0"
    assert (len(directory.organizations), len(directory.services), len(directory.locations)) == (
        organizations,
        services,
        locations,
    )
    assert len(directory.service_locations) == links
    assert all(p.file == file for p in directory.problems)
    assert not [p for p in directory.problems if p.refused]


def test_the_nested_children_read_as_the_csv_rows(shared_data: Path) -> None:
    from_json = hsds_read_path(shared_data / EXAMPLES / "organization_full.json")
    from_csv = hsds_read(shared_data / CSV)
    assert from_json.services == from_csv.services
    assert from_json.organizations == from_csv.organizations
    assert from_json.schedules == from_csv.schedules
    assert from_json.phones == from_csv.phones
    assert from_json.languages == from_csv.languages
    assert from_json.service_locations == from_csv.service_locations
    # the CSV attribute links to no service (link_id f28dd44b...): the nested one is the service's
    assert from_csv.terms == []
    assert from_json.terms == [
        {"service_id": SERVICE, "code": "code", "name": "name", "vocabulary": "taxonomy"}
    ]


def test_objects_named_by_id_across_files_and_rfc_3339_times(tmp_path: Path) -> None:
    services = [
        {
            "id": "s1",
            "name": "Food pantry",
            "status": "active",
            "organization_id": "o1",
            "languages": [{"name": "Spanish"}, {"name": "Spanish"}],
            "schedules": [
                {"freq": "WEEKLY", "byday": "MO", "opens_at": "09:00:00Z", "closes_at": "17:30-05:00"}
            ],
        }
    ]
    (tmp_path / "services.json").write_text(json.dumps(services), encoding="utf-8")
    (tmp_path / "organizations.json").write_text(json.dumps({"id": "o1", "name": "Pantry"}), encoding="utf-8")
    links = {"contents": [{"id": "l", "service_id": "s1", "location_id": "p1"}]}
    (tmp_path / "service_at_locations.json").write_text(json.dumps(links), encoding="utf-8")
    (tmp_path / "locations.json").write_text(json.dumps([{"id": "p1", "name": "Hall"}]), encoding="utf-8")
    directory = hsds_read_path(tmp_path)
    assert directory.problems == []
    assert directory.services["s1"]["organization_id"] == "o1"
    assert directory.service_locations == [("s1", "p1")]
    assert directory.languages == [{"service_id": "s1", "name": "Spanish", "code": ""}]
    assert [(s["weekday"], s["opens_at"], s["closes_at"]) for s in directory.schedules] == [
        (1, time(9), time(17, 30))
    ]


def _broken(shared_data: Path, tmp_path: Path) -> Path:
    folder = _json_copy(shared_data, tmp_path / "broken")
    full = folder / "organization_full.json"
    organization = json.loads(full.read_text(encoding="utf-8"))
    service = organization["services"][0]
    service["schedules"][0]["opens_at"] = "ten"
    service["service_at_locations"].append({"id": "link-2", "location_id": "no-such-location"})
    service["attributes"].append({"id": "attribute-2", "taxonomy_term_id": "no-such-term"})
    service["phones"].append({"id": "phone-2", "number": ""})
    service["minimum_age"] = "twelve"
    organization["services"].append(
        {"id": "nameless", "status": "active", "schedules": [{"id": "s", "opens_at": "9am"}]}
    )
    full.write_text(json.dumps(organization, indent=2), encoding="utf-8")
    page = folder / "service_list.json"
    services = json.loads(page.read_text(encoding="utf-8"))
    del services["contents"][0]["organization"]
    services["contents"][0]["organization_id"] = "no-such-organization"
    page.write_text(json.dumps(services, indent=2), encoding="utf-8")
    (folder / "truncated.json").write_text('{\n  "id": "x",\n  "name": ', encoding="utf-8")
    (folder / "notes.json").write_text('[{"title": "not HSDS"}, 3]', encoding="utf-8")
    return folder


def test_a_broken_copy_reports_each_defect_with_its_file_and_path(
    session: Session, shared_data: Path, tmp_path: Path
) -> None:
    org = make_org(session)
    operator = Actor.operator(org.id, "tests")
    summary = resources_import(
        session=session, actor=operator, folder=_broken(shared_data, tmp_path), source="broken"
    ).as_json()
    problems = {(p["file"], p["row"], p["reason"]) for p in summary["refused"]}
    assert problems == {
        (
            "organization_full.json",
            None,
            "$.services[1]: a service needs its id and name: left out with what it nests",
        ),
        (
            "organization_full.json",
            None,
            "$.services[0].service_at_locations[1]: service 'ac148810-d857-441c-9679-408f346de14b' or "
            "location 'no-such-location' does not exist",
        ),
        (
            "organization_full.json",
            None,
            "$.services[0].attributes[1].taxonomy_term_id: 'no-such-term' names no taxonomy term",
        ),
        ("organization_full.json", None, "$.services[0].phones[1]: a phone needs its number"),
        (
            "truncated.json",
            3,
            "not readable JSON (Expecting value: line 3 column 11 (char 25)): the file is left out",
        ),
        ("notes.json", None, "$[1]: a number is not an object: left out"),
    }
    warnings = {(p["file"], p["reason"]) for p in summary["warnings"]}
    assert {
        (
            "organization_full.json",
            "$.services[0].schedules[0].opens_at: time 'ten' cannot be read: the day is kept without hours",
        ),
        (
            "organization_full.json",
            "$.services[0].minimum_age: age 'twelve' is not a number of years: left out",
        ),
        (
            "service_list.json",
            "$.contents[0].organization_id: 'no-such-organization' names no organization of the directory: "
            "the link is left out",
        ),
        (
            "notes.json",
            "$[0]: not an HSDS organization, service, location, service_at_location or taxonomy term: "
            "left out",
        ),
    } <= warnings

    # the rest imports: the service with its organization, location, languages and terms
    assert summary["imported"] == {**COUNTS, "schedules": 2}
    service = _service(session, "hsds:broken")
    assert service.organization_id is not None
    assert [loc.source_id for loc in service.locations] == [LOCATION]
    assert service.languages == ["Urdu"]
    assert service.minimum_age is None
    hours = session.scalars(select(ResourceSchedule).where(ResourceSchedule.service_id == service.id)).all()
    assert {(h.weekday, h.opens_at, h.closes_at) for h in hours} == {
        (4, None, time(18)),
        (5, None, time(18)),
    }, "the first occurrence of a schedule stands: the day is kept without its opening time"
    assert _count(session, ResourceService, "hsds:broken") == 1


def test_what_is_not_a_json_directory(shared_data: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no HSDS CSV files here, nor JSON files"):
        hsds_read_path(tmp_path)
    with pytest.raises(InvalidInput, match="an HSDS JSON file"):
        hsds_read_path(shared_data / CSV / "services.csv")
    with pytest.raises(InvalidInput, match="neither a folder nor a JSON file"):
        hsds_read_path(tmp_path / "absent")
    # a CSV folder is still read as CSV, also through its descriptor's path
    assert hsds_read_path(shared_data / CSV / "datapackage.json").services.keys() == {SERVICE}
    mixed = tmp_path / "mixed"
    shutil.copytree(shared_data / CSV, mixed)
    shutil.copy(shared_data / EXAMPLES / "location.json", mixed / "location.json")
    read = hsds_read_path(mixed)
    assert read.services.keys() == {SERVICE}
    assert [(p.file, p.reason) for p in read.problems if p.file.endswith(".json")] == [
        ("location.json", "a JSON file beside CSV files: not read (import it on its own)")
    ]
    (tmp_path / "empty.json").write_text("{}", encoding="utf-8")
    directory = hsds_read_path(tmp_path)
    assert [(p.file, p.reason) for p in directory.problems] == [
        (
            "empty.json",
            "$: not an HSDS organization, service, location, service_at_location or taxonomy term: left out",
        )
    ]


def test_the_cli_imports_a_json_folder_or_file(
    fresh_db_url: str, monkeypatch: pytest.MonkeyPatch, shared_data: Path
) -> None:
    monkeypatch.setenv("CARENAV_DATABASE_URL", fresh_db_url)
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, ["resources", "import", str(shared_data / EXAMPLES), "--source", "spec"])
    assert result.exit_code == 0, result.output
    printed = orjson.loads(result.stdout)
    assert printed["hsds_version"] == "3.0"
    assert printed["imported"] == COUNTS
    assert printed["warning_count"] == len(printed["warnings"]) == 2
    one = CliRunner().invoke(
        cli,
        ["resources", "import", str(shared_data / EXAMPLES / "organization_full.json"), "--source", "spec"],
    )
    assert one.exit_code == 0, one.output
    assert orjson.loads(one.stdout)["imported"]["services"] == 1
    not_json = CliRunner().invoke(cli, ["resources", "import", str(shared_data / CSV / "services.csv")])
    assert not_json.exit_code == 1
    assert "an HSDS JSON file" in not_json.stderr
