"""`carenav programs` at the command line: rules check, identify, enrol with consent, list, counts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session

from carenav.accounts.services import organization_resolve
from carenav.cli.main import cli
from carenav.settings import get_settings
from tests.builders import make_patient
from tests.databases import engine_for
from tests.programs.test_rules_file import TIERS, program


@pytest.fixture
def database(fresh_db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    monkeypatch.setenv("CARENAV_DATABASE_URL", fresh_db_url)
    monkeypatch.setenv("CARENAV_RULES_DIR", str(tmp_path / "rules"))
    get_settings.cache_clear()
    yield fresh_db_url
    get_settings.cache_clear()


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_rules_check_prints_the_compiled_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARENAV_RULES_DIR", str(tmp_path))
    get_settings.cache_clear()
    code, out, _ = run("programs", "rules", "check")
    assert code == 0
    assert "default_rules.toml: valid (version " in out
    assert "program ccm          care_management  consent required" in out
    assert "when chronic_condition_count >= 2" in out
    (tmp_path / "clinic.toml").write_text(program(code='"own"') + TIERS)
    code, out, _ = run("programs", "rules", "check", "--org", "clinic", "--json", "--sql", "spark")
    summary = json.loads(out)
    assert [p["code"] for p in summary["programs"]] == ["own"]
    assert "`chronic_condition_count`" in summary["sql"]["scores"]


def test_rules_check_reports_a_fault_with_file_rule_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(program(when='{ feature = "charlson", op = "~", value = 1 }') + TIERS)
    code, _, err = run("programs", "rules", "check", str(bad))
    assert code == 1
    assert err.strip().startswith(f"carenav: {bad}, program 'ccm', field 'when.op': unknown operator '~'")


def test_an_operator_walks_a_patient_through_a_program(database: str, tmp_path: Path) -> None:
    with engine_for(database) as engine, Session(engine) as session, session.begin():
        org = organization_resolve(session=session, slug=None, timezone="America/New_York")
        patient_uuid = make_patient(session, org).uuid
    csv_path = tmp_path / "run-7.csv"
    csv_path.write_text(f"patient_id,tier,programs\n{patient_uuid},3,ccm;tcm\n")
    code, out, err = run("programs", "identify-run", str(csv_path))
    assert (code, err) == (0, "")
    assert out.strip() == "1 patients: opened 2"
    code, out, _ = run("programs", "identify-run", str(csv_path), "--run-id", "run-8")
    assert out.strip() == "1 patients: already-open 2"
    code, _, err = run("programs", "enroll", "--patient", patient_uuid, "--program", "ccm")
    assert code == 1
    assert "ccm needs the patient's consent" in err
    code, out, err = run(
        "programs", "enroll", "--patient", patient_uuid, "--program", "ccm",
        "--consent", "verbal", "--consent-date", "2024-01-02", "--obtained-by", "Nurse Ann", "--json",
    )  # fmt: skip
    assert (code, err) == (0, "")
    enrolled = json.loads(out)
    assert enrolled["state"] == "enrolled"
    assert enrolled["consents"][0]["obtained_by"] == "Nurse Ann"
    code, _, err = run("programs", "pause", "--patient", patient_uuid, "--program", "ccm")
    assert code == 2  # --reason is required
    code, out, _ = run(
        "programs", "pause", "--patient", patient_uuid, "--program", "ccm", "--reason", "travel"
    )
    assert code == 0
    assert "ccm episode 1: paused" in out
    code, out, _ = run("programs", "list", "--patient", patient_uuid, "--json")
    listed = {row["program"]: row for row in json.loads(out)}
    assert listed["ccm"]["identified_run_id"] == "run-7"
    assert [h["to"] for h in listed["ccm"]["history"]] == ["identified", "enrolled", "paused"]
    assert listed["tcm"]["state"] == "identified"
    code, out, _ = run("programs", "counts")
    assert out.split("\n")[:2] == ["ccm          paused      1", "tcm          identified  1"]
    code, _, err = run("programs", "list", "--patient", "00000000-0000-0000-0000-000000000000")
    assert code == 1
    assert "no patient" in err
