"""`carenav assessments` at the command line (SQLite and PostgreSQL): record a completed assessment from a
QuestionnaireResponse file, refuse one that does not fit (nothing stored), keep a draft, list them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session

from carenav.accounts.services import organization_resolve
from carenav.assessments.instruments import instrument_get
from carenav.cli.main import cli
from carenav.settings import get_settings
from tests.assessments.answers import FREQ, PHQ9
from tests.assessments.responses import response
from tests.builders import make_patient
from tests.databases import engine_for


@pytest.fixture
def database(fresh_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("CARENAV_DATABASE_URL", fresh_db_url)
    get_settings.cache_clear()
    yield fresh_db_url
    get_settings.cache_clear()


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_record_refuse_draft_and_list(database: str, tmp_path: Path) -> None:
    with engine_for(database) as engine, Session(engine) as session, session.begin():
        org = organization_resolve(session=session, slug=None, timezone="America/New_York")
        patient_uuid = make_patient(session, org).uuid
    phq9 = instrument_get("phq9")
    good = tmp_path / "good.json"
    good.write_text(json.dumps(response(phq9, dict.fromkeys(PHQ9, FREQ[2]))))
    code, out, err = run(
        "assessments",
        "record",
        "--patient",
        patient_uuid,
        "--instrument",
        "phq9",
        str(good),
        "--channel",
        "phone",
        "--json",
    )
    assert code == 0, err
    recorded = json.loads(out)
    assert (recorded["status"], recorded["total"], recorded["band"], recorded["flags"]) == (
        "completed",
        18,
        "moderately severe",
        ["suicide-risk"],
    )
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(response(phq9, dict.fromkeys(PHQ9[:4], FREQ[1]))))
    code, _out, err = run(
        "assessments", "record", "--patient", patient_uuid, "--instrument", "phq9", str(bad)
    )
    assert code == 1
    assert "the response does not fit phq9 1.0.0" in err
    assert "/44260-8: required, and not answered" in err
    code, out, err = run(
        "assessments",
        "record",
        "--patient",
        patient_uuid,
        "--instrument",
        "phq9",
        str(bad),
        "--draft",
        "--proxy-name",
        "Maria",
        "--proxy-relationship",
        "daughter",
    )
    assert code == 0, err
    assert "in-progress" in out
    code, out, _ = run("assessments", "list", "--patient", patient_uuid, "--json")
    listed = json.loads(out)
    assert [(r["status"], r["respondent"]) for r in listed] == [
        ("in-progress", "proxy"),
        ("completed", "patient"),
    ]
    code, _out, err = run("assessments", "list", "--patient", "00000000-0000-0000-0000-000000000000")
    assert code == 1
    assert "no patient" in err
