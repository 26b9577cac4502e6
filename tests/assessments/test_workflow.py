"""Assessments of a patient on SQLite and PostgreSQL: start, save drafts, resume, complete (checked and
scored), amend with history, withdraw; refused responses leave what is stored untouched; access and audit."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.accounts.services import user_actor
from carenav.assessments.instruments import instrument_get
from carenav.assessments.queries import assessment_get, assessment_list_for_patient
from carenav.assessments.responses import ResponseInvalid
from carenav.assessments.rules import (
    TRANSITIONS,
    AssessmentAction,
    AssessmentStatus,
    Channel,
    Respondent,
    assessment_transition,
)
from carenav.assessments.services import (
    assessment_amend,
    assessment_complete,
    assessment_save_draft,
    assessment_start,
    assessment_withdraw,
)
from carenav.audit.models import AuditEvent
from carenav.errors import InvalidInput, NotFound, RuleViolation
from tests.assessments.answers import FREQ, GAD7
from tests.assessments.responses import response
from tests.builders import make_org, make_patient
from tests.web.users import cheap_passwords, make_user

__all__ = ["cheap_passwords"]


def gad7(points: list[int], **kwargs: Any) -> dict[str, Any]:
    return response(
        instrument_get("gad7"), {i: FREQ[p] for i, p in zip(GAD7, points, strict=False)}, **kwargs
    )


def test_start_draft_resume_complete_amend(session: Session) -> None:
    org = make_org(session)
    patient = make_patient(session, org)
    actor = Actor.operator(org.id, "tests")
    started = assessment_start(
        session=session, actor=actor, patient_uuid=patient.uuid, instrument_id="gad7", channel=Channel.PHONE
    )
    assert (started.status, started.instrument_version, started.channel) == ("in-progress", "1.0.0", "phone")
    kw: dict[str, Any] = {"session": session, "actor": actor, "assessment_uuid": started.uuid}
    draft = assessment_save_draft(**kw, response=gad7([3, 3, 2], status="in-progress"))
    assert len(draft.response["item"]) == 3
    assert draft.response["subject"] == {"reference": f"Patient/{patient.uuid}"}
    assert draft.score is None
    # resumed later: the draft is there, then completed with every item
    _patient, resumed = assessment_get(session=session, actor=actor, assessment_uuid=started.uuid)
    assert resumed.response["item"] == draft.response["item"]
    done = assessment_complete(**kw, response=gad7([3, 3, 2, 2, 1, 1, 0]))
    assert done.status == "completed"
    assert done.score is not None
    assert (done.score["total"], done.score["band"], done.score["positive"]) == (12, "moderate", True)
    assert done.completed_at is not None
    amended = assessment_amend(**kw, response=gad7([1, 1, 1, 1, 1, 1, 1]), reason="item 1 misheard")
    assert amended.status == "amended"
    assert amended.score is not None
    assert amended.score["total"] == 7
    assert [(v.version, v.status, v.score["total"], v.reason) for v in amended.versions] == [
        (1, "completed", 12, None),
        (2, "amended", 7, "item 1 misheard"),
    ]
    events = session.scalars(
        select(AuditEvent.action).where(AuditEvent.entity_id == started.uuid).order_by(AuditEvent.id)
    ).all()
    assert events == ["assessment-start", "assessment-save", "assessment-complete", "assessment-amend"]
    listed = assessment_list_for_patient(session=session, actor=actor, patient_uuid=patient.uuid)
    assert [a.uuid for a in listed] == [started.uuid]


def test_a_refused_response_changes_nothing_stored(session: Session) -> None:
    org = make_org(session)
    patient = make_patient(session, org)
    actor = Actor.operator(org.id, "tests")
    started = assessment_start(
        session=session,
        actor=actor,
        patient_uuid=patient.uuid,
        instrument_id="gad7",
        channel=Channel.IN_PERSON,
    )
    kw: dict[str, Any] = {"session": session, "actor": actor, "assessment_uuid": started.uuid}
    assessment_save_draft(**kw, response=gad7([1, 1]))
    before = dict(started.response)
    with pytest.raises(ResponseInvalid) as caught:
        assessment_complete(**kw, response=gad7([1, 1, 1]))  # four items missing
    assert {e.link_id for e in caught.value.errors} == set(GAD7[3:])
    bad = gad7([1])
    bad["item"][0]["answer"][0]["valueCoding"]["code"] = "LA0000-0"
    with pytest.raises(ResponseInvalid, match="LA0000-0 is not one of its options"):
        assessment_save_draft(**kw, response=bad)
    assert started.response == before
    assert started.status == "in-progress"
    assert started.versions == []


def test_status_rules_and_respondents(session: Session) -> None:
    org = make_org(session)
    patient = make_patient(session, org)
    actor = Actor.operator(org.id, "tests")
    with pytest.raises(InvalidInput, match="a proxy respondent needs a name and a relationship"):
        assessment_start(
            session=session,
            actor=actor,
            patient_uuid=patient.uuid,
            instrument_id="katz-adl",
            channel=Channel.HOME_VISIT,
            respondent=Respondent.PROXY,
            proxy_name="Maria",
        )
    by_proxy = assessment_start(
        session=session,
        actor=actor,
        patient_uuid=patient.uuid,
        instrument_id="katz-adl",
        channel=Channel.HOME_VISIT,
        respondent=Respondent.PROXY,
        proxy_name="Maria",
        proxy_relationship="daughter",
    )
    assert (by_proxy.respondent, by_proxy.proxy_name, by_proxy.proxy_relationship) == (
        "proxy",
        "Maria",
        "daughter",
    )
    kw: dict[str, Any] = {"session": session, "actor": actor, "assessment_uuid": by_proxy.uuid}
    with pytest.raises(RuleViolation, match="an assessment in-progress cannot amend"):
        assessment_amend(**kw, response={}, reason="x")
    withdrawn = assessment_withdraw(**kw, reason="wrong patient")
    assert (withdrawn.status, withdrawn.status_reason) == ("entered-in-error", "wrong patient")
    with pytest.raises(RuleViolation, match="entered-in-error cannot save-draft"):
        assessment_save_draft(**kw, response={})
    with pytest.raises(NotFound):
        assessment_start(
            session=session,
            actor=actor,
            patient_uuid=patient.uuid,
            instrument_id="nope",
            channel=Channel.PHONE,
        )


def test_outside_the_actor_s_reach_is_not_found(session: Session, cheap_passwords: object) -> None:
    org, other = make_org(session), make_org(session)
    patient, elsewhere = make_patient(session, org), make_patient(session, other)
    started = assessment_start(
        session=session,
        actor=Actor.operator(org.id, "t"),
        patient_uuid=patient.uuid,
        instrument_id="phq2",
        channel=Channel.PHONE,
    )
    nurse = user_actor(make_user(session, org, "cm.nobody"))  # no caseload
    with pytest.raises(NotFound):
        assessment_get(session=session, actor=nurse, assessment_uuid=started.uuid)
    with pytest.raises(NotFound):
        assessment_start(
            session=session,
            actor=Actor.operator(org.id, "t"),
            patient_uuid=elsewhere.uuid,
            instrument_id="phq2",
            channel=Channel.PHONE,
        )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(list(AssessmentAction)), max_size=8))
def test_the_status_machine_never_leaves_its_table(actions: list[AssessmentAction]) -> None:
    status = AssessmentStatus.IN_PROGRESS
    completed_once = False
    for action in actions:
        allowed = (status, action) in TRANSITIONS
        try:
            after = assessment_transition(status, action, reason="because")
        except RuleViolation:
            assert not allowed
            continue
        assert allowed
        completed_once |= after is AssessmentStatus.COMPLETED
        # amended only after a completion; nothing comes back from entered-in-error
        assert after is not AssessmentStatus.AMENDED or completed_once
        assert status is not AssessmentStatus.ENTERED_IN_ERROR
        status = after
    with pytest.raises(RuleViolation, match="needs a reason"):
        assessment_transition(AssessmentStatus.COMPLETED, AssessmentAction.AMEND, reason=" ")
