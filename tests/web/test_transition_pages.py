"""Transitions of care on the patient page (SQLite and PostgreSQL): a discharge home shows right after the
alerts with its five tasks, deadlines and business days left; the care manager logs an unanswered call,
then reaches the patient (the contact done on time), marks the medication reconciliation done, sets the
complexity high; a missed deadline shows missed; another care manager cannot act on it."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.accounts.models import Organization
from carenav.clock import frozen_at
from carenav.patients.models import Patient
from carenav.transitions.models import TransitionEpisode, TransitionTask
from tests.builders import make_org
from tests.features.test_feeds_adt import Feed, adt
from tests.web.conftest import page_csrf, sign_in
from tests.web.users import assign, make_user

DAY_AFTER = datetime(2026, 3, 5, 14, 0, tzinfo=UTC)  # Thursday; discharged Wednesday March 4


def _world(session: Session) -> tuple[Organization, Patient, TransitionEpisode]:
    org = make_org(session)
    feed = Feed(session, org, Actor.system(org.id, "mllp", channel="mllp"))
    with frozen_at(DAY_AFTER):
        message = feed.receive(
            adt(
                "A03",
                control="3",
                family="Shaw",
                given="Amy",
                recorded="20260304101500",
                admit="20260302073000",
                discharge="20260304101500",
                disposition="06",
            )
        )
        patient = feed.resolve(message, create=True)
    casey = make_user(session, org, "casey.cm", display_name="Casey Morgan")
    assign(session, org, casey, patient)
    make_user(session, org, "drew.cm")
    episode = session.scalars(
        select(TransitionEpisode).where(TransitionEpisode.patient_id == patient.id)
    ).one()
    return org, patient, episode


def _task(episode: TransitionEpisode, kind: str) -> TransitionTask:
    return next(t for t in episode.tasks if t.kind == kind)


def _row(html: str, task: TransitionTask) -> str:
    match = re.search(rf'<tr id="transition-task-{task.uuid}".*?</tr>', html, re.S)
    assert match, "the task is on the page"
    return unescape(match.group(0))


def test_the_care_manager_works_the_transition_from_the_patient_page(
    client: TestClient, session: Session
) -> None:
    _org, patient, episode = _world(session)
    contact = _task(episode, "tcm-interactive-contact")
    medication = _task(episode, "tcm-medication-reconciliation")
    with frozen_at(DAY_AFTER):
        sign_in(client, "casey.cm")
        page = client.get(f"/patients/{patient.uuid}")
        assert page.status_code == 200, page.text
        html = page.text
        assert 'id="transitions"' in html
        assert html.index('id="transitions"') < html.index('id="h-demographics"'), "right after the alerts"
        assert "Home under a home health organization" in unescape(html)
        row = _row(html, contact)
        assert "2026-03-06" in row
        assert "1 business day left" in row
        assert "2026-03-18" in _row(html, medication)

        csrf = page_csrf(client, f"/patients/{patient.uuid}")
        tried = client.post(
            f"/transition-tasks/{contact.uuid}/attempts",
            data={"csrf_token": csrf, "outcome": "no-answer", "note": "rang twice"},
        )
        assert tried.status_code == 303
        assert tried.headers["location"].endswith("#transitions")
        reached = client.post(
            f"/transition-tasks/{contact.uuid}/attempts",
            data={"csrf_token": csrf, "outcome": "reached", "note": "spoke with Amy"},
        )
        assert reached.status_code == 303
        done = client.post(
            f"/transition-tasks/{medication.uuid}/done", data={"csrf_token": csrf, "note": "3 changes"}
        )
        assert done.status_code == 303
        high = client.post(
            f"/transitions/{episode.uuid}/complexity", data={"csrf_token": csrf, "complexity": "high"}
        )
        assert high.status_code == 303
        html = client.get(f"/patients/{patient.uuid}").text
        row = _row(html, contact)
        assert "done on time" in row
        assert "no answer: rang twice" in row
        assert "reached: spoke with Amy" in row
        assert "done on time" in _row(html, medication)
        assert "2026-03-11" in _row(html, _task(episode, "tcm-face-to-face")), "7 days for high complexity"
        bad = client.post(
            f"/transition-tasks/{contact.uuid}/attempts", data={"csrf_token": csrf, "outcome": "maybe"}
        )
        assert bad.status_code == 400

    with frozen_at(datetime(2026, 3, 12, 14, tzinfo=UTC)):  # a week later: the sign-in has lapsed
        sign_in(client, "casey.cm")
        html = client.get(f"/patients/{patient.uuid}").text
        assert "missed" in _row(html, _task(episode, "tcm-face-to-face"))


def test_another_care_manager_cannot_act_on_the_transition(client: TestClient, session: Session) -> None:
    _org, patient, episode = _world(session)
    with frozen_at(DAY_AFTER):
        sign_in(client, "drew.cm")
        csrf = page_csrf(client)
        task = _task(episode, "tcm-interactive-contact")
        response = client.post(f"/transition-tasks/{task.uuid}/done", data={"csrf_token": csrf})
        assert response.status_code == 404
        assert client.get(f"/patients/{patient.uuid}").status_code == 404
    session.refresh(task)
    assert task.status == "open"
