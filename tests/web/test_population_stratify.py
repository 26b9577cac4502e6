"""``carenav stratify`` wired to program work: the organization's own rules file decides the flags and its
version is saved with the run; flagged patients are identified into their programs, once."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carenav.cli.main import cli
from carenav.programs.models import ProgramEnrolment
from carenav.programs.rules import DEFAULT_RULES_PATH, rules_load
from carenav.settings import get_settings
from carenav.stratification.models import StratificationResult, StratificationRun
from tests.databases import engine_for
from tests.ingest.fhir_helpers import run_import


def _stratify(monkeypatch: pytest.MonkeyPatch, db_url: str, rules_dir: Path) -> dict:
    monkeypatch.setenv("CARENAV_DATABASE_URL", db_url)
    monkeypatch.setenv("CARENAV_RULES_DIR", str(rules_dir))
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, ["stratify", "--org", "default", "--as-of", "2021-06-01", "--json"])
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    summary: dict = orjson.loads(result.stdout)
    return summary


@pytest.mark.slow
def test_stratify_uses_the_organizations_rules_and_identifies_flagged_patients_once(
    monkeypatch: pytest.MonkeyPatch, fresh_db_url: str, shared_data: Path, tmp_path: Path
) -> None:
    status, imported = run_import(monkeypatch, fresh_db_url, shared_data / "synthea-r4")
    assert status == 0, imported["errors"]
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()

    default = _stratify(monkeypatch, fresh_db_url, rules_dir)
    assert default["rules_file"] == str(DEFAULT_RULES_PATH)
    flagged_default = default["identified"]["flagged_patients"]
    assert flagged_default >= 10, "several Synthea patients are CCM-eligible"
    assert default["identified"]["new"] == default["identified"]["outcomes"]["opened"] >= flagged_default

    again = _stratify(monkeypatch, fresh_db_url, rules_dir)
    assert again["identified"]["new"] == 0, "identifying is idempotent"
    assert again["identified"]["outcomes"]["already-open"] == default["identified"]["new"]

    # The organization's own file: CCM from 3 chronic conditions instead of 2.
    text = DEFAULT_RULES_PATH.read_text(encoding="utf-8")
    stricter = text.replace(
        '{ feature = "chronic_condition_count", op = ">=", value = 2 }',
        '{ feature = "chronic_condition_count", op = ">=", value = 3 }',
        1,
    )
    assert stricter != text
    (rules_dir / "default.toml").write_text(stricter, encoding="utf-8")
    own = _stratify(monkeypatch, fresh_db_url, rules_dir)
    assert own["rules_file"] == str(rules_dir / "default.toml")
    assert own["programs_rules_version"] == rules_load(rules_dir / "default.toml").version
    assert own["rules_version"] != default["rules_version"]
    assert own["identified"]["flagged_patients"] < flagged_default
    assert own["identified"]["new"] == 0, "everyone flagged now was flagged before"

    with engine_for(fresh_db_url) as engine, Session(engine) as session:
        runs = session.scalars(select(StratificationRun).order_by(StratificationRun.id)).all()
        assert [r.rules_version for r in runs] == [
            default["rules_version"],
            default["rules_version"],
            own["rules_version"],
        ]
        assert runs[0].summary["identified"]["new"] == default["identified"]["new"]
        ccm_flagged = sum(
            "ccm" in scores["programs"].split(";")
            for scores in session.scalars(
                select(StratificationResult.scores).where(StratificationResult.run_id == runs[0].id)
            )
        )
        enrolled = session.scalar(
            select(func.count()).select_from(ProgramEnrolment).where(ProgramEnrolment.program_code == "ccm")
        )
        assert enrolled == ccm_flagged, "one CCM episode per flagged patient, however many runs"
        reasons = session.scalars(
            select(ProgramEnrolment.reasons).where(ProgramEnrolment.program_code == "ccm")
        )
        assert all(r and r.startswith("program ccm: chronic_condition_count >= 2") for r in reasons)
