"""Enrolment on SQLite and PostgreSQL: identify, outreach, consent, pause, discharge, episodes, assignment,
bulk actions, access (NotFound outside reach) and the audit trail."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.accounts.models import Organization
from carenav.accounts.services import user_actor
from carenav.audit.models import AuditEvent
from carenav.clock import frozen_at
from carenav.errors import Forbidden, NotFound, RuleViolation
from carenav.patients.models import CareTeamMember, Patient
from carenav.programs.models import EnrolmentTransition, ProgramConsent, ProgramEnrolment
from carenav.programs.queries import enrolment_counts, enrolment_list_for_patient, enrolment_open_states
from carenav.programs.rules import TRANSITIONS, EnrolmentAction, EnrolmentState
from carenav.programs.schemas import ConsentInput, ProgramFlag
from carenav.programs.services import (
    enrolment_assign,
    enrolment_bulk_assign,
    enrolment_bulk_outreach_start,
    enrolment_decline,
    enrolment_discharge,
    enrolment_enrol,
    enrolment_identify,
    enrolment_identify_from_run,
    enrolment_mark_ineligible,
    enrolment_outreach_start,
    enrolment_pause,
    enrolment_resume,
)
from carenav.settings import get_settings
from tests.builders import make_org, make_patient
from tests.web.users import cheap_passwords, make_user

__all__ = ["cheap_passwords"]

NOON = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
VERBAL = ConsentInput(kind="verbal", given_on=date(2025, 6, 2), obtained_by="Nurse Ann")  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def rules_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No organization has its own rules file: the shipped default applies."""
    directory = tmp_path / "rules"
    directory.mkdir()
    monkeypatch.setenv("CARENAV_RULES_DIR", str(directory))
    get_settings.cache_clear()
    with frozen_at(NOON):
        yield directory
    get_settings.cache_clear()


def operator(org: Organization) -> Actor:
    return Actor.operator(org.id, "tests")


def audit_actions(session: Session, patient: Patient) -> list[str]:
    return list(
        session.scalars(
            select(AuditEvent.action).where(AuditEvent.patient_uuid == patient.uuid).order_by(AuditEvent.id)
        )
    )


def history(enrolment: ProgramEnrolment) -> list[tuple[str | None, str]]:
    return [(h.from_state, h.to_state) for h in enrolment.history]


def test_a_patient_goes_from_identified_to_discharged(session: Session) -> None:
    org = make_org(session)
    patient = make_patient(session, org)
    actor = operator(org)
    outcome = enrolment_identify(session=session, actor=actor, patient_uuid=patient.uuid, program_code="ccm")
    assert (outcome.outcome, outcome.episode, outcome.state) == ("opened", 1, "identified")
    kw = {"session": session, "actor": actor, "patient_uuid": patient.uuid, "program_code": "ccm"}
    enrolment_outreach_start(**kw)
    enrolled = enrolment_enrol(**kw, consent=VERBAL)
    assert enrolled.enrolled_on == date(2025, 6, 2)
    enrolment_pause(**kw, reason="in hospital")
    enrolment_resume(**kw)
    done = enrolment_discharge(**kw, reason="goals met")
    assert done.state == "discharged"
    assert (done.ended_on, done.end_reason) == (date(2025, 6, 2), "goals met")
    assert history(done) == [
        (None, "identified"),
        ("identified", "outreach"),
        ("outreach", "enrolled"),
        ("enrolled", "paused"),
        ("paused", "enrolled"),
        ("enrolled", "discharged"),
    ]
    assert [h.reason for h in done.history][3:] == ["in hospital", None, "goals met"]
    assert all(h.actor == "operator:tests" for h in done.history)
    (consent,) = done.consents
    assert (consent.kind, consent.given_on, consent.obtained_by) == ("verbal", date(2025, 6, 2), "Nurse Ann")
    assert consent.scope == "Chronic Care Management services"
    assert audit_actions(session, patient)[-11:] == [
        "program-identify",
        "program-start-outreach",
        "program-consent",
        "program-enrol",
        "followup-schedule",  # enrolled: the follow-up schedule is kept in step (docs/outreach.md)
        "program-pause",
        "followup-cancelled",
        "program-resume",
        "followup-schedule",
        "program-discharge",
        "followup-cancelled",
    ]
    # closed: nothing moves it any more
    for action in (enrolment_pause, enrolment_discharge, enrolment_decline):
        with pytest.raises(RuleViolation, match="is discharged"):
            action(**kw, reason="again")


def test_consent_is_required_where_cms_requires_it(session: Session) -> None:
    org = make_org(session)
    patient = make_patient(session, org)
    actor = operator(org)
    for code in ("ccm", "tcm"):
        enrolment_identify(session=session, actor=actor, patient_uuid=patient.uuid, program_code=code)
    with pytest.raises(RuleViolation, match="ccm needs the patient's consent") as caught:
        enrolment_enrol(
            session=session, actor=actor, patient_uuid=patient.uuid, program_code="ccm", consent=None
        )
    assert caught.value.where == "consent"
    future = ConsentInput(kind="written", given_on=date(2025, 7, 1), obtained_by="Ann")  # type: ignore[arg-type]
    with pytest.raises(RuleViolation, match="in the future"):
        enrolment_enrol(
            session=session, actor=actor, patient_uuid=patient.uuid, program_code="ccm", consent=future
        )
    no_one = ConsentInput(kind="written", given_on=date(2025, 6, 1))  # type: ignore[arg-type]
    with pytest.raises(RuleViolation, match="who obtained it"):
        enrolment_enrol(
            session=session, actor=actor, patient_uuid=patient.uuid, program_code="ccm", consent=no_one
        )
    assert session.scalar(select(func.count()).select_from(ProgramConsent)) == 0
    tcm = enrolment_enrol(
        session=session, actor=actor, patient_uuid=patient.uuid, program_code="tcm", consent=None
    )
    assert (tcm.state, tcm.consents) == ("enrolled", [])


def test_a_care_manager_s_own_name_is_recorded_as_who_obtained_consent(
    session: Session, cheap_passwords: object
) -> None:
    org = make_org(session)
    patient = make_patient(session, org)
    nurse = make_user(session, org, "ann.nurse", display_name="Ann Nurse")
    enrolment_identify(session=session, actor=operator(org), patient_uuid=patient.uuid, program_code="bhi")
    enrolment_assign(
        session=session,
        actor=operator(org),
        patient_uuid=patient.uuid,
        program_code="bhi",
        username="ann.nurse",
    )
    consent = ConsentInput(kind="written", given_on=date(2025, 6, 1), scope="BHI incl. cost sharing")  # type: ignore[arg-type]
    enrolled = enrolment_enrol(
        session=session,
        actor=user_actor(nurse),
        patient_uuid=patient.uuid,
        program_code="bhi",
        consent=consent,
    )
    (record,) = enrolled.consents
    assert (record.obtained_by, record.obtained_by_user_id, record.scope) == (
        "Ann Nurse",
        nurse.id,
        "BHI incl. cost sharing",
    )
    assert enrolled.assigned_user_id == nurse.id
    assert enrolled.history[-1].user_id == nurse.id


def test_identify_from_a_run_is_idempotent_and_reports_each_patient(session: Session) -> None:
    org, other_org = make_org(session), make_org(session)
    one, two = make_patient(session, org), make_patient(session, org)
    stranger = make_patient(session, other_org)
    flags = [
        ProgramFlag(
            patient_uuid=one.uuid, programs=("ccm", "bhi"), evidence={"ccm": "chronic_condition_count=3"}
        ),
        ProgramFlag.from_row(two.uuid, "tcm"),
        ProgramFlag.from_row(stranger.uuid, "ccm"),
        ProgramFlag.from_row("00000000-0000-0000-0000-000000000000", "ccm"),
        ProgramFlag.from_row(two.uuid, "made_up"),
        ProgramFlag.from_row(two.uuid, ""),
    ]
    first = enrolment_identify_from_run(session=session, actor=operator(org), flags=flags, run_id="run-1")
    assert [(o.patient_uuid, o.program_code, o.outcome) for o in first] == [
        (one.uuid, "bhi", "opened"),
        (one.uuid, "ccm", "opened"),
        (two.uuid, "tcm", "opened"),
        (stranger.uuid, "ccm", "not-found"),
        ("00000000-0000-0000-0000-000000000000", "ccm", "not-found"),
        (two.uuid, "made_up", "unknown-program"),
    ]
    second = enrolment_identify_from_run(session=session, actor=operator(org), flags=flags, run_id="run-2")
    assert [o.outcome for o in second][:3] == ["already-open"] * 3
    enrolments = session.scalars(select(ProgramEnrolment).where(ProgramEnrolment.org_id == org.id)).all()
    assert len(enrolments) == 3
    ccm = next(e for e in enrolments if e.program_code == "ccm")
    assert (ccm.identified_run_id, ccm.reasons) == ("run-1", "chronic_condition_count=3")
    assert ccm.rules_version is not None
    assert history(ccm) == [(None, "identified")]
    assert ccm.history[0].reason == "run run-1: chronic_condition_count=3"
    assert audit_actions(session, one).count("program-identify") == 2
    assert (
        session.scalar(
            select(func.count()).select_from(ProgramEnrolment).where(ProgramEnrolment.org_id == other_org.id)
        )
        == 0
    )


def test_a_patient_identified_again_after_discharge_gets_a_new_episode(session: Session) -> None:
    org = make_org(session)
    patient = make_patient(session, org)
    actor = operator(org)
    kw = {"session": session, "actor": actor, "patient_uuid": patient.uuid, "program_code": "case_mgmt"}
    enrolment_identify(**kw)
    enrolment_enrol(**kw, consent=None)
    enrolment_discharge(**kw, reason="stable")
    flags = [ProgramFlag.from_row(patient.uuid, "case_mgmt")]
    (soon,) = enrolment_identify_from_run(session=session, actor=actor, flags=flags, run_id="r1")
    assert (soon.outcome, soon.episode, soon.state) == ("recently-closed", 1, "discharged")
    with frozen_at(NOON + timedelta(days=90)):
        (later,) = enrolment_identify_from_run(session=session, actor=actor, flags=flags, run_id="r2")
    assert (later.outcome, later.episode, later.state) == ("reopened", 2, "identified")
    enrolment_decline(**kw, reason="not now")
    manual = enrolment_identify(**kw, reason="asked to rejoin")
    assert (manual.outcome, manual.episode) == ("reopened", 3)
    episodes = enrolment_list_for_patient(session=session, actor=actor, patient_uuid=patient.uuid)
    assert [(e.episode, e.state) for e in episodes] == [(3, "identified"), (2, "declined"), (1, "discharged")]
    assert all(e.history[0].to_state == "identified" for e in episodes)


def test_a_patient_may_be_in_several_programs_at_once(session: Session) -> None:
    org = make_org(session)
    patient = make_patient(session, org)
    actor = operator(org)
    for code in ("ccm", "bhi", "tcm"):
        enrolment_identify(session=session, actor=actor, patient_uuid=patient.uuid, program_code=code)
        enrolment_enrol(
            session=session, actor=actor, patient_uuid=patient.uuid, program_code=code, consent=VERBAL
        )
    enrolment_pause(
        session=session, actor=actor, patient_uuid=patient.uuid, program_code="bhi", reason="travel"
    )
    states = enrolment_open_states(session=session, actor=actor)
    assert states[patient.uuid] == {"ccm": "enrolled", "bhi": "paused", "tcm": "enrolled"}
    counts = enrolment_counts(session=session, actor=actor)
    assert counts == {("bhi", "paused"): 1, ("ccm", "enrolled"): 1, ("tcm", "enrolled"): 1}


def test_counts_take_each_patient_s_latest_episode(session: Session) -> None:
    org = make_org(session)
    actor = operator(org)
    patients = [make_patient(session, org) for _ in range(3)]
    for patient in patients:
        enrolment_identify(session=session, actor=actor, patient_uuid=patient.uuid, program_code="ccm")
    enrolment_decline(
        session=session, actor=actor, patient_uuid=patients[0].uuid, program_code="ccm", reason="no"
    )
    enrolment_identify(session=session, actor=actor, patient_uuid=patients[0].uuid, program_code="ccm")
    enrolment_mark_ineligible(
        session=session, actor=actor, patient_uuid=patients[1].uuid, program_code="ccm", reason="moved away"
    )
    assert enrolment_counts(session=session, actor=actor) == {
        ("ccm", "identified"): 2,
        ("ccm", "ineligible"): 1,
    }
    assert enrolment_counts(session=session, actor=actor, latest_only=False)[("ccm", "declined")] == 1


def test_outside_the_actor_s_reach_is_not_found(session: Session, cheap_passwords: object) -> None:
    org, other_org = make_org(session), make_org(session)
    mine, theirs = make_patient(session, org), make_patient(session, org)
    elsewhere = make_patient(session, other_org)
    nurse = make_user(session, org, "cm.one")
    auditor = make_user(session, org, "aud.one", role="auditor")
    for patient in (mine, theirs):
        enrolment_identify(
            session=session, actor=operator(org), patient_uuid=patient.uuid, program_code="ccm"
        )
    enrolment_assign(
        session=session, actor=operator(org), patient_uuid=mine.uuid, program_code="ccm", username="cm.one"
    )
    cm = user_actor(nurse)
    enrolment_outreach_start(session=session, actor=cm, patient_uuid=mine.uuid, program_code="ccm")
    for actor, patient in (
        (cm, theirs),
        (cm, elsewhere),
        (user_actor(auditor), mine),
        (operator(org), elsewhere),
    ):
        with pytest.raises(NotFound):
            enrolment_outreach_start(
                session=session, actor=actor, patient_uuid=patient.uuid, program_code="ccm"
            )
        with pytest.raises(NotFound):
            enrolment_list_for_patient(session=session, actor=actor, patient_uuid=patient.uuid)
        with pytest.raises(NotFound):
            enrolment_identify(session=session, actor=actor, patient_uuid=patient.uuid, program_code="ccm")
    assert set(enrolment_open_states(session=session, actor=cm)) == {mine.uuid}
    assert enrolment_counts(session=session, actor=cm) == {("ccm", "outreach"): 1}
    with pytest.raises(Forbidden):
        enrolment_identify_from_run(session=session, actor=cm, flags=[], run_id="x")
    # assigning is for administrators and operators (care_manager_assign decides)
    with pytest.raises(Forbidden):
        enrolment_assign(
            session=session, actor=cm, patient_uuid=mine.uuid, program_code="ccm", username="cm.one"
        )


def test_reading_a_patient_s_enrolments_is_audited(session: Session) -> None:
    org = make_org(session)
    patient = make_patient(session, org)
    enrolment_list_for_patient(session=session, actor=operator(org), patient_uuid=patient.uuid)
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.patient_uuid == patient.uuid).order_by(AuditEvent.id.desc())
    ).first()
    assert event is not None
    assert (event.action, event.entity_type, event.detail) == (
        "read",
        "ProgramEnrolment",
        "program enrolments",
    )


def test_assignment_puts_the_patient_on_the_caseload(session: Session, cheap_passwords: object) -> None:
    org = make_org(session)
    patient = make_patient(session, org)
    nurse = make_user(session, org, "cm.two")
    enrolment_identify(session=session, actor=operator(org), patient_uuid=patient.uuid, program_code="pcm")
    enrolment = enrolment_assign(
        session=session, actor=operator(org), patient_uuid=patient.uuid, program_code="pcm", username="cm.two"
    )
    assert enrolment.assigned_user_id == nurse.id
    member = session.scalars(select(CareTeamMember).where(CareTeamMember.patient_id == patient.id)).one()
    assert (member.user_id, member.active) == (nurse.id, True)
    assert audit_actions(session, patient)[-2:] == ["assign", "program-assign"]
    enrolment_decline(
        session=session, actor=operator(org), patient_uuid=patient.uuid, program_code="pcm", reason="no"
    )
    with pytest.raises(RuleViolation, match="is declined"):
        enrolment_assign(
            session=session,
            actor=operator(org),
            patient_uuid=patient.uuid,
            program_code="pcm",
            username="cm.two",
        )


def test_bulk_outreach_reports_each_patient_and_one_failure_spoils_nothing(session: Session) -> None:
    org, other_org = make_org(session), make_org(session)
    fresh, identified, enrolled = (make_patient(session, org) for _ in range(3))
    elsewhere = make_patient(session, other_org)
    actor = operator(org)
    enrolment_identify(session=session, actor=actor, patient_uuid=identified.uuid, program_code="ccm")
    enrolment_identify(session=session, actor=actor, patient_uuid=enrolled.uuid, program_code="ccm")
    enrolment_enrol(
        session=session, actor=actor, patient_uuid=enrolled.uuid, program_code="ccm", consent=VERBAL
    )
    uuids = [fresh.uuid, elsewhere.uuid, identified.uuid, enrolled.uuid, fresh.uuid]
    outcomes = enrolment_bulk_outreach_start(
        session=session, actor=actor, patient_uuids=uuids, program_code="ccm"
    )
    assert [(o.patient_uuid, o.ok) for o in outcomes] == [
        (fresh.uuid, True),
        (elsewhere.uuid, False),
        (identified.uuid, True),
        (enrolled.uuid, False),
    ]
    assert "no patient" in outcomes[1].message
    assert "cannot start outreach an enrolment that is enrolled" in outcomes[3].message
    states = enrolment_open_states(session=session, actor=actor)
    assert states == {
        fresh.uuid: {"ccm": "outreach"},
        identified.uuid: {"ccm": "outreach"},
        enrolled.uuid: {"ccm": "enrolled"},
    }
    again = enrolment_bulk_outreach_start(
        session=session, actor=actor, patient_uuids=[fresh.uuid], program_code="ccm"
    )
    assert (again[0].ok, again[0].message) == (True, "already in outreach (ccm)")
    fresh_episode = enrolment_list_for_patient(session=session, actor=actor, patient_uuid=fresh.uuid)[0]
    assert history(fresh_episode) == [(None, "identified"), ("identified", "outreach")]
    with pytest.raises(NotFound, match="no program 'nope'"):
        enrolment_bulk_outreach_start(
            session=session, actor=actor, patient_uuids=[fresh.uuid], program_code="nope"
        )


def test_bulk_assign_reports_each_patient(session: Session, cheap_passwords: object) -> None:
    org = make_org(session)
    with_episode, without = make_patient(session, org), make_patient(session, org)
    make_user(session, org, "cm.three")
    make_user(session, org, "aud.three", role="auditor")
    actor = operator(org)
    enrolment_identify(session=session, actor=actor, patient_uuid=with_episode.uuid, program_code="ccm")
    outcomes = enrolment_bulk_assign(
        session=session,
        actor=actor,
        patient_uuids=[with_episode.uuid, without.uuid, "no-such-patient"],
        username="cm.three",
        program_code="ccm",
    )
    assert [(o.ok, o.message) for o in outcomes] == [
        (True, "assigned to cm.three (ccm episode 1)"),
        (True, "assigned to cm.three (no open ccm episode)"),
        (False, "Patient: no patient no-such-patient"),
    ]
    refused = enrolment_bulk_assign(
        session=session, actor=actor, patient_uuids=[without.uuid], username="aud.three"
    )
    assert not refused[0].ok
    assert "not an active care manager" in refused[0].message


ACTIONS = list(EnrolmentAction)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=8))
def test_only_allowed_transitions_succeed_and_each_leaves_a_history_row(
    session: Session, actions: list[EnrolmentAction]
) -> None:
    org = make_org(session)
    patient = make_patient(session, org)
    actor = operator(org)
    enrolment_identify(session=session, actor=actor, patient_uuid=patient.uuid, program_code="ccm")
    services = {
        EnrolmentAction.START_OUTREACH: enrolment_outreach_start,
        EnrolmentAction.PAUSE: enrolment_pause,
        EnrolmentAction.RESUME: enrolment_resume,
        EnrolmentAction.DISCHARGE: enrolment_discharge,
        EnrolmentAction.DECLINE: enrolment_decline,
        EnrolmentAction.MARK_INELIGIBLE: enrolment_mark_ineligible,
    }
    state = EnrolmentState.IDENTIFIED
    expected_history = 1
    kw = {"session": session, "actor": actor, "patient_uuid": patient.uuid, "program_code": "ccm"}
    for action in actions:
        allowed = (state, action) in TRANSITIONS
        try:
            if action is EnrolmentAction.ENROL:
                enrolment = enrolment_enrol(**kw, consent=VERBAL)
            else:
                enrolment = services[action](**kw, reason="r")
        except RuleViolation:
            assert not allowed
            continue
        assert allowed
        state = TRANSITIONS[(state, action)]
        expected_history += 1
        assert enrolment.state == state.value
    (enrolment,) = enrolment_list_for_patient(session=session, actor=actor, patient_uuid=patient.uuid)
    assert enrolment.state == state.value
    rows = session.scalars(
        select(EnrolmentTransition).where(EnrolmentTransition.enrolment_id == enrolment.id)
    ).all()
    assert len(rows) == expected_history
    assert [r.to_state for r in rows][-1] == state.value
    for before, after in pairwise(rows):
        assert after.from_state == before.to_state


def test_enrolled_during_reads_the_same_in_python_and_in_sql(session: Session) -> None:
    """``ProgramEnrolment.enrolled_during`` is one rule: on a row (Python) and in a query (SQL) it picks the
    same episodes, whatever the dates."""
    org = make_org(session)
    patient = make_patient(session, org)
    spans = [(None, None), (date(2025, 5, 1), None), (date(2025, 5, 1), date(2025, 5, 31))]
    spans += [
        (date(2025, 6, 10), date(2025, 6, 10)),
        (date(2025, 7, 1), None),
        (date(2025, 4, 1), date(2025, 6, 1)),
    ]
    for episode, (enrolled_on, ended_on) in enumerate(spans, start=1):
        session.add(
            ProgramEnrolment(
                org_id=org.id,
                patient_id=patient.id,
                program_code="ccm",
                episode=episode,
                state=EnrolmentState.ENROLLED.value if enrolled_on else EnrolmentState.IDENTIFIED.value,
                identified_on=date(2025, 3, 1),
                enrolled_on=enrolled_on,
                ended_on=ended_on,
            )
        )
    session.flush()
    rows = session.scalars(select(ProgramEnrolment).where(ProgramEnrolment.patient_id == patient.id)).all()
    periods = [
        (date(2025, 6, 1), date(2025, 6, 30)),
        (date(2025, 6, 10), date(2025, 6, 10)),
        (date(2025, 5, 31), date(2025, 5, 31)),
        (date(2025, 1, 1), date(2025, 3, 31)),
    ]
    for first, last in periods:
        in_sql = set(
            session.scalars(
                select(ProgramEnrolment.episode).where(
                    ProgramEnrolment.patient_id == patient.id, ProgramEnrolment.enrolled_during(first, last)
                )
            )
        )
        assert in_sql == {e.episode for e in rows if e.enrolled_during(first, last)}, (first, last)
    june = {e.episode for e in rows if e.enrolled_during(date(2025, 6, 1), date(2025, 6, 30))}
    assert june == {2, 4, 6}, "ongoing, within June, and ended on June 1"
