"""Transitions of care on the patient page (SQLite and PostgreSQL): a discharge home shows right after the
alerts with its five tasks, deadlines and business days left; the care manager logs an unanswered call,
then reaches the patient (the contact done on time), marks the medication reconciliation done, sets the
complexity high; a missed deadline shows missed; another care manager cannot act on it; an unanswered call
and then a reached one logged in the Outreach section are the attempt and the interactive contact done,
said on both sides."""

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
from carenav.outreach.models import Contact
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


def _contact_item(html: str, contact_uuid: str) -> str:
    match = re.search(rf'<li id="contact-{contact_uuid}">.*?</li>', html, re.S)
    assert match, "the contact is in the history"
    return " ".join(unescape(re.sub(r"<[^>]+>", "", match.group(0))).split())


def test_a_contact_logged_in_outreach_does_the_interactive_contact(
    client: TestClient, session: Session
) -> None:
    _org, patient, episode = _world(session)
    contact_task = _task(episode, "tcm-interactive-contact")
    with frozen_at(DAY_AFTER):
        sign_in(client, "casey.cm")
        html = client.get(f"/patients/{patient.uuid}").text
        hint = " ".join(unescape(_row(html, contact_task)).split())
        assert (
            "call, video, home visit, clinic visit or message with the patient or caregiver logged in" in hint
        )
        csrf = page_csrf(client, f"/patients/{patient.uuid}")
        form = {"csrf_token": csrf, "kind": "call", "direction": "outbound", "party": "patient"}
        unanswered = client.post(
            f"/patients/{patient.uuid}/contacts",
            data=form | {"outcome": "no-answer", "at": "2026-03-05T08:30"},
        )
        assert unanswered.status_code == 303, unanswered.text
        reached = client.post(
            f"/patients/{patient.uuid}/contacts", data=form | {"outcome": "reached", "at": "2026-03-05T08:50"}
        )
        assert reached.status_code == 303, reached.text
        html = client.get(f"/patients/{patient.uuid}").text
    first, second = session.scalars(
        select(Contact).where(Contact.patient_id == patient.id).order_by(Contact.at)
    ).all()
    task_title = "the interactive contact with the patient or caregiver"
    attempt_said = f"Transition of care: logged as an attempt at {task_title} (due 2026-03-06)."
    done_said = f"Transition of care: this contact did {task_title} — on time (due 2026-03-06)."
    assert attempt_said in _contact_item(html, first.uuid)
    assert done_said in _contact_item(html, second.uuid)
    row = " ".join(_row(html, contact_task).split())
    assert "done on time" in row
    assert "Done by the outbound call with the patient on 2026-03-05 08:50 (contact log)" in row
    assert "no answer: outbound call with the patient on 2026-03-05 08:30 (contact log)" in row
    assert 'action="/transition-tasks/' not in row, "nothing left to do by hand"
    session.refresh(contact_task)
    assert (contact_task.status, contact_task.done_at) == ("done", second.at)
