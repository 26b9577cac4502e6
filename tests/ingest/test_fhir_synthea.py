"""Acceptance: the 40 Synthea R4 bundles import, counts match the JSON, a second import changes nothing."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from carenav.careplans import models as plans
from carenav.cli import imports
from carenav.patients import models
from tests.databases import engine_for
from tests.ingest.fhir_helpers import RECORD_TABLES, errors_text, row_count, run_import, snapshot

STORED = frozenset(RECORD_TABLES)
SYNTHEA_PLAN = {
    "private": "commercial",
    "medicare": "medicare_ffs",
    "medicaid": "medicaid",
    "dual_eligible": "dual",
    "no_insurance": "uninsured",
}


def expected_from_json(folder: Path) -> tuple[Counter[str], dict[str, set[str]], set[tuple[str, str]]]:
    """Resource counts per type, distinct ids per type, and (patient id, plan) pairs of EOB coverage,
    computed with the standard library only."""
    counts: Counter[str] = Counter()
    ids: dict[str, set[str]] = {}
    coverage: set[tuple[str, str]] = set()
    for path in sorted(folder.glob("*.json")):
        bundle = json.loads(path.read_text())
        patient_ids = {
            e["resource"]["id"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
        }
        (patient_id,) = patient_ids
        for entry in bundle["entry"]:
            resource = entry["resource"]
            counts[resource["resourceType"]] += 1
            ids.setdefault(resource["resourceType"], set()).add(resource["id"])
            if resource["resourceType"] == "ExplanationOfBenefit":
                for inner in resource.get("contained", []):
                    if inner["resourceType"] == "Coverage":
                        coverage.add((patient_id, SYNTHEA_PLAN[inner["type"]["text"]]))
    return counts, ids, coverage


def care_plan_parts(folder: Path) -> tuple[int, int, int]:
    """Inline activities, (plan, condition) pairs addressed, and goals listed by a CarePlan."""
    activities = addressed = listed = 0
    for path in sorted(folder.glob("*.json")):
        for entry in json.loads(path.read_text())["entry"]:
            plan = entry["resource"]
            if plan["resourceType"] == "CarePlan":
                activities += sum(1 for a in plan.get("activity", []) if "detail" in a)
                addressed += len({a["reference"] for a in plan.get("addresses", [])})
                listed += len(plan.get("goal", []))
    return activities, addressed, listed


def care_plan_rows(db_url: str) -> tuple[int, int, int, int]:
    """Interventions in a plan, problems, problems linked to a condition, goals in a plan."""
    with engine_for(db_url) as engine, engine.connect() as connection:

        def count(statement: Any) -> int:
            return int(connection.scalar(statement) or 0)

        return (
            count(select(func.count()).where(plans.Intervention.plan_id.is_not(None))),
            count(select(func.count()).select_from(plans.PlanProblem)),
            count(select(func.count()).where(plans.PlanProblem.condition_id.is_not(None))),
            count(select(func.count()).where(plans.Goal.plan_id.is_not(None))),
        )


@pytest.mark.slow
def test_synthea_bundles_import_and_reimport_changes_nothing(
    shared_data: Path, fresh_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = shared_data / "synthea-r4"
    counts, ids, coverage = expected_from_json(folder)
    monkeypatch.setattr(imports, "REFRESH_AFTER_ROWS", 1_000)  # the sample is smaller than a real load

    status, summary = run_import(monkeypatch, fresh_db_url, folder)
    assert status == 0, errors_text(summary)
    assert summary["error_count"] == 0
    resources = summary["resources"]
    for resource_type, number in counts.items():
        if resource_type in STORED:
            assert resources[resource_type]["stored"] == number, resource_type
            assert resources[resource_type]["failed"] == 0
        else:
            assert resources[resource_type]["skipped"] == number, resource_type
            assert resource_type in summary["skipped_not_stored"]
    assert resources["Coverage"]["created"] == len(coverage)
    for resource_type in STORED & set(counts):
        assert row_count(fresh_db_url, RECORD_TABLES[resource_type]) == len(ids[resource_type]), resource_type
    assert row_count(fresh_db_url, models.Coverage) == len(coverage)
    inpatient = row_count(fresh_db_url, models.Encounter, encounter_class="IMP")
    assert inpatient == 25  # data README: 25 inpatient encounters
    assert row_count(fresh_db_url, models.Patient, deceased=True) == 12
    # care plans: each inline activity an intervention of its plan, each addressed Condition a problem
    # linked to it, every goal (Synthea lists each in a CarePlan) in its plan
    activities, addressed, listed = care_plan_parts(folder)
    assert (activities, listed) == (189, 83)
    assert care_plan_rows(fresh_db_url) == (activities, addressed, addressed, listed)
    first = snapshot(fresh_db_url)

    status, again = run_import(monkeypatch, fresh_db_url, folder)
    assert status == 0
    for resource_type, number in counts.items():
        if resource_type in STORED:
            assert again["resources"][resource_type]["unchanged"] == number, resource_type
            assert again["resources"][resource_type]["created"] == 0
            assert again["resources"][resource_type]["updated"] == 0
    assert snapshot(fresh_db_url) == first
    # a load that wrote many records refreshed the planner's statistics; one that changed nothing did not
    assert "statistics_refreshed_seconds" in summary
    assert "statistics_refreshed_seconds" not in again
    assert planner_knows_patients(fresh_db_url)


def planner_knows_patients(db_url: str) -> bool:
    """Whether the database has statistics on the patients table (``ANALYZE`` has run since it filled)."""
    with engine_for(db_url) as engine, engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            query = "SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'patients'"
        else:
            query = (
                "SELECT count(*) FROM pg_stat_user_tables"
                " WHERE relname = 'patients' AND last_analyze IS NOT NULL"
            )
        return bool(connection.execute(text(query)).scalar())
