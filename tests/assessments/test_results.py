"""What completion leaves in the record (SQLite and PostgreSQL): scores as Observations, positive social
needs as unconfirmed health concerns with their Z code and SDOH domain, updated by an amendment, withdrawn
with the assessment; and Katz/Lawton dependency in the stratification snapshot's daily-living table, which
the frail-elder flag reads."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.analytics.engines.duckdb_engine import DuckDBEngine
from carenav.analytics.sources.record_store import write_record_store_snapshot
from carenav.assessments.instruments import instrument_get
from carenav.assessments.rules import Channel
from carenav.assessments.services import (
    assessment_amend,
    assessment_complete,
    assessment_start,
    assessment_withdraw,
)
from carenav.fhir.mappers.condition import condition_resource
from carenav.fhir.references import refs_for
from carenav.patients.models import Condition, Observation
from tests.assessments.answers import FREQ, GAD7, PHQ9
from tests.assessments.responses import response
from tests.assessments.test_comprehensive import everything_else
from tests.builders import make_org, make_patient
from tests.fhir.validation import assert_valid


def _complete(
    session: Session, actor: Actor, patient_uuid: str, instrument: str, answers: dict[str, Any]
) -> Any:
    started = assessment_start(
        session=session,
        actor=actor,
        patient_uuid=patient_uuid,
        instrument_id=instrument,
        channel=Channel.IN_PERSON,
    )
    return assessment_complete(
        session=session,
        actor=actor,
        assessment_uuid=started.uuid,
        response=response(instrument_get(instrument), answers),
    )


def test_comprehensive_assessment_leaves_scores_and_concerns(session: Session) -> None:
    org = make_org(session)
    patient = make_patient(session, org, birth_date=date(1948, 5, 1))
    actor = Actor.operator(org.id, "tests")
    points = [2, 2, 2, 2, 2, 2, 1, 1, 1]
    answers = {**everything_else(), **{i: FREQ[p] for i, p in zip(PHQ9, points, strict=True)}}
    done = _complete(session, actor, patient.uuid, "comprehensive-assessment", answers)
    observations = {
        (o.code, o.value_quantity, o.interpretation, o.status)
        for o in session.scalars(select(Observation).where(Observation.patient_id == patient.id))
    }
    assert ("44261-6", 15.0, "POS", "final") in observations  # PHQ-9 total, LOINC
    assert ("55758-7", 4.0, "POS", "final") in observations  # PHQ-2 total
    assert ("katz-adl-total", 6.0, None, "final") in observations
    assert ("95614-4", 4.0, None, "final") in observations  # AHC safety subscale
    concerns = {
        (c.code, c.sdoh_domain, c.category, c.verification_status, c.clinical_status)
        for c in session.scalars(select(Condition).where(Condition.patient_id == patient.id))
    }
    assert concerns == {
        ("Z59.41", "food-insecurity", "health-concern", "unconfirmed", "active"),
        ("Z59.82", "transportation-insecurity", "health-concern", "unconfirmed", "active"),
    }
    # over FHIR: a valid Condition with the health-concern, sdoh and domain categories
    food = session.scalars(
        select(Condition).where(Condition.patient_id == patient.id, Condition.code == "Z59.41")
    ).one()
    mapped = condition_resource(food, refs_for(session, [food]))
    assert_valid(mapped)
    assert [c["coding"][0]["code"] for c in mapped["category"]] == [
        "health-concern",
        "sdoh",
        "food-insecurity",
    ]
    assert mapped["verificationStatus"]["coding"][0]["code"] == "unconfirmed"
    # a second screen with the same needs does not make the concerns twice
    _complete(session, actor, patient.uuid, "comprehensive-assessment", answers)
    assert len(session.scalars(select(Condition).where(Condition.patient_id == patient.id)).all()) == 2
    # withdrawing the first assessment withdraws what it made
    assessment_withdraw(session=session, actor=actor, assessment_uuid=done.uuid, reason="wrong patient")
    statuses = {
        o.status
        for o in session.scalars(
            select(Observation).where(Observation.source_id.startswith(f"assessment:{done.uuid}"))
        )
    }
    assert statuses == {"entered-in-error"}


def test_an_amendment_updates_the_observation(session: Session) -> None:
    org = make_org(session)
    patient = make_patient(session, org)
    actor = Actor.operator(org.id, "tests")
    gad = GAD7
    done = _complete(session, actor, patient.uuid, "gad7", dict.fromkeys(gad, FREQ[2]))
    assessment_amend(
        session=session,
        actor=actor,
        assessment_uuid=done.uuid,
        response=response(instrument_get("gad7"), dict.fromkeys(gad, FREQ[1])),
        reason="re-read with the patient",
    )
    (observation,) = session.scalars(select(Observation).where(Observation.patient_id == patient.id))
    assert (observation.code, observation.value_quantity, observation.status) == ("70274-6", 7.0, "amended")


def test_katz_dependency_reaches_the_frail_elder_flag(session: Session, tmp_path: Path) -> None:
    org = make_org(session)
    actor = Actor.operator(org.id, "tests")
    frail = make_patient(session, org, given="Frail", birth_date=date(1940, 1, 1))
    able = make_patient(session, org, given="Able", birth_date=date(1940, 1, 1))
    katz = ["bathing", "dressing", "toileting", "transferring", "continence", "feeding"]
    _complete(
        session,
        actor,
        frail.uuid,
        "katz-adl",
        {f"katz-{k}": "dependent" if k == "bathing" else "independent" for k in katz},
    )
    _complete(session, actor, able.uuid, "katz-adl", {f"katz-{k}": "independent" for k in katz})
    counts = write_record_store_snapshot(session=session, actor=actor, directory=tmp_path)
    assert counts["functional_status"] == 2
    table = pq.read_table(tmp_path / "functional_status.parquet").to_pylist()
    assert {r["patient_id"]: r["adl_dependent"] for r in table} == {frail.uuid: True, able.uuid: False}
    result = DuckDBEngine(threads=1, memory_limit="500MB").run(
        snapshot=tmp_path, as_of=date.today(), evidence=False
    )
    rows = {r["patient_id"]: r for r in result.scores.to_pylist()}
    assert (rows[frail.uuid]["frail_elder"], rows[able.uuid]["frail_elder"]) == (True, False)
