"""A care manager completes the comprehensive initial assessment for a real Synthea patient in headless
Chromium: skip logic opens the rest of the PHQ-9 live, answers are autosaved and resumed, a required item
left empty is named next to it, some answers are given with the keyboard alone; a positive food and
transportation screen and a PHQ-9 of 15 with item 9 above zero end in two health concerns, an urgent task
and an alert on the patient."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.conftest import LiveSite
from tests.browser.test_journeys import _csp_watch, _sign_in
from tests.web.users import PASSWORD

pytestmark = pytest.mark.browser

PHQ2 = ["/44250-9", "/44255-8"]
PHQ9_REST = ["/44259-0", "/44254-1", "/44251-7", "/44258-2", "/44252-5", "/44253-3", "/44260-8"]
ANSWERS = {
    "/71802-3": "I have a steady place to live",
    "/88122-7": "Often true",  # food: worried food would run out
    "/88123-5": "Often true",  # food: food did not last
    "/93030-5": "Yes",  # transportation kept from appointments
    "/96779-4": "No",
    "/95618-5": "Never",
    "/95617-7": "Never",
    "/95616-9": "Never",
    "/95615-1": "Never",
    "support-has-helper": "No",
}
PHQ9_REST_POINTS = ["More than half the days"] * 4 + ["Several days"] * 3  # 2+2 (PHQ-2) + 8 + 3 = 15


def item(page: Page, link_id: str) -> Locator:
    return page.locator(f'#assessment-form [data-link-id="{link_id}"]').first


def choose(page: Page, link_id: str, label: str) -> None:
    item(page, link_id).get_by_label(label, exact=True).check()


def fill_the_rest(page: Page) -> None:
    """Give every visible item still unanswered a plain answer (the first option, 0, a date, some text),
    until no answer opens another item."""
    while _fill_visible(page):
        saved(page)


def _fill_visible(page: Page) -> int:
    """Answer the visible unanswered items once. Items are taken by id, as answering one may show or hide
    others while the autosave's state comes back; an item hidden meanwhile needs no answer."""
    ids = page.locator("#assessment-form fieldset.q-item").evaluate_all(
        "boxes => boxes.filter(b => b.offsetParent !== null).map(b => b.id)"
    )
    filled = 0
    for dom_id in ids:
        box = page.locator(f"[id='{dom_id}']")
        try:
            filled += _answer(box)
        except PlaywrightTimeout:
            if box.is_visible():
                raise
    return filled


def _answer(box: Locator) -> int:
    if not box.is_visible():
        return 0
    radios = box.locator("input[type=radio]")
    if radios.count():
        if box.locator("input[type=radio]:checked").count():
            return 0
        radios.first.check(timeout=3000)
        return 1
    checkboxes = box.locator("input[type=checkbox]")
    if checkboxes.count():
        if box.locator("input[type=checkbox]:checked").count():
            return 0
        checkboxes.last.check(timeout=3000)  # "none of the above" where there is one
        return 1
    field = box.locator("input, textarea").first
    if field.input_value(timeout=3000):
        return 0
    kind = field.get_attribute("type") or "textarea"
    field.fill({"number": "0", "date": "2020-01-01"}.get(kind, "as told"), timeout=3000)
    return 1


def saved(page: Page) -> None:
    expect(page.locator("#autosave-status")).to_contain_text("Draft saved at")


def test_comprehensive_assessment_of_a_synthea_patient_ends_in_concerns_an_urgent_task_and_an_alert(
    browser: Browser, live_site: LiveSite
) -> None:
    context = browser.new_context(viewport={"width": 1024, "height": 1366})  # a tablet on a home visit
    page = context.new_page()
    errors = _csp_watch(page)
    _sign_in(page, live_site, "amy.cm", PASSWORD)
    page.goto(f"{live_site.url}/patients/{live_site.patient_uuid}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Jacob Larson")
    start = page.locator("form.start-assessment")
    start.get_by_label("Instrument").select_option(label="Comprehensive initial assessment")
    start.get_by_label("How").select_option("home-visit")
    start.get_by_role("button", name="Start", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Comprehensive initial assessment")

    # The PHQ-9's later items wait for the PHQ-2; answered with the keyboard alone, the PHQ-2 opens them.
    expect(item(page, PHQ9_REST[0])).to_be_hidden()
    first = item(page, PHQ2[0]).get_by_label("Not at all", exact=True)
    first.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(item(page, PHQ2[0]).get_by_label("More than half the days", exact=True)).to_be_checked()
    page.keyboard.press("Tab")  # to the next question's options
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(item(page, PHQ2[1]).get_by_label("More than half the days", exact=True)).to_be_checked()
    expect(item(page, PHQ9_REST[0])).to_be_visible()
    saved(page)

    # Large targets for a finger: each option is a whole labelled box.
    box = item(page, PHQ2[0]).locator("label.q-choice").first.bounding_box()
    assert box is not None
    assert box["height"] >= 44

    for link_id, label in zip(PHQ9_REST, PHQ9_REST_POINTS, strict=True):
        choose(page, link_id, label)
    for link_id, label in ANSWERS.items():
        choose(page, link_id, label)
    item(page, "/96778-6").get_by_label("None of the above", exact=True).check()
    saved(page)

    # Resumed later, the draft comes back as it was.
    page.reload()
    expect(item(page, "/88122-7").get_by_label("Often true", exact=True)).to_be_checked()
    expect(item(page, PHQ9_REST[-1]).get_by_label("Several days", exact=True)).to_be_checked()

    # Completing too early names the required items left, next to each.
    page.get_by_role("button", name="Complete assessment").click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("need attention")
    concerns_line = item(page, "history-concerns").locator(".q-error")
    expect(concerns_line).to_have_text("required, and not answered")
    expect(item(page, "/88122-7").get_by_label("Often true", exact=True)).to_be_checked()

    fill_the_rest(page)
    expect(concerns_line).to_be_hidden()  # the autosave's state clears the message once answered
    page.get_by_role("button", name="Complete assessment").click()

    # The result: PHQ-9 15, what it led to.
    expect(page.locator(".status")).to_have_text("completed")
    phq9_row = page.locator("#score-table tr", has_text="(PHQ-9)")
    expect(phq9_row).to_contain_text("15")
    expect(page.locator("#outcome-tasks")).to_contain_text("PHQ-9 item 9")
    expect(page.locator("#outcome-concerns")).to_contain_text("Food insecurity")
    expect(page.locator("#outcome-concerns")).to_contain_text("Transportation insecurity")

    # The patient page: the alert on top, the urgent task, the social needs, the PHQ-9 trend.
    page.get_by_role("link", name="Back to Jacob Larson").click()
    alert = page.locator(".patient-alert")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("PHQ-9 item 9")
    expect(page.locator("#open-tasks")).to_contain_text("Urgent")
    expect(page.locator("#social-needs")).to_contain_text("Food insecurity")
    expect(page.locator("#social-needs")).to_contain_text("Transportation insecurity")
    expect(page.locator("#score-trends")).to_contain_text("15")
    expect(page.locator("#assessment-history")).to_contain_text("completed")
    context.close()
    assert not [e for e in errors if "Content Security Policy" in e], errors
