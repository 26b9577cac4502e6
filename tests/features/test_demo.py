"""carenav demo load: the synthetic population imports cleanly, demo users can sign in, caseloads are set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from carenav.accounts.models import User
from carenav.assessments.models import Assessment
from carenav.careplans.models import CarePlan, CarePlanAgreement
from carenav.cli.main import cli
from carenav.patients.models import CareTeamMember, Condition, Observation, Patient
from carenav.settings import get_settings
from tests.databases import engine_for


def _demo_load(monkeypatch: pytest.MonkeyPatch, db_url: str, workdir: Path, *extra: str) -> dict[str, Any]:
    monkeypatch.setenv("CARENAV_DATABASE_URL", db_url)
    get_settings.cache_clear()
    result = CliRunner().invoke(
        cli,
        ["demo", "load", "--patients", "150", "--seed", "7", "--workdir", str(workdir), "--json", *extra],
    )
    assert result.exit_code == 0, result.output
    loaded: dict[str, Any] = orjson.loads(result.stdout)
    return loaded


def test_demo_population_imports_cleanly_and_is_idempotent(
    fresh_db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, shared_data: Path
) -> None:
    first = _demo_load(monkeypatch, fresh_db_url, tmp_path / "population")
    assert first["import_problems"] == 0
    assert first["imported"]["Patient"] == 150
    assert sorted(first["users_created"]) == sorted(login["username"] for login in first["logins"])
    assert first["caseload_assignments"] > 0
    # Each care manager's first patients have months of PHQ-9/GAD-7 follow-up, a screen and a draft.
    assert first["assessments_recorded"] == 2 * 6 * 8
    assert 0 < first["care_plans_made"] <= 2 * 4, "plans from templates for the first patients"
    # The population is stratified, so the Population page has a run and patients are in programs.
    assert first["stratification_run"]
    assert 0 < first["identified_for_programs"] <= 150

    assert first["resource_directory"] == {}, "no directory asked for"
    examples = shared_data / "hsds/hsds-3.0-spec-examples/examples/csv"
    second = _demo_load(monkeypatch, fresh_db_url, tmp_path / "population", "--directory", str(examples))
    assert second["resource_directory"]["services"] == 1, "the directory make demo passes"
    assert second["import_problems"] == 0
    assert second["users_created"] == []
    assert second["assessments_recorded"] == 0, "patients with assessments are left alone"
    assert second["care_plans_made"] == 0, "patients with a plan are left alone"
    assert second["stratification_run"] != first["stratification_run"]

    with engine_for(fresh_db_url) as engine, engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Patient)) == 150
        roles = dict(connection.execute(select(User.username, User.role)).all())
        assert roles["casey.cm"] == "care_manager"
        assert roles["avery.auditor"] == "auditor"
        caseload = connection.scalar(
            select(func.count())
            .select_from(CareTeamMember)
            .join(User, User.id == CareTeamMember.user_id)
            .where(User.username == "casey.cm", CareTeamMember.active.is_(True))
        )
        statuses = dict(
            connection.execute(select(Assessment.status, func.count()).group_by(Assessment.status)).all()
        )
        assert statuses == {"completed": 2 * 6 * 7, "in-progress": 2 * 6}
        phq9_totals = connection.scalars(
            select(Observation.value_quantity).where(Observation.code == "44261-6")
        ).all()
        assert len(phq9_totals) == 2 * 6 * 3
        assert (
            connection.scalar(
                select(func.count()).select_from(Condition).where(Condition.sdoh_domain.is_not(None))
            )
            == 2 * 6
        )
        plans = connection.execute(select(CarePlan.status, CarePlan.version)).all()
        assert len(plans) == first["care_plans_made"]
        assert {status for status, _ in plans} == {"active"}
        assert connection.scalar(select(func.count()).select_from(CarePlanAgreement)) == len(plans)
        # Each care manager gets an equal share of the most burdened patients, once, however often it runs.
        assert caseload == first["caseload_assignments"] // 2
