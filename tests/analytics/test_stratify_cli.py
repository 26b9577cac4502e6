"""carenav stratify end to end: the Synthea set imported into each database and exported as Bulk Data
give the same results; a synthetic population scored from NDJSON and from the record store is the same;
runs are saved and read back; bad input is refused in one line."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.cli.main import cli
from carenav.settings import get_settings
from carenav.stratification.models import StratificationEvidence, StratificationResult, StratificationRun
from carenav.stratification.queries import (
    stratification_patient_evidence,
    stratification_patient_history,
    stratification_result_list,
    stratification_run_latest,
)
from carenav.stratification.services import stratification_run_save
from carenav.synth.generate import generate_population
from tests.builders import make_org, make_patient
from tests.databases import engine_for
from tests.ingest.fhir_helpers import run_import

REQUIRED = [
    "patient_id",
    "charlson",
    "charlson_quan2011",
    "charlson_age_adjusted",
    "lace_last_discharge",
    "chronic_condition_count",
    "ip_admits_6m",
    "ed_visits_6m",
    "hcc_v24",
    "hcc_v28",
    "hccs_v24",
    "hccs_v28",
    "tier",
    "programs",
]


def stratify(monkeypatch: pytest.MonkeyPatch, db_url: str | None, *args: str | Path) -> tuple[int, Any]:
    if db_url is not None:
        monkeypatch.setenv("CARENAV_DATABASE_URL", db_url)
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, ["stratify", *map(str, args)])
    get_settings.cache_clear()
    if result.exit_code == 0 and "--json" in args:
        return 0, orjson.loads(result.stdout)
    return result.exit_code, result.output


def rows_of(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
def test_synthea_record_store_and_bulk_export_agree(
    monkeypatch: pytest.MonkeyPatch, fresh_db_url: str, shared_data: Path, tmp_path: Path
) -> None:
    status, summary = run_import(monkeypatch, fresh_db_url, shared_data / "synthea-r4")
    assert status == 0, summary["errors"]
    status, saved = stratify(
        monkeypatch, fresh_db_url, "--as-of", "2021-06-01", "--out", tmp_path / "store.csv", "--json"
    )
    assert status == 0, saved
    assert saved["patients"] == 40
    assert saved["unmapped_codes"] == 0, saved["unmapped"]
    assert saved["deliberately_unmapped_codes"] > 0
    export = CliRunner().invoke(cli, ["export", str(tmp_path / "bulk")])
    assert export.exit_code == 0, export.output
    status, bulk = stratify(
        monkeypatch,
        None,
        "--as-of",
        "2021-06-01",
        "--from",
        tmp_path / "bulk",
        "--out",
        tmp_path / "bulk.parquet",
        "--json",
    )
    assert status == 0, bulk
    assert "run" not in bulk
    status, _ = stratify(
        monkeypatch,
        None,
        "--as-of",
        "2021-06-01",
        "--from",
        tmp_path / "bulk",
        "--out",
        tmp_path / "bulk.csv",
    )
    assert status == 0
    store_rows, bulk_rows = rows_of(tmp_path / "store.csv"), rows_of(tmp_path / "bulk.csv")
    assert store_rows == bulk_rows
    assert list(store_rows[0])[: len(REQUIRED)] != []
    assert set(REQUIRED) <= set(store_rows[0])
    import pyarrow.parquet as pq

    assert pq.read_table(tmp_path / "bulk.parquet").num_rows == 40
    # The shape of the Synthea set (data README): 19 patients with an inpatient stay.
    assert sum(1 for r in store_rows if r["last_discharge_date"]) >= 15
    assert sum(1 for r in store_rows if int(r["charlson"]) > 0) >= 20
    assert any(int(r["chronic_condition_count"]) >= 4 for r in store_rows)
    # The run is saved with its results and evidence.
    with engine_for(fresh_db_url) as engine, Session(engine) as session:
        run = session.scalars(select(StratificationRun)).one()
        assert (run.uuid, run.patient_count, run.as_of) == (saved["run"], 40, date(2021, 6, 1))
        assert run.rules_version == saved["rules_version"]
        assert run.engine == "duckdb"
        results = session.scalars(select(StratificationResult)).all()
        assert len(results) == 40
        assert session.scalars(select(StratificationEvidence)).first() is not None
        actor = Actor.operator(run.org_id, "tests")
        listed = stratification_result_list(session=session, actor=actor, run=run)
        assert {p.patient_uuid: p.scores["charlson"] for p in listed} == {
            r["patient_id"]: int(r["charlson"]) for r in store_rows
        }


@pytest.mark.slow
def test_synthetic_population_from_ndjson_and_from_the_record_store(
    monkeypatch: pytest.MonkeyPatch, fresh_db_url: str, tmp_path: Path
) -> None:
    generate_population(tmp_path / "synth", patients=120, seed=11)
    status, summary = run_import(monkeypatch, fresh_db_url, tmp_path / "synth")
    assert status == 0, summary["errors"]
    status, _ = stratify(monkeypatch, fresh_db_url, "--as-of", "2025-06-30", "--out", tmp_path / "store.csv")
    assert status == 0, _
    status, _ = stratify(
        monkeypatch,
        None,
        "--as-of",
        "2025-06-30",
        "--from",
        tmp_path / "synth",
        "--out",
        tmp_path / "ndjson.csv",
    )
    assert status == 0, _
    store_rows = rows_of(tmp_path / "store.csv")
    ndjson_rows = {r["patient_id"]: r for r in rows_of(tmp_path / "ndjson.csv")}
    assert len(store_rows) == 120
    # The store's ids are its own uuids; the source ids are the NDJSON ids: compare by source id.
    with engine_for(fresh_db_url) as engine, Session(engine) as session:
        from carenav.patients.models import Patient

        source_of = dict(session.execute(select(Patient.uuid, Patient.source_id)).all())
    for row in store_rows:
        twin = ndjson_rows[str(source_of[row["patient_id"]])]
        differing = {k for k in row if k not in ("patient_id", "lace_encounter_id") and row[k] != twin[k]}
        assert not differing, (row["patient_id"], {k: (row[k], twin[k]) for k in differing})
    assert any(r["lace_last_discharge"] for r in store_rows)


def test_saved_runs_latest_and_history(session: Session) -> None:
    org = make_org(session)
    actor = Actor.operator(org.id, "tests")
    patient = make_patient(session, org, conditions=["I509"])
    assert stratification_run_latest(session=session, actor=actor) is None
    from carenav.clock import now

    runs = []
    for number, as_of in enumerate((date(2025, 1, 1), date(2025, 2, 1))):
        runs.append(
            stratification_run_save(
                session=session,
                actor=actor,
                as_of=as_of,
                engine="duckdb",
                rules_version="v",
                started_at=now(),
                finished_at=now(),
                scores=[
                    {
                        "patient_id": patient.uuid,
                        "charlson": number + 1,
                        "tier": 2,
                        "hcc_v28": 0.5,
                        "last_discharge_date": date(2024, 12, 1),
                    },
                    {"patient_id": "not-in-this-org", "charlson": 9},
                ],
                evidence=[
                    {
                        "patient_id": patient.uuid,
                        "model": "charlson",
                        "component": "chf",
                        "points": 1.0,
                        "evidence": "I509",
                    }
                ],
                summary={},
            )
        )
    assert runs[1].patient_count == 1
    latest = stratification_run_latest(session=session, actor=actor)
    assert latest is not None
    assert latest.id == runs[1].id
    history = stratification_patient_history(session=session, actor=actor, patient_uuid=patient.uuid)
    assert [h.scores["charlson"] for h in history] == [1, 2]
    assert history[0].scores["last_discharge_date"] == "2024-12-01"
    evidence = stratification_patient_evidence(
        session=session, actor=actor, run=runs[0], patient_uuid=patient.uuid
    )
    assert [(e.model, e.component, e.evidence) for e in evidence] == [("charlson", "chf", "I509")]
    other = Actor.operator(make_org(session).id, "tests")
    assert stratification_run_latest(session=session, actor=other) is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--as-of", "2025-13-01"], "--as-of: '2025-13-01' is not a date (YYYY-MM-DD)"),
        (["--as-of", "yesterday"], "--as-of: 'yesterday' is not a date"),
        (["--from", "/nonexistent/bulk"], "--from: /nonexistent/bulk is not a folder"),
        (["--engine", "oracle"], "--engine: unknown engine 'oracle'"),
        (["--out", "/nonexistent/dir/out.csv"], "--out: /nonexistent/dir/out.csv: the folder"),
        (["--out", "scores.xlsx"], "--out: scores.xlsx: the file must end in .csv or .parquet"),
    ],
)
def test_bad_input_gives_one_line(monkeypatch: pytest.MonkeyPatch, args: list[str], message: str) -> None:
    status, output = stratify(monkeypatch, None, *args)
    assert status == 1
    assert output.startswith(f"carenav: {message}"), output
    assert output.count("\n") == 1


def test_unwritable_out(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "out.csv").mkdir()
    status, output = stratify(monkeypatch, None, "--out", locked / "out.csv")
    assert status == 1
    assert output == f"carenav: --out: {locked / 'out.csv'} is a folder\n"


def test_not_a_bulk_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    status, output = stratify(monkeypatch, None, "--from", tmp_path)
    assert status == 1
    assert output == f"carenav: {tmp_path}: no Patient.ndjson: not a Bulk Data folder\n"
