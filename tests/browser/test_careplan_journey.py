"""A care manager builds a heart-failure care plan for a real Synthea patient in headless Chromium: applies
the template the patient's condition calls for, edits a goal's target in place, adds the patient's
daughter to the care team and gives her a step, records the patient's agreement, prints the plan (the PDF
read back), and finds the change in the history."""

from __future__ import annotations

import io
import re

import pytest
from playwright.sync_api import Browser, expect
from pypdf import PdfReader

from tests.browser.conftest import LiveSite
from tests.browser.test_journeys import _csp_watch, _sign_in
from tests.web.users import PASSWORD

pytestmark = pytest.mark.browser


def test_heart_failure_plan_from_template_to_print_and_history(
    browser: Browser, heart_failure_site: LiveSite
) -> None:
    site = heart_failure_site
    context = browser.new_context(viewport={"width": 1280, "height": 1200})
    page = context.new_page()
    errors = _csp_watch(page)
    _sign_in(page, site, "amy.cm", PASSWORD)
    page.goto(f"{site.url}/patients/{site.patient_uuid}")

    # Start a plan from the template the patient's heart failure calls for.
    start = page.locator("#careplans")
    if not start.get_by_label("Title").is_visible():  # folded away when the record has plans already
        start.get_by_text("Start a care plan").click()
    start.get_by_label("Title").fill("Heart failure care")
    start.get_by_label("From a template").select_option(label="Heart failure (suggested)")
    start.get_by_role("button", name="Start the plan").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Heart failure care")
    tree = page.locator("#plan-tree")
    expect(tree.get_by_role("heading", level=3).first).to_contain_text("Chronic congestive heart failure")
    goal = page.locator("article.goal", has_text="Blood pressure under 130/80")
    expect(goal.locator(".target-value")).to_have_text("< 130 mm[Hg]")

    # Edit the goal's target in place, with the keyboard.
    goal.get_by_role("link", name="Edit goal").click()
    editor = page.locator("article.goal form.inline-edit")
    value = editor.get_by_label("Value")
    expect(value).to_have_value("130")
    value.fill("140")
    value.press("Enter")
    goal = page.locator("article.goal", has_text="Blood pressure under 130/80")
    expect(goal.locator(".target-value")).to_have_text("< 140 mm[Hg]")
    expect(page).to_have_url(re.compile(r"/careplans/[0-9a-f-]+$"))  # edited in place, no page load

    # The patient's daughter joins the care team and takes on the low-salt teaching.
    team = page.locator("#care-team")
    team.get_by_text("Add a member").click()
    team.get_by_label("Role").select_option("caregiver")
    team.get_by_label("Name").fill("Maria Durgan")
    team.get_by_label("Relationship or specialty").fill("daughter")
    team.get_by_label("Phone").fill("555-0134")
    team.get_by_role("button", name="Add to the care team").click()
    expect(page.locator("#care-team")).to_contain_text("Maria Durgan")
    step = page.locator(".step", has_text="Low-salt eating")
    step.get_by_role("link", name="Edit step").click()
    step = page.locator(".step", has_text="Low-salt eating")
    step.get_by_label("Who does it").select_option(label="Maria Durgan (daughter)")
    step.get_by_role("button", name="Save").click()
    owner = page.locator(".step", has_text="Low-salt eating").locator(".owner")
    expect(owner).to_contain_text("Maria Durgan")

    # The patient agrees to the plan as it now stands.
    agreement = page.locator("#agreement")
    agreement.get_by_label("How").select_option("in-person")
    agreement.get_by_role("button", name=re.compile("Record agreement")).click()
    expect(page.locator("#agreement-line")).to_contain_text("Agreed to this version on")

    # Print: the PDF the patient takes home.
    with page.expect_popup() as popup_info:
        page.get_by_role("button", name="Print the patient's plan").click()
    popup = popup_info.value
    pdf = popup.request.get(popup.url)
    text = re.sub(r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.body())).pages))
    assert "below 140 mm[Hg]" in text
    assert "Maria Durgan: Low-salt eating" in text
    assert "Call first: Amy Care" in text
    popup.close()

    # The change is in the history.
    page.get_by_role("button", name="History").click()
    history = page.locator("ol.versions")
    expect(history).to_contain_text('target "< 130 mm[Hg]" → "< 140 mm[Hg]"')
    expect(history).to_contain_text("Maria Durgan")
    expect(history).to_contain_text("Agreed on")
    context.close()
    assert not [e for e in errors if "Content Security Policy" in e], errors
