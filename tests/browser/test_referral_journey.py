"""A referral's closed loop in headless Chromium: a real Synthea patient whose US Core Hunger Vital Sign
example screens positive has an open food-insecurity need; the care manager searches the real Miami 211
directory from that need, near the patient's ZIP code, refers the patient to a food bank for their care plan's
goal, records their consent and sends the referral; the food bank, with a token of its own, accepts and
completes the referral's Task over FHIR; the care manager sees the loop closed on the patient's plan and on
the referral board."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.accounts.models import User
from carenav.accounts.services import user_actor, user_create
from carenav.accounts.tokens import api_token_create
from carenav.assessments.rules import Channel
from carenav.assessments.services import assessment_record
from carenav.careplans.services import goal_add, plan_create
from carenav.referrals.models import Referral
from carenav.resources.importer import resources_import
from tests.browser.conftest import LiveSite, _seed, _serving
from tests.browser.test_journeys import _csp_watch, _sign_in
from tests.databases import engine_for
from tests.web.users import PASSWORD

pytestmark = pytest.mark.browser
HUNGER_EXAMPLE = "fhir-examples/us-core/QuestionnaireResponse-hunger-vital-sign-example.json"
GOAL = "Has enough food every week"


@dataclass(frozen=True)
class FoodSite:
    site: LiveSite
    plan_uuid: str


@pytest.fixture
def food_site(fresh_db_url: str, shared_data: Path, cheap_passwords: object) -> Iterator[FoodSite]:
    patient_uuid = _seed(fresh_db_url, shared_data)
    with engine_for(fresh_db_url) as engine, Session(engine, expire_on_commit=False) as session:
        amy = session.scalars(select(User).where(User.username == "amy.cm")).one()
        actor = user_actor(amy)
        resources_import(
            session=session,
            actor=Actor.operator(amy.org_id, "tests"),
            folder=shared_data / "hsds/open211-miami",
        )
        screen = json.loads((shared_data / HUNGER_EXAMPLE).read_text())
        screen["subject"] = {"reference": f"Patient/{patient_uuid}"}
        assessment_record(
            session=session,
            actor=actor,
            patient_uuid=patient_uuid,
            instrument_id="hunger-vital-sign",
            response=screen,
            complete=True,
            channel=Channel.PHONE,
        )
        plan = plan_create(session=session, actor=actor, patient_uuid=patient_uuid, title="Social needs")
        goal_add(session=session, actor=actor, plan_uuid=plan.uuid, description=GOAL)
        session.commit()
    with _serving(fresh_db_url, patient_uuid) as site:
        yield FoodSite(site, plan.uuid)


def _partner_token(db_url: str, referral_uuid: str) -> str:
    """The food bank's own account and token (an operator makes them: ``carenav users add --role partner``,
    ``carenav tokens create``)."""
    with engine_for(db_url) as engine, Session(engine, expire_on_commit=False) as session:
        referral = session.scalars(select(Referral).where(Referral.uuid == referral_uuid)).one()
        assert referral.service is not None
        assert referral.service.organization is not None
        operator = Actor.operator(referral.org_id, "tests")
        user_create(
            session=session,
            actor=operator,
            username="foodbank",
            role="partner",
            password=PASSWORD,
            partner_organization=referral.service.organization.uuid,
        )
        issued = api_token_create(
            session=session, actor=operator, username="foodbank", scopes=["fhir:read", "fhir:write"]
        )
        session.commit()
        return issued.secret


def test_from_a_food_need_to_a_food_bank_and_the_loop_closed_over_fhir(
    browser: Browser, food_site: FoodSite
) -> None:
    site = food_site.site
    context = browser.new_context(viewport={"width": 1280, "height": 1200})
    page = context.new_page()
    errors = _csp_watch(page)
    _sign_in(page, site, "amy.cm", PASSWORD)
    page.goto(f"{site.url}/patients/{site.patient_uuid}")

    # The positive screen left an open food need; search the directory from it.
    need = page.locator("#social-needs li", has_text="Food")
    expect(need).to_be_visible()
    need.get_by_role("link", name="Find resources").click()
    expect(page.get_by_label("Need")).to_have_value("food")
    zip_code = page.get_by_label("Near ZIP code").input_value()
    assert len(zip_code) == 5, "the search starts from the patient's ZIP code"
    results = page.locator("li.resource")
    expect(results.first).to_be_visible()
    distances = [float(t.split(" mi")[0]) for t in results.locator("strong").all_inner_texts() if " mi" in t]
    assert distances, "distances shown"
    assert distances == sorted(distances), "nearest first"

    # Refer the patient to the nearest food service, for the plan's goal.
    first = results.first
    first.get_by_placeholder("What for").fill("Runs out of food before the end of the month")
    first.locator("select[name=goal]").select_option(label=GOAL)
    first.get_by_role("button", name="Refer").click()
    referral = page.locator("#referrals ul.referrals > li").first
    expect(referral).to_contain_text("draft")
    expect(referral).to_contain_text(f"for the goal “{GOAL}”")
    referral_uuid = (referral.get_attribute("id") or "").removeprefix("referral-")

    # Sending needs the patient's consent to share with the food bank.
    referral.get_by_label("Next step").select_option("sent")
    referral.get_by_role("button", name="Record step").click()
    expect(page.locator("body")).to_contain_text("consent")
    page.goto(f"{site.url}/patients/{site.patient_uuid}#referrals")
    consents = page.locator("#referrals details", has_text="Consents to share")
    consents.locator("summary").click()
    offered = consents.locator("datalist option").first.get_attribute("value") or ""
    assert offered, "the organizations referred to are offered"
    consents.get_by_label("Organization").fill(offered)
    consents.get_by_label("How").select_option("verbal")
    consents.get_by_role("button", name="Record consent").click()
    referral = page.locator(f"#referral-{referral_uuid}")
    referral.get_by_label("Next step").select_option("sent")
    referral.get_by_role("button", name="Record step").click()
    expect(page.locator(f"#referral-{referral_uuid}")).to_contain_text("sent")

    # The food bank works the referral over FHIR with its own token.
    token = _partner_token(site.db_url, referral_uuid)
    fhir = httpx.Client(base_url=f"{site.url}/fhir/R4", headers={"Authorization": f"Bearer {token}"})
    tasks = fhir.get("Task", params={"status": "requested"}).json()
    task = tasks["entry"][0]["resource"]
    assert task["focus"]["reference"] == f"ServiceRequest/{referral_uuid}"
    task["status"] = "accepted"
    assert fhir.put(f"Task/{task['id']}", json=task).status_code == 200
    task["status"] = "completed"
    task["output"] = [
        {
            "type": {"text": "resulting-activity"},
            "valueCodeableConcept": {"text": "Enrolled in the weekly grocery program"},
        }
    ]
    done = fhir.put(f"Task/{task['id']}", json=task)
    assert done.status_code == 200, done.text

    # The loop is closed on the patient's plan and on the board.
    page.goto(f"{site.url}/careplans/{food_site.plan_uuid}")
    served = page.get_by_role("list", name="Referrals for this goal")
    expect(served).to_contain_text("completed")
    expect(served).to_contain_text("Enrolled in the weekly grocery program")
    page.get_by_role("link", name="Referrals", exact=True).click()
    expect(page.locator("#board-" + referral_uuid)).to_contain_text("completed")
    closed = page.locator("section.lane-closed")
    expect(closed).to_contain_text("Enrolled in the weekly grocery program")

    # The food bank also goes on the patient's printable resource list.
    page.goto(f"{site.url}/resources?patient={site.patient_uuid}&need=food")
    first = page.locator("li.resource").first
    first.get_by_placeholder("Note for the patient (optional)").fill("Bring a photo ID")
    first.get_by_role("button", name="resource list").click()
    page.goto(f"{site.url}/patients/{site.patient_uuid}")
    page.locator("#resource-list").get_by_role("link", name="Print the resource list").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your community resources")
    expect(page.locator(".resource-entry")).to_have_count(1)
    expect(page.locator(".resource-entry")).to_contain_text("Bring a photo ID")
    assert not [e for e in errors if "Content Security Policy" in e], errors
    context.close()
