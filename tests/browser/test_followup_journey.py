"""Issue 7 §5: an ADT A03 arrives over MLLP for a real Synthea patient with heart failure; the transition
appears first on his care manager's worklist with its 2-business-day deadline; she starts the timer, logs
a reached call with the heart-failure review (a weight gain that raises the red flag) — which does the
transition's interactive contact, on time, in the same action — marks the medication reconciliation done
in the transitions panel, stops the timer; the urgent task is on the patient page, the month's minutes
went up; the supervisor's dashboard counts the contact on time.

The clock is frozen (``frozen_at``) at the real instant the test starts, for the whole journey: the live
server runs in a thread of this process and reads the same module-level clock. The timer runs 12 minutes
because the frozen instant is moved on between "Start timer" and "Stop and record"."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.accounts.models import Organization, User
from carenav.accounts.services import team_resolve
from carenav.clock import frozen_at
from carenav.db.engine import make_engine
from carenav.db.session import make_session_factory, unit_of_work
from carenav.ingest.hl7v2.mllp import ListenerLimits
from carenav.patients.models import Patient
from carenav.programs.rules import ConsentKind
from carenav.programs.schemas import ConsentInput
from carenav.programs.services import enrolment_enrol, enrolment_identify
from tests.browser.conftest import HEART_FAILURE_PATIENT, LiveSite, _seed, _serving
from tests.browser.test_journeys import _csp_watch, _sign_in
from tests.databases import engine_for
from tests.ingest.test_hl7_mllp import connect, exchange, msa, serving
from tests.web.users import PASSWORD, make_user

pytestmark = pytest.mark.browser
START = datetime.now(UTC).replace(second=0, microsecond=0)
TEAM = "North team"


def _team_and_program(db_url: str, patient_uuid: str) -> None:
    """Amy and a supervisor in one team; the patient enrolled in CCM (time is recorded against a program)."""
    with engine_for(db_url) as engine, Session(engine) as session:
        org = session.scalars(select(Organization)).one()
        operator = Actor.operator(org.id, "tests")
        make_user(session, org, "sue.sup", "supervisor", team=TEAM, display_name="Sue Super")
        amy = session.scalars(select(User).where(User.username == "amy.cm")).one()
        amy.team_id = team_resolve(session=session, org=org, name=TEAM).id
        enrolment_identify(session=session, actor=operator, patient_uuid=patient_uuid, program_code="ccm")
        enrolment_enrol(
            session=session,
            actor=operator,
            patient_uuid=patient_uuid,
            program_code="ccm",
            consent=ConsentInput(kind=ConsentKind.VERBAL, given_on=START.date(), obtained_by="Dr Who"),
        )
        session.commit()


@pytest.fixture
def followup_site(fresh_db_url: str, shared_data: Path, cheap_passwords: object) -> Iterator[LiveSite]:
    with frozen_at(START):
        patient_uuid = _seed(fresh_db_url, shared_data, HEART_FAILURE_PATIENT)
        _team_and_program(fresh_db_url, patient_uuid)
        with _serving(fresh_db_url, patient_uuid) as site:
            yield site


def _a03_for(shared_data: Path, patient: Patient, discharged: datetime) -> str:
    """The real HL7 v2.8 sample A03, its PID rewritten to the patient (MRN, name, birth date, sex), its
    times moved to this week and its disposition home (PV1-36 01)."""
    text = (shared_data / "hl7v2-adt" / "fhirconv_ADT-A03-02.hl7").read_text().replace("\n", "\r").strip()
    mrn = next(i for i in patient.identifiers if i.system == "http://hospital.smarthealthit.org")
    stamp = discharged.strftime("%Y%m%d%H%M%S+0000")
    admitted = (discharged - timedelta(days=3)).strftime("%Y%m%d%H%M%S+0000")
    name = patient.names[0]
    segments = []
    for segment in text.split("\r"):
        fields = segment.split("|")
        if fields[0] == "MSH":
            fields[6] = stamp
        elif fields[0] == "EVN":
            fields[1:4] = ["A03", stamp, ""]
            fields[6] = stamp
        elif fields[0] == "PID":
            fields = [
                "PID", "1", "",
                f"{mrn.value}^^^&http://hospital.smarthealthit.org&URI^MR",
                "", f"{name.family}^{name.given}",
                "", patient.birth_date.strftime("%Y%m%d"),
                "M" if patient.administrative_sex == "male" else "F",
            ]  # fmt: skip
        elif fields[0] == "PV1":
            fields[36] = "01"
            fields[44], fields[45] = admitted, stamp
        segments.append("|".join(fields))
    return "\r".join(segments)


def _send_over_mllp(db_url: str, message: str) -> tuple[str, str]:
    """An in-process MLLP listener on the live site's database; the message sent framed; its ACK."""
    engine = make_engine(db_url)
    sessions = make_session_factory(engine)
    with unit_of_work(sessions) as session:
        org = session.scalars(select(Organization)).one()
        actor = Actor.system(org.id, "mllp", "mllp")
    limits = ListenerLimits(max_message_bytes=64 * 1024)
    try:
        with serving(sessions, actor, limits, "mllp-journey") as port, connect(port) as sock:
            return msa(exchange(sock, message))
    finally:
        engine.dispose()


def _minutes(page: Page) -> str:
    return page.locator("#time-ccm").inner_text()


def test_a_discharge_over_mllp_to_an_on_time_contact(
    browser: Browser, followup_site: LiveSite, shared_data: Path
) -> None:
    site = followup_site
    with engine_for(site.db_url) as engine, Session(engine) as session:
        patient = session.scalars(select(Patient).where(Patient.uuid == site.patient_uuid)).one()
        message = _a03_for(shared_data, patient, START - timedelta(hours=20))
    with frozen_at(START):
        code, _control = _send_over_mllp(site.db_url, message)
    assert code == "AA"

    context = browser.new_context(viewport={"width": 1280, "height": 1200})
    page = context.new_page()
    errors = _csp_watch(page)
    with frozen_at(START):
        _sign_in(page, site, "amy.cm", PASSWORD)
        page.goto(f"{site.url}/worklist")
        first = page.locator("#worklist > li").first
        expect(first).to_contain_text("Dennis")
        expect(first).to_contain_text("Interactive contact")
        due = re.search(r"due (\d{4}-\d{2}-\d{2})", first.inner_text())
        assert due, first.inner_text()
        page.goto(f"{site.url}/patients/{site.patient_uuid}")
        before = _minutes(page)
        contact_row = page.locator("#transitions tr", has_text="Interactive contact")
        expect(contact_row).to_contain_text(due.group(1))
        expect(contact_row).to_contain_text("business day")

        page.goto(f"{site.url}/worklist")
        page.locator("#worklist > li").first.get_by_role("button", name="Start timer").click()
        page.goto(f"{site.url}/patients/{site.patient_uuid}")
        expect(page.locator("#timer")).to_contain_text("Timer running")

        # The reached call, with the heart-failure review: 3 lb since yesterday raises the red flag.
        outreach = page.locator("#outreach")
        if not outreach.get_by_label("Outcome", exact=True).is_visible():
            outreach.get_by_text("Log a contact").click()
        outreach.get_by_label("How", exact=True).select_option("call")
        outreach.get_by_label("Outcome", exact=True).select_option("reached")
        outreach.get_by_label("Weight gain since yesterday").fill("3")
        outreach.get_by_label("Note", exact=True).fill("Ankles a little swollen; weighs daily.")
        outreach.get_by_role("button", name="Log contact").click()
        expect(page.locator("#outreach .contacts")).to_contain_text("Red flag: Heart failure: weight up 3")
        # The same call did the transition's interactive contact: nothing to log again in the panel.
        expect(page.locator("#outreach .contacts")).to_contain_text(
            "this contact did the interactive contact with the patient or caregiver — on time"
        )
        contact_row = page.locator("#transitions tr", has_text="Interactive contact")
        expect(contact_row).to_contain_text("done on time")
        expect(contact_row).to_contain_text("(contact log)")
        expect(contact_row.get_by_role("button", name="Log attempt")).to_have_count(0)

        # The medication reconciliation is the clinician's, done in the transitions panel.
        row = page.locator("#transitions tr", has_text="Medication reconciliation")
        row.get_by_role("button", name="Mark done").click()
        expect(page.locator("#transitions tr", has_text="Medication reconciliation")).to_contain_text(
            "done on time"
        )

    with frozen_at(START + timedelta(minutes=12)):  # twelve minutes on the call
        page.goto(f"{site.url}/patients/{site.patient_uuid}")
        page.get_by_role("button", name="Stop and record").click()
        expect(page.locator("#time-entries, .time-entries")).to_contain_text("12")
        after = _minutes(page)
        assert after != before, (before, after)
        expect(page.locator("#time-ccm")).to_contain_text("12 min")
        page.reload()
        urgent = page.locator("#open-tasks li.task-urgent", has_text="weight up 3")
        expect(urgent).to_be_visible()  # the red flag's urgent task on the patient page

        context.clear_cookies()
        _sign_in(page, site, "sue.sup", PASSWORD)
        page.goto(f"{site.url}/dashboard")
        rate = page.locator("tr", has_text="2-business-day transition contact rate")
        expect(rate).to_contain_text("(1/1)")
    context.close()
    assert not [e for e in errors if "Content Security Policy" in e], errors
