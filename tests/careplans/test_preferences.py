"""The patient's preferences (SQLite and PostgreSQL): taken from their latest what-matters answers (alone or
inside the comprehensive assessment), recorded and replaced, checked; out of reach is NotFound."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.assessments.instruments import instrument_get
from carenav.assessments.rules import Channel
from carenav.assessments.services import assessment_record
from carenav.careplans.preferences import (
    Preferences,
    preferences_from_assessment,
    preferences_of,
    preferences_record,
    preferences_values,
)
from carenav.errors import InvalidInput, NotFound
from carenav.patients.models import Patient
from tests.assessments.responses import response
from tests.builders import make_org, make_patient
from tests.web.users import actor_of, assign, cheap_passwords, make_user

__all__ = ["cheap_passwords"]

WHAT_MATTERS = {
    "matters-most": "Staying in my own home with my dog",
    "prefers-contact": ["phone", "text"],
    "prefers-times": "after 10 in the morning",
    "prefers-language": "Spanish",
    "prefers-interpreter": True,
    "prefers-share-with": "my daughter Rosa",
    "prefers-beliefs": "No appointments on Sunday mornings",
    "prefers-advance-directive": "directive-yes",
}


@pytest.fixture
def people(session: Session, cheap_passwords: object) -> tuple[Actor, Actor, Patient]:
    org = make_org(session)
    patient = make_patient(session, org)
    casey = make_user(session, org, "casey.cm")
    assign(session, org, casey, patient)
    return actor_of(casey), actor_of(make_user(session, org, "drew.cm")), patient


def test_preferences_come_from_the_latest_what_matters_answers(
    session: Session, people: tuple[Actor, Actor, Patient]
) -> None:
    casey, _drew, patient = people
    assert preferences_from_assessment(session=session, actor=casey, patient_uuid=patient.uuid) is None
    assessment = assessment_record(
        session=session,
        actor=casey,
        patient_uuid=patient.uuid,
        instrument_id="what-matters",
        response=response(instrument_get("what-matters"), WHAT_MATTERS),
        complete=True,
        channel=Channel.HOME_VISIT,
    )
    proposed = preferences_from_assessment(session=session, actor=casey, patient_uuid=patient.uuid)
    assert proposed == Preferences(
        contact_methods=("phone", "text"),
        contact_times="after 10 in the morning",
        language="Spanish",
        interpreter_needed=True,
        share_with="my daughter Rosa",
        cultural_religious="No appointments on Sunday mornings",
        goals_of_care="Staying in my own home with my dog",
        advance_directive="yes",
        source=f"assessment:{assessment.uuid}",
    )
    kept = preferences_record(session=session, actor=casey, patient_uuid=patient.uuid, preferences=proposed)
    assert kept.source == f"assessment:{assessment.uuid}"
    corrected = Preferences(
        **{**preferences_values(kept).__dict__, "contact_methods": ("letter",), "source": "manual"}
    )
    again = preferences_record(session=session, actor=casey, patient_uuid=patient.uuid, preferences=corrected)
    assert again.id == kept.id, "one row per patient, replaced"
    assert (again.contact_methods, again.language) == (["letter"], "Spanish")
    assert preferences_of(session=session, actor=casey, patient_uuid=patient.uuid) is again


def test_bad_preferences_are_refused_and_nobody_else_reaches_them(
    session: Session, people: tuple[Actor, Actor, Patient]
) -> None:
    casey, drew, patient = people
    with pytest.raises(InvalidInput, match="contact method 'pigeon' is not one of"):
        preferences_record(
            session=session,
            actor=casey,
            patient_uuid=patient.uuid,
            preferences=Preferences(contact_methods=("pigeon",)),
        )
    with pytest.raises(InvalidInput, match="yes, no or unsure"):
        preferences_record(
            session=session,
            actor=casey,
            patient_uuid=patient.uuid,
            preferences=Preferences(advance_directive="maybe"),
        )
    assert preferences_of(session=session, actor=casey, patient_uuid=patient.uuid) is None, (
        "nothing half-kept"
    )
    with pytest.raises(NotFound):
        preferences_of(session=session, actor=drew, patient_uuid=patient.uuid)
