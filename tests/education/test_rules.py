"""Education rules, pure (hypothesis): a teach-back result sets the next date inside the topic's window
(needs reinforcement: ``reinforce_days``; not understood: the shorter ``reteach_days``; understood: the
optional review); a device topic is understood only with a return demonstration; teach-back with a
caregiver needs the caregiver; completed and stopped topics stay so."""

from __future__ import annotations

import contextlib
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carenav.education.rules import (
    CLOSED,
    OPEN,
    EducationStatus,
    Learner,
    Schedule,
    TeachBack,
    TeachMethod,
    TopicCategory,
    complete_check,
    education_overdue,
    methods_make,
    reschedule_check,
    schedule_make,
    stop_check,
    teach_outcome,
)
from carenav.errors import InvalidInput, RuleViolation

TODAY = date(2025, 6, 2)


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    reinforce = draw(st.integers(1, 90))
    reteach = draw(st.integers(1, reinforce))
    review = draw(st.one_of(st.none(), st.integers(reinforce + 1, 730)))
    return schedule_make(reinforce, reteach, review, where="test")


METHODS = st.lists(st.sampled_from(list(TeachMethod)), min_size=1, unique=True).map(
    lambda ms: tuple(m for m in TeachMethod if m in ms)
)


@settings(max_examples=400)
@given(
    schedule=schedules(),
    category=st.sampled_from(list(TopicCategory)),
    methods=METHODS,
    learner=st.sampled_from(list(Learner)),
    result=st.sampled_from(list(TeachBack)),
    days_ago=st.integers(0, 400),
    offset=st.one_of(st.none(), st.integers(-5, 120)),
    status=st.sampled_from(list(OPEN)),
)
def test_a_teach_back_result_sets_the_next_date_inside_the_topic_s_window(
    schedule: Schedule,
    category: TopicCategory,
    methods: tuple[TeachMethod, ...],
    learner: Learner,
    result: TeachBack,
    days_ago: int,
    offset: int | None,
    status: EducationStatus,
) -> None:
    taught_on = TODAY - timedelta(days=days_ago)
    next_on = None if offset is None else taught_on + timedelta(days=offset)

    def teach() -> object:
        return teach_outcome(
            status,
            category=category,
            schedule=schedule,
            methods=methods,
            learner=learner,
            result=result,
            taught_on=taught_on,
            today=TODAY,
            next_on=next_on,
        )

    if TeachMethod.CAREGIVER_TEACH_BACK in methods and learner is Learner.PATIENT:
        with pytest.raises(RuleViolation, match="caregiver"):
            teach()
        return
    if (
        category is TopicCategory.DEVICE
        and result is TeachBack.UNDERSTOOD
        and TeachMethod.RETURN_DEMONSTRATION not in methods
    ):
        with pytest.raises(RuleViolation, match="shows it back"):
            teach()
        return
    if result is TeachBack.UNDERSTOOD:
        if next_on is not None and next_on <= taught_on:
            with pytest.raises(RuleViolation, match="not after the teaching"):
                teach()
            return
        outcome = teach_outcome(
            status,
            category=category,
            schedule=schedule,
            methods=methods,
            learner=learner,
            result=result,
            taught_on=taught_on,
            today=TODAY,
            next_on=next_on,
        )
        assert outcome.status is EducationStatus.UNDERSTOOD
        if next_on is not None:
            assert outcome.due_on == next_on
        elif schedule.review_days is None:
            assert outcome.due_on is None, "understood, and the topic sets no review"
        else:
            assert outcome.due_on == taught_on + timedelta(days=schedule.review_days)
        return
    window = schedule.reinforce_days if result is TeachBack.NEEDS_REINFORCEMENT else schedule.reteach_days
    latest = taught_on + timedelta(days=window)
    if next_on is not None and not taught_on < next_on <= latest:
        with pytest.raises(RuleViolation, match=f"within {window} days"):
            teach()
        return
    outcome = teach_outcome(
        status,
        category=category,
        schedule=schedule,
        methods=methods,
        learner=learner,
        result=result,
        taught_on=taught_on,
        today=TODAY,
        next_on=next_on,
    )
    assert outcome.status is EducationStatus.REINFORCING
    assert outcome.due_on is not None
    assert taught_on < outcome.due_on <= latest
    assert outcome.due_on == (next_on or latest)


@settings(max_examples=200)
@given(schedule=schedules(), days_ago=st.integers(0, 30))
def test_not_understood_is_never_due_later_than_needs_reinforcement(
    schedule: Schedule, days_ago: int
) -> None:
    taught_on = TODAY - timedelta(days=days_ago)
    due = {
        result: teach_outcome(
            EducationStatus.ASSIGNED,
            category=TopicCategory.CONDITION,
            schedule=schedule,
            methods=(TeachMethod.VERBAL,),
            learner=Learner.PATIENT,
            result=result,
            taught_on=taught_on,
            today=TODAY,
        ).due_on
        for result in (TeachBack.NEEDS_REINFORCEMENT, TeachBack.NOT_UNDERSTOOD)
    }
    reinforce, reteach = due[TeachBack.NEEDS_REINFORCEMENT], due[TeachBack.NOT_UNDERSTOOD]
    assert reinforce is not None
    assert reteach is not None
    assert reteach <= reinforce


ACTIONS = st.sampled_from(["teach-understood", "teach-again", "complete", "stop", "reschedule"])


@settings(max_examples=300)
@given(st.lists(st.tuples(ACTIONS, st.sampled_from([None, "", "moved: in hospital"])), max_size=12))
def test_completed_and_stopped_topics_stay_so(actions: list[tuple[str, str | None]]) -> None:
    status = EducationStatus.ASSIGNED
    due: date | None = None
    schedule = Schedule(7, 2, 90)
    for action, note in actions:
        closed_before = status in CLOSED
        with contextlib.suppress(RuleViolation):
            if action.startswith("teach"):
                result = (
                    TeachBack.UNDERSTOOD if action == "teach-understood" else TeachBack.NEEDS_REINFORCEMENT
                )
                outcome = teach_outcome(
                    status,
                    category=TopicCategory.MEDICATION,
                    schedule=schedule,
                    methods=(TeachMethod.VERBAL, TeachMethod.WRITTEN),
                    learner=Learner.PATIENT,
                    result=result,
                    taught_on=TODAY,
                    today=TODAY,
                )
                status, due = outcome.status, outcome.due_on
            elif action == "complete":
                status, due = complete_check(status), None
            elif action == "stop":
                status, due = stop_check(status, note), None
            else:
                due = reschedule_check(status, due, TODAY + timedelta(days=30), TODAY, note)
        if closed_before:
            assert status in CLOSED, "nothing reopens a completed or stopped topic"
        if status in CLOSED:
            assert due is None


@pytest.mark.parametrize(
    ("reinforce", "reteach", "review", "message"),
    [
        (0, 1, None, "reinforce_days 0 is not a number of days"),
        (7, 9, None, "reteach_days 9 is longer than reinforce_days 7"),
        (7, 2, 7, "review_days 7 is not after reinforce_days 7"),
        ("7", 2, None, "reinforce_days '7' is not a number of days"),
        (True, 1, None, "reinforce_days True is not a number of days"),
        (91, 2, None, "reinforce_days 91 is not a number of days"),
        (7, 2, 731, "review_days 731 is not a number of days"),
    ],
)
def test_a_bad_schedule_says_what_is_wrong(
    reinforce: object, reteach: object, review: object, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message) as raised:
        schedule_make(reinforce, reteach, review, where="library/x.toml")
    assert raised.value.where == "library/x.toml"


def test_methods_are_known_ones_each_once_in_order() -> None:
    assert methods_make(["video", "verbal", "video", " "]) == (TeachMethod.VERBAL, TeachMethod.VIDEO)
    with pytest.raises(InvalidInput, match="'sign language' is not one of verbal") as raised:
        methods_make(["verbal", "sign language"])
    assert raised.value.where == "how taught"
    with pytest.raises(InvalidInput, match="at least one method"):
        methods_make([])


def _teach_understood(status: EducationStatus, taught_on: date) -> object:
    return teach_outcome(
        status,
        category=TopicCategory.CONDITION,
        schedule=Schedule(7, 2, None),
        methods=(TeachMethod.VERBAL,),
        learner=Learner.PATIENT,
        result=TeachBack.UNDERSTOOD,
        taught_on=taught_on,
        today=TODAY,
    )


def test_a_future_teaching_day_and_a_closed_topic_are_refused() -> None:
    with pytest.raises(InvalidInput, match="in the future") as raised:
        _teach_understood(EducationStatus.ASSIGNED, TODAY + timedelta(days=1))
    assert raised.value.where == "taught on"
    with pytest.raises(RuleViolation, match="assign it anew"):
        _teach_understood(EducationStatus.COMPLETED, TODAY)
    with pytest.raises(RuleViolation, match="assign it anew"):
        _teach_understood(EducationStatus.STOPPED, TODAY)


def test_rescheduling_completing_stopping_and_overdue() -> None:
    with pytest.raises(RuleViolation, match="say why the date moves later than 2025-06-09"):
        reschedule_check(EducationStatus.REINFORCING, date(2025, 6, 9), date(2025, 6, 20), TODAY, "")
    assert reschedule_check(
        EducationStatus.REINFORCING, date(2025, 6, 9), date(2025, 6, 20), TODAY, "in hospital"
    ) == date(2025, 6, 20)
    assert reschedule_check(
        EducationStatus.REINFORCING, date(2025, 6, 9), date(2025, 6, 5), TODAY, None
    ) == date(2025, 6, 5), "sooner needs no reason"
    with pytest.raises(InvalidInput, match="has passed"):
        reschedule_check(EducationStatus.ASSIGNED, None, date(2025, 6, 1), TODAY, "x")
    with pytest.raises(RuleViolation, match="only an understood topic is completed"):
        complete_check(EducationStatus.REINFORCING)
    with pytest.raises(RuleViolation, match="say why the topic is stopped"):
        stop_check(EducationStatus.ASSIGNED, "  ")
    assert stop_check(EducationStatus.ASSIGNED, "declined") is EducationStatus.STOPPED
    assert education_overdue(EducationStatus.REINFORCING, date(2025, 6, 1), TODAY)
    assert not education_overdue(EducationStatus.REINFORCING, TODAY, TODAY), "due today is not overdue yet"
    assert not education_overdue(EducationStatus.COMPLETED, date(2025, 6, 1), TODAY)
    assert not education_overdue(EducationStatus.UNDERSTOOD, None, TODAY)
