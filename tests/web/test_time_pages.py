"""Time on screen (SQLite and PostgreSQL): the timer on the patient page started and stopped under HTMX, a
refusal shown inside the panel, minutes entered by hand, corrected and deleted with a reason, the progress
against the billing thresholds, and ``/time`` with the patients close to a threshold first (and as CSV)."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.clock import frozen_at
from carenav.patients.models import Patient
from carenav.timekeeping.models import RunningTimer, TimeEntry
from tests.builders import make_org, make_patient
from tests.timekeeping.test_time import enrol
from tests.web.conftest import page_csrf, sign_in
from tests.web.users import assign, make_user

JUNE_25 = datetime(2025, 6, 25, 14, 0, tzinfo=UTC)  # 10:00 in New York, 5 days before month end
HTMX = {"HX-Request": "true"}


@pytest.fixture
def world(session: Session) -> tuple[Patient, Patient]:
    with frozen_at(JUNE_25):
        org = make_org(session)
        jane = make_patient(session, org, given="Jane", family="Doe")
        john = make_patient(session, org, given="John", family="Roe")
        casey = make_user(session, org, "casey.cm", display_name="Casey Morgan")
        drew = make_user(session, org, "drew.cm")
        assign(session, org, casey, jane)
        assign(session, org, casey, john)
        assign(session, org, drew, john)
        enrol(session, org, jane, "ccm")
        enrol(session, org, john, "ccm")
        session.commit()
    return jane, john


def _panel(html: str) -> str:
    return unescape(html).split('id="time"')[1].split("</section>")[0]


def test_the_timer_on_the_patient_page(
    client: TestClient, session: Session, world: tuple[Patient, Patient]
) -> None:
    jane, _john = world
    with frozen_at(JUNE_25):
        sign_in(client, "casey.cm")
        page = client.get(f"/patients/{jane.uuid}").text
        assert '<script src="/static/timer.js" defer></script>' in page
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), "no inline script (CSP)"
        assert "Start timer" in _panel(page)
        assert '<a href="/time"' in page, "Time in the navigation"
        token = page_csrf(client, f"/patients/{jane.uuid}")
        started = client.post(
            f"/patients/{jane.uuid}/timer/start",
            data={
                "csrf_token": token,
                "program": "ccm",
                "activity": "patient-contact",
                "staff_role": "clinical-staff",
            },
            headers=HTMX,
        )
        assert started.status_code == 200, started.text
        fragment = started.text
        assert fragment.lstrip().startswith('<section aria-labelledby="h-time" id="time"')
        assert "<html" not in fragment
        assert 'data-timer-started="2025-06-25T14:00:00+00:00"' in fragment
        refused = client.post(f"/patients/{jane.uuid}/timer/stop", data={"csrf_token": token}, headers=HTMX)
        assert refused.status_code == 422
        assert 'role="alert"' in refused.text
        assert "CARENAV_FIXED_NOW" in refused.text, "why a fixed clock cannot time"
        assert "Timer running" in refused.text, "the timer keeps running"
    with frozen_at(JUNE_25 + timedelta(minutes=18, seconds=30)):
        stopped = client.post(
            f"/patients/{jane.uuid}/timer/stop",
            data={"csrf_token": token, "note": "weekly call"},
            headers=HTMX,
        )
        assert stopped.status_code == 200, stopped.text
        panel = _panel(stopped.text)
        assert "Start timer" in panel
        assert "weekly call" in panel
        assert "2 min to 99490" in panel, "18 minutes: close to the 20 of 99490"
        assert "nothing billable yet" in panel
    entry = session.scalars(select(TimeEntry).where(TimeEntry.patient_id == jane.id)).one()
    assert (entry.minutes, entry.source) == (18, "timer")
    assert session.scalars(select(RunningTimer).where(RunningTimer.patient_id == jane.id)).all() == []


def test_entries_by_hand_corrected_and_deleted(
    client: TestClient, session: Session, world: tuple[Patient, Patient]
) -> None:
    jane, _john = world
    with frozen_at(JUNE_25):
        sign_in(client, "casey.cm")
        token = page_csrf(client, f"/patients/{jane.uuid}")
        form = {
            "csrf_token": token,
            "program": "ccm",
            "activity": "care-coordination",
            "staff_role": "clinical-staff",
        }
        added = client.post(f"/patients/{jane.uuid}/time", data={**form, "minutes": "20", "on": "2025-06-20"})
        assert added.status_code == 303
        assert added.headers["location"] == f"/patients/{jane.uuid}#time"
        future = client.post(
            f"/patients/{jane.uuid}/time", data={**form, "minutes": "20", "on": "2025-06-26"}
        )
        assert future.status_code == 400
        assert "future" in future.text
        unenrolled = client.post(
            f"/patients/{jane.uuid}/time", data={**form, "program": "pcm", "minutes": "20"}
        )
        assert unenrolled.status_code == 422
        assert "not enrolled" in unenrolled.text
        entry = session.scalars(select(TimeEntry).where(TimeEntry.patient_id == jane.id)).one()
        no_reason = client.post(
            f"/patients/{jane.uuid}/time/{entry.uuid}/edit",
            data={"csrf_token": token, "minutes": "25"},
            headers=HTMX,
        )
        assert no_reason.status_code == 400
        assert "say why" in no_reason.text
        edited = client.post(
            f"/patients/{jane.uuid}/time/{entry.uuid}/edit",
            data={"csrf_token": token, "minutes": "45", "reason": "the call ran on", "note": ""},
            headers=HTMX,
        )
        assert edited.status_code == 200, edited.text
        panel = _panel(edited.text)
        assert "minutes 20 → 45 — the call ran on" in panel
        assert "99490 + 99439" in panel
        deleted = client.post(
            f"/patients/{jane.uuid}/time/{entry.uuid}/delete",
            data={"csrf_token": token, "reason": "wrong patient"},
            headers=HTMX,
        )
        panel = _panel(deleted.text)
        assert "<del>45</del>" in panel
        assert "deleted: wrong patient" in panel
        assert "nothing billable yet" in panel


def test_the_month_page_and_its_csv(
    client: TestClient, session: Session, world: tuple[Patient, Patient]
) -> None:
    jane, john = world
    with frozen_at(JUNE_25):
        sign_in(client, "casey.cm")
        token = page_csrf(client, f"/patients/{jane.uuid}")
        form = {"csrf_token": token, "program": "ccm", "activity": "patient-contact", "on": "2025-06-24"}
        client.post(f"/patients/{john.uuid}/time", data={**form, "minutes": "25"})
        client.post(f"/patients/{jane.uuid}/time", data={**form, "minutes": "16"})
        page = unescape(client.get("/time").text)
        assert "Close to a threshold (1)" in page
        body = page.split("<tbody>")[1]
        assert body.index("Jane Doe") < body.index("John Roe"), "the one 4 minutes away first"
        assert "4 min to 99490" in body
        assert "15 min to 99439" in body
        assert "5 days of the month left" in page
        download = client.get("/time.csv?month=2025-06")
        assert download.status_code == 200
        assert download.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(download.text)))
        assert [
            (r["patient"], r["minutes"], r["billable"], r["minutes_to_next"], r["close_to_threshold"])
            for r in rows
        ] == [
            ("Jane Doe", "16", "", "4", "yes"),
            ("John Roe", "25", "99490", "15", "no"),
        ]
        may = unescape(client.get("/time?month=2025-05").text)
        assert "The month is over" in may
        assert client.get("/time?month=June").status_code == 400


def test_another_care_manager_reaches_nothing(
    client: TestClient, session: Session, world: tuple[Patient, Patient]
) -> None:
    jane, _john = world
    with frozen_at(JUNE_25):
        sign_in(client, "drew.cm")
        token = page_csrf(client, "/time")
        refused = client.post(
            f"/patients/{jane.uuid}/time",
            data={"csrf_token": token, "program": "ccm", "activity": "other", "minutes": "10"},
        )
        assert refused.status_code == 404
        started = client.post(
            f"/patients/{jane.uuid}/timer/start",
            data={"csrf_token": token, "program": "ccm", "activity": "other"},
        )
        assert started.status_code == 404
        assert "Jane Doe" not in client.get("/time").text
