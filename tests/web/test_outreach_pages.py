"""Outreach on the patient page (SQLite and PostgreSQL): the next follow-ups from the cadence rules, the
contact form with the heart-failure symptom review and goal progress; a reached call with a 3 lb gain
shows its red flag and the urgent task, the goal's progress and the next follow-up; a bad answer is named;
a follow-up moved by hand; nobody outside the caseload logs a contact; showing the page writes no
follow-up (the schedule as stored, until a write it depends on or the nightly sync moves it)."""

from __future__ import annotations

from datetime import timedelta
from html import unescape

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.audit.models import AuditEvent
from carenav.careplans.models import Goal
from carenav.careplans.rules import GoalLifecycle
from carenav.careplans.services import goal_status_change, plan_create, plan_template_apply
from carenav.clock import frozen_at
from carenav.outreach.models import Contact, FollowUp
from carenav.outreach.services import followups_sync_all
from carenav.patients.models import Patient
from carenav.tasks.models import Task
from tests.outreach.test_outreach import MAY_1, MONDAY, Clinic, default_rules, enrol, set_tier
from tests.web.conftest import page_csrf, sign_in

__all__ = ["default_rules"]


def _world(session: Session) -> tuple[Clinic, Goal]:
    clinic = Clinic(session, conditions=["I50.9"])
    enrol(session, clinic.patient, "ccm", MAY_1)
    with frozen_at(MAY_1):
        plan = plan_create(session=session, actor=clinic.casey, patient_uuid=clinic.patient.uuid, title="HF")
        plan_template_apply(
            session=session, actor=clinic.casey, plan_uuid=plan.uuid, template_id="heart-failure"
        )
        weights = session.scalars(select(Goal).where(Goal.template_ref == "heart-failure:hf-weight")).one()
        goal_status_change(
            session=session, actor=clinic.casey, goal_uuid=weights.uuid, to=GoalLifecycle.ACCEPTED
        )
    session.commit()
    return clinic, weights


def _section(client: TestClient, patient: Patient) -> str:
    page = unescape(client.get(f"/patients/{patient.uuid}").text)
    return page.split('id="outreach"')[1].split("</section>")[0]


def test_log_a_heart_failure_call_from_the_patient_page(client: TestClient, session: Session) -> None:
    clinic, weights = _world(session)
    patient = clinic.patient
    with frozen_at(MONDAY):
        sign_in(client, "casey.cm")
        section = _section(client, patient)
        assert "2025-06-01" in section
        assert "(overdue)" in section
        assert "Chronic care management: monthly" in section
        assert 'name="note.heart-failure.weight_gain_day_lb"' in section
        assert 'name="note.general.overall"' in section
        assert 'name="note.depression.phq9_total"' not in section, "no depression on record"
        assert f'name="goal.{weights.uuid}.note"' in section
        assert "No unsuccessful attempt" in section
        token = page_csrf(client, f"/patients/{patient.uuid}")
        form = {
            "csrf_token": token,
            "kind": "call",
            "direction": "outbound",
            "party": "patient",
            "outcome": "reached",
            "program": "ccm",
            "minutes": "15",
            "note.heart-failure.weight_gain_day_lb": "three",
        }
        refused = client.post(f"/patients/{patient.uuid}/contacts", data=form)
        assert refused.status_code == 400
        assert "is not a number" in unescape(refused.text)
        assert "Weight gain since yesterday" in unescape(refused.text)
        form |= {
            "note.heart-failure.weight_gain_day_lb": "3",
            "note.heart-failure.breathlessness": "usual",
            "note.general.overall": "worse",
            f"goal.{weights.uuid}.note": "Weighs every morning; up 3 lb today",
            f"goal.{weights.uuid}.achievement": "worsening",
            "plan_adjustments": "Ask the cardiologist about the diuretic dose",
        }
        done = client.post(f"/patients/{patient.uuid}/contacts", data=form)
        assert done.status_code == 303, done.text
        assert done.headers["location"] == f"/patients/{patient.uuid}#outreach"
        page = unescape(client.get(f"/patients/{patient.uuid}").text)
        section = page.split('id="outreach"')[1].split("</section>")[0]
        assert "Red flag:" in section
        assert "weight up 3 lb in a day" in section
        assert "Ask the cardiologist about the diuretic dose" in section
        assert "Weighs every morning; up 3 lb today" in section
        assert "2025-07-02" in section, "the next monthly follow-up"
        tasks = page.split('id="open-tasks"')[1].split("</ul>")[0]
        assert "Urgent" in tasks
        assert "weight up 3 lb in a day" in tasks
    contact = session.scalars(select(Contact).where(Contact.patient_id == patient.id)).one()
    assert contact.minutes == 15
    task = session.scalars(select(Task).where(Task.source_id == contact.uuid)).one()
    assert task.priority == "urgent"
    session.refresh(weights)
    assert weights.achievement == "worsening"


def test_move_a_follow_up_and_out_of_reach(client: TestClient, session: Session) -> None:
    clinic, _weights = _world(session)
    patient = clinic.patient
    with frozen_at(MONDAY):
        sign_in(client, "casey.cm")
        _section(client, patient)
        row = session.scalars(select(FollowUp).where(FollowUp.patient_id == patient.id)).one()
        token = page_csrf(client, f"/patients/{patient.uuid}")
        moved = client.post(
            f"/followups/{row.uuid}/reschedule",
            data={"csrf_token": token, "due_on": "2025-06-05", "reason": "patient at a clinic visit today"},
        )
        assert moved.status_code == 303, moved.text
        section = _section(client, patient)
        assert "2025-06-05" in section
        assert "rescheduled" in section
        assert "patient at a clinic visit today" in section
        client.cookies.clear()
        sign_in(client, "drew.cm")
        token = page_csrf(client)
        refused = client.post(
            f"/patients/{patient.uuid}/contacts",
            data={"csrf_token": token, "kind": "call", "outcome": "reached"},
        )
        assert refused.status_code == 404


def _schedule_writes(session: Session, patient: Patient) -> tuple[list[tuple[str, str, str]], int]:
    """Every follow-up of the patient (rule, day, status) and how many follow-up audit rows there are."""
    rows = session.scalars(select(FollowUp).where(FollowUp.patient_id == patient.id).order_by(FollowUp.id))
    audits = session.scalar(
        select(func.count(AuditEvent.id)).where(
            AuditEvent.patient_uuid == patient.uuid, AuditEvent.action.like("followup-%")
        )
    )
    return [(r.rule_key, str(r.due_on), r.status) for r in rows], audits or 0


def test_showing_the_patient_page_writes_no_follow_up(client: TestClient, session: Session) -> None:
    clinic, _weights = _world(session)
    patient = clinic.patient
    # a run that put the patient in tier 4, stored behind the services' back: the schedule is out of step
    set_tier(session, patient, 4, MAY_1 + timedelta(days=2))
    session.commit()
    before = _schedule_writes(session, patient)
    assert before[0] == [("ccm-monthly", "2025-06-01", "scheduled")]
    with frozen_at(MONDAY):
        sign_in(client, "casey.cm")
        section = _section(client, patient)
        assert "2025-06-01" in section, "the schedule as stored"
        assert "(overdue)" in section
        session.expire_all()
        assert _schedule_writes(session, patient) == before, "a page view writes no follow-up"
        followups_sync_all(session=session, actor=Actor.operator(patient.org_id, "nightly"))
        session.commit()
        assert "Highest-risk patients: weekly" in _section(client, patient), "the nightly sync moved it"
    assert _schedule_writes(session, patient)[0] == [
        ("ccm-monthly", "2025-06-01", "cancelled"),
        ("tier-4-weekly", "2025-05-08", "scheduled"),
    ]
