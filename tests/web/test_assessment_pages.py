"""Assessment screens through the real app (SQLite and PostgreSQL): every shipped instrument renders from
its definition; autosave keeps drafts and sends the skip-logic state; completion refuses missing required
answers next to the item; the result and the patient page show scores, trends, social needs, the urgent
task and the alert; amend and withdraw; nobody outside the caseload reaches any of it."""

from __future__ import annotations

import json
import re
from html import unescape
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.accounts.models import Organization
from carenav.assessments.instruments import instrument_get, instruments
from carenav.assessments.models import Assessment
from carenav.patients.models import Condition, Patient
from carenav.tasks.models import PatientAlert, Task
from carenav.web.questionnaire_form import FIELD
from tests.assessments.answers import CALM_SOCIAL, FREQ, GAD7, PHQ9, SAFETY, SAFETY_ITEMS
from tests.builders import make_org, make_patient
from tests.web.conftest import hidden_value, page_csrf, sign_in
from tests.web.users import assign, make_user

HUNGER = {"/88122-7": "LA28397-0", "/88123-5": "LA28397-0"}  # often true: food insecurity
TRANSPORT_YES = {"/93030-5": "LA33-6"}


@pytest.fixture
def clinic(session: Session) -> tuple[Organization, Patient]:
    org = make_org(session)
    patient = make_patient(session, org)
    amy = make_user(session, org, "amy.cm", display_name="Amy Care")
    make_user(session, org, "bob.cm", display_name="Bob Other")
    assign(session, org, amy, patient)
    session.commit()
    return org, patient


def _start(client: TestClient, patient: Patient, instrument: str, **extra: str) -> str:
    token = page_csrf(client, f"/patients/{patient.uuid}")
    response = client.post(
        f"/patients/{patient.uuid}/assessments",
        data={"csrf_token": token, "instrument": instrument, "channel": "phone", **extra},
    )
    assert response.status_code == 303, response.text
    location: str = response.headers["location"]
    assert location.startswith("/assessments/")
    return location


def _fields(answers: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for link_id, value in answers.items():
        for v in value if isinstance(value, list) else [value]:
            out.append((f"{FIELD}{link_id}", str(v)))
    return out


def _post(client: TestClient, path: str, answers: dict[str, Any], *, htmx: bool = False, **extra: str) -> Any:
    token = page_csrf(client)
    data = [("csrf_token", token), *_fields(answers), *extra.items()]
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(path, content=_encode(data), headers={"content-type": _FORM, **headers})


_FORM = "application/x-www-form-urlencoded"


def _encode(pairs: list[tuple[str, str]]) -> bytes:
    return urlencode(pairs).encode()


def test_every_shipped_instrument_renders_its_items_as_fields(
    client: TestClient, clinic: tuple[Organization, Patient]
) -> None:
    _org, patient = clinic
    sign_in(client, "amy.cm")
    for instrument in instruments():
        page = client.get(_start(client, patient, instrument.id))
        assert page.status_code == 200, instrument.id
        html = unescape(page.text)
        assert f"<h1>{instrument.title}</h1>" in html
        for item in instrument.questionnaire.walk():
            if item.derived or item.type in ("group", "display"):
                continue
            assert f'name="{FIELD}' in html
            assert re.search(rf'name="{FIELD}(?:[^"]*\]\.)?{re.escape(item.link_id)}"', html), (
                instrument.id,
                item.link_id,
            )
            if item.type == "choice":
                for option in item.options:
                    assert f'value="{option.code}"' in html, (instrument.id, item.link_id, option.code)
        # required items say so next to their question; the skip logic's hidden items start hidden
        if any(i.required for i in instrument.questionnaire.walk()):
            assert "(required)" in html


def test_autosave_keeps_the_draft_and_sends_the_skip_logic_state(
    client: TestClient, clinic: tuple[Organization, Patient], session: Session
) -> None:
    _org, patient = clinic
    sign_in(client, "amy.cm")
    path = _start(client, patient, "comprehensive-assessment")
    form = client.get(path).text
    # the PHQ-9's later items wait for the PHQ-2: hidden and disabled until it calls for them
    assert re.search(r'data-link-id="/44259-0"[^>]* hidden disabled', form)

    low = _post(client, f"{path}/draft", {PHQ9[0]: FREQ[1], PHQ9[1]: FREQ[0]}, htmx=True)
    assert low.status_code == 200
    assert "Draft saved at" in low.text
    state = json.loads(low.headers["HX-Trigger"])["carenav-form-state"]
    assert "/44259-0" not in state["enabled"]
    assert state["errors"] == {}

    high = _post(client, f"{path}/draft", {PHQ9[0]: FREQ[2], PHQ9[1]: FREQ[1]}, htmx=True)
    state = json.loads(high.headers["HX-Trigger"])["carenav-form-state"]
    assert "/44259-0" in state["enabled"], "a PHQ-2 of 3 opens the rest of the PHQ-9"
    opened = _post(client, f"{path}/draft", {PHQ9[0]: FREQ[2], PHQ9[1]: FREQ[1], PHQ9[2]: FREQ[1]}, htmx=True)
    assert "Draft saved at" in opened.text, "a draft answering the opened items keeps them"

    # answers to items the PHQ-2 no longer calls for are dropped, not refused
    back_low = _post(
        client, f"{path}/draft", {PHQ9[0]: FREQ[0], PHQ9[1]: FREQ[0], PHQ9[2]: FREQ[3]}, htmx=True
    )
    assert "Draft saved at" in back_low.text
    uuid = path.rsplit("/", 1)[1]
    stored = session.scalars(select(Assessment).where(Assessment.uuid == uuid)).one()
    session.refresh(stored)
    stored_ids = json.dumps(stored.response)
    assert PHQ9[0] in stored_ids
    assert PHQ9[2] not in stored_ids

    # a value that is not one of the item's type is reported next to it, and nothing is saved
    bad = _post(client, f"{path}/draft", {PHQ9[0]: "LA0000-0"}, htmx=True)
    assert "Not saved" in bad.text
    errors = json.loads(bad.headers["HX-Trigger"])["carenav-form-state"]["errors"]
    assert errors == {PHQ9[0]: "'LA0000-0' is not one of its options"}
    session.refresh(stored)
    assert PHQ9[0] in json.dumps(stored.response)

    # resuming shows what was saved
    resumed = client.get(path).text
    assert re.search(rf'name="{FIELD}{re.escape(PHQ9[0])}" value="{FREQ[0]}" checked', resumed)


def test_completion_refuses_missing_required_answers_next_to_the_item(
    client: TestClient, clinic: tuple[Organization, Patient], session: Session
) -> None:
    _org, patient = clinic
    sign_in(client, "amy.cm")
    path = _start(client, patient, "gad7")
    answers = dict.fromkeys(GAD7[:6], FREQ[1])
    refused = _post(client, f"{path}/complete", answers)
    assert refused.status_code == 422
    html = refused.text
    assert 'id="error-summary"' in html
    assert "1 answer needs attention" in html
    item_box = html.split('data-link-id="/69736-7"')[1].split("</fieldset>")[0]
    assert 'data-error-for="/69736-7">required, and not answered</p>' in item_box
    assert 'value="LA6569-3" checked' in html.split('data-link-id="/69725-0"')[1], "answers kept"
    uuid = path.rsplit("/", 1)[1]
    assert session.scalars(select(Assessment.status).where(Assessment.uuid == uuid)).one() == "in-progress"

    done = _post(client, f"{path}/complete", {**answers, GAD7[6]: FREQ[3]})
    assert done.status_code == 303
    result = client.get(done.headers["location"]).text
    assert '<strong class="status status-completed">completed</strong>' in result
    score_row = result.split('id="score-table"')[1].split("</tr>", 2)[1]
    assert "<td>9" in score_row
    assert "mild" in score_row.lower()


def test_the_comprehensive_assessment_leads_to_concerns_an_urgent_task_and_an_alert(
    client: TestClient, clinic: tuple[Organization, Patient], session: Session
) -> None:
    _org, patient = clinic
    sign_in(client, "amy.cm")
    path = _start(client, patient, "comprehensive-assessment")
    instrument = instrument_get("comprehensive-assessment")
    answers: dict[str, Any] = {**CALM_SOCIAL, **HUNGER, **TRANSPORT_YES}
    answers.update(dict.fromkeys(SAFETY_ITEMS, SAFETY[0]))
    phq9_points = [2, 2, 2, 2, 2, 2, 1, 1, 1]  # 15, item 9 above zero
    answers.update({link_id: FREQ[p] for link_id, p in zip(PHQ9, phq9_points, strict=True)})
    answers.update(_required_rest(instrument, answers))
    done = _post(client, f"{path}/complete", answers)
    assert done.status_code == 303, _errors(done.text)

    result = client.get(done.headers["location"]).text
    assert "Patient Health Questionnaire-9 (PHQ-9)" in result
    phq9_row = result.split("Patient Health Questionnaire-9 (PHQ-9)</th>")[1].split("</tr>")[0]
    assert "<td>15" in phq9_row
    assert "moderately severe" in phq9_row.lower()
    assert "Urgent" in result.split('id="outcome-tasks"')[1]
    assert 'id="outcome-concerns"' in result

    summary = client.get(f"/patients/{patient.uuid}").text
    alert = summary.split('class="patient-alerts"')[1].split("</section>")[0]
    assert 'role="alert"' in alert
    tasks = summary.split('id="open-tasks"')[1].split("</ul>")[0]
    assert "Urgent" in tasks
    needs = unescape(summary.split('id="social-needs"')[1].split("</ul>")[0])
    assert "Food" in needs
    assert "Transportation" in needs
    assert "Z59.41" in needs
    trends = summary.split('id="score-trends"')[1].split("</table>")[0]
    assert "<td>15</td>" in trends
    history = summary.split('id="assessment-history"')[1].split("</table>")[0]
    assert "Comprehensive initial assessment" in history

    task = session.scalars(select(Task).where(Task.patient_id == patient.id)).one()
    alert_row = session.scalars(select(PatientAlert).where(PatientAlert.patient_id == patient.id)).one()
    token = page_csrf(client, f"/patients/{patient.uuid}")
    assert (
        client.post(f"/alerts/{alert_row.uuid}/clear", data={"csrf_token": token, "note": ""}).status_code
        == 422
    )
    cleared = client.post(
        f"/alerts/{alert_row.uuid}/clear", data={"csrf_token": token, "note": "called, safety plan made"}
    )
    assert cleared.status_code == 303
    assert (
        client.post(f"/tasks/{task.uuid}/done", data={"csrf_token": token, "note": "done"}).status_code == 303
    )
    after = client.get(f"/patients/{patient.uuid}").text
    assert 'class="patient-alerts"' not in after
    assert 'id="open-tasks"' not in after
    concerns = session.scalars(select(Condition.code).where(Condition.patient_id == patient.id)).all()
    assert {"Z59.41", "Z59.82"} <= set(concerns)


def _required_rest(instrument: Any, given: dict[str, Any]) -> dict[str, Any]:
    """First options for the required items not answered yet (outside the PHQ-9 and the AHC)."""
    out: dict[str, Any] = {}
    for item in instrument.questionnaire.walk():
        if not item.required or item.link_id in given or item.derived or item.type in ("group", "display"):
            continue
        if item.type == "choice" and item.options:
            out[item.link_id] = item.options[-1].code if "helper" in item.link_id else item.options[0].code
        elif item.type == "boolean":
            out[item.link_id] = "false"
        elif item.type == "integer":
            out[item.link_id] = "0"
        elif item.type == "date":
            out[item.link_id] = "2020-01-01"
        else:
            out[item.link_id] = "as told"
    return out


def _errors(html: str) -> str:
    return (
        unescape(html.split('id="error-summary"')[1].split("</div>")[0])
        if "error-summary" in html
        else html[:500]
    )


def test_amend_needs_a_reason_and_keeps_the_versions_then_withdraw(
    client: TestClient, clinic: tuple[Organization, Patient]
) -> None:
    _org, patient = clinic
    sign_in(client, "amy.cm")
    path = _start(client, patient, "phq2")
    assert _post(client, f"{path}/complete", {PHQ9[0]: FREQ[1], PHQ9[1]: FREQ[1]}).status_code == 303
    form = client.get(f"{path}/amend").text
    assert "Why is it amended?" in form
    assert 'value="LA6569-3" checked' in form
    no_reason = _post(client, f"{path}/amend", {PHQ9[0]: FREQ[3], PHQ9[1]: FREQ[1]})
    assert no_reason.status_code == 422
    assert "say why the assessment is amended" in no_reason.text
    amended = _post(client, f"{path}/amend", {PHQ9[0]: FREQ[3], PHQ9[1]: FREQ[1]}, reason="misheard item 1")
    assert amended.status_code == 303
    result = client.get(path).text
    versions = result.split('id="versions"')[1].split("</table>")[0]
    assert "<td>1</td><td>completed</td>" in versions
    assert "<td>2</td><td>amended</td>" in versions
    assert "misheard item 1" in versions
    token = page_csrf(client, path)
    gone = client.post(f"{path}/withdraw", data={"csrf_token": token, "reason": "wrong patient"})
    assert gone.status_code == 303
    assert "Withdrawn: wrong patient" in client.get(path).text


def test_a_care_manager_without_the_patient_reaches_nothing(
    client: TestClient, clinic: tuple[Organization, Patient]
) -> None:
    _org, patient = clinic
    sign_in(client, "amy.cm")
    path = _start(client, patient, "phq2")
    client.post("/logout", data={"csrf_token": page_csrf(client)})
    sign_in(client, "bob.cm")
    token = page_csrf(client)
    assert client.get(path).status_code == 404
    assert _post(client, f"{path}/draft", {PHQ9[0]: FREQ[1]}).status_code == 404
    refused = client.post(
        f"/patients/{patient.uuid}/assessments", data={"csrf_token": token, "instrument": "phq2"}
    )
    assert refused.status_code == 404
    assert hidden_value(client.get("/patients").text, "csrf_token") == token


def test_save_draft_and_close_works_without_javascript(
    client: TestClient, clinic: tuple[Organization, Patient]
) -> None:
    _org, patient = clinic
    sign_in(client, "amy.cm")
    path = _start(client, patient, "history-review")
    bad = _post(client, f"{path}/draft", {"history-admissions-6m": "two", "history-concerns": "breathless"})
    assert bad.status_code == 422
    assert "&#39;two&#39; is not a whole number" in bad.text
    assert "breathless</textarea>" in bad.text, "what was typed stays on the form"
    kept = _post(client, f"{path}/draft", {"history-admissions-6m": "2", "history-concerns": "breathless"})
    assert kept.status_code == 303
    assert kept.headers["location"] == f"/patients/{patient.uuid}#assessments"
    resumed = client.get(path).text
    assert 'value="2"' in resumed.split('data-link-id="history-admissions-6m"')[1].split("</fieldset>")[0]
    assert re.search(r'data-link-id="history-last-discharge"(?![^>]*hidden)', resumed), "2 stays open it"
