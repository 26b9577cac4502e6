"""Acceptance: a third-party FHIR client (``fhirclient``) reads and searches the facade over real HTTP."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
import uvicorn
from fhirclient import client
from fhirclient.models.bundle import Bundle
from fhirclient.models.capabilitystatement import CapabilityStatement
from fhirclient.models.condition import Condition
from fhirclient.models.encounter import Encounter
from fhirclient.models.observation import Observation
from fhirclient.models.patient import Patient
from fhirclient.server import FHIRNotFoundException, FHIRPermissionDeniedException, FHIRUnauthorizedException
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.accounts.tokens import api_token_list, api_token_revoke
from carenav.db.engine import make_engine
from carenav.settings import Settings
from carenav.web.app import create_app
from tests.fhir.world import SYSTOLIC, World, build_world


@dataclass
class Live:
    base: str
    world: World
    db_url: str


@pytest.fixture
def live(fresh_db_url: str) -> Iterator[Live]:
    engine = make_engine(fresh_db_url)
    with Session(engine, expire_on_commit=False) as session:
        world = build_world(session)
        session.commit()
        for row in [world.org, world.amy, world.bob, world.stranger, *world.users.values()]:
            session.refresh(row)  # loaded now, readable after the session closes
    engine.dispose()
    app = create_app(Settings(database_url=fresh_db_url, fhir_page_size=2))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(500):
        if server.started:
            break
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    try:
        yield Live(base=f"http://127.0.0.1:{port}/fhir/R4/", world=world, db_url=fresh_db_url)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def fhir_client(base: str, token: str) -> client.FHIRClient:
    smart = client.FHIRClient(settings={"app_id": "carenav-acceptance", "api_base": base})
    smart.server.session.headers["Authorization"] = f"Bearer {token}"
    return smart


@pytest.mark.slow
def test_fhirclient_reads_searches_and_pages(live: Live) -> None:
    world = live.world
    smart = fhir_client(live.base, world.tokens["cara"])
    smart.prepare()
    statement = smart.server.capabilityStatement
    assert isinstance(statement, CapabilityStatement)
    assert statement.fhirVersion == "4.0.1"

    amy = Patient.read(world.amy.uuid, smart.server)
    assert amy.name[0].family == "Shaw"
    assert amy.birthDate.isostring == "1957-03-02"

    found = list(Patient.where(struct={"family": "Shaw"}).perform_resources_iter(smart.server))
    assert [p.id for p in found] == [world.amy.uuid]  # Bob is not on Cara's caseload

    # page size is 2: five observations come in three pages, followed through the next links
    pages = list(Observation.where(struct={"patient": world.amy.uuid}).perform_iter(smart.server))
    assert len(pages) == 3
    assert all(page.total == 5 for page in pages)
    observations = [e.resource for page in pages for e in page.entry]
    assert len({o.id for o in observations}) == 5

    systolic = list(
        Observation.where(
            struct={"patient": world.amy.uuid, "code": f"http://loinc.org|{SYSTOLIC}", "date": "ge2024-01-01"}
        ).perform_resources_iter(smart.server)
    )
    assert sorted(o.valueQuantity.value for o in systolic) == [128.0, 138.0]

    active = list(
        Condition.where(
            struct={"patient": world.amy.uuid, "clinical-status": "active"}
        ).perform_resources_iter(smart.server)
    )
    assert len(active) == 2
    inpatient = list(
        Encounter.where(struct={"patient": world.amy.uuid, "class": "IMP"}).perform_resources_iter(
            smart.server
        )
    )
    assert [e.class_fhir.code for e in inpatient] == ["IMP"]

    everything = Bundle(smart.server.request_json(f"Patient/{world.amy.uuid}/$everything?_count=50"))
    assert everything.total == 18
    assert {e.resource.resource_type for e in everything.entry} >= {"Patient", "Condition", "CareTeam"}


@pytest.mark.slow
def test_fhirclient_sees_operation_outcomes(live: Live) -> None:
    world = live.world
    smart = fhir_client(live.base, world.tokens["cara"])
    with pytest.raises(FHIRNotFoundException) as missing:
        Patient.read(world.bob.uuid, smart.server)  # exists, but not on the caseload
    assert missing.value.response.json()["resourceType"] == "OperationOutcome"

    with pytest.raises(requests.HTTPError) as bad:
        smart.server.request_json("Observation?patient=" + world.amy.uuid + "&colour=blue")
    assert bad.value.response.status_code == 400
    assert bad.value.response.json()["issue"][0]["code"] == "invalid"

    with pytest.raises(FHIRUnauthorizedException) as unknown:
        Patient.read(world.amy.uuid, fhir_client(live.base, "cn_forged").server)
    assert unknown.value.response.headers["WWW-Authenticate"].startswith("Bearer")

    with pytest.raises(FHIRPermissionDeniedException):
        Patient.read(world.amy.uuid, fhir_client(live.base, world.tokens["export_only"]).server)

    engine = make_engine(live.db_url)
    with Session(engine) as session:
        operator = Actor.operator(world.org.id)
        for token in api_token_list(session=session, actor=operator, username=world.users["cara"].username):
            api_token_revoke(session=session, actor=operator, token_id=token.id)
        session.commit()
    engine.dispose()
    with pytest.raises(FHIRUnauthorizedException) as revoked:
        Patient.read(world.amy.uuid, smart.server)
    assert "revoked" in revoked.value.response.json()["issue"][0]["diagnostics"]
