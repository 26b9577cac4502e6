"""Running ``carenav import`` in-process against a test database, and reading back what it stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from sqlalchemy import Table, select

from carenav.careplans import models as plans
from carenav.cli.main import cli
from carenav.patients import models
from carenav.settings import get_settings
from tests.databases import engine_for

RECORD_TABLES: dict[str, Any] = {
    "Patient": models.Patient,
    "Organization": models.Facility,
    "Practitioner": models.Practitioner,
    "Encounter": models.Encounter,
    "Condition": models.Condition,
    "Observation": models.Observation,
    "MedicationRequest": models.Medication,
    "AllergyIntolerance": models.Allergy,
    "Procedure": models.Procedure,
    "Coverage": models.Coverage,
    "CareTeam": models.CareTeamMember,
    "RelatedPerson": models.RelatedPerson,
    "CarePlan": plans.CarePlan,
    "Goal": plans.Goal,
    "Task": plans.Intervention,
}
CHILD_TABLES: tuple[Any, ...] = (
    models.PatientName,
    models.PatientIdentifier,
    models.PatientAddress,
    models.PatientTelecom,
    models.EncounterDiagnosis,
    models.ObservationComponent,
    plans.PlanProblem,
    plans.GoalNote,
    plans.goal_interventions,
)


def run_import(
    monkeypatch: pytest.MonkeyPatch, db_url: str, *args: str | Path, env: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    """Exit status and the ``--json`` summary of ``carenav import ARGS``."""
    monkeypatch.setenv("CARENAV_DATABASE_URL", db_url)
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, ["import", "--json", *map(str, args)])
    get_settings.cache_clear()
    assert result.stdout.startswith("{"), result.output
    return result.exit_code, orjson.loads(result.stdout)


def snapshot(db_url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every record table (timestamps left out), sorted: to compare two states."""
    tables = [*RECORD_TABLES.values(), *CHILD_TABLES]
    state: dict[str, list[tuple[Any, ...]]] = {}
    with engine_for(db_url) as engine, engine.connect() as connection:
        for model in tables:
            table: Table = model if isinstance(model, Table) else model.__table__
            columns = [c for c in table.columns if c.name not in ("created_at", "updated_at")]
            rows = connection.execute(select(*columns)).all()
            state[table.name] = sorted(tuple(map(repr, row)) for row in rows)
    return state


def row_count(db_url: str, model: Any, **where: Any) -> int:
    with engine_for(db_url) as engine, engine.connect() as connection:
        table: Table = model.__table__
        stmt = select(table.c.id)
        for name, value in where.items():
            stmt = stmt.where(table.c[name] == value)
        return len(connection.execute(stmt).all())


def errors_text(summary: dict[str, Any]) -> str:
    return "\n".join(f"{e['where']}: {e['reason']}" for e in summary["errors"])
