"""The supervisor dashboard (SQLite and PostgreSQL): a small team with known contacts, transitions, time,
enrolments and goals gives exact figures; another team's patients are not counted."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy.orm import Session

from carenav.careplans.models import Goal
from carenav.caseloads.dashboard import FIGURES, dashboard
from carenav.clock import frozen_at
from carenav.errors import Forbidden, NotFound
from carenav.outreach.models import Contact, FollowUp
from carenav.patients.models import Patient
from carenav.timekeeping.models import TimeEntry
from carenav.timekeeping.rules import Month
from carenav.transitions.rules import TaskStatus
from tests.builders import make_patient
from tests.caseloads.helpers import Team, inpatient, make_team, open_episode
from tests.timekeeping.test_time import enrol
from tests.web.users import actor_of, assign

JUNE_25 = datetime(2025, 6, 25, 14, 0, tzinfo=UTC)
JUNE = Month(2025, 6)


def _contact(session: Session, patient: Patient, at: datetime, outcome: str) -> None:
    session.add(
        Contact(
            org_id=patient.org_id,
            patient_id=patient.id,
            at=at,
            kind="call",
            direction="outbound",
            party="patient",
            outcome=outcome,
            staff="tests",
        )
    )


def _minutes(session: Session, patient: Patient, minutes: int, on: date) -> None:
    session.add(
        TimeEntry(
            org_id=patient.org_id,
            patient_id=patient.id,
            program_code="ccm",
            staff_name="tests",
            staff_role="clinical-staff",
            activity="patient-contact",
            minutes=minutes,
            on_date=on,
            source="manual",
            recorded_by="tests",
        )
    )


def build(session: Session) -> Team:
    team = make_team(session)
    fay = make_patient(session, team.org, given="Fay")
    hal = make_patient(
        session, team.org, given="Hal", encounters=[inpatient(datetime(2025, 6, 3, tzinfo=UTC))]
    )
    cal = make_patient(
        session, team.org, given="Cal", encounters=[inpatient(datetime(2025, 6, 14, tzinfo=UTC))]
    )
    other = make_patient(session, team.org, given="Oz")
    assign(session, team.org, team.nina, fay)
    assign(session, team.org, team.nina, hal)
    assign(session, team.org, team.sol, cal)
    assign(session, team.org, team.otto, other)
    enrol(session, team.org, fay, "ccm", at=datetime(2025, 6, 2, 14, tzinfo=UTC))
    _contact(session, fay, datetime(2025, 6, 3, 14, tzinfo=UTC), "no-answer")
    _contact(session, fay, datetime(2025, 6, 4, 14, tzinfo=UTC), "reached")
    _contact(session, hal, datetime(2025, 6, 6, 14, tzinfo=UTC), "reached")
    _contact(session, other, datetime(2025, 6, 6, 14, tzinfo=UTC), "reached")  # the south team's
    hal_episode = open_episode(
        session,
        hal,
        datetime(2025, 6, 5, 14, tzinfo=UTC),
        contact_due=date(2025, 6, 9),
        status=TaskStatus.DONE,
    )
    hal_episode.readmitted_at = datetime(2025, 6, 20, 14, tzinfo=UTC)
    open_episode(
        session,
        cal,
        datetime(2025, 6, 16, 14, tzinfo=UTC),
        contact_due=date(2025, 6, 18),
        status=TaskStatus.MISSED,
    )
    session.add(
        FollowUp(
            org_id=fay.org_id,
            patient_id=fay.id,
            due_on=date(2025, 6, 1),
            rule_key="ccm-monthly",
            rule_title="CCM monthly",
            created_by="tests",
        )
    )
    _minutes(session, fay, 25, date(2025, 6, 10))
    _minutes(session, hal, 10, date(2025, 6, 10))
    session.add(
        Goal(
            org_id=fay.org_id,
            patient_id=fay.id,
            description="Walk daily",
            lifecycle="active",
            achievement="achieved",
            status_date=date(2025, 6, 12),
        )
    )
    session.flush()
    return team


@pytest.fixture
def team(session: Session) -> Team:
    with frozen_at(JUNE_25):
        return build(session)


def test_the_figures_of_a_small_team(session: Session, team: Team) -> None:
    with frozen_at(JUNE_25):
        board = dashboard(session=session, actor=actor_of(team.sam), team=None, month=JUNE)
    assert board.team is not None
    assert board.team.name == "north"
    assert board.as_of == date(2025, 6, 25)
    assert {r.user.username: r.size for r in board.caseloads} == {"nina.rn": 2, "sol.sw": 1, "sam.sup": 0}
    assert board.overdue == 1
    assert board.queue_age_days == 24
    assert (board.first_contact_enrolees.count, board.first_contact_enrolees.reached) == (1, 1)
    assert board.first_contact_enrolees.mean_days == 2.0
    fc = board.first_contact_discharges
    assert (fc.count, fc.reached, fc.mean_days) == (2, 1, 1.0)
    assert (board.contact_rate.numerator, board.contact_rate.denominator) == (2, 3)
    assert (board.transition_contact_rate.numerator, board.transition_contact_rate.denominator) == (1, 2)
    assert board.transition_contact_rate.percent == "50%"
    assert [(m.program, m.threshold, m.with_time, m.at_threshold) for m in board.minutes] == [
        ("ccm", 20, 2, 1)
    ]
    assert board.enrolment == {"ccm": (1, 1)}
    assert board.goals_achieved == 1
    assert (board.readmissions.numerator, board.readmissions.denominator) == (1, 2)
    names = {row[0] for row in board.csv_rows()}
    assert {"overdue", "contact_rate", "transition_contact_rate", "readmissions_30_day"} <= names
    assert set(FIGURES) >= {"overdue", "contact_rate", "readmissions"}


def test_an_admin_picks_the_team_and_a_care_manager_may_not(session: Session, team: Team) -> None:
    with frozen_at(JUNE_25):
        south = dashboard(session=session, actor=team.operator, team="south", month=JUNE)
        assert (south.contact_rate.numerator, south.contact_rate.denominator) == (1, 1)
        whole = dashboard(session=session, actor=team.operator, team=None, month=JUNE)
        assert whole.contact_rate.denominator == 4
        with pytest.raises(Forbidden):
            dashboard(session=session, actor=actor_of(team.nina), team=None, month=JUNE)


def test_the_figures_narrowed_to_one_care_manager(session: Session, team: Team) -> None:
    sup = actor_of(team.sam)
    with frozen_at(JUNE_25):
        whole = dashboard(session=session, actor=sup, team=None, month=JUNE)
        nina = dashboard(session=session, actor=sup, team=None, month=JUNE, care_manager="nina.rn")
        sol = dashboard(session=session, actor=sup, team=None, month=JUNE, care_manager=" sol.sw ")
    assert {(o.username, o.overdue, o.queue_age_days) for o in whole.overdue_by_care_manager} == {
        ("nina.rn", 1, 24),
        ("sol.sw", 0, 0),
        ("sam.sup", 0, 0),
    }
    assert {u.username for u in whole.team_members} == {"nina.rn", "sol.sw", "sam.sup"}
    assert whole.care_manager is None
    # Nina carries Fay (enrolled, contacted, follow-up overdue, minutes, goal) and Hal (discharged, reached,
    # readmitted); Sol carries Cal (discharged, never reached, contact task missed).
    assert nina.care_manager is not None
    assert nina.care_manager.username == "nina.rn"
    assert [r.user.username for r in nina.caseloads] == ["nina.rn"]
    assert {u.username for u in nina.team_members} == {"nina.rn", "sol.sw", "sam.sup"}
    assert (nina.overdue, nina.queue_age_days) == (1, 24)
    assert (nina.contact_rate.numerator, nina.contact_rate.denominator) == (2, 3)
    assert (nina.transition_contact_rate.numerator, nina.transition_contact_rate.denominator) == (1, 1)
    assert (nina.readmissions.numerator, nina.readmissions.denominator) == (1, 1)
    assert [(m.program, m.with_time, m.at_threshold) for m in nina.minutes] == [("ccm", 2, 1)]
    assert nina.goals_achieved == 1
    assert (sol.overdue, sol.contact_rate.denominator, sol.goals_achieved, sol.minutes) == (0, 0, 0, [])
    fc = sol.first_contact_discharges
    assert (fc.count, fc.reached, fc.mean_days) == (1, 0, None)
    assert (sol.transition_contact_rate.numerator, sol.transition_contact_rate.denominator) == (0, 1)
    assert ("overdue_by_care_manager", "sol.sw", 0) in sol.csv_rows()


def test_a_supervisor_narrows_only_to_their_own_team(session: Session, team: Team) -> None:
    with frozen_at(JUNE_25):
        with pytest.raises(NotFound, match=r"no active care manager or supervisor 'otto\.cm' in team north"):
            dashboard(
                session=session, actor=actor_of(team.sam), team=None, month=JUNE, care_manager="otto.cm"
            )
        with pytest.raises(NotFound, match="in team south"):
            dashboard(session=session, actor=team.operator, team="south", month=JUNE, care_manager="nina.rn")
        otto = dashboard(session=session, actor=team.operator, team=None, month=JUNE, care_manager="otto.cm")
    assert (otto.contact_rate.numerator, otto.contact_rate.denominator) == (1, 1)
