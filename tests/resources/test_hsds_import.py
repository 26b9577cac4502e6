"""The community resource directory from real HSDS data (SQLite and PostgreSQL): the Miami 211 export (HSDS
1.1 CSV) with its real defects — dangling organization ids, eligibility rows that name no service,
malformed opening times, files its descriptor lists but that are absent — each reported with its file,
line and reason while the rest imports; the official HSDS 3.0 examples; a re-import updates instead of
duplicating; the CLI prints the summary."""

from __future__ import annotations

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
from carenav.errors import Forbidden, InvalidInput
from carenav.resources.hsds import hsds_read, schedule_time
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

MIAMI = "hsds/open211-miami"
SPEC = "hsds/hsds-3.0-spec-examples/examples/csv"


def _reasons(problems: list[dict[str, Any]], file: str) -> list[dict[str, Any]]:
    return [p for p in problems if p["file"] == file]


def test_the_miami_211_export_imports_with_each_defect_reported(session: Session, shared_data: Path) -> None:
    org = make_org(session)
    operator = Actor.operator(org.id, "tests")
    summary = resources_import(session=session, actor=operator, folder=shared_data / MIAMI).as_json()
    assert summary["hsds_version"] == "1.1"
    imported = summary["imported"]
    assert (imported["organizations"], imported["services"], imported["locations"]) == (1074, 4089, 4089)
    assert imported["service_locations"] == 4089
    assert imported["schedules"] == 11350
    assert imported["terms"] == 26259

    # the descriptor lists nine files that are absent: each said, read as empty
    absent = [w for w in summary["warnings"] if "but absent" in w["reason"]]
    assert {w["file"] for w in absent} >= {"programs.csv", "postal_addresses.csv", "holiday_schedules.csv"}
    assert all(w["row"] is None for w in absent)
    # 447 services and 3,015 locations name an organization that is not there: kept, each said
    dangling = [
        w
        for w in _reasons(summary["warnings"], "services.csv")
        if "is not in organizations.csv" in w["reason"]
    ]
    assert len(dangling) == 447
    assert (
        len([w for w in _reasons(summary["warnings"], "locations.csv") if "organizations.csv" in w["reason"]])
        == 3015
    )
    # eligibility rows with no service id cannot be linked: refused, each with its line
    eligibility = _reasons(summary["refused"], "eligibility.csv")
    assert len(eligibility) == 2244
    assert eligibility[0] == {"file": "eligibility.csv", "row": 2, "reason": "service_id '' names no service"}
    # malformed times: the line and the text
    times = [
        w for w in _reasons(summary["warnings"], "regular_schedules.csv") if "cannot be read" in w["reason"]
    ]
    assert any("'6:300pm'" in w["reason"] for w in times)
    assert all(isinstance(w["row"], int) and w["row"] >= 2 for w in times)
    # duplicated taxonomy ids
    assert {w["reason"] for w in _reasons(summary["warnings"], "taxonomy.csv")} == {
        "id 'J' is given twice: the first stands",
        "id 'FP-4500' is given twice: the first stands",
        "id 'FP-4000' is given twice: the first stands",
    }

    girl_scouts = session.scalars(
        select(ResourceService).where(
            ResourceService.source_id == "136", ResourceService.org_id == operator.org_id
        )
    ).one()
    assert girl_scouts.name == "GIRL SCOUTS COUNCIL OF TROPICAL FLORIDA, INC."
    assert "\n\n###MON###" in (girl_scouts.description or ""), "the literal \\n is a line break"
    assert girl_scouts.phones == [{"number": "305-253-4841"}]
    assert "English" in girl_scouts.languages
    location = girl_scouts.locations[0]
    assert (location.address_1, location.city, location.state, location.postal_code) == (
        "11347 SW 160th Street",
        "Miami",
        "FL",
        "33157",
    )
    monday = session.scalars(
        select(ResourceSchedule).where(
            ResourceSchedule.service_id == girl_scouts.id, ResourceSchedule.weekday == 1
        )
    ).one()
    assert (monday.opens_at, monday.closes_at) == (time(9), time(17))

    # a second import updates: nothing doubles
    again = resources_import(session=session, actor=operator, folder=shared_data / MIAMI).as_json()
    assert again["imported"] == imported
    for model in (ResourceOrganization, ResourceService, ResourceLocation):
        assert (
            session.scalar(select(func.count()).select_from(model).where(model.org_id == operator.org_id))
            == imported[model.__tablename__.removeprefix("resource_")]
        )
    ours = select(ResourceService.id).where(ResourceService.org_id == operator.org_id)
    for child, rows in ((ResourceSchedule, 11350), (ResourceTerm, 26259)):
        count = select(func.count()).select_from(child).where(child.service_id.in_(ours))
        assert session.scalar(count) == rows


def test_the_hsds_3_examples_import_and_a_folder_without_a_descriptor_too(
    session: Session, shared_data: Path, tmp_path: Path
) -> None:
    org = make_org(session)
    operator = Actor.operator(org.id, "tests")
    summary = resources_import(
        session=session, actor=operator, folder=shared_data / SPEC, source="spec"
    ).as_json()
    assert summary["hsds_version"] == "3.0"
    assert summary["imported"]["services"] == 1
    service = session.scalars(
        select(ResourceService).where(ResourceService.source_system == "hsds:spec")
    ).one()
    assert service.name == "Community Counselling"
    assert service.languages == ["Urdu"]
    assert (service.minimum_age, service.maximum_age, service.status) == (12, 100, "active")
    assert (service.eligibility or "").startswith("This service is intended for all people aged 12 and over")
    assert (service.fees or "").startswith("Non-NHS patients are expected to pay")
    hours = session.scalars(select(ResourceSchedule).where(ResourceSchedule.service_id == service.id)).all()
    assert sorted(h.weekday for h in hours) == [4, 5], "byday TH,FR"
    assert {(h.opens_at, h.closes_at) for h in hours} == {(time(10), time(18))}
    assert any("off the globe" in w["reason"] for w in summary["warnings"]), "latitude 100 is refused"

    bare = tmp_path / "bare"
    shutil.copytree(shared_data / SPEC, bare)
    (bare / "datapackage.json").unlink()
    without = resources_import(session=session, actor=operator, folder=bare).as_json()
    assert without["hsds_version"] == "3.0"
    assert without["imported"]["services"] == 1


def test_what_is_not_a_directory_and_who_may_import(session: Session, tmp_path: Path) -> None:
    org = make_org(session)
    with pytest.raises(InvalidInput, match="no HSDS CSV files here"):
        resources_import(session=session, actor=Actor.operator(org.id, "tests"), folder=tmp_path)
    (tmp_path / "datapackage.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(InvalidInput, match="not readable JSON"):
        hsds_read(tmp_path)
    care_manager = Actor(org_id=org.id, label="user:cm", kind="user", role="care_manager", user_id=1)
    with pytest.raises(Forbidden):
        resources_import(session=session, actor=care_manager, folder=tmp_path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("9:00am", time(9)),
        ("9am", time(9)),
        ("7:30 am ", time(7, 30)),
        ("12:00pm", time(12)),
        ("12:15am", time(0, 15)),
        ("5:00pm", time(17)),
        ("17:30", time(17, 30)),
        ("10:00:00", time(10)),
        ("6:300pm", None),
        ("8:00m", None),
        ("25:00", None),
        ("9", None),
        ("noon", None),
    ],
)
def test_opening_times_as_exports_write_them(text: str, expected: time | None) -> None:
    assert schedule_time(text) == expected


def test_the_cli_prints_the_summary(
    fresh_db_url: str, monkeypatch: pytest.MonkeyPatch, shared_data: Path
) -> None:
    monkeypatch.setenv("CARENAV_DATABASE_URL", fresh_db_url)
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, ["resources", "import", str(shared_data / SPEC), "--source", "spec"])
    assert result.exit_code == 0, result.output
    printed = orjson.loads(result.stdout)
    assert printed["imported"]["organizations"] == 1
    assert printed["refused_count"] == len(printed["refused"])
    missing = CliRunner().invoke(cli, ["resources", "import", "/nonexistent/folder"])
    assert missing.exit_code != 0
