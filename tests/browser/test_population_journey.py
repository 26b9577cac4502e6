"""The population journey in headless Chromium against a live server, on real Synthea data: stratify →
an administrator filters CCM-eligible unassigned patients → assigns two to a care manager → the care
manager finds them on their population list and in their patient search."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from click.testing import CliRunner
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.accounts.services import organization_create
from carenav.cli.main import cli
from carenav.ingest.fhir.driver import ImportLimits, fhir_import
from carenav.settings import Settings, get_settings
from carenav.web.app import create_app
from tests.browser.conftest import _free_port
from tests.databases import engine_for
from tests.web.users import PASSWORD, make_user

pytestmark = pytest.mark.browser


@pytest.fixture
def population_site(
    fresh_db_url: str, shared_data: Path, cheap_passwords: object, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    with engine_for(fresh_db_url) as engine, Session(engine) as session:
        org = organization_create(
            session=session, slug="clinic", name="Riverside Clinic", timezone="America/New_York"
        )
        fhir_import(
            session=session,
            actor=Actor.operator(org.id, "tests"),
            paths=sorted((shared_data / "synthea-r4").glob("*.json")),
            limits=ImportLimits(max_file_bytes=64 * 1024 * 1024, max_line_bytes=16 * 1024 * 1024),
        )
        make_user(session, org, "ada.admin", "admin", display_name="Ada Admin")
        make_user(session, org, "amy.cm", display_name="Amy Care")
        session.commit()
    monkeypatch.setenv("CARENAV_DATABASE_URL", fresh_db_url)
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, ["stratify", "--org", "clinic", "--as-of", "2021-06-01"])
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "newly identified" in result.output
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(Settings(database_url=fresh_db_url)),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _sign_in(page: Page, url: str, username: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_assign_two_ccm_eligible_unassigned_patients_to_a_care_manager(
    browser: Browser, population_site: str
) -> None:
    url = population_site
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _sign_in(page, url, "ada.admin")
    page.goto(f"{url}/patients")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Population").click()
    expect(page.get_by_role("heading", name="Population", level=1)).to_be_visible()
    expect(page.locator("#run-info")).to_contain_text("as of 2021-06-01")

    page.get_by_label("Eligible for").select_option("ccm")  # HTMX live update, no submit
    expect(page).to_have_url(
        f"{url}/population?program=ccm&tier=&condition=&plan_type=&age_band=&enrolment=&sort=risk"
    )
    page.get_by_label("Unassigned only").check()
    expect(page).to_have_url(
        f"{url}/population?program=ccm&tier=&condition=&plan_type=&age_band=&enrolment=&sort=risk&unassigned=1"
    )
    rows = page.locator("table.registry tbody tr")
    expect(rows.first).to_be_visible()
    total = int(page.locator("td[data-total]").inner_text())
    assert total >= 2
    assert total == int(page.locator('td[data-program="ccm"]').inner_text())
    expect(rows).to_have_count(min(total, 25))
    for n in range(rows.count()):
        expect(rows.nth(n)).to_contain_text("ccm")
        expect(rows.nth(n)).to_contain_text("unassigned")
    chosen = [rows.nth(0).locator("th a").inner_text(), rows.nth(1).locator("th a").inner_text()]
    rows.nth(0).get_by_role("checkbox").check()
    rows.nth(1).get_by_role("checkbox").check()
    page.get_by_label("Care manager", exact=True).select_option("amy.cm")
    page.get_by_role("button", name="Assign to care manager").click()

    result = page.locator("#bulk-result")
    expect(result).to_contain_text("Assign: 2 done")
    for name in chosen:
        expect(result).to_contain_text(f"{name}: done \u2013 assigned to amy.cm (ccm episode 1)")
    expect(page.locator("td[data-total]")).to_have_text(str(total - 2))  # no longer unassigned
    page.get_by_role("button", name="Sign out").click()

    _sign_in(page, url, "amy.cm")
    page.goto(f"{url}/population")
    listed = page.locator("table.registry tbody th a")
    expect(listed).to_have_count(2)
    assert sorted(listed.all_inner_texts()) == sorted(chosen)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Patients").click()
    expect(page.locator("#results")).to_contain_text("2 patients")
    for name in chosen:
        given, family = name.split(" ", 1)
        expect(page.locator("#results")).to_contain_text(f"{family}, {given}")

    # The risk panel of one of them, with its chart script loaded under the CSP.
    page.goto(f"{url}/population")
    listed.first.click()
    expect(page.get_by_role("heading", name="Risk and programs")).to_be_visible()
    expect(page.locator("#program-flags")).to_contain_text("program ccm: chronic_condition_count >= 2")
    expect(page.locator("#enrolments")).to_contain_text("identified")
    context.close()
    assert not [e for e in errors if "Content Security Policy" in e], errors
