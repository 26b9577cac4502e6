"""Urgent flags (SQLite and PostgreSQL): PHQ-9 item 9 above zero, or a positive AHC safety screen, makes a
task due the same day for the patient's care manager (the team's queue without one) and an alert on the
patient; once per assessment and flag; closing and clearing them is recorded."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.accounts.services import care_manager_assign
from carenav.assessments.instruments import instrument_get
from carenav.assessments.rules import Channel
from carenav.assessments.services import assessment_amend, assessment_complete, assessment_start
from carenav.clock import frozen_at
from carenav.errors import NotFound, RuleViolation
from carenav.tasks.models import PatientAlert, Task
from carenav.tasks.rules import TaskStatus
from carenav.tasks.services import alert_clear, task_finish
from tests.assessments.answers import CALM_SOCIAL, FREQ, PHQ9, SAFETY_ITEMS
from tests.assessments.responses import response
from tests.builders import make_org, make_patient
from tests.web.users import cheap_passwords, make_user

__all__ = ["cheap_passwords"]
MORNING = datetime(2025, 6, 2, 9, 30, tzinfo=UTC)


def phq9(points: list[int]) -> dict[str, Any]:
    return response(instrument_get("phq9"), {i: FREQ[p] for i, p in zip(PHQ9, points, strict=True)})


def test_item_9_makes_a_same_day_task_for_the_care_manager_and_an_alert(
    session: Session, cheap_passwords: object
) -> None:
    org = make_org(session)
    patient = make_patient(session, org)
    operator = Actor.operator(org.id, "tests")
    make_user(session, org, "casey.cm")
    care_manager_assign(session=session, actor=operator, username="casey.cm", patient_uuid=patient.uuid)
    with frozen_at(MORNING):
        started = assessment_start(
            session=session,
            actor=operator,
            patient_uuid=patient.uuid,
            instrument_id="phq9",
            channel=Channel.PHONE,
        )
        done = assessment_complete(
            session=session,
            actor=operator,
            assessment_uuid=started.uuid,
            response=phq9([1, 1, 0, 0, 0, 0, 0, 0, 1]),
        )
    assert done.score is not None
    assert done.score["total"] == 3  # a low total: the flag stands whatever the total
    (task,) = session.scalars(select(Task).where(Task.patient_id == patient.id))
    assert (task.priority, task.due_on, task.status) == ("urgent", date(2025, 6, 2), "open")
    assert task.title.startswith("Urgent: PHQ-9 item 9")
    assert task.assigned_user_id is not None
    assert (task.source_type, task.source_id) == ("Assessment", started.uuid)
    (alert,) = session.scalars(select(PatientAlert).where(PatientAlert.patient_id == patient.id))
    assert (alert.kind, alert.cleared_at) == ("suicide-risk", None)
    # an amendment that keeps the flag makes no second task or alert
    assessment_amend(
        session=session,
        actor=operator,
        assessment_uuid=started.uuid,
        response=phq9([1, 1, 1, 0, 0, 0, 0, 0, 1]),
        reason="item 3 added",
    )
    assert len(session.scalars(select(Task).where(Task.patient_id == patient.id)).all()) == 1
    assert len(session.scalars(select(PatientAlert).where(PatientAlert.patient_id == patient.id)).all()) == 1
    other = Actor.operator(make_org(session).id, "elsewhere")
    with pytest.raises(NotFound):
        task_finish(session=session, actor=other, task_uuid=task.uuid, to=TaskStatus.DONE)
    with pytest.raises(NotFound):
        alert_clear(session=session, actor=other, alert_uuid=alert.uuid, note="x")
    finished = task_finish(
        session=session, actor=operator, task_uuid=task.uuid, to=TaskStatus.DONE, note="C-SSRS done"
    )
    assert finished.status == "done"
    with pytest.raises(RuleViolation, match="already done"):
        task_finish(session=session, actor=operator, task_uuid=task.uuid, to=TaskStatus.CANCELLED, note="x")
    with pytest.raises(RuleViolation, match="needs a note"):
        alert_clear(session=session, actor=operator, alert_uuid=alert.uuid, note=" ")
    cleared = alert_clear(session=session, actor=operator, alert_uuid=alert.uuid, note="safety plan made")
    assert cleared.cleared_at is not None


def test_a_positive_safety_screen_goes_to_the_team_queue_without_a_care_manager(session: Session) -> None:
    org = make_org(session)
    patient = make_patient(session, org)
    operator = Actor.operator(org.id, "tests")
    safety = SAFETY_ITEMS
    answers = {**CALM_SOCIAL, **dict.fromkeys(safety, "LA10082-8")}  # 3 x 4 = 12 >= 11
    started = assessment_start(
        session=session,
        actor=operator,
        patient_uuid=patient.uuid,
        instrument_id="ahc-hrsn",
        channel=Channel.IN_PERSON,
    )
    assessment_complete(
        session=session,
        actor=operator,
        assessment_uuid=started.uuid,
        response=response(instrument_get("ahc-hrsn"), answers),
    )
    (task,) = session.scalars(select(Task).where(Task.patient_id == patient.id))
    assert task.assigned_user_id is None
    assert task.title == "Urgent: positive interpersonal safety screen"
    (alert,) = session.scalars(select(PatientAlert).where(PatientAlert.patient_id == patient.id))
    assert alert.kind == "intimate-partner-violence"
