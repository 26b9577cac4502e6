"""carenav outreach sync: the nightly job brings every enrolled patient's follow-ups in step, once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.cli.main import cli
from carenav.outreach.models import FollowUp
from carenav.settings import get_settings
from tests.builders import make_org, make_patient
from tests.databases import engine_for
from tests.outreach.test_outreach import MAY_1, enrol


def test_the_nightly_sync_schedules_each_enrolled_patient_on_the_fixed_day(
    fresh_db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "rules").mkdir()
    monkeypatch.setenv("CARENAV_RULES_DIR", str(tmp_path / "rules"))
    monkeypatch.setenv("CARENAV_DATABASE_URL", fresh_db_url)
    monkeypatch.setenv("CARENAV_FIXED_NOW", MAY_1.isoformat())
    get_settings.cache_clear()
    with engine_for(fresh_db_url) as engine, Session(engine) as session:
        org = make_org(session, slug="default")
        enrolled = make_patient(session, org, conditions=["I50.9", "E11.9"])
        make_patient(session, org, family="Other")  # not enrolled: no schedule
        enrol(session, enrolled)
        session.commit()
    first = CliRunner().invoke(cli, ["outreach", "sync", "--json"])  # on May 1 by CARENAV_FIXED_NOW
    second = CliRunner().invoke(cli, ["outreach", "sync", "--json"])
    assert first.exit_code == 0, first.output
    assert orjson.loads(first.stdout) == {"patients_synced": 1}
    assert orjson.loads(second.stdout) == {"patients_synced": 1}
    with engine_for(fresh_db_url) as engine, Session(engine) as session:
        scheduled = session.scalars(select(FollowUp.due_on).where(FollowUp.status == "scheduled")).all()
    assert len(scheduled) == 1, "one follow-up for the one applying rule, not one per run"
    assert MAY_1.date() < scheduled[0] <= MAY_1.date() + timedelta(days=31), "counted from the fixed day"
