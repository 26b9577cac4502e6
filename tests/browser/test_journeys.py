"""Journeys in headless Chromium against a live server: sign in, find a Synthea patient, read their
problems; and the protections (CSRF, lockout) as a person meets them."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.accounts.models import User
from tests.browser.conftest import MAX_FAILED, LiveSite
from tests.databases import engine_for
from tests.web.users import PASSWORD

pytestmark = pytest.mark.browser


def _csp_watch(page: Page) -> list[str]:
    """Collect console errors (a Content-Security-Policy violation would show up here)."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    return errors


def _sign_in(page: Page, site: LiveSite, username: str, password: str) -> None:
    page.goto(f"{site.url}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_care_manager_signs_in_searches_and_reads_a_synthea_patients_problems(
    browser: Browser, live_site: LiveSite
) -> None:
    context = browser.new_context()
    page = context.new_page()
    errors = _csp_watch(page)
    page.goto(f"{live_site.url}/patients")
    expect(page).to_have_url(f"{live_site.url}/login?next=%2Fpatients")
    _sign_in(page, live_site, "amy.cm", PASSWORD)
    expect(page).to_have_url(f"{live_site.url}/worklist")  # a care manager's day starts at the worklist
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Patients").click()
    expect(page.get_by_role("heading", name="Patients")).to_be_visible()

    page.get_by_label("Name").fill("Lars")  # HTMX live results, no submit
    results = page.locator("#results")
    expect(results).to_contain_text("Larson, Jacob")
    expect(page).to_have_url(f"{live_site.url}/patients?name=Lars&birth_date=&identifier=")
    results.get_by_role("link", name="Larson, Jacob").click()

    expect(page).to_have_url(f"{live_site.url}/patients/{live_site.patient_uuid}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Jacob Larson")
    problems = page.locator("#active-problems")
    expect(problems).to_contain_text("Hypertension")
    expect(problems).to_contain_text("migraine")
    expect(page.get_by_role("heading", name="Care team")).to_be_visible()

    page.get_by_role("link", name="Timeline").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Timeline")
    expect(page.locator("ol.timeline li").first).to_be_visible()
    context.close()
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_a_forged_form_is_refused_and_repeated_failures_lock_the_account(
    browser: Browser, live_site: LiveSite
) -> None:
    context = browser.new_context()
    page = context.new_page()
    _sign_in(page, live_site, "amy.cm", PASSWORD)
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    # A form whose token does not match the session's (as a cross-site form would be) is refused.
    page.locator('form[action="/logout"] input[name="csrf_token"]').evaluate(
        "field => field.value = 'forged'"
    )
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("alert")).to_contain_text("did not come from carenav")
    page.goto(f"{live_site.url}/patients")
    expect(page.get_by_role("heading", name="Patients")).to_be_visible()  # still signed in
    context.close()

    context = browser.new_context()
    page = context.new_page()
    for _ in range(MAX_FAILED):
        _sign_in(page, live_site, "ada.admin", "not the password")
        expect(page.get_by_role("alert")).to_contain_text("Sign-in failed")
    _sign_in(page, live_site, "ada.admin", PASSWORD)
    expect(page.get_by_role("alert")).to_contain_text("Sign-in failed")  # locked: even the right password
    _sign_in(page, live_site, "nobody.here", PASSWORD)
    expect(page.get_by_role("alert")).to_contain_text("Sign-in failed")  # same words for an unknown user
    context.close()
    with engine_for(live_site.db_url) as engine, Session(engine) as session:
        admin = session.scalars(select(User).where(User.username == "ada.admin")).one()
        assert admin.locked_until is not None
