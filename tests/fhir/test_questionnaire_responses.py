"""QuestionnaireResponse over /fhir/R4 on SQLite and PostgreSQL: read (audited, 404 outside reach), search by
patient, questionnaire, status and authored with paging, $everything and the bulk export; create as a draft
or completed (scored, its Observations, concerns and urgent tasks in the record), refused with an issue per
item that does not fit, with nothing kept; the fhir:write scope; a response made by another system (US
Core's Hunger Vital Sign example)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from fhirclient.models.questionnaireresponse import QuestionnaireResponse as R4QuestionnaireResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.assessments.instruments import instrument_get
from carenav.assessments.models import Assessment
from carenav.assessments.rules import Channel, Respondent
from carenav.assessments.services import assessment_record, assessment_withdraw
from carenav.audit.models import AuditEvent
from carenav.cli.main import cli
from carenav.clock import frozen_at
from carenav.fhir.export import export_bulk
from carenav.fhir.mappers.common import Refs
from carenav.fhir.mappers.questionnaire_response import questionnaire_response_resource
from carenav.settings import Settings
from carenav.tasks.models import Task
from carenav.web.app import create_app
from tests.assessments.answers import FREQ, GAD7, PHQ9
from tests.assessments.responses import response
from tests.builders import make_org, make_patient
from tests.databases import engine_for
from tests.fhir.conftest import Api
from tests.fhir.test_api import ids, link, ok, outcome
from tests.fhir.validation import assert_valid
from tests.fhir.world import World, assign_care_manager, make_user, token_for

QR = "QuestionnaireResponse"
PHQ9_URL = "https://carenav.org/fhir/Questionnaire/phq9"
GAD7_URL = "https://carenav.org/fhir/Questionnaire/gad7"
HUNGER_URL = "https://carenav.org/fhir/Questionnaire/hunger-vital-sign"
CHANNEL = "https://carenav.org/fhir/StructureDefinition/assessment-channel"
CHANNEL_AT = f"{QR}.extension('{CHANNEL}')"
PHQ9_TOTAL = "44261-6"


def at(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def item_at(link_id: str) -> str:
    return f"QuestionnaireResponse.repeat(item | answer.item).where(linkId = '{link_id}')"


def phq9(points: list[int], *, patient: str, status: str = "completed", **extra: Any) -> dict[str, Any]:
    """A PHQ-9 response, as a client sends it: our canonical, the patient, answers by item order."""
    built = response(
        instrument_get("phq9"), {i: FREQ[p] for i, p in zip(PHQ9, points, strict=False)}, status=status
    )
    return {**built, "subject": {"reference": f"Patient/{patient}"}, **extra}


def gad7_answers(points: list[int]) -> dict[str, str]:
    return {i: FREQ[p] for i, p in zip(GAD7, points, strict=False)}


def assessments_of(session: Session, patient_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(Assessment).where(Assessment.patient_id == patient_id)
        )
        or 0
    )


@pytest.fixture
def writers(session: Session, world: World) -> dict[str, str]:
    """Tokens that may create: an admin's and care manager Cara's (Amy is on her caseload, Bob not)."""
    tokens = {
        "admin": token_for(session, world.users["admin"], "fhir:read", "fhir:write"),
        "cara": token_for(session, world.users["cara"], "fhir:read", "fhir:write"),
        "write_only": token_for(session, world.users["admin"], "fhir:write"),
    }
    session.commit()
    return tokens


def _record(session: Session, world: World, when: datetime, **kwargs: Any) -> Assessment:
    with frozen_at(when):
        return assessment_record(session=session, actor=Actor.operator(world.org.id, "tests"), **kwargs)


@pytest.fixture
def seeded(session: Session, world: World) -> dict[str, Assessment]:
    """Amy's four assessments (a withdrawn PHQ-9, a PHQ-9, a GAD-7 answered by her daughter by phone, a
    GAD-7 draft) and one of Bob's, at known times."""
    phq9_instrument, gad7_instrument = instrument_get("phq9"), instrument_get("gad7")
    amy, bob = world.amy.uuid, world.bob.uuid
    mild = response(phq9_instrument, {i: FREQ[1 if n < 8 else 0] for n, i in enumerate(PHQ9)})
    rows = {
        "old_phq9": _record(
            session, world, at(2023, 11, 20), patient_uuid=amy, instrument_id="phq9", response=mild,
            complete=True, channel=Channel.IN_PERSON,
        ),
        "phq9": _record(
            session, world, at(2024, 2, 1), patient_uuid=amy, instrument_id="phq9", response=mild,
            complete=True, channel=Channel.IN_PERSON,
        ),
        "gad7": _record(
            session, world, at(2024, 3, 15, 15, 30), patient_uuid=amy, instrument_id="gad7",
            response=response(gad7_instrument, gad7_answers([1, 2, 1, 0, 0, 1, 2])), complete=True,
            channel=Channel.PHONE, respondent=Respondent.PROXY, proxy_name="Beth Shaw",
            proxy_relationship="daughter",
        ),
        "draft": _record(
            session, world, at(2024, 4, 1, 8), patient_uuid=amy, instrument_id="gad7",
            response=response(gad7_instrument, gad7_answers([1, 1]), status="in-progress"), complete=False,
            channel=Channel.VIDEO,
        ),
        "bob": _record(
            session, world, at(2024, 2, 2), patient_uuid=bob, instrument_id="phq9", response=mild,
            complete=True, channel=Channel.IN_PERSON,
        ),
    }  # fmt: skip
    with frozen_at(at(2023, 12, 1)):
        assessment_withdraw(
            session=session,
            actor=Actor.operator(world.org.id, "tests"),
            assessment_uuid=rows["old_phq9"].uuid,
            reason="recorded for the wrong patient",
        )
    session.commit()
    return rows


def names(bundle: dict[str, Any], seeded: dict[str, Assessment]) -> list[str]:
    by_id = {row.uuid: name for name, row in seeded.items()}
    return [by_id[i] for i in ids(bundle)]


# --- read -----------------------------------------------------------------------------------------


def test_read_maps_the_assessment(api: Api, world: World, seeded: dict[str, Assessment]) -> None:
    token = world.tokens["admin"]
    gad7 = ok(api, f"{QR}/{seeded['gad7'].uuid}", token)
    assert gad7["id"] == seeded["gad7"].uuid
    assert gad7["meta"] == {"lastUpdated": "2024-03-15T15:30:00Z"}
    assert gad7["questionnaire"] == f"{GAD7_URL}|1.0.0"
    assert gad7["status"] == "completed"
    assert gad7["subject"] == {"reference": f"Patient/{world.amy.uuid}"}
    assert gad7["authored"] == "2024-03-15T15:30:00Z"
    assert gad7["author"] == {"display": "operator:tests"}
    assert gad7["source"] == {"display": "Beth Shaw (daughter)"}
    assert gad7["extension"] == [{"url": CHANNEL, "valueCode": "phone"}]
    answered = {i["linkId"]: i["answer"][0]["valueCoding"]["code"] for i in gad7["item"]}
    assert answered == gad7_answers([1, 2, 1, 0, 0, 1, 2])
    R4QuestionnaireResponse(gad7, strict=True)  # R4 (4.0.1) itself reads it too

    draft = ok(api, f"{QR}/{seeded['draft'].uuid}", token)
    assert (draft["status"], draft["authored"]) == ("in-progress", "2024-04-01T08:00:00Z")
    assert draft["source"] == {"reference": f"Patient/{world.amy.uuid}"}
    assert len(draft["item"]) == 2
    withdrawn = ok(api, f"{QR}/{seeded['old_phq9'].uuid}", token)
    assert (withdrawn["status"], withdrawn["authored"]) == ("entered-in-error", "2023-11-20T09:00:00Z")
    assert withdrawn["meta"]["lastUpdated"] == "2023-12-01T09:00:00Z"


def test_reads_and_searches_are_audited(
    api: Api, world: World, seeded: dict[str, Assessment], session: Session
) -> None:
    ok(api, f"{QR}/{seeded['gad7'].uuid}", world.tokens["cara"])
    ok(api, f"{QR}?patient={world.amy.uuid}&status=completed", world.tokens["cara"])
    events = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.channel == "fhir", AuditEvent.entity_type == "Assessment")
        .order_by(AuditEvent.id)
    ).all()
    assert [(e.action, e.entity_id, e.patient_uuid) for e in events] == [
        ("read", seeded["gad7"].uuid, world.amy.uuid),
        ("read", None, world.amy.uuid),
    ]
    assert {e.user_id for e in events} == {world.users["cara"].id}
    assert "status completed" in (events[1].detail or "")


def test_out_of_reach_is_404_as_if_it_did_not_exist(
    api: Api, world: World, seeded: dict[str, Assessment]
) -> None:
    cara = world.tokens["cara"]
    ok(api, f"{QR}/{seeded['phq9'].uuid}", cara)
    body = outcome(api.get(f"{QR}/{seeded['bob'].uuid}", cara), 404)
    assert body["issue"][0]["diagnostics"] == f"no QuestionnaireResponse {seeded['bob'].uuid}"
    assert outcome(api.get(f"{QR}/no-such-id", cara), 404)["issue"][0]["diagnostics"] == (
        "no QuestionnaireResponse no-such-id"
    )
    outcome(api.get(f"{QR}?patient={world.bob.uuid}", cara), 404)
    outcome(api.get(f"{QR}?patient={world.bob.uuid}&status=nothing-matches", cara), 404)
    for who in ("outsider", "auditor"):
        outcome(api.get(f"{QR}/{seeded['phq9'].uuid}", world.tokens[who]), 404)
    assert ok(api, f"{QR}?patient={world.bob.uuid}", world.tokens["admin"])["total"] == 1


# --- search ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["draft", "gad7", "phq9", "old_phq9"]),
        (f"questionnaire={PHQ9_URL}", ["phq9", "old_phq9"]),
        (f"questionnaire={PHQ9_URL}|1.0.0", ["phq9", "old_phq9"]),
        (f"questionnaire={PHQ9_URL}|0.9", []),
        ("questionnaire=gad7", ["draft", "gad7"]),
        ("questionnaire=Questionnaire/gad7", ["draft", "gad7"]),
        (f"questionnaire=phq9,{GAD7_URL}", ["draft", "gad7", "phq9", "old_phq9"]),
        ("questionnaire=http://example.org/Questionnaire/phq9-elsewhere", []),
        ("status=completed", ["gad7", "phq9"]),
        ("status=in-progress,entered-in-error", ["draft", "old_phq9"]),
        ("status=http://hl7.org/fhir/questionnaire-answers-status|completed", ["gad7", "phq9"]),
        ("status=urn:other|completed", []),
        ("authored=2024-03", ["gad7"]),
        ("authored=ge2024-02-01&authored=lt2024-04", ["gad7", "phq9"]),
        ("authored=lt2024", ["old_phq9"]),
        ("authored=le2024-02-01T09:00:00Z", ["phq9", "old_phq9"]),
        ("authored=gt2024-02-01T09:00:00Z", ["draft", "gad7"]),
        ("authored=2024-04-01T04:00:00-04:00", ["draft"]),
        ("questionnaire=gad7&status=completed&authored=2024", ["gad7"]),
        ("authored=ge2025&authored=lt2024", []),
    ],
)
def test_search(
    api: Api, world: World, seeded: dict[str, Assessment], query: str, expected: list[str]
) -> None:
    bundle = ok(api, f"{QR}?patient={world.amy.uuid}&{query}", world.tokens["admin"])
    assert names(bundle, seeded) == expected
    assert bundle["total"] == len(expected)
    for entry in bundle.get("entry", []):
        assert entry["fullUrl"] == f"{api.base}/{QR}/{entry['resource']['id']}"


def test_search_pages_newest_first(api: Api, world: World, seeded: dict[str, Assessment]) -> None:
    token = world.tokens["admin"]
    first = ok(api, f"{QR}?patient=Patient/{world.amy.uuid}&_count=3", token)
    assert first["total"] == 4
    assert names(first, seeded) == ["draft", "gad7", "phq9"]
    url = link(first, "next")
    assert url is not None
    parts = urlsplit(url)
    second = ok(api, f"{parts.path.removeprefix('/fhir/R4/')}?{parts.query}", token)
    assert names(second, seeded) == ["old_phq9"]
    assert link(second, "next") is None
    assert link(second, "previous") is not None
    only_total = ok(api, f"{QR}?patient={world.amy.uuid}&_count=0", token)
    assert (only_total["total"], "entry" in only_total) == (4, False)


@pytest.mark.parametrize(
    "query",
    [
        "",
        "status=completed",
        "patient=Group/1",
        "patient={amy}&authored=ne2024",
        "patient={amy}&authored=last-year",
        "patient={amy}&status=completed&status=amended",
        "patient={amy}&questionnaire=phq9,",
        "patient={amy}&subject={amy}",
    ],
)
def test_bad_search_parameters_are_400(api: Api, world: World, query: str) -> None:
    body = outcome(api.get(f"{QR}?{query.format(amy=world.amy.uuid)}", world.tokens["admin"]), 400)
    assert body["issue"][0]["code"] == "invalid"
    assert body["issue"][0]["expression"][0].startswith(QR)


def test_capability_statement_lists_read_search_and_create(api: Api, world: World) -> None:
    statement = ok(api, "metadata", token="")
    [entry] = [r for r in statement["rest"][0]["resource"] if r["type"] == QR]
    assert entry["interaction"] == [{"code": "read"}, {"code": "create"}, {"code": "search-type"}]
    assert [p["name"] for p in entry["searchParam"]][:4] == ["patient", "questionnaire", "status", "authored"]
    others = [r for r in statement["rest"][0]["resource"] if r["type"] != QR]
    assert all({"code": "create"} not in r["interaction"] for r in others)
    assert "fhir:write" in statement["rest"][0]["security"]["description"]


# --- $everything and export -----------------------------------------------------------------------


def test_everything_lists_the_responses_before_the_care_team_and_pages(
    api: Api, world: World, seeded: dict[str, Assessment]
) -> None:
    token = world.tokens["cara"]
    whole = ok(api, f"Patient/{world.amy.uuid}/$everything", token)
    resources = [e["resource"] for e in whole["entry"]]
    types = [r["resourceType"] for r in resources]
    assert whole["total"] == len(resources)
    assert types[-5:] == [QR, QR, QR, QR, "CareTeam"]
    responses = {r["id"]: r["status"] for r in resources if r["resourceType"] == QR}
    assert responses == {
        seeded["draft"].uuid: "in-progress",
        seeded["gad7"].uuid: "completed",
        seeded["phq9"].uuid: "completed",
        seeded["old_phq9"].uuid: "entered-in-error",
    }
    # the scores of the three completed ones are among the Observations (the withdrawn one's withdrawn)
    observations = [r for r in resources if r["resourceType"] == "Observation"]
    scores = [r for r in observations if r["code"]["coding"][0]["code"] in (PHQ9_TOTAL, "70274-6")]
    assert sorted(r["status"] for r in scores) == ["entered-in-error", "final", "final"]
    for count in (3, 4, 7):
        paged: list[str] = []
        for offset in range(0, whole["total"], count):
            page = ok(api, f"Patient/{world.amy.uuid}/$everything?_count={count}&_offset={offset}", token)
            assert page["total"] == whole["total"]
            paged += [f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in page["entry"]]
        assert paged == [f"{r['resourceType']}/{r['id']}" for r in resources]


def test_export_writes_every_response(
    world: World, seeded: dict[str, Assessment], session: Session, tmp_path: Path
) -> None:
    result = export_bulk(
        session=session, actor=Actor.operator(world.org.id), directory=tmp_path / "bulk", types=[QR]
    )
    assert result.counts == {QR: 5}
    lines = [orjson.loads(line) for line in (tmp_path / "bulk" / f"{QR}.ndjson").read_bytes().splitlines()]
    for resource in lines:
        assert_valid(resource)
    assert {r["id"]: r["status"] for r in lines} == {row.uuid: row.status for row in seeded.values()}


# --- create ---------------------------------------------------------------------------------------


def test_create_completed_scores_and_writes_the_record(
    api: Api, world: World, writers: dict[str, str], session: Session
) -> None:
    amy = world.amy.uuid
    sent = phq9([2, 2, 2, 2, 2, 2, 2, 2, 1], patient=amy)
    created = api.post(QR, sent, writers["cara"])
    assert created.status_code == 201, created.text
    assert created.headers["content-type"].startswith("application/fhir+json")
    body = created.json()
    assert_valid(body)
    assert created.headers["location"] == f"{api.base}/{QR}/{body['id']}"
    assert body == ok(api, f"{QR}/{body['id']}", world.tokens["cara"])  # as a read returns it
    assert (body["status"], body["questionnaire"]) == ("completed", f"{PHQ9_URL}|1.0.0")
    assert body["author"] == {"display": world.users["cara"].display_name}
    assert body["source"] == {"reference": f"Patient/{amy}"}
    assert body["extension"] == [{"url": CHANNEL, "valueCode": "in-person"}]  # the default
    assert body["item"] == sent["item"]
    R4QuestionnaireResponse(body, strict=True)

    stored = session.scalar(select(Assessment).where(Assessment.uuid == body["id"]))
    assert stored is not None
    assert (stored.status, stored.channel, stored.respondent) == ("completed", "in-person", "patient")
    assert stored.started_by_user_id == world.users["cara"].id
    assert stored.score is not None
    assert (stored.score["total"], stored.score["band"]) == (17, "moderately severe")
    # the score is an Observation of Amy's FHIR record; item 9 made an urgent task
    scores = ok(api, f"Observation?patient={amy}&code=http://loinc.org|{PHQ9_TOTAL}", world.tokens["cara"])
    [score] = [e["resource"] for e in scores["entry"]]
    assert (score["valueQuantity"]["value"], score["interpretation"][0]["coding"][0]["code"]) == (17.0, "POS")
    task = session.scalar(select(Task).where(Task.source_type == "Assessment", Task.source_id == body["id"]))
    assert task is not None
    assert task.priority == "urgent"
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.entity_id == body["id"], AuditEvent.channel == "fhir")
    ).all()
    assert set(actions) >= {"assessment-start", "assessment-complete"}


def test_create_a_draft_answered_by_a_proxy_by_phone(
    api: Api, world: World, writers: dict[str, str], session: Session
) -> None:
    amy = world.amy.uuid
    sent = phq9(
        [1, 0, 3],
        patient=amy,
        status="in-progress",
        source={"display": "Beth Shaw (daughter)"},
        extension=[{"url": CHANNEL, "valueCode": "phone"}],
    )
    created = api.post(QR, sent, writers["admin"])
    assert created.status_code == 201, created.text
    body = created.json()
    assert_valid(body)
    assert body == ok(api, f"{QR}/{body['id']}", world.tokens["admin"])
    assert body["status"] == "in-progress"
    assert body["source"] == {"display": "Beth Shaw (daughter)"}
    assert body["extension"] == [{"url": CHANNEL, "valueCode": "phone"}]
    assert [i["linkId"] for i in body["item"]] == PHQ9[:3]
    stored = session.scalar(select(Assessment).where(Assessment.uuid == body["id"]))
    assert stored is not None
    assert (stored.status, stored.score, stored.channel) == ("in-progress", None, "phone")
    assert (stored.respondent, stored.proxy_name, stored.proxy_relationship) == (
        "proxy",
        "Beth Shaw",
        "daughter",
    )
    scores = ok(api, f"Observation?patient={amy}&code={PHQ9_TOTAL}", world.tokens["admin"])
    assert scores["total"] == 0  # a draft is not scored


def test_a_related_person_of_the_patient_may_be_the_source(
    api: Api, world: World, writers: dict[str, str], session: Session
) -> None:
    daughter = world.rows["daughter"]
    sent = phq9([0] * 9, patient=world.amy.uuid, source={"reference": f"RelatedPerson/{daughter.uuid}"})
    created = api.post(QR, sent, writers["admin"])
    assert created.status_code == 201, created.text
    assert created.json()["source"] == {"display": "Beth Shaw (daughter)"}
    stored = session.scalar(select(Assessment).where(Assessment.uuid == created.json()["id"]))
    assert stored is not None
    assert (stored.respondent, stored.proxy_name, stored.proxy_relationship) == (
        "proxy",
        "Beth Shaw",
        "daughter",
    )
    # another patient's related person (or none) is refused, naming the element
    sent["subject"] = {"reference": f"Patient/{world.bob.uuid}"}
    body = outcome(api.post(QR, sent, writers["admin"]), 422)
    assert body["issue"][0]["expression"] == [f"{QR}.source.reference"]
    assert assessments_of(session, world.bob.id) == 0


def test_create_needs_the_write_scope(
    api: Api, world: World, writers: dict[str, str], session: Session
) -> None:
    sent = phq9([0] * 9, patient=world.amy.uuid)
    refused = api.post(QR, sent, world.tokens["admin"])  # fhir:read only
    body = outcome(refused, 403)
    assert body["issue"][0]["code"] == "forbidden"
    assert refused.headers["www-authenticate"] == (
        'Bearer realm="carenav", error="insufficient_scope", scope="fhir:write"'
    )
    outcome(api.post(QR, sent), 401)
    write_only = writers["write_only"]
    created = api.post(QR, sent, write_only)
    assert created.status_code == 201, created.text
    outcome(api.get(f"{QR}/{created.json()['id']}", write_only), 403)  # reading needs fhir:read
    assert assessments_of(session, world.amy.id) == 1


def test_a_response_that_does_not_fit_is_refused_item_by_item_and_nothing_is_kept(
    api: Api, world: World, writers: dict[str, str], session: Session
) -> None:
    sent = phq9([1, 1, 1, 1, 1, 1, 1, 1], patient=world.amy.uuid)  # item 9 (required) missing
    sent["item"][0]["answer"] = [{"valueCoding": {"system": "http://loinc.org", "code": "LA9999-9"}}]
    refused = api.post(QR, sent, writers["cara"])
    body = outcome(refused, 422)
    issues = {i["expression"][0]: i for i in body["issue"]}
    assert len(body["issue"]) == 2
    assert set(issues) == {item_at("/44250-9"), item_at("/44260-8")}
    assert issues[item_at("/44250-9")]["diagnostics"].startswith(
        "item /44250-9: LA9999-9 is not one of its options: LA6568-5 (Not at all)"
    )
    assert issues[item_at("/44260-8")]["diagnostics"] == "item /44260-8: required, and not answered"
    assert {i["code"] for i in body["issue"]} == {"invalid"}
    # the assessment was started (flushed) before the answers were refused: the rollback undid it
    assert assessments_of(session, world.amy.id) == 0
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action.startswith("assessment-"))) == 0  # fmt: skip

    draft = phq9([1], patient=world.amy.uuid, status="in-progress")
    draft["item"].append({"linkId": "/12345-6", "answer": [{"valueString": "hello"}]})
    body = outcome(api.post(QR, draft, writers["cara"]), 422)
    assert [(i["expression"], i["diagnostics"]) for i in body["issue"]] == [
        ([item_at("/12345-6")], "item /12345-6: the questionnaire has no such item")
    ]
    assert assessments_of(session, world.amy.id) == 0


def _with(amy: str, **changes: Any) -> dict[str, Any]:
    sent = phq9([0] * 9, patient=amy)
    sent.update(changes)
    return {k: v for k, v in sent.items() if v is not None}


@pytest.mark.parametrize(
    ("body", "status", "code", "expression"),
    [
        (b"{not json", 400, "invalid", "body"),
        (b"", 400, "invalid", "body"),
        (b"[1, 2]", 400, "invalid", "body"),
        ({"resourceType": "Patient"}, 400, "invalid", f"{QR}.resourceType"),
        ({"status": None}, 400, "structure", f"{QR}.status"),
        ({"author": "Dr. Who"}, 400, "structure", f"{QR}.author"),
        ({"colour": "blue"}, 400, "structure", f"{QR}.colour"),
        ({"status": "done"}, 400, "invalid", f"{QR}.status"),
        ({"status": "amended"}, 422, "business-rule", f"{QR}.status"),
        ({"status": "stopped"}, 422, "business-rule", f"{QR}.status"),
        ({"questionnaire": None}, 400, "invalid", f"{QR}.questionnaire"),
        ({"questionnaire": "http://x.org/Questionnaire/phq9"}, 422, "not-supported", f"{QR}.questionnaire"),
        ({"questionnaire": f"{PHQ9_URL}|0.9"}, 422, "not-supported", f"{QR}.questionnaire"),
        ({"subject": None}, 400, "invalid", f"{QR}.subject"),
        ({"subject": {"display": "Amy"}}, 400, "invalid", f"{QR}.subject"),
        ({"subject": {"reference": "Group/1"}}, 400, "invalid", f"{QR}.subject.reference"),
        ({"subject": {"reference": "Patient/nobody"}}, 404, "not-found", f"{QR}.subject"),
        ({"extension": [{"url": CHANNEL, "valueCode": "fax"}]}, 400, "invalid", CHANNEL_AT),
        ({"source": {"reference": "Practitioner/1"}}, 422, "not-supported", f"{QR}.source.reference"),
        ({"source": {"reference": "Patient/someone-else"}}, 422, "not-supported", f"{QR}.source.reference"),
        ({"source": {"display": "Beth"}}, 400, "invalid", f"{QR}.source.display"),
        ({"source": {"reference": "RelatedPerson/nobody"}}, 422, "business-rule", f"{QR}.source.reference"),
    ],
)  # fmt: skip
def test_bad_submissions_are_refused_naming_the_element(
    api: Api,
    world: World,
    writers: dict[str, str],
    session: Session,
    body: dict[str, Any] | bytes,
    status: int,
    code: str,
    expression: str,
) -> None:
    sent = body if isinstance(body, bytes) or "resourceType" in body else _with(world.amy.uuid, **body)
    refused = outcome(api.post(QR, sent, writers["admin"]), status)
    assert refused["issue"][0]["code"] == code
    assert refused["issue"][0]["expression"] == [expression]
    assert refused["issue"][0]["diagnostics"]
    assert assessments_of(session, world.amy.id) == 0


def test_a_structural_fault_is_named_element_by_element(
    api: Api, world: World, writers: dict[str, str]
) -> None:
    sent = phq9([0] * 9, patient=world.amy.uuid)
    sent["item"][1]["answer"][0]["valueCoding"]["code"] = 3
    sent["item"][2]["note"] = "a note"
    body = outcome(api.post(QR, sent, writers["admin"]), 400)
    assert {(i["expression"][0], i["code"]) for i in body["issue"]} == {
        (f"{QR}.item[1].answer[0].valueCoding.code", "structure"),
        (f"{QR}.item[2].note", "structure"),
    }


def test_cara_cannot_create_for_a_patient_off_her_caseload(
    api: Api, world: World, writers: dict[str, str], session: Session
) -> None:
    body = outcome(api.post(QR, phq9([0] * 9, patient=world.bob.uuid), writers["cara"]), 404)
    assert body["issue"][0]["diagnostics"] == f"no Patient {world.bob.uuid}"
    assert assessments_of(session, world.bob.id) == 0


def test_us_core_hunger_vital_sign_example_is_recorded_as_scored_by_the_cli(
    api: Api, world: World, writers: dict[str, str], session: Session, shared_data: Path
) -> None:
    example = (
        shared_data / "fhir-examples" / "us-core" / "QuestionnaireResponse-hunger-vital-sign-example.json"
    )
    sent = json.loads(example.read_text())
    sent["questionnaire"] = HUNGER_URL
    sent["subject"] = {"reference": f"Patient/{world.amy.uuid}", "display": "Amy V. Shaw"}
    created = api.post(QR, sent, writers["admin"])
    assert created.status_code == 201, created.text
    body = created.json()
    assert_valid(body)
    assert body["id"] != sent["id"]  # the server names what it creates
    assert [i["linkId"] for i in body["item"]] == ["/88122-7", "/88123-5", "/88124-3"]  # US Core's linkIds

    scored = CliRunner().invoke(cli, ["instruments", "score", "hunger-vital-sign", str(example)])
    assert scored.exit_code == 0, scored.stderr
    stored = session.scalar(select(Assessment).where(Assessment.uuid == body["id"]))
    assert stored is not None
    assert stored.status == "completed"
    assert stored.score == json.loads(scored.stdout)
    assert stored.score["positive_domains"] == ["food-insecurity"]
    # the food-insecurity concern is in Amy's FHIR record
    concerns = ok(api, f"Condition?patient={world.amy.uuid}&clinical-status=active", world.tokens["admin"])
    [food] = [
        e["resource"] for e in concerns["entry"] if e["resource"]["code"]["coding"][0]["code"] == "Z59.41"
    ]
    categories = {c["coding"][0]["code"] for c in food["category"]}
    assert categories == {"health-concern", "sdoh", "food-insecurity"}
    assert food["verificationStatus"]["coding"][0]["code"] == "unconfirmed"


# --- the request's transaction --------------------------------------------------------------------


@pytest.fixture
def live_app(fresh_db_url: str) -> tuple[str, str, str]:
    """A database of its own (real commits): a care manager with a write token and a patient on her
    caseload; yields (url, token, patient id)."""
    with engine_for(fresh_db_url) as engine, Session(engine) as session:
        org = make_org(session)
        cara = make_user(session, org, "cara", "care_manager")
        patient = make_patient(session, org)
        assign_care_manager(session, patient, cara)
        token = token_for(session, cara, "fhir:read", "fhir:write")
        patient_uuid = patient.uuid
        session.commit()
    return fresh_db_url, token, patient_uuid


def test_a_create_is_committed_before_its_response_starts_and_a_refusal_keeps_nothing(
    live_app: tuple[str, str, str],
) -> None:
    url, token, patient_uuid = live_app
    app = create_app(Settings(database_url=url))
    with engine_for(url) as engine:

        def stored() -> int:
            with engine.connect() as connection:
                return connection.scalar(select(func.count()).select_from(Assessment)) or 0

        seen_at_response_start: list[int] = []

        async def probe(scope: dict[str, Any], receive: Any, send: Any) -> None:
            async def watching_send(message: dict[str, Any]) -> None:
                if scope.get("method") == "POST" and message["type"] == "http.response.start":
                    seen_at_response_start.append(stored())
                await send(message)

            await app(scope, receive, watching_send)

        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
        with TestClient(probe) as client:
            good = client.post(
                f"/fhir/R4/{QR}", content=orjson.dumps(phq9([0] * 9, patient=patient_uuid)), headers=headers
            )
            bad = client.post(
                f"/fhir/R4/{QR}", content=orjson.dumps(phq9([0] * 8, patient=patient_uuid)), headers=headers
            )
        app.state.engine.dispose()
        assert (good.status_code, bad.status_code) == (201, 422)
        assert seen_at_response_start == [1, 1]
        assert stored() == 1


# --- the mapper -----------------------------------------------------------------------------------


def test_mapper_is_pure_and_valid_for_a_proxy_draft() -> None:
    row = Assessment(
        uuid="a-1",
        patient_id=1,
        instrument_id="gad7",
        instrument_version="1.0.0",
        status="in-progress",
        channel="home-visit",
        respondent="proxy",
        proxy_name="Sam Lee",
        proxy_relationship="son",
        started_at=at(2024, 5, 6, 7, 8),
        started_by="user:cara (token cn_abcdefgh)",
        started_by_user_id=7,
        response={"resourceType": QR, "status": "in-progress", "item": []},
        updated_at=at(2024, 5, 6, 7, 9),
    )
    resource = questionnaire_response_resource(row, Refs(patients={1: "p-1"}, users={7: "Cara Diaz"}))
    assert_valid(resource)
    assert resource == {
        "resourceType": QR,
        "id": "a-1",
        "meta": {"lastUpdated": "2024-05-06T07:09:00Z"},
        "extension": [{"url": CHANNEL, "valueCode": "home-visit"}],
        "questionnaire": f"{GAD7_URL}|1.0.0",
        "status": "in-progress",
        "subject": {"reference": "Patient/p-1"},
        "authored": "2024-05-06T07:08:00Z",
        "author": {"display": "Cara Diaz"},
        "source": {"display": "Sam Lee (son)"},
    }
    gone = questionnaire_response_resource(row, Refs(patients={1: "p-1"}))  # the user was deleted
    assert gone["author"] == {"display": "user:cara (token cn_abcdefgh)"}
