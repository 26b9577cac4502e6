"""In headless Chromium: an administrator sets up a team pool by keyboard-reachable forms (create it for
every care manager, add a person, rename it), then opens the supervisor dashboard narrowed to one care
manager, where every chart is drawn by the vendored Chart.js, with no script error and no CSP violation."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import LiveSite
from tests.web.users import PASSWORD

pytestmark = pytest.mark.browser


def _errors(page: Page) -> list[str]:
    """Script errors, console errors (a CSP violation among them) and pages or files that failed to load
    (the browser's own favicon request, which the page never makes, is not seen here)."""
    errors: list[str] = []
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    return errors


def test_an_admin_sets_up_a_pool_and_reads_one_care_managers_charts(
    browser: Browser, live_site: LiveSite
) -> None:
    context = browser.new_context()
    page = context.new_page()
    errors = _errors(page)
    page.goto(f"{live_site.url}/login")
    page.get_by_label("Username").fill("ada.admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.goto(f"{live_site.url}/admin/users")
    page.get_by_role("link", name="Team pools").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Team pools")
    new_pool = page.locator("form[action='/admin/pools']")
    new_pool.get_by_label("Key").fill("rn-line")
    new_pool.get_by_label("Name").fill("RN line")
    new_pool.get_by_label("Serves").select_option("role:care_manager")
    new_pool.get_by_role("button", name="Create pool").click()
    expect(page.get_by_role("status")).to_have_text("Done: created pool rn-line.")
    pool = page.locator("#pool-rn-line")
    expect(pool.locator(".pool-members")).to_contain_text("every care manager")
    pool.get_by_label("Add member").select_option("user:amy.cm")
    pool.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#pool-rn-line .pool-members")).to_contain_text("Amy Care (amy.cm)")
    page.locator("#pool-rn-line").get_by_label("Name").fill("Nurse line")
    page.locator("#pool-rn-line").get_by_role("button", name="Rename").click()
    expect(page.get_by_role("heading", level=2, name="Nurse line")).to_be_visible()

    page.goto(f"{live_site.url}/dashboard")
    page.get_by_role("combobox", name="Care manager").select_option("amy.cm")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"/dashboard\?.*care_manager=amy\.cm"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Amy Care")
    canvases = page.locator("canvas[data-bar-chart]")
    expect(canvases).to_have_count(6)
    expect(page.locator("canvas[data-drawn='yes']")).to_have_count(6)
    context.close()
    assert errors == [], errors
