"""carenav transitions refresh: the nightly job, on the day CARENAV_FIXED_NOW says, marks the deadlines
missed and closes an episode whose 30 days are over."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.cli.main import cli
from carenav.clock import frozen_at
from carenav.patients.models import Encounter
from carenav.settings import get_settings
from carenav.transitions.models import TransitionEpisode, TransitionTask
from carenav.transitions.services import transition_open_for_discharge
from tests.builders import make_org, make_patient
from tests.databases import engine_for

DISCHARGED = datetime(2026, 3, 6, 16, tzinfo=UTC)  # a Friday


def test_the_nightly_refresh_closes_a_finished_episode(
    fresh_db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "rules").mkdir()
    monkeypatch.setenv("CARENAV_RULES_DIR", str(tmp_path / "rules"))
    monkeypatch.setenv("CARENAV_DATABASE_URL", fresh_db_url)
    get_settings.cache_clear()
    with engine_for(fresh_db_url) as engine, Session(engine) as session:
        org = make_org(session, slug="default")
        patient = make_patient(
            session,
            org,
            encounters=[
                {
                    "encounter_class": "IMP",
                    "period_start": datetime(2026, 3, 2, 9, tzinfo=UTC),
                    "period_end": DISCHARGED,
                    "discharge_disposition_code": "01",
                }
            ],
        )
        stay = session.scalars(select(Encounter).where(Encounter.patient_id == patient.id)).one()
        with frozen_at(DISCHARGED):
            opened = transition_open_for_discharge(
                session=session, actor=Actor.operator(org.id, "tests"), encounter=stay
            )
        assert opened is not None
        session.commit()

    monkeypatch.setenv("CARENAV_FIXED_NOW", "2026-03-09T14:00:00+00:00")  # Monday: nothing due yet
    get_settings.cache_clear()
    early = CliRunner().invoke(cli, ["transitions", "refresh", "--json"])
    assert early.exit_code == 0, early.output
    assert orjson.loads(early.stdout) == {"missed": 0, "closed": 0, "prompted": 0}

    monkeypatch.setenv("CARENAV_FIXED_NOW", "2026-04-10T14:00:00+00:00")  # the 30 days are over
    get_settings.cache_clear()
    late = CliRunner().invoke(cli, ["transitions", "refresh", "--json"])
    assert late.exit_code == 0, late.output
    summary = orjson.loads(late.stdout)
    assert summary["missed"] == 5
    assert summary["closed"] == 1
    with engine_for(fresh_db_url) as engine, Session(engine) as session:
        episode = session.scalars(select(TransitionEpisode)).one()
        assert episode.status == "closed"
        assert {t.status for t in session.scalars(select(TransitionTask))} == {"missed"}
