"""Referrals over FHIR (SQLite and PostgreSQL): a food referral to a food bank of the real Miami 211 export
read as a ServiceRequest and its fulfilment Task (SDOH Clinical Care IG), and the food bank itself, with a
token of its own, moving the Task round the loop — reaching the referrals sent to it and nothing else."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.servicerequest import ServiceRequest
from fhir.resources.R4B.task import Task
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.accounts.models import Organization, User
from carenav.accounts.services import LoginPolicy, user_authenticate, user_create
from carenav.clock import frozen_at
from carenav.errors import InvalidInput, NotFound
from carenav.fhir.export import export_bulk
from carenav.patients.models import Patient
from carenav.referrals.models import Referral
from carenav.referrals.rules import ReferralKind, ReferralStatus
from carenav.referrals.services import referral_create, referral_step, sharing_consent_record
from carenav.resources.search import Criteria, resources_search
from tests.builders import make_patient
from tests.fhir.conftest import Api
from tests.fhir.world import token_for
from tests.web.users import PASSWORD, assign, cheap_passwords, make_user

__all__ = ["cheap_passwords"]
MONDAY = datetime(2025, 6, 2, 14, 0, tzinfo=UTC)


@dataclass
class Loop:
    patient: Patient
    referral: Referral
    draft: Referral
    casey: str  # the care manager's token (read and write)
    pantry: str  # the food bank's token
    other_partner: str  # another organization's token
    partner_user: User


def _partner(session: Session, org_id: int, username: str, organization_uuid: str) -> User:
    return user_create(
        session=session,
        actor=Actor.operator(org_id, "tests"),
        username=username,
        role="partner",
        password=PASSWORD,
        partner_organization=organization_uuid,
    )


@pytest.fixture
def loop(session: Session, miami_org_id: int, cheap_passwords: object) -> Loop:
    org = session.get_one(Organization, miami_org_id)
    operator = Actor.operator(org.id, "tests")
    found = resources_search(session=session, actor=operator, criteria=Criteria("food", zip_code="33157"))
    banks = [m.service for m in found if m.service.organization is not None]
    bank, other = banks[0], next(s for s in banks if s.organization_id != banks[0].organization_id)
    assert bank.organization is not None
    assert other.organization is not None
    patient = make_patient(session, org, family="Larson", given="Jacob")
    casey_user = make_user(session, org, "casey.cm")
    assign(session, org, casey_user, patient)
    casey = Actor(org_id=org.id, label="user:casey.cm", user_id=casey_user.id, role="care_manager")
    with frozen_at(MONDAY):
        referral = referral_create(
            session=session,
            actor=casey,
            patient_uuid=patient.uuid,
            kind=ReferralKind.FOOD,
            reason="Runs out of food before the end of the month",
            service_uuid=bank.uuid,
            expected_by=date(2025, 6, 16),
        )
        draft = referral_create(
            session=session,
            actor=casey,
            patient_uuid=patient.uuid,
            kind=ReferralKind.FOOD,
            reason="A second pantry, not sent yet",
            service_uuid=bank.uuid,
        )
        sharing_consent_record(
            session=session,
            actor=casey,
            patient_uuid=patient.uuid,
            recipient=referral.recipient,
            given_on=date(2025, 6, 2),
            method="verbal",
        )
        referral_step(session=session, actor=casey, referral_uuid=referral.uuid, to=ReferralStatus.SENT)
    partner_user = _partner(session, org.id, "pantry.partner", bank.organization.uuid)
    other_user = _partner(session, org.id, "other.partner", other.organization.uuid)
    built = Loop(
        patient=patient,
        referral=referral,
        draft=draft,
        casey=token_for(session, casey_user, "fhir:read", "fhir:write"),
        pantry=token_for(session, partner_user, "fhir:read", "fhir:write"),
        other_partner=token_for(session, other_user, "fhir:read", "fhir:write"),
        partner_user=partner_user,
    )
    session.commit()
    return built


def _entries(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    bundle = response.json()
    Bundle.model_validate(bundle)
    return [e["resource"] for e in bundle.get("entry", [])]


def _put(api: Api, task: dict[str, Any], token: str, task_id: str | None = None) -> Any:
    return api.client.put(
        f"/fhir/R4/Task/{task_id or task['id']}",
        json=task,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"},
    )


def test_the_care_team_reads_the_referral_as_a_service_request_and_a_fulfilment_task(
    api: Api, loop: Loop
) -> None:
    requests = _entries(api.get(f"ServiceRequest?patient={loop.patient.uuid}", loop.casey))
    assert {r["id"] for r in requests} == {loop.referral.uuid, loop.draft.uuid}
    sent = next(r for r in requests if r["id"] == loop.referral.uuid)
    ServiceRequest.model_validate(sent)
    assert sent["status"] == "active"
    assert sent["intent"] == "order"
    assert sent["category"][0]["coding"][0]["code"] == "food-insecurity"
    assert sent["code"]["text"] == "Runs out of food before the end of the month"
    assert sent["performer"][0]["display"] == loop.referral.recipient
    assert sent["occurrencePeriod"] == {"end": "2025-06-16"}
    drafts = _entries(api.get(f"ServiceRequest?patient={loop.patient.uuid}&status=draft", loop.casey))
    assert [r["id"] for r in drafts] == [loop.draft.uuid]

    tasks = _entries(
        api.get(
            f"Task?patient={loop.patient.uuid}&code=http://hl7.org/fhir/CodeSystem/task-code|fulfill",
            loop.casey,
        )
    )
    task = next(t for t in tasks if t["id"] == loop.referral.fulfilment_uuid)
    Task.model_validate(task)
    assert task["status"] == "requested"
    assert task["focus"] == {"reference": f"ServiceRequest/{loop.referral.uuid}"}
    assert task["for"]["reference"] == f"Patient/{loop.patient.uuid}"
    assert task["restriction"]["period"]["end"] == "2025-06-16"
    assert api.get(f"Task/{task['id']}", loop.casey).json()["id"] == task["id"]

    everything = _entries(api.get(f"Patient/{loop.patient.uuid}/$everything", loop.casey))
    kinds = {(r["resourceType"], r["id"]) for r in everything}
    assert ("ServiceRequest", loop.referral.uuid) in kinds
    assert ("Task", loop.referral.fulfilment_uuid) in kinds


def test_the_food_bank_moves_the_task_round_the_loop_with_its_own_token(
    api: Api, loop: Loop, session: Session
) -> None:
    mine = _entries(api.get("Task?status=requested", loop.pantry))
    assert [t["id"] for t in mine] == [loop.referral.fulfilment_uuid], "sent to it, never the draft"
    task = mine[0]
    assert task["for"]["display"] == "Jacob Larson", "the patient's name, shared with consent"
    assert _entries(api.get("Task?status=requested", loop.other_partner)) == []
    assert api.get(f"Task/{task['id']}", loop.other_partner).status_code == 404
    assert api.get(f"ServiceRequest/{loop.draft.uuid}", loop.pantry).status_code == 404
    assert api.get(f"Patient/{loop.patient.uuid}", loop.pantry).status_code == 404, "not the record"
    assert api.get(f"Condition?patient={loop.patient.uuid}", loop.pantry).status_code == 404
    assert api.get(f"ServiceRequest/{loop.referral.uuid}", loop.pantry).status_code == 200

    task["status"] = "requested"
    task["businessStatus"] = {"text": "received"}
    assert _put(api, task, loop.pantry).json()["businessStatus"]["coding"][0]["code"] == "received"

    task["status"] = "accepted"
    task["note"] = [*task.get("note", []), {"text": "Pickup on Thursdays at 10"}]
    accepted = _put(api, task, loop.pantry)
    assert accepted.status_code == 200, accepted.text
    task = accepted.json()
    assert task["status"] == "accepted"
    assert task["note"][-1]["text"] == "Pickup on Thursdays at 10"
    assert task["note"][-1]["authorString"].startswith("user:pantry.partner (token cn_")

    task["status"] = "completed"
    task["output"] = [
        {
            "type": {
                "coding": [
                    {
                        "system": "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/"
                        "SDOHCC-CodeSystemTemporaryCodes",
                        "code": "resulting-activity",
                    }
                ]
            },
            "valueCodeableConcept": {"text": "Enrolled: weekly grocery box"},
        }
    ]
    done = _put(api, task, loop.pantry)
    assert done.status_code == 200, done.text
    assert done.json()["output"][0]["valueCodeableConcept"]["text"] == "Enrolled: weekly grocery box"
    session.refresh(loop.referral)
    assert loop.referral.status == "completed"
    assert loop.referral.outcome == "Enrolled: weekly grocery box"
    steps = [(e.to_status, e.actor.split(" ")[0]) for e in loop.referral.events if e.to_status]
    assert steps[-3:] == [
        ("received", "user:pantry.partner"),
        ("accepted", "user:pantry.partner"),
        ("completed", "user:pantry.partner"),
    ]
    request = api.get(f"ServiceRequest/{loop.referral.uuid}", loop.casey).json()
    assert request["status"] == "completed"


def test_updates_that_do_not_fit_are_refused_and_change_nothing(
    api: Api, loop: Loop, session: Session
) -> None:
    task = api.get(f"Task/{loop.referral.fulfilment_uuid}", loop.pantry).json()

    def refused(changes: dict[str, Any], token: str, status: int, words: str) -> None:
        response = _put(api, {**task, **changes}, token, task_id=task["id"])
        assert response.status_code == status, response.text
        assert response.json()["resourceType"] == "OperationOutcome"
        assert words in response.text

    refused({"status": "on-hold"}, loop.pantry, 422, "no on-hold")
    refused({"status": "rejected"}, loop.pantry, 422, "needs the reason")
    refused({"status": "completed"}, loop.pantry, 422, "cannot become completed")
    refused({"id": "someone-else"}, loop.pantry, 400, "not the id in the URL")
    refused({"focus": {"reference": "ServiceRequest/other"}, "status": "accepted"}, loop.pantry, 422, "focus")
    refused({"status": "accepted", "intent": "plan"}, loop.pantry, 422, "Task.intent")
    refused({"status": "accepted", "for": {"reference": "Patient/other"}}, loop.pantry, 422, "Task.for")
    refused({"status": "accepted", "note": "not a list"}, loop.pantry, 400, "Task.note")
    refused({"status": "accepted", "resourceType": "Goal"}, loop.pantry, 400, "expected a Task")
    refused({"status": "accepted"}, loop.other_partner, 404, "no referral")
    reader = token_for(session, session.get_one(User, loop.partner_user.id), "fhir:read")
    refused({"status": "accepted"}, reader, 403, "fhir:write")
    session.refresh(loop.referral)
    assert loop.referral.status == "sent", "nothing kept"

    task["status"] = "rejected"
    task["statusReason"] = {"text": "Outside our service area"}
    declined = _put(api, task, loop.pantry)
    assert declined.status_code == 200, declined.text
    assert declined.json()["statusReason"] == {"text": "Outside our service area"}
    refused({"status": "requested"}, loop.pantry, 422, "cannot go back")


def test_a_partner_speaks_for_one_directory_organization_and_never_signs_in_to_the_screens(
    session: Session, loop: Loop
) -> None:
    org_id = loop.patient.org_id
    with pytest.raises(InvalidInput, match="needs the id of the directory organization"):
        _partner(session, org_id, "nobody.partner", "")
    with pytest.raises(NotFound, match="no organization"):
        _partner(session, org_id, "nobody.partner", "not-an-organization")
    with pytest.raises(InvalidInput, match="only a partner"):
        user_create(
            session=session,
            actor=Actor.operator(org_id, "tests"),
            username="casey.two",
            role="care_manager",
            password=PASSWORD,
            partner_organization="anything",
        )
    attempt = user_authenticate(
        session=session,
        username="pantry.partner",
        password=PASSWORD,
        policy=LoginPolicy(max_failed_logins=3, lockout_minutes=15, session_hours=1.0),
    )
    assert attempt.user is None
    assert attempt.reason == "api-only"


def test_the_export_carries_referrals_as_service_requests_and_tasks(
    session: Session, loop: Loop, tmp_path: Path
) -> None:
    operator = Actor.operator(loop.patient.org_id, "tests")
    export_bulk(session=session, actor=operator, directory=tmp_path / "out", types=["ServiceRequest", "Task"])
    requests = [
        json.loads(line) for line in (tmp_path / "out/ServiceRequest.ndjson").read_text().splitlines()
    ]
    tasks = [json.loads(line) for line in (tmp_path / "out/Task.ndjson").read_text().splitlines()]
    assert {r["id"] for r in requests} == {loop.referral.uuid, loop.draft.uuid}
    assert loop.referral.fulfilment_uuid in {t["id"] for t in tasks}
    for resource in requests:
        ServiceRequest.model_validate(resource)
    for resource in tasks:
        Task.model_validate(resource)
