"""The tasks of transitions of care over FHIR (SQLite and PostgreSQL): searched under
``Task?patient=&code=&status=``, read, in ``$everything`` and in ``carenav export`` (also under a fixed clock,
``CARENAV_FIXED_NOW``), coded in ``https://carenav.org/fhir/CodeSystem/tcm-task`` with their deadline in
``restriction.period.end``, and valid R4 Tasks."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.task import Task
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.cli.main import cli
from carenav.clock import fix_clock, frozen_at
from carenav.db.engine import make_engine
from carenav.fhir.export import export_bulk
from carenav.patients.models import Encounter, Patient
from carenav.settings import get_settings
from carenav.transitions.models import TransitionEpisode
from carenav.transitions.services import transition_task_done
from tests.builders import make_org
from tests.features.test_feeds_adt import Feed, adt
from tests.fhir.conftest import Api
from tests.fhir.world import token_for
from tests.web.users import assign, cheap_passwords, make_user

__all__ = ["cheap_passwords"]
SYSTEM = "https://carenav.org/fhir/CodeSystem/tcm-task"
DAY_AFTER = datetime(2026, 3, 5, 14, 0, tzinfo=UTC)  # the discharge is Wednesday March 4 2026
AFTER_CONTACT_DEADLINE = datetime(2026, 3, 9, 14, 0, tzinfo=UTC)  # Monday; the contact was due Friday


@dataclass
class Discharged:
    patient: Patient
    encounter: Encounter
    episode: TransitionEpisode
    token: str
    stranger_token: str


def discharge_home(session: Session) -> tuple[Feed, Patient]:
    org = make_org(session)
    feed = Feed(session, org, Actor.system(org.id, "mllp", channel="mllp"))
    with frozen_at(DAY_AFTER):
        message = feed.receive(
            adt(
                "A03",
                control="3",
                recorded="20260304101500",
                admit="20260302073000",
                discharge="20260304101500",
                disposition="01",
            )
        )
        patient = feed.resolve(message, create=True)
    return feed, patient


@pytest.fixture
def discharged(session: Session, cheap_passwords: object) -> Discharged:
    feed, patient = discharge_home(session)
    casey, robin = make_user(session, feed.org, "casey.cm"), make_user(session, feed.org, "robin.cm")
    assign(session, feed.org, casey, patient)
    episode = session.scalars(
        select(TransitionEpisode).where(TransitionEpisode.patient_id == patient.id)
    ).one()
    built = Discharged(
        patient=patient,
        encounter=session.get_one(Encounter, episode.encounter_id),
        episode=episode,
        token=token_for(session, casey, "fhir:read"),
        stranger_token=token_for(session, robin, "fhir:read"),
    )
    session.commit()
    return built


def _entries(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    bundle = response.json()
    Bundle.model_validate(bundle)
    return [e["resource"] for e in bundle.get("entry", [])]


def test_transition_tasks_search_by_patient_code_and_status(api: Api, discharged: Discharged) -> None:
    patient = discharged.patient.uuid
    with frozen_at(DAY_AFTER):
        tasks = _entries(api.get(f"Task?patient={patient}", discharged.token))
        assert len(tasks) == 5
        for task in tasks:
            Task.model_validate(task)
            assert task["code"]["coding"][0]["system"] == SYSTEM
            assert task["for"] == {"reference": f"Patient/{patient}"}
            assert task["focus"] == {"reference": f"Encounter/{discharged.encounter.uuid}"}
            assert task["status"] == "ready"
            assert task["businessStatus"]["coding"][0]["code"] == "due"
        deadlines = {t["code"]["coding"][0]["code"]: t["restriction"]["period"]["end"] for t in tasks}
        assert deadlines == {
            "tcm-interactive-contact": "2026-03-06",
            "tcm-discharge-information": "2026-03-18",
            "tcm-medication-reconciliation": "2026-03-18",
            "tcm-follow-up-appointment": "2026-03-18",
            "tcm-face-to-face": "2026-03-18",
        }

        (contact,) = _entries(
            api.get(f"Task?patient={patient}&code={SYSTEM}|tcm-interactive-contact", discharged.token)
        )
        assert contact["priority"] == "urgent"
        assert [
            t["id"]
            for t in _entries(api.get(f"Task?patient={patient}&code=tcm-face-to-face", discharged.token))
        ]
        other_system = f"Task?patient={patient}&code=https://example.org/other|tcm-face-to-face"
        assert _entries(api.get(other_system, discharged.token)) == []
        both = f"Task?patient={patient}&code={SYSTEM}|tcm-face-to-face,{SYSTEM}|tcm-interactive-contact"
        assert len(_entries(api.get(both, discharged.token))) == 2
        assert _entries(api.get(f"Task?patient={patient}&status=completed", discharged.token)) == []

        read = api.get(f"Task/{contact['id']}", discharged.token)
        assert read.status_code == 200
        assert read.json() == contact
        assert api.get(f"Task/{contact['id']}", discharged.stranger_token).status_code == 404
        assert api.get(f"Task?patient={patient}", discharged.stranger_token).status_code == 404

    with frozen_at(AFTER_CONTACT_DEADLINE):
        failed = _entries(api.get(f"Task?patient={patient}&status=failed", discharged.token))
        assert [t["id"] for t in failed] == [contact["id"]], "missed: failed, before any refresh"
        assert failed[0]["businessStatus"]["coding"][0]["code"] == "missed"
        assert len(_entries(api.get(f"Task?patient={patient}&status=ready", discharged.token))) == 4


def test_a_task_done_reads_completed_with_when_and_how_timely(
    api: Api, discharged: Discharged, session: Session
) -> None:
    contact = next(t for t in discharged.episode.tasks if t.kind == "tcm-interactive-contact")
    with frozen_at(AFTER_CONTACT_DEADLINE):
        transition_task_done(
            session=session,
            actor=Actor.operator(discharged.patient.org_id),
            task_uuid=contact.uuid,
            note="reached",
        )
        session.commit()
        (done,) = _entries(
            api.get(f"Task?patient={discharged.patient.uuid}&status=completed", discharged.token)
        )
    Task.model_validate(done)
    assert done["id"] == contact.uuid
    assert done["businessStatus"]["coding"][0]["code"] == "late"
    assert done["executionPeriod"]["end"] == "2026-03-09T14:00:00Z"
    assert done["note"][-1]["text"] == "reached"


def test_everything_and_the_export_include_the_transition_tasks(
    api: Api, discharged: Discharged, session: Session, tmp_path: Path
) -> None:
    ids = {t.uuid for t in discharged.episode.tasks}
    with frozen_at(DAY_AFTER):
        everything = _entries(api.get(f"Patient/{discharged.patient.uuid}/$everything", discharged.token))
        assert ids <= {r["id"] for r in everything if r["resourceType"] == "Task"}
        export_bulk(
            session=session,
            actor=Actor.operator(discharged.patient.org_id),
            directory=tmp_path / "out",
            types=["Task"],
        )
    tasks = [json.loads(line) for line in (tmp_path / "out/Task.ndjson").read_text().splitlines()]
    assert ids <= {t["id"] for t in tasks}
    for task in tasks:
        Task.model_validate(task)


def test_carenav_export_under_a_fixed_clock(
    fresh_db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    engine = make_engine(fresh_db_url)
    with Session(engine) as session:
        feed, _patient = discharge_home(session)
        slug = feed.org.slug
        session.commit()
    engine.dispose()
    monkeypatch.setenv("CARENAV_DATABASE_URL", fresh_db_url)
    monkeypatch.setenv("CARENAV_FIXED_NOW", "2026-03-09T09:00:00-05:00")  # after the contact's deadline
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["export", str(tmp_path / "bulk"), "--org", slug, "--type", "Task"])
    finally:
        fix_clock(None)
        get_settings.cache_clear()
    assert result.exit_code == 0, result.stderr
    tasks = [json.loads(line) for line in (tmp_path / "bulk/Task.ndjson").read_text().splitlines()]
    by_code = {t["code"]["coding"][0]["code"]: t for t in tasks}
    assert set(by_code) == {
        "tcm-interactive-contact",
        "tcm-discharge-information",
        "tcm-medication-reconciliation",
        "tcm-follow-up-appointment",
        "tcm-face-to-face",
    }
    assert by_code["tcm-interactive-contact"]["status"] == "failed", (
        "the fixed clock says the deadline passed"
    )
    assert by_code["tcm-face-to-face"]["status"] == "ready"
    manifest = json.loads((tmp_path / "bulk/manifest.json").read_text())
    assert manifest["transactionTime"] == "2026-03-09T14:00:00Z"
    assert date.fromisoformat(by_code["tcm-face-to-face"]["restriction"]["period"]["end"]) == date(
        2026, 3, 18
    )
