"""A live server (uvicorn in a thread, on the test's own committed database) and headless Chromium."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, sync_playwright
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.accounts.models import Organization
from carenav.accounts.services import organization_create
from carenav.ingest.fhir.driver import ImportLimits, fhir_import
from carenav.patients.models import Patient
from carenav.settings import Settings
from carenav.web.app import create_app
from tests.databases import IN_CI, engine_for
from tests.web.users import assign, cheap_passwords, make_user

__all__ = ["cheap_passwords"]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MAX_FAILED = 3
SYNTHEA_PATIENT = "Jacob_Larson_0b324782-31d1-4659-89ab-58e075d6e61f.json"
HEART_FAILURE_PATIENT = "Dennis_Durgan_78f005f3-7b33-4a5b-84d9-28417b36dbab.json"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        message = f"Chromium is missing at {CHROMIUM} (apt-get install chromium)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass(frozen=True)
class LiveSite:
    url: str
    db_url: str
    patient_uuid: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _seed(db_url: str, shared_data: Path, patient_file: str = SYNTHEA_PATIENT) -> str:
    """An organization, its users, and one real Synthea patient on amy's caseload."""
    with engine_for(db_url) as engine, Session(engine, expire_on_commit=False) as session:
        org: Organization = organization_create(
            session=session, slug="clinic", name="Riverside Clinic", timezone="America/New_York"
        )
        summary = fhir_import(
            session=session,
            actor=Actor.operator(org.id, "tests"),
            paths=[shared_data / "synthea-r4" / patient_file],
            limits=ImportLimits(max_file_bytes=64 * 1024 * 1024, max_line_bytes=16 * 1024 * 1024),
        )
        patient = session.query(Patient).filter_by(org_id=org.id).one()
        amy = make_user(session, org, "amy.cm", display_name="Amy Care")
        make_user(session, org, "ada.admin", "admin")
        assign(session, org, amy, patient)
        session.commit()
        assert summary is not None
        return patient.uuid


@contextmanager
def _serving(db_url: str, patient_uuid: str) -> Iterator[LiveSite]:
    settings = Settings(database_url=db_url, max_failed_logins=MAX_FAILED, lockout_minutes=15)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield LiveSite(url=f"http://127.0.0.1:{port}", db_url=db_url, patient_uuid=patient_uuid)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def live_site(fresh_db_url: str, shared_data: Path, cheap_passwords: object) -> Iterator[LiveSite]:
    with _serving(fresh_db_url, _seed(fresh_db_url, shared_data)) as site:
        yield site


@pytest.fixture
def heart_failure_site(fresh_db_url: str, shared_data: Path, cheap_passwords: object) -> Iterator[LiveSite]:
    """The live site with a Synthea patient who has chronic congestive heart failure."""
    with _serving(fresh_db_url, _seed(fresh_db_url, shared_data, HEART_FAILURE_PATIENT)) as site:
        yield site
