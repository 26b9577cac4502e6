"""Prior authorizations on screen (SQLite and PostgreSQL): a request drafted, completed, documented,
submitted, denied, appealed with a peer-to-peer review and overturned, all from the patient page;
alternatives weighed and one chosen for a goal; the advocacy log; the tracker across the caseload, soonest
first with overdue ones marked; bad input answered with what and where; another care manager's requests out
of reach."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.accounts.models import Organization, User
from carenav.authorizations.models import Alternative, Appeal, AuthorizationDocument, PriorAuthorization
from carenav.careplans.models import Goal
from carenav.careplans.services import goal_add, plan_create
from carenav.clock import frozen_at
from carenav.patients.models import Patient
from tests.builders import make_org, make_patient
from tests.web.conftest import page_csrf, sign_in
from tests.web.users import actor_of, assign, make_user

MONDAY = datetime(2025, 6, 2, 14, 0, tzinfo=UTC)
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\n"
REQUEST = {
    "service": "Outpatient physical therapy, 12 visits",
    "payer_name": "Sunshine Medicare Advantage",
    "payer_kind": "medicare-advantage",
    "service_codes": "97110 97116",
    "diagnosis_codes": "z96651",
    "requested_units": "12",
    "justification": "",
}


def _world(session: Session) -> tuple[Organization, Patient, Goal, User]:
    org = make_org(session)
    patient = make_patient(session, org, family="Shaw", given="Amy")
    casey = make_user(session, org, "casey.cm", display_name="Casey Morgan")
    assign(session, org, casey, patient)
    make_user(session, org, "drew.cm")
    with frozen_at(MONDAY):
        plan = plan_create(session=session, actor=actor_of(casey), patient_uuid=patient.uuid, title="Plan")
        goal = goal_add(
            session=session, actor=actor_of(casey), plan_uuid=plan.uuid, description="Walk to the mailbox"
        )
    session.commit()
    return org, patient, goal, casey


def _html(client: TestClient, patient: Patient) -> str:
    page: str = client.get(f"/patients/{patient.uuid}").text
    return page.split('id="authorizations"')[1].split("</section>")[0]


def _section(client: TestClient, patient: Patient) -> str:
    """The authorizations section as it reads: tags dropped, spaces collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", _html(client, patient))).split()).replace(" :", ":")


def _post(client: TestClient, path: str, token: str, **data: str) -> str:
    response = client.post(path, data={"csrf_token": token, **data})
    assert response.status_code == 303, response.text
    location: str = response.headers["location"]
    return location


def test_request_to_overturned_appeal_from_the_patient_page(client: TestClient, session: Session) -> None:
    _org, patient, goal, _casey = _world(session)
    sign_in(client, "casey.cm")
    with frozen_at(MONDAY):
        token = page_csrf(client, f"/patients/{patient.uuid}")
        location = _post(client, f"/patients/{patient.uuid}/authorizations", token, **REQUEST, goal=goal.uuid)
        request = session.scalars(select(PriorAuthorization)).one()
        assert location == f"/patients/{patient.uuid}#authorization-{request.uuid}"
        section = _section(client, patient)
        assert "Outpatient physical therapy, 12 visits" in section
        assert "ICD-10-CM Z96.651" in section
        assert "for the goal “Walk to the mailbox”" in section

        refused = client.post(f"/authorizations/{request.uuid}/submit", data={"csrf_token": token})
        assert refused.status_code == 422
        assert "before submitting, add the clinical justification" in unescape(refused.text)
        assert "authorization submission" in refused.text
        bad_code = client.post(
            f"/authorizations/{request.uuid}/revise",
            data={"csrf_token": token, **REQUEST, "service_codes": "97110 ABC"},
        )
        assert bad_code.status_code == 400
        assert "'ABC' is not a CPT code" in unescape(bad_code.text)
        assert "service codes" in bad_code.text
        _post(
            client,
            f"/authorizations/{request.uuid}/revise",
            token,
            **{**REQUEST, "justification": "Two falls since her knee replacement"},
            goal=goal.uuid,
        )

        attached = client.post(
            f"/authorizations/{request.uuid}/documents",
            data={"csrf_token": token, "description": "Letter of medical necessity"},
            files={"document": ("letter.pdf", PDF, "application/pdf")},
        )
        assert attached.status_code == 303, attached.text
        wrong = client.post(
            f"/authorizations/{request.uuid}/documents",
            data={"csrf_token": token},
            files={"document": ("setup.exe", b"MZ\x90\x00", "application/octet-stream")},
        )
        assert wrong.status_code == 400
        assert "not kept" in wrong.text
        assert "document" in wrong.text
        document = session.scalars(select(AuthorizationDocument)).one()
        download = client.get(f"/authorization-documents/{document.uuid}")
        assert download.status_code == 200
        assert download.content == PDF
        assert download.headers["content-type"] == "application/pdf"
        assert download.headers["content-disposition"] == "attachment; filename*=UTF-8''letter.pdf"

        _post(client, f"/authorizations/{request.uuid}/submit", token, reference_number="PA-77812")
        _post(
            client,
            f"/authorizations/{request.uuid}/step",
            token,
            to="pending",
            note="payer asked for the surgeon's notes",
        )
        section = _section(client, patient)
        assert "Payer's decision due: 2025-06-16 (in 14 days)" in section
        refused = client.post(
            f"/authorizations/{request.uuid}/decision", data={"csrf_token": token, "decision": "denied"}
        )
        assert refused.status_code == 422
        assert "needs the payer's reason for the denial" in unescape(refused.text)
        _post(
            client,
            f"/authorizations/{request.uuid}/decision",
            token,
            decision="denied",
            decided_on="2025-06-02",
            reason="Home exercise judged sufficient",
        )
        section = _section(client, patient)
        assert "Denial reason: Home exercise judged sufficient" in section
        assert "Last day to appeal (level 1): 2025-08-06 (in 65 days)" in section
        assert "File a level 1 appeal: Reconsideration by the plan (by 2025-08-06)" in section

        _post(
            client,
            f"/authorizations/{request.uuid}/appeals",
            token,
            expedited="yes",
            grounds="Fall risk",
            reference_number="APL-1",
        )
        appeal = session.scalars(select(Appeal)).one()
        bad_time = client.post(
            f"/appeals/{appeal.uuid}/peer-to-peer",
            data={"csrf_token": token, "at": "tomorrow", "with_whom": "x"},
        )
        assert bad_time.status_code == 400
        assert "peer-to-peer time" in bad_time.text
        _post(
            client,
            f"/appeals/{appeal.uuid}/peer-to-peer",
            token,
            at="2025-06-03T15:00",
            with_whom="Dr. Patel, plan medical director",
        )
        session.refresh(appeal)
        assert appeal.peer_to_peer_at == datetime(2025, 6, 3, 19, 0, tzinfo=UTC), "New York time"
        section = _section(client, patient)
        assert "Peer-to-peer review (level 1): 2025-06-03 (tomorrow)" in section
        assert "Appeal decision due (level 1): 2025-06-05 (in 3 days)" in section
        assert "Peer-to-peer 2025-06-03 15:00 EDT with Dr. Patel, plan medical director" in section
    with frozen_at(datetime(2025, 6, 4, 14, 0, tzinfo=UTC)):
        _post(
            client,
            f"/appeals/{appeal.uuid}/peer-to-peer-held",
            token,
            note="Reviewer agreed to reconsider",
        )
        _post(
            client,
            f"/appeals/{appeal.uuid}/decision",
            token,
            outcome="overturned",
            authorization_number="AUTH-5531",
            approved_units="12",
            valid_to="2025-08-31",
        )
        section = _section(client, patient)
    assert "Approved, authorization AUTH-5531: 12 units, valid … to 2025-08-31" in section
    assert "· overturned 2025-06-04" in section
    assert "p2p-held → decided" in section
    assert "appeal: denied → approved" in section
    assert "File a level" not in section


def test_alternatives_and_the_advocacy_log(client: TestClient, session: Session) -> None:
    _org, patient, goal, _casey = _world(session)
    sign_in(client, "casey.cm")
    with frozen_at(MONDAY):
        token = page_csrf(client, f"/patients/{patient.uuid}")
        _post(
            client,
            f"/patients/{patient.uuid}/authorizations",
            token,
            **{**REQUEST, "justification": "Falls", "payer_kind": "commercial", "payer_name": "Acme PPO"},
        )
        request = session.scalars(select(PriorAuthorization)).one()
        _post(client, f"/authorizations/{request.uuid}/submit", token)
        partial = client.post(
            f"/authorizations/{request.uuid}/decision",
            data={"csrf_token": token, "decision": "partially-approved", "reason": "6 visits only"},
        )
        assert partial.status_code == 422
        assert "what was approved" in partial.text
        _post(
            client,
            f"/authorizations/{request.uuid}/decision",
            token,
            decision="partially-approved",
            reason="6 visits only",
            approved_units="6",
        )
        _post(
            client,
            f"/authorizations/{request.uuid}/alternatives",
            token,
            description="Home exercise program with weekly video check-ins",
            reason="Covered; she has a tablet",
        )
        alternative = session.scalars(select(Alternative)).one()
        section = _section(client, patient)
        assert f'id="alt-goal-{alternative.uuid}"' in _html(client, patient), "choosing asks for the goal"
        unlinked = client.post(f"/alternatives/{alternative.uuid}/choose", data={"csrf_token": token})
        assert unlinked.status_code == 422
        assert "link the alternative to the goal" in unlinked.text
        _post(
            client,
            f"/alternatives/{alternative.uuid}/choose",
            token,
            goal=goal.uuid,
            reason="She prefers home",
        )
        _post(
            client,
            f"/patients/{patient.uuid}/advocacy",
            token,
            kind="call-payer",
            action="Asked the plan to reconsider the visit limit",
            with_whom="Member services, rep Dana",
            outcome="Escalated to a nurse reviewer",
            authorization=request.uuid,
        )
        refused = client.post(
            f"/patients/{patient.uuid}/advocacy", data={"csrf_token": token, "kind": "fax", "action": "x"}
        )
        assert refused.status_code == 400
        assert "advocacy kind" in refused.text
        section = _section(client, patient)
    assert "Chosen 2025-06-02: Home exercise program with weekly video check-ins" in section, "the chosen one"
    assert "for the goal “Walk to the mailbox”" in section
    assert "Approved in part: 6 units" in section
    assert "Denied in part: 6 visits only" in section
    assert "call payer with Member services, rep Dana" in section
    assert "→ Escalated to a nurse reviewer" in section
    assert "Last day to appeal (level 1): 2025-11-29" in section, "180 days for a commercial plan"


def test_the_tracker_across_the_caseload(client: TestClient, session: Session) -> None:
    org, patient, _goal, casey = _world(session)
    other = make_patient(session, org, family="Roe", given="Ben")
    assign(session, org, casey, other)
    session.commit()
    sign_in(client, "casey.cm")
    with frozen_at(MONDAY):
        token = page_csrf(client, f"/patients/{patient.uuid}")
        for person, urgent, kind in (
            (patient, "", "medicare-advantage"),
            (other, "yes", "medicaid-managed-care"),
        ):
            _post(
                client,
                f"/patients/{person.uuid}/authorizations",
                token,
                **{**REQUEST, "justification": "Falls", "payer_kind": kind},
                urgent=urgent,
            )
        for request in session.scalars(select(PriorAuthorization)):
            _post(
                client, f"/authorizations/{request.uuid}/submit", token, reference_number=f"REF-{request.id}"
            )
        page = unescape(client.get("/authorizations").text)
        assert 'href="/authorizations" aria-current="page"' in page
        rows = page.split("<tbody>")[1].split("</tbody>")[0].split("<tr")[1:]
        assert "Roe" in rows[0], "the expedited request first"
        assert "in 3 days" in rows[0]
        assert "Shaw" in rows[1]
        assert "in 14 days" in rows[1]
        assert "2 deadlines within 30 days." in page
        narrow = unescape(client.get("/authorizations?within=7").text)
        assert "1 deadline within 7 days." in narrow
        for bad in ("abc", "400"):
            refused = client.get(f"/authorizations?within={bad}")
            assert refused.status_code == 400
            assert "within days" in refused.text
    with frozen_at(datetime(2025, 6, 10, 14, 0, tzinfo=UTC)):
        page = unescape(client.get("/authorizations").text)
        rows = page.split("<tbody>")[1].split("</tbody>")[0].split("<tr")[1:]
        assert 'class="overdue"' in rows[0]
        assert "5 days overdue" in rows[0]
        assert "1 overdue" in page
        assert "Payer's decision due" in rows[0]

    client.post("/logout", data={"csrf_token": page_csrf(client, "/authorizations")})
    client.cookies.clear()
    sign_in(client, "drew.cm")
    assert "Nothing falls due" in client.get("/authorizations").text, "not drew's patients"
    token = page_csrf(client, "/authorizations")
    request = session.scalars(select(PriorAuthorization)).first()
    assert request is not None
    for path, data in (
        (f"/authorizations/{request.uuid}/step", {"to": "withdrawn", "note": "x"}),
        (f"/patients/{patient.uuid}/authorizations", {**REQUEST}),
        (f"/patients/{patient.uuid}/advocacy", {"kind": "letter", "action": "x"}),
    ):
        response = client.post(path, data={"csrf_token": token, **data})
        assert response.status_code == 404, path
