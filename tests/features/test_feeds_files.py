"""HL7 v2 file import and the unmatched queue through the CLI, on a database whose commits are real."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from carenav.access import Actor
from carenav.accounts.services import organization_create
from carenav.cli.main import cli
from carenav.db.engine import make_engine
from carenav.db.session import make_session_factory, unit_of_work
from carenav.feeds.models import InboundMessage
from carenav.ingest.hl7v2.files import hl7_files_import
from carenav.patients.models import Encounter, Patient


@pytest.fixture
def database(
    fresh_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[sessionmaker[Session], Actor]]:
    monkeypatch.setenv("CARENAV_DATABASE_URL", fresh_db_url)
    engine = make_engine(fresh_db_url)
    sessions = make_session_factory(engine)
    with unit_of_work(sessions) as session:
        org = organization_create(
            session=session, slug="default", name="Default", timezone="America/New_York"
        )
    yield sessions, Actor.operator(org.id, "import")
    engine.dispose()


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_the_fourteen_real_files_queue_then_resolving_one_applies_its_visit(
    database: tuple[sessionmaker[Session], Actor], shared_data: Path
) -> None:
    sessions, actor = database
    paths = sorted((shared_data / "hl7v2-adt").glob("*.hl7"))
    summary = hl7_files_import(sessions=sessions, actor=actor, paths=paths).as_json()
    assert summary["counts"]["messages"] == 14
    assert summary["counts"]["unmatched"] == 14  # nobody here yet: all wait for a person
    assert summary["ok"] is True
    orjson.dumps(summary)  # JSON-able as it is

    queue = orjson.loads(run("feeds", "unmatched", "--json"))
    assert len(queue) == 14
    by_origin = {Path(row["origin"]).name: row for row in queue}
    admit = by_origin["fhirconv_ADT-A01-01.hl7"]
    assert admit["patient"]["family"] == "EVERYMAN"
    assert admit["event"] == "ADT^A01"

    resolved = orjson.loads(run("feeds", "resolve", str(admit["id"]), "--create", "--json"))
    later = {
        by_origin[name]["id"]
        for name in (
            "fhirconv_ADT-A01-02.hl7",
            "fhirconv_ADT-A03-01.hl7",
            "fhirconv_ADT-A03-02.hl7",
            "fhirconv_ADT-A08-01.hl7",
        )
    }
    assert set(resolved["also_applied"]) == later  # the rest of that patient's messages now match
    with unit_of_work(sessions) as session:
        patient = session.scalars(select(Patient).where(Patient.uuid == resolved["patient"])).one()
        (encounter,) = session.scalars(select(Encounter).where(Encounter.patient_id == patient.id)).all()
        assert (encounter.status, encounter.visit_number) == ("finished", "40007716")
    assert len(orjson.loads(run("feeds", "unmatched", "--json"))) == 9
    assert "dismissed" in run(
        "feeds",
        "resolve",
        str(by_origin["fhirconv_ADT04-23.hl7"]["id"]),
        "--dismiss",
        "--note",
        "test patient",
    )

    again = hl7_files_import(sessions=sessions, actor=actor, paths=paths).as_json()
    assert again["counts"]["duplicates"] == 14
    assert again["counts"]["applied"] == 0
    with unit_of_work(sessions) as session:
        assert len(session.scalars(select(InboundMessage.id)).all()) == 14


def test_bad_input_is_reported_by_file_message_and_field_and_the_rest_goes_in(
    database: tuple[sessionmaker[Session], Actor], tmp_path: Path
) -> None:
    sessions, actor = database
    good = "MSH|^~\\&|APP|FAC|||20240101||ADT^A04|OK|P|2.5\nPID|1||7^^^H^MR||Roe^Ann||19700101|F\nPV1|1|O"
    unknown = good.replace("ADT^A04|OK", "ADT^A99|ODD")
    bad_date = good.replace("|OK|", "|BAD|").replace("19700101", "19701301")
    big = good.replace("|OK|", "|BIG|").replace("Roe^Ann", "Roe^" + "A" * 3000)
    messy = tmp_path / "messy.hl7"
    messy.write_text(
        "\n".join(["stray text before any message", good, "MSH|^~\\&|APP", unknown, bad_date, big])
    )
    empty = tmp_path / "empty.hl7"
    empty.write_text("\n\n")
    summary = hl7_files_import(
        sessions=sessions, actor=actor, paths=[messy, empty, tmp_path / "missing.hl7"], max_message_bytes=2000
    )
    report = summary.as_json()
    assert report["ok"] is False
    results = report["files"][0]["messages"]
    assert [(r["status"], r["ack"]) for r in results] == [
        ("rejected", "AR"),  # stray text: no MSH
        ("unmatched", "AA"),
        ("rejected", "AR"),  # truncated MSH
        ("rejected", "AR"),  # unknown event
        ("error", "AE"),  # PID-7
        ("rejected", "AR"),  # too large
    ]
    assert results[0]["where"] == f"{messy}, message 1, MSH"
    assert results[2]["where"] == f"{messy}, message 3, MSH-9"
    assert results[4]["where"] == f"{messy}, message 5, PID-7"
    assert "not a valid date" in results[4]["error"]
    assert "limit is 2000" in results[5]["error"]
    assert report["files"][1]["error"] == "the file holds no HL7 message"
    assert report["files"][2]["error"].startswith("cannot read the file")
    assert "6 messages: 0 applied, 1 unmatched" in summary.as_text()
    with unit_of_work(sessions) as session:
        stored = {m.control_id: m.status for m in session.scalars(select(InboundMessage))}
    assert stored == {"OK": "unmatched", "ODD": "rejected", "BAD": "error"}


def test_resolve_errors_say_what_is_wrong(database: tuple[sessionmaker[Session], Actor]) -> None:
    runner = CliRunner()
    missing = runner.invoke(cli, ["feeds", "resolve", "9999", "--create"])
    assert missing.exit_code == 1
    assert "no inbound message 9999" in missing.output
    undecided = runner.invoke(cli, ["feeds", "resolve", "9999"])
    assert undecided.exit_code == 1
    assert "exactly one way" in undecided.output
    assert "the unmatched queue is empty" in run("feeds", "unmatched")
