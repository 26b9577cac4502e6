"""Suggested goals and referrals, kept as data: every trigger names a real domain or flag; a positive
screen suggests them once (not again while they wait); the care manager accepts or dismisses each, once."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.assessments.instruments import instrument_get, instruments
from carenav.assessments.models import AssessmentSuggestion
from carenav.assessments.rules import Channel, sdoh_domains, suggestions
from carenav.assessments.services import assessment_complete, assessment_start, suggestion_decide
from carenav.errors import NotFound, RuleViolation
from tests.assessments.answers import CALM_SOCIAL, SAFETY_ITEMS
from tests.assessments.responses import response
from tests.builders import make_org, make_patient


def test_every_trigger_is_a_domain_or_a_flag_of_a_shipped_instrument() -> None:
    flags = {f.id for i in instruments() for f in i.rules.flags}
    domains = {d.id for i in instruments() for d in i.rules.domains} | set(sdoh_domains())
    triggers = {s.when for s in suggestions()}
    assert triggers <= flags | domains, triggers - flags - domains
    assert {"food-insecurity", "transportation-insecurity", "suicide-risk"} <= triggers


def test_a_food_and_transport_screen_suggests_once_and_each_is_decided_once(session: Session) -> None:
    org = make_org(session)
    patient = make_patient(session, org)
    actor = Actor.operator(org.id, "tests")
    answers = {
        **CALM_SOCIAL,
        "/88122-7": "LA6729-3",
        "/93030-5": "LA33-6",
        **dict.fromkeys(SAFETY_ITEMS, "LA6270-8"),
    }
    for _ in range(2):  # a second screen while the first suggestions wait adds none
        started = assessment_start(
            session=session,
            actor=actor,
            patient_uuid=patient.uuid,
            instrument_id="ahc-hrsn",
            channel=Channel.PHONE,
        )
        assessment_complete(
            session=session,
            actor=actor,
            assessment_uuid=started.uuid,
            response=response(instrument_get("ahc-hrsn"), answers),
        )
    rows = session.scalars(
        select(AssessmentSuggestion)
        .where(AssessmentSuggestion.patient_id == patient.id)
        .order_by(AssessmentSuggestion.id)
    ).all()
    assert [(r.trigger, r.kind, r.service) for r in rows] == [
        ("food-insecurity", "referral", "food"),
        ("food-insecurity", "goal", None),
        ("transportation-insecurity", "referral", "transportation"),
        ("transportation-insecurity", "goal", None),
    ]
    accepted = suggestion_decide(session=session, actor=actor, suggestion_uuid=rows[0].uuid, accept=True)
    assert (accepted.status, accepted.decided_by) == ("accepted", "operator:tests")
    with pytest.raises(RuleViolation, match="needs a note"):
        suggestion_decide(session=session, actor=actor, suggestion_uuid=rows[1].uuid, accept=False)
    dismissed = suggestion_decide(
        session=session, actor=actor, suggestion_uuid=rows[1].uuid, accept=False, note="already on SNAP"
    )
    assert dismissed.status == "dismissed"
    with pytest.raises(RuleViolation, match="already accepted"):
        suggestion_decide(session=session, actor=actor, suggestion_uuid=rows[0].uuid, accept=False, note="x")
    with pytest.raises(NotFound):
        suggestion_decide(
            session=session,
            actor=Actor.operator(make_org(session).id, "x"),
            suggestion_uuid=rows[2].uuid,
            accept=True,
        )
