"""The FHIR facade over HTTP: reads, searches, paging, $everything, errors, access and audit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.accounts.models import ApiToken
from carenav.accounts.tokens import api_token_revoke, token_digest
from carenav.audit.models import AuditEvent
from carenav.clock import frozen_at, now
from carenav.fhir.search import SEARCH_PARAMETERS
from tests.fhir.conftest import Api
from tests.fhir.validation import assert_valid
from tests.fhir.world import SYSTOLIC, World, token_for


def ids(bundle: dict[str, Any]) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]


def link(bundle: dict[str, Any], relation: str) -> str | None:
    return next((item["url"] for item in bundle["link"] if item["relation"] == relation), None)


def ok(api: Api, path: str, token: str, **kwargs: Any) -> dict[str, Any]:
    response = api.get(path, token, **kwargs)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    body: dict[str, Any] = response.json()
    assert_valid(body)
    return body


def outcome(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    body: dict[str, Any] = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert_valid(body)
    return body


# --- metadata -------------------------------------------------------------------------------------


def test_capability_statement_is_public_valid_and_lists_what_is_routed(api: Api, world: World) -> None:
    statement = ok(api, "metadata", token="")  # an empty bearer is the same as none here
    assert statement["fhirVersion"] == "4.0.1"
    resources = {r["type"]: r for r in statement["rest"][0]["resource"]}
    for resource_type, params in SEARCH_PARAMETERS.items():
        listed = {p["name"] for p in resources[resource_type]["searchParam"]}
        assert {p.name for p in params} <= listed
        assert {"code": "search-type"} in resources[resource_type]["interaction"]
    assert resources["Patient"]["operation"][0]["name"] == "everything"
    # every type said to be readable answers a read
    examples = {
        "Patient": world.amy.uuid,
        "CareTeam": world.amy.uuid,
        "Encounter": world.rows["amb"].uuid,
        "Observation": world.rows["bp"].uuid,
        "Condition": None,
        "MedicationRequest": world.rows["medication"].uuid,
        "AllergyIntolerance": world.rows["allergy"].uuid,
        "Procedure": world.rows["procedure"].uuid,
        "RelatedPerson": world.rows["daughter"].uuid,
        "Coverage": world.rows["coverage"].uuid,
        "Practitioner": world.rows["practitioner"].uuid,
        "Organization": None,
        "Questionnaire": "phq9",
        "QuestionnaireResponse": None,  # the world holds no assessment: test_questionnaire_responses.py
        "CarePlan": None,  # nor a care plan: test_care_plans.py reads CarePlan, Goal and Task
        "Goal": None,
        "Task": None,
        "ServiceRequest": None,  # test_referrals_fhir.py reads ServiceRequest and updates Task
    }
    assert {"code": "update"} in resources["Task"]["interaction"]
    readable = [t for t, r in resources.items() if {"code": "read"} in r["interaction"]]
    assert set(readable) == set(examples)
    for resource_type in readable:
        if examples[resource_type]:
            read = ok(api, f"{resource_type}/{examples[resource_type]}", world.tokens["admin"])
            assert read["resourceType"] == resource_type


# --- reads ----------------------------------------------------------------------------------------


def test_patient_read_maps_demographics(api: Api, world: World) -> None:
    patient = ok(api, f"Patient/{world.amy.uuid}", world.tokens["admin"])
    assert patient["id"] == world.amy.uuid
    assert patient["name"][0] == {"use": "official", "family": "Shaw", "given": ["Amy", "V"]}
    assert patient["birthDate"] == "1957-03-02"
    assert patient["gender"] == "female"
    mrn = next(i for i in patient["identifier"] if i["value"] == "MRN-1001")
    assert mrn["type"]["coding"][0]["code"] == "MR"
    assert mrn["system"] == "urn:oid:1.2.36.146.595.217.0.1"
    assert patient["maritalStatus"]["coding"][0]["code"] == "M"
    assert patient["communication"][0]["language"]["coding"][0]["code"] == "en-US"


def test_clinical_reads_reference_the_patient_and_encounter(api: Api, world: World) -> None:
    token = world.tokens["admin"]
    bp = ok(api, f"Observation/{world.rows['bp'].uuid}", token)
    assert bp["subject"]["reference"] == f"Patient/{world.amy.uuid}"
    assert bp["encounter"]["reference"] == f"Encounter/{world.rows['amb'].uuid}"
    assert [c["code"]["coding"][0]["code"] for c in bp["component"]] == [SYSTOLIC, "8462-4"]
    assert bp["component"][0]["valueQuantity"] == {
        "value": 138.0,
        "unit": "mm[Hg]",
        "system": "http://unitsofmeasure.org",
        "code": "mm[Hg]",
    }
    imp = ok(api, f"Encounter/{world.rows['imp'].uuid}", token)
    assert imp["class"]["code"] == "IMP"
    assert imp["hospitalization"]["dischargeDisposition"]["coding"][0]["code"] == "home"
    assert imp["period"] == {"start": "2024-03-05T08:00:00Z", "end": "2024-03-09T12:00:00Z"}
    team = ok(api, f"CareTeam/{world.amy.uuid}", token)
    members = {p["member"].get("reference", p["member"]["display"]) for p in team["participant"]}
    assert f"Practitioner/{world.rows['practitioner'].uuid}" in members
    assert f"RelatedPerson/{world.rows['daughter'].uuid}" in members


def test_unknown_ids_and_types_are_404_outcomes(api: Api, world: World) -> None:
    token = world.tokens["admin"]
    outcome(api.get("Patient/no-such-patient", token), 404)
    outcome(api.get("Condition/no-such-condition", token), 404)
    outcome(api.get("CareTeam/no-such-patient", token), 404)
    outcome(api.get("Spaceship/1", token), 404)
    assert outcome(api.get("Spaceship", token), 404)["issue"][0]["code"] == "not-found"


def test_writes_and_unsupported_searches_are_405(api: Api, world: World) -> None:
    token = world.tokens["admin"]
    response = api.client.post(
        "/fhir/R4/Patient", json={"resourceType": "Patient"}, headers={"Authorization": f"Bearer {token}"}
    )
    outcome(response, 405)
    outcome(api.get("Coverage", token), 405)


# --- tokens ---------------------------------------------------------------------------------------


def test_missing_or_malformed_authorization_is_401_with_a_challenge(api: Api, world: World) -> None:
    response = api.get(f"Patient/{world.amy.uuid}")
    body = outcome(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert body["issue"][0]["code"] == "login"
    response = api.get(f"Patient/{world.amy.uuid}", headers={"Authorization": "Basic dXNlcjpwdw=="})
    outcome(response, 401)
    response = api.get(f"Patient/{world.amy.uuid}", "cn_not-a-real-token")
    outcome(response, 401)
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_revoked_token_is_refused(api: Api, world: World, session: Session) -> None:
    secret = world.tokens["admin"]
    assert api.get(f"Patient/{world.amy.uuid}", secret).status_code == 200
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(secret)))
    assert token is not None
    api_token_revoke(session=session, actor=Actor.operator(world.org.id), token_id=token.id)
    session.commit()
    body = outcome(api.get(f"Patient/{world.amy.uuid}", secret), 401)
    assert "revoked" in body["issue"][0]["diagnostics"]


def test_expired_token_is_refused(api: Api, world: World, session: Session) -> None:
    secret = token_for(session, world.users["admin"], "fhir:read", expires_days=1)
    session.commit()
    assert api.get(f"Patient/{world.amy.uuid}", secret).status_code == 200
    with frozen_at(now() + timedelta(days=1, seconds=1)):
        body = outcome(api.get(f"Patient/{world.amy.uuid}", secret), 401)
    assert "expired" in body["issue"][0]["diagnostics"]


def test_token_without_read_scope_is_403(api: Api, world: World) -> None:
    response = api.get(f"Patient/{world.amy.uuid}", world.tokens["export_only"])
    outcome(response, 403)
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


def test_use_is_recorded_on_the_token(api: Api, world: World, session: Session) -> None:
    secret = world.tokens["cara"]
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(secret)))
    assert token is not None
    assert token.last_used_at is None
    api.get(f"Patient/{world.amy.uuid}", secret)
    session.refresh(token)
    assert token.last_used_at is not None


# --- access ---------------------------------------------------------------------------------------


def test_care_manager_sees_only_their_caseload(api: Api, world: World) -> None:
    token = world.tokens["cara"]
    ok(api, f"Patient/{world.amy.uuid}", token)
    outcome(api.get(f"Patient/{world.bob.uuid}", token), 404)
    bundle = ok(api, "Patient?family=Shaw", token)
    assert ids(bundle) == [world.amy.uuid]
    assert bundle["total"] == 1
    outcome(api.get(f"Patient/{world.bob.uuid}/$everything", token), 404)
    outcome(api.get(f"Condition?patient={world.bob.uuid}", token), 404)


def test_other_organizations_and_auditors_see_no_patient(api: Api, world: World) -> None:
    for who in ("outsider", "auditor"):
        outcome(api.get(f"Patient/{world.amy.uuid}", world.tokens[who]), 404)
        outcome(api.get(f"Observation/{world.rows['bp'].uuid}", world.tokens[who]), 404)
        outcome(api.get(f"Practitioner/{world.rows['practitioner'].uuid}", world.tokens["outsider"]), 404)
    assert ok(api, "Patient?family=Shaw", world.tokens["auditor"])["total"] == 0
    stranger = ok(api, "Patient?family=Shaw", world.tokens["outsider"])
    assert ids(stranger) == [world.stranger.uuid]


def test_reads_are_audited_per_patient(api: Api, world: World, session: Session) -> None:
    ok(api, f"Observation?patient={world.amy.uuid}&code={SYSTOLIC}", world.tokens["cara"])
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.patient_uuid == world.amy.uuid, AuditEvent.channel == "fhir")
    ).all()
    assert [(e.action, e.entity_type) for e in events] == [("read", "Observation")]
    assert events[0].user_id == world.users["cara"].id
    assert "8480-6" in (events[0].detail or "")


# --- Patient search -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("family=shaw", ["amy", "bob"]),
        ("family=Shawc", ["bob"]),
        ("given=amy", ["amy"]),
        ("name=Amy Shaw", ["amy"]),
        ("birthdate=1940-07-04", ["bob"]),
        ("identifier=MRN-1001", ["amy"]),
        ("identifier=urn:oid:1.2.36.146.595.217.0.1|MRN-1001", ["amy"]),
        ("identifier=urn:other|MRN-1001", []),
        ("family=Nobody", []),
    ],
)
def test_patient_search(api: Api, world: World, query: str, expected: list[str]) -> None:
    bundle = ok(api, f"Patient?{query}", world.tokens["admin"])
    by_name = {world.amy.uuid: "amy", world.bob.uuid: "bob"}
    assert [by_name[i] for i in ids(bundle)] == expected
    assert bundle["total"] == len(expected)
    assert bundle["type"] == "searchset"
    for entry in bundle.get("entry", []):
        assert entry["fullUrl"] == f"{api.base}/Patient/{entry['resource']['id']}"


# --- clinical searches ----------------------------------------------------------------------------


def test_condition_search_by_clinical_status(api: Api, world: World) -> None:
    token, amy = world.tokens["admin"], world.amy.uuid
    assert ok(api, f"Condition?patient={amy}", token)["total"] == 3
    active = ok(api, f"Condition?patient=Patient/{amy}&clinical-status=active", token)
    assert active["total"] == 2
    assert {e["resource"]["code"]["coding"][0]["code"] for e in active["entry"]} == {"44054006", "38341003"}
    system = "http://terminology.hl7.org/CodeSystem/condition-clinical"
    assert ok(api, f"Condition?patient={amy}&clinical-status={system}|resolved", token)["total"] == 1
    assert ok(api, f"Condition?patient={amy}&clinical-status=active,resolved", token)["total"] == 3
    assert ok(api, f"Condition?patient={amy}&clinical-status=urn:x|active", token)["total"] == 0
    diabetes = next(
        e["resource"] for e in active["entry"] if e["resource"]["code"]["text"].startswith("Diab")
    )
    assert {c["code"] for c in diabetes["code"]["coding"]} == {"44054006", "E11.9"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("date=ge2024-01-01", ["imp", "amb"]),
        ("date=2024-03", ["imp"]),
        ("date=ge2024&date=lt2024-02", ["amb"]),
        ("date=lt2024-01-10T14:00:00Z", ["emer"]),
        ("date=le2024-01-10T14:00:00Z", ["amb", "emer"]),
        ("date=gt2024-01-10", ["imp"]),
        ("date=2023-06-01", ["emer"]),
        ("class=IMP", ["imp"]),
        ("class=http://terminology.hl7.org/CodeSystem/v3-ActCode|EMER,AMB", ["amb", "emer"]),
        ("class=urn:other|IMP", []),
        ("date=ge2025&date=lt2024", []),
    ],
)
def test_encounter_search(api: Api, world: World, query: str, expected: list[str]) -> None:
    bundle = ok(api, f"Encounter?patient={world.amy.uuid}&{query}", world.tokens["admin"])
    names = {world.rows[n].uuid: n for n in ("amb", "imp", "emer")}
    assert [names[i] for i in ids(bundle)] == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (f"code=http://loinc.org|{SYSTOLIC}", 3),
        (f"code={SYSTOLIC},4548-4", 4),
        (f"code=|{SYSTOLIC}", 0),
        ("date=2024-01-10", 3),
        ("date=lt2024", 1),
        (f"code={SYSTOLIC}&date=ge2024-01-01", 2),
        ("", 5),
    ],
)
def test_observation_search(api: Api, world: World, query: str, expected: int) -> None:
    bundle = ok(api, f"Observation?patient={world.amy.uuid}&{query}", world.tokens["admin"])
    assert bundle["total"] == expected
    assert len(ids(bundle)) == expected


def test_paging_links_walk_every_match_once(api: Api, world: World) -> None:
    token = world.tokens["admin"]
    everything = ids(ok(api, f"Observation?patient={world.amy.uuid}", token))
    first = ok(api, f"Observation?patient={world.amy.uuid}&_count=2", token)
    assert first["total"] == 5
    assert len(ids(first)) == 2
    assert link(first, "previous") is None
    seen, page, pages = ids(first), first, 1
    while (url := link(page, "next")) is not None:
        parts = urlsplit(url)
        assert url.startswith(api.base)
        page = ok(api, f"{parts.path.removeprefix('/fhir/R4/')}?{parts.query}", token)
        seen += ids(page)
        pages += 1
        assert link(page, "previous") is not None
    assert pages == 3
    assert seen == everything
    only_total = ok(api, f"Observation?patient={world.amy.uuid}&_count=0", token)
    assert only_total["total"] == 5
    assert "entry" not in only_total


@pytest.mark.parametrize(
    "query",
    [
        "Patient?nickname=Amy",
        "Patient?family:exact=Shaw",
        "Patient?birthdate=ge1950",
        "Patient?birthdate=1957-13-01",
        "Patient?_count=ten",
        "Patient?_format=xml",
        "Encounter?date=yesterday",
        "Encounter?date=ne2024",
        "Observation?code=http://loinc.org|",
        "Condition?clinical-status=active",
        "Condition?patient=Encounter/1",
    ],
)
def test_bad_parameters_are_400_outcomes(api: Api, world: World, query: str) -> None:
    body = outcome(api.get(query, world.tokens["admin"]), 400)
    assert body["issue"][0]["code"] == "invalid"
    assert body["issue"][0]["diagnostics"]


def test_lenient_handling_ignores_unknown_parameters(api: Api, world: World) -> None:
    bundle = ok(
        api,
        "Patient?family=Shaw&_sort=family&nickname=x",
        world.tokens["admin"],
        headers={"Prefer": "handling=lenient"},
    )
    assert bundle["total"] == 2
    notes = [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "outcome"]
    assert "_sort" in notes[0]["issue"][0]["diagnostics"]
    assert "nickname" not in link(bundle, "self")  # type: ignore[operator]


# --- $everything ----------------------------------------------------------------------------------


def test_everything_returns_the_whole_record_and_pages(api: Api, world: World) -> None:
    token = world.tokens["cara"]
    whole = ok(api, f"Patient/{world.amy.uuid}/$everything", token)
    types = [e["resource"]["resourceType"] for e in whole["entry"]]
    assert types[0] == "Patient"
    counts = {t: types.count(t) for t in set(types)}
    assert counts == {
        "Patient": 1,
        "RelatedPerson": 1,
        "Coverage": 1,
        "Encounter": 3,
        "Condition": 3,
        "Observation": 5,
        "MedicationRequest": 1,
        "AllergyIntolerance": 1,
        "Procedure": 1,
        "CareTeam": 1,
    }
    assert whole["total"] == len(types) == 18
    for entry in whole["entry"]:
        assert_valid(entry["resource"])
    paged: list[str] = []
    for offset in range(0, 18, 4):
        page = ok(api, f"Patient/{world.amy.uuid}/$everything?_count=4&_offset={offset}", token)
        assert page["total"] == 18
        paged += [f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in page["entry"]]
    assert paged == [f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in whole["entry"]]
