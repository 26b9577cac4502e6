"""Referrals with a closed loop (SQLite and PostgreSQL, and the pure machine under hypothesis): draft → sent
→ received → accepted | declined → in progress → completed with an outcome, or cancelled with a reason;
each step an event with who and when; a community referral is sent only with the patient's consent to
share on file; an open referral past its expected-by date is overdue; out of reach is NotFound."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.clock import frozen_at
from carenav.errors import InvalidInput, NotFound, RuleViolation
from carenav.patients.models import Patient
from carenav.referrals.rules import (
    CLOSED,
    REFERRAL_MOVES,
    ReferralKind,
    ReferralStatus,
    referral_move,
    referral_overdue,
)
from carenav.referrals.services import (
    referral_create,
    referral_note,
    referral_step,
    referrals_overdue,
    sharing_consent_record,
)
from carenav.resources.importer import resources_import
from carenav.resources.models import ResourceService
from tests.builders import make_org, make_patient
from tests.web.users import actor_of, assign, cheap_passwords, make_user

__all__ = ["cheap_passwords"]
MONDAY = datetime(2025, 6, 2, 14, 0, tzinfo=UTC)
NOTES = st.sampled_from([None, "", "  ", "called the pantry"])


@settings(max_examples=300)
@given(
    st.lists(
        st.tuples(st.sampled_from(list(ReferralStatus)), NOTES, st.booleans(), st.booleans()), max_size=10
    )
)
def test_a_referral_follows_its_loop(steps: list[tuple[ReferralStatus, str | None, bool, bool]]) -> None:
    status = ReferralStatus.DRAFT
    for to, note, community, consent in steps:
        allowed = (
            to in REFERRAL_MOVES[status]
            and not (
                to in (ReferralStatus.DECLINED, ReferralStatus.CANCELLED, ReferralStatus.COMPLETED)
                and not (note or "").strip()
            )
            and not (to is ReferralStatus.SENT and community and not consent)
        )
        if allowed:
            status = referral_move(status, to, note=note, community=community, consent_on_file=consent)
        else:
            with pytest.raises(RuleViolation):
                referral_move(status, to, note=note, community=community, consent_on_file=consent)
    if status in CLOSED:
        assert not REFERRAL_MOVES[status], "declined, completed and cancelled referrals stay so"


@pytest.mark.parametrize(
    ("status", "expected_by", "overdue"),
    [
        (ReferralStatus.SENT, date(2025, 6, 1), True),
        (ReferralStatus.SENT, date(2025, 6, 2), False),
        (ReferralStatus.IN_PROGRESS, date(2025, 5, 1), True),
        (ReferralStatus.COMPLETED, date(2025, 5, 1), False),
        (ReferralStatus.DRAFT, date(2025, 5, 1), False),
        (ReferralStatus.ACCEPTED, None, False),
    ],
)
def test_overdue(status: ReferralStatus, expected_by: date | None, overdue: bool) -> None:
    assert referral_overdue(status, expected_by, date(2025, 6, 2)) is overdue


@pytest.fixture
def clinic(session: Session, cheap_passwords: object) -> tuple[Actor, Actor, Patient]:
    org = make_org(session)
    patient = make_patient(session, org)
    casey = make_user(session, org, "casey.cm")
    assign(session, org, casey, patient)
    return actor_of(casey), actor_of(make_user(session, org, "drew.cm")), patient


def test_a_food_referral_to_a_directory_service_round_the_loop(
    session: Session, clinic: tuple[Actor, Actor, Patient], shared_data: Path
) -> None:
    casey, _drew, patient = clinic
    operator = Actor.operator(patient.org_id, "tests")
    resources_import(
        session=session, actor=operator, folder=shared_data / "hsds/hsds-3.0-spec-examples/examples/csv"
    )
    service = session.scalars(select(ResourceService).where(ResourceService.org_id == patient.org_id)).one()
    with frozen_at(MONDAY):
        referral = referral_create(
            session=session,
            actor=casey,
            patient_uuid=patient.uuid,
            kind=ReferralKind.FOOD,
            reason="Food ran out each month",
            service_uuid=service.uuid,
            expected_by=date(2025, 6, 9),
        )
        assert referral.recipient == "Example Organization Inc.: Community Counselling"
        assert referral.community
        with pytest.raises(RuleViolation, match="consent"):
            referral_step(session=session, actor=casey, referral_uuid=referral.uuid, to=ReferralStatus.SENT)
        sharing_consent_record(
            session=session,
            actor=casey,
            patient_uuid=patient.uuid,
            recipient=referral.recipient,
            given_on=date(2025, 6, 2),
            method="verbal",
        )
        referral_step(session=session, actor=casey, referral_uuid=referral.uuid, to=ReferralStatus.SENT)
        referral_step(session=session, actor=casey, referral_uuid=referral.uuid, to=ReferralStatus.ACCEPTED)
        referral_note(session=session, actor=casey, referral_uuid=referral.uuid, note="first visit Thursday")
        with pytest.raises(RuleViolation, match="needs the outcome"):
            referral_step(
                session=session, actor=casey, referral_uuid=referral.uuid, to=ReferralStatus.COMPLETED
            )
        referral_step(
            session=session,
            actor=casey,
            referral_uuid=referral.uuid,
            to=ReferralStatus.COMPLETED,
            note="Weekly pantry box since June 5",
        )
    assert referral.outcome == "Weekly pantry box since June 5"
    assert [(e.from_status, e.to_status) for e in referral.events] == [
        (None, "draft"),
        ("draft", "sent"),
        ("sent", "accepted"),
        (None, None),
        ("accepted", "completed"),
    ]
    assert all(e.actor == "user:casey.cm" for e in referral.events)
    assert referral.events[3].note == "first visit Thursday"


def test_overdue_referrals_and_bad_input_and_reach(
    session: Session, clinic: tuple[Actor, Actor, Patient]
) -> None:
    casey, drew, patient = clinic
    with frozen_at(MONDAY):
        clinical = referral_create(
            session=session,
            actor=casey,
            patient_uuid=patient.uuid,
            kind=ReferralKind.SPECIALIST,
            reason="Cardiology for worsening heart failure",
            recipient="Riverside Cardiology",
            expected_by=date(2025, 6, 5),
        )
        assert not clinical.community
        referral_step(session=session, actor=casey, referral_uuid=clinical.uuid, to=ReferralStatus.SENT)
        with pytest.raises(InvalidInput, match="has passed"):
            referral_create(
                session=session,
                actor=casey,
                patient_uuid=patient.uuid,
                kind=ReferralKind.LEGAL,
                reason="eviction",
                recipient="Legal Aid",
                expected_by=date(2025, 6, 1),
            )
        with pytest.raises(InvalidInput, match="name who the patient is referred to"):
            referral_create(
                session=session, actor=casey, patient_uuid=patient.uuid, kind=ReferralKind.FOOD, reason="x"
            )
        assert referrals_overdue(session=session, actor=casey) == []
    with frozen_at(datetime(2025, 6, 6, 14, 0, tzinfo=UTC)):
        assert [r.uuid for r in referrals_overdue(session=session, actor=casey)] == [clinical.uuid]
        assert referrals_overdue(session=session, actor=drew) == [], "not drew's patient"
        with pytest.raises(NotFound):
            referral_step(
                session=session,
                actor=drew,
                referral_uuid=clinical.uuid,
                to=ReferralStatus.CANCELLED,
                note="x",
            )
