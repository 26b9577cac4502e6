"""Transitions of care as pure rules (hypothesis and exact dates): which discharges open an episode, the five
deadlines (2 business days for the contact, weekends and US federal holidays excluded; 7 or 14 calendar
days for the visit; the rest by the visit), on time / late / missed, the window and readmissions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carenav.errors import RuleViolation
from carenav.transitions.rules import (
    AttemptOutcome,
    Complexity,
    TaskKind,
    TaskStatus,
    Timeliness,
    attempt_does_task,
    contact_in_episode,
    discharge_opening,
    disposition_of,
    in_window,
    is_readmission,
    task_deadlines,
    task_done,
    task_status_on,
    task_timeliness,
    transition_rules,
    window_ends_on,
)
from carenav.workdays import business_calendar

RULES = transition_rules()
CALENDAR = business_calendar()
DAYS = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))
COMPLEXITY = st.sampled_from(list(Complexity))


def test_a_discharge_the_wednesday_before_thanksgiving_2026_is_contacted_by_monday() -> None:
    deadlines = task_deadlines(RULES, CALENDAR, date(2026, 11, 25), Complexity.MODERATE)
    # Thursday 26 is Thanksgiving; Friday 27 is the first business day, Monday 30 the second
    assert deadlines[TaskKind.INTERACTIVE_CONTACT] == date(2026, 11, 30)
    assert deadlines[TaskKind.FACE_TO_FACE] == date(2026, 12, 9)
    for kind in (
        TaskKind.DISCHARGE_INFORMATION,
        TaskKind.MEDICATION_RECONCILIATION,
        TaskKind.FOLLOW_UP_APPOINTMENT,
    ):
        assert deadlines[kind] == date(2026, 12, 9)
    high = task_deadlines(RULES, CALENDAR, date(2026, 11, 25), Complexity.HIGH)
    assert high[TaskKind.FACE_TO_FACE] == high[TaskKind.MEDICATION_RECONCILIATION] == date(2026, 12, 2)


@pytest.mark.parametrize(
    ("discharged", "contact"),
    [
        (date(2026, 3, 6), date(2026, 3, 10)),  # Friday -> Tuesday
        (date(2026, 3, 7), date(2026, 3, 10)),  # Saturday -> Tuesday
        (date(2026, 7, 2), date(2026, 7, 7)),  # Thursday; Friday July 3 observed for Independence Day
        (date(2026, 12, 24), date(2026, 12, 29)),  # Christmas Friday
        (date(2025, 12, 31), date(2026, 1, 5)),  # New Year's Day, then Friday, Monday
        (date(2026, 1, 16), date(2026, 1, 21)),  # Friday before Martin Luther King Jr. Day
    ],
)
def test_the_contact_deadline_skips_weekends_and_federal_holidays(discharged: date, contact: date) -> None:
    assert (
        task_deadlines(RULES, CALENDAR, discharged, Complexity.MODERATE)[TaskKind.INTERACTIVE_CONTACT]
        == contact
    )


@given(DAYS, COMPLEXITY)
def test_deadlines_hold_for_any_discharge(discharged: date, complexity: Complexity) -> None:
    deadlines = task_deadlines(RULES, CALENDAR, discharged, complexity)
    assert set(deadlines) == set(TaskKind)
    contact = deadlines[TaskKind.INTERACTIVE_CONTACT]
    assert CALENDAR.is_business_day(contact)
    assert CALENDAR.business_days_between(discharged, contact) == 2
    assert discharged + timedelta(days=2) <= contact <= discharged + timedelta(days=7)
    visit = deadlines[TaskKind.FACE_TO_FACE]
    assert (visit - discharged).days == (7 if complexity is Complexity.HIGH else 14)
    for kind in (
        TaskKind.DISCHARGE_INFORMATION,
        TaskKind.MEDICATION_RECONCILIATION,
        TaskKind.FOLLOW_UP_APPOINTMENT,
    ):
        assert deadlines[kind] <= visit
    assert all(d <= window_ends_on(RULES, discharged) for d in deadlines.values())


@given(DAYS, DAYS, DAYS)
def test_timeliness_follows_the_deadline_and_the_completion(due: date, done: date, today: date) -> None:
    after = task_done(TaskStatus.OPEN, due, done)
    assert after is (TaskStatus.DONE if done <= due else TaskStatus.LATE_DONE)
    assert task_done(TaskStatus.MISSED, due, done) is after, "a missed task may still be done, late or not"
    assert task_timeliness(after, due, today) is (Timeliness.ON_TIME if done <= due else Timeliness.LATE)
    open_now = task_timeliness(TaskStatus.OPEN, due, today)
    assert open_now is (Timeliness.MISSED if today > due else Timeliness.DUE)
    assert task_status_on(TaskStatus.CANCELLED, due, today) is TaskStatus.CANCELLED
    with pytest.raises(RuleViolation):
        task_done(after, due, done)


@given(DAYS, st.integers(min_value=-5, max_value=60))
def test_the_window_is_the_discharge_day_and_29_more(discharged: date, days: int) -> None:
    today = discharged + timedelta(days=days)
    assert in_window(RULES, discharged, today) is (days <= 29)
    opening = discharge_opening(
        RULES, encounter_class="IMP", disposition_code="01", discharged_on=discharged, today=today
    )
    assert opening.opens is (days <= 29)


@pytest.mark.parametrize(
    ("code", "community"),
    [
        ("01", True),
        ("06", True),
        ("home", True),
        ("alt-home", True),
        ("50", True),
        ("03", False),
        ("02", False),
        ("20", False),
        ("51", False),
        ("snf", False),
        ("exp", False),
    ],
)
def test_community_settings_open_episodes_facilities_and_death_do_not(code: str, community: bool) -> None:
    disposition = disposition_of(RULES, code)
    assert disposition is not None
    assert disposition.community is community
    opening = discharge_opening(
        RULES,
        encounter_class="IMP",
        disposition_code=code,
        discharged_on=date(2026, 3, 2),
        today=date(2026, 3, 3),
    )
    assert opening.opens is community


def test_unknown_dispositions_open_to_be_confirmed_and_only_stays_count() -> None:
    today = date(2026, 3, 3)
    unknown = discharge_opening(
        RULES,
        encounter_class="IMP",
        disposition_code="Admitted as Inpatient",
        discharged_on=today,
        today=today,
    )
    assert unknown.opens
    assert unknown.disposition is None
    assert "confirm" in unknown.reason
    assert discharge_opening(
        RULES, encounter_class="OBSENC", disposition_code=None, discharged_on=today, today=today
    ).opens
    for cls in ("EMER", "AMB", "VR", "HH"):
        assert not discharge_opening(
            RULES, encounter_class=cls, disposition_code="01", discharged_on=today, today=today
        ).opens
    assert not discharge_opening(
        RULES, encounter_class="IMP", disposition_code="01", discharged_on=today, today=today, deceased=True
    ).opens


@given(st.integers(min_value=-3, max_value=40), st.integers(min_value=0, max_value=23))
def test_a_readmission_follows_the_discharge_within_30_days(days: int, hour: int) -> None:
    discharged_at = datetime(2026, 3, 2, 12, tzinfo=UTC)
    admitted_at = discharged_at + timedelta(days=days, hours=hour - 12)
    found = is_readmission(
        RULES,
        discharged_at=discharged_at,
        discharged_on=discharged_at.date(),
        admitted_at=admitted_at,
        admitted_on=admitted_at.date(),
    )
    assert found is (admitted_at > discharged_at and (admitted_at.date() - discharged_at.date()).days <= 30)


def test_a_contact_counts_from_the_discharge_to_the_windows_last_day() -> None:
    discharged_at = datetime(2026, 3, 4, 15, 15, tzinfo=UTC)
    discharged_on = date(2026, 3, 4)
    last = window_ends_on(RULES, discharged_on)
    assert last == date(2026, 4, 2)

    def counts(at: datetime, on: date) -> bool:
        return contact_in_episode(
            RULES, discharged_at=discharged_at, discharged_on=discharged_on, at=at, on=on
        )

    assert not counts(discharged_at - timedelta(minutes=1), discharged_on), (
        "before the discharge: the hospital's"
    )
    assert counts(discharged_at, discharged_on)
    assert counts(datetime(2026, 4, 2, 23, tzinfo=UTC), last)
    assert not counts(datetime(2026, 4, 3, 14, tzinfo=UTC), last + timedelta(days=1))


@pytest.mark.parametrize("outcome", list(AttemptOutcome))
@pytest.mark.parametrize("kind", list(TaskKind))
def test_only_reaching_the_patient_does_a_task_and_only_the_interactive_contact(
    kind: TaskKind, outcome: AttemptOutcome
) -> None:
    expected = kind is TaskKind.INTERACTIVE_CONTACT and outcome is AttemptOutcome.REACHED
    assert attempt_does_task(kind, outcome) is expected
