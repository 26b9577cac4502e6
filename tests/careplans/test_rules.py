"""Care plan rules without a database: the plan, goal and intervention state machines under random walks
(hypothesis), goal targets (reading and checking a measured value), the review schedule."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carenav.careplans.rules import (
    ACHIEVEMENT_OPEN,
    CLOSED_INTERVENTION,
    GOAL_MOVES,
    INTERVENTION_MOVES,
    NEEDS_REASON,
    PLAN_MOVES,
    GoalLifecycle,
    InterventionStatus,
    PlanStatus,
    TargetKind,
    achievement_check,
    goal_move,
    intervention_move,
    plan_move,
    review_due,
    target_make,
)
from carenav.errors import InvalidInput, RuleViolation

REASONS = st.sampled_from([None, "", "  ", "patient asked"])


@settings(max_examples=300)
@given(st.lists(st.tuples(st.sampled_from(list(PlanStatus)), st.integers(0, 2), REASONS), max_size=12))
def test_a_plan_moves_only_along_its_machine(steps: list[tuple[PlanStatus, int, str | None]]) -> None:
    status = PlanStatus.DRAFT
    for to, goals, reason in steps:
        allowed = (
            to in PLAN_MOVES[status]
            and not (to is PlanStatus.ACTIVE and goals == 0)
            and not (to in (PlanStatus.REVOKED, PlanStatus.ON_HOLD) and not (reason or "").strip())
        )
        if allowed:
            status = plan_move(status, to, goals=goals, reason=reason)
            assert status is to
        else:
            with pytest.raises(RuleViolation):
                plan_move(status, to, goals=goals, reason=reason)
    if status in (PlanStatus.COMPLETED, PlanStatus.REVOKED):
        assert not PLAN_MOVES[status], "completed and revoked plans stay so"


@settings(max_examples=300)
@given(st.lists(st.tuples(st.sampled_from(list(GoalLifecycle)), REASONS), max_size=12))
def test_a_goal_moves_only_along_its_machine(steps: list[tuple[GoalLifecycle, str | None]]) -> None:
    status = GoalLifecycle.PROPOSED
    for to, reason in steps:
        needs_reason = to in (GoalLifecycle.CANCELLED, GoalLifecycle.REJECTED)
        if to in GOAL_MOVES[status] and not (needs_reason and not (reason or "").strip()):
            status = goal_move(status, to, reason=reason)
        else:
            with pytest.raises(RuleViolation):
                goal_move(status, to, reason=reason)
        if status in ACHIEVEMENT_OPEN:
            achievement_check(status)
        else:
            with pytest.raises(RuleViolation):
                achievement_check(status)


@settings(max_examples=300)
@given(
    st.sampled_from(list(InterventionStatus)),
    st.lists(st.tuples(st.sampled_from(list(InterventionStatus)), REASONS), max_size=12),
)
def test_an_intervention_follows_the_fhir_task_machine(
    start: InterventionStatus, steps: list[tuple[InterventionStatus, str | None]]
) -> None:
    status = start
    for to, reason in steps:
        reachable = to is InterventionStatus.ENTERED_IN_ERROR or to in INTERVENTION_MOVES[status]
        allowed = (
            reachable
            and status is not InterventionStatus.ENTERED_IN_ERROR
            and not (to in NEEDS_REASON and not (reason or "").strip())
        )
        if allowed:
            status = intervention_move(status, to, reason=reason)
        else:
            with pytest.raises(RuleViolation):
                intervention_move(status, to, reason=reason)
    if status in CLOSED_INTERVENTION - {InterventionStatus.ENTERED_IN_ERROR}:
        assert INTERVENTION_MOVES[status] == frozenset()


def test_the_task_machine_is_the_base_specifications() -> None:
    s = InterventionStatus
    assert INTERVENTION_MOVES[s.IN_PROGRESS] == {s.COMPLETED, s.FAILED, s.ON_HOLD, s.CANCELLED, s.READY}
    assert INTERVENTION_MOVES[s.DRAFT] == {s.REQUESTED, s.READY, s.CANCELLED}
    assert INTERVENTION_MOVES[s.REQUESTED] == {s.RECEIVED, s.ACCEPTED, s.REJECTED, s.CANCELLED}
    assert intervention_move(s.COMPLETED, s.ENTERED_IN_ERROR, reason="wrong patient") is s.ENTERED_IN_ERROR


@settings(max_examples=200)
@given(
    st.decimals(min_value=-1000, max_value=1000, places=2),
    st.decimals(min_value=-1000, max_value=1000, places=2),
    st.sampled_from(["<", "<=", ">=", ">", "="]),
)
def test_a_quantity_target_is_met_as_its_comparator_says(value: Decimal, bound: Decimal, op: str) -> None:
    target = target_make("quantity", value=str(bound), comparator=op, unit="mm[Hg]")
    expected = {
        "<": value < bound,
        "<=": value <= bound,
        ">=": value >= bound,
        ">": value > bound,
        "=": value == bound,
    }
    assert target.met_by(value) is expected[op]


def test_targets_read_as_a_person_would_say_them() -> None:
    assert target_make("quantity", value="130", comparator="<", unit="mm[Hg]").reads() == "< 130 mm[Hg]"
    assert target_make("quantity", value="7.50", comparator="<=", unit="%").reads() == "≤ 7.50 %"
    assert target_make("range", low="7", high="8", unit="%").reads() == "7 to 8 %"
    assert target_make("range", low="90").reads() == "≥ 90"
    text = target_make("text", text="walks to the mailbox")
    assert (text.kind, text.reads(), text.met_by(Decimal(1))) == (
        TargetKind.TEXT,
        "walks to the mailbox",
        None,
    )
    assert target_make("range", high="5").met_by(Decimal("4.9")) is True


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        ({"kind": "size"}, "target kind 'size' is not one of quantity, range, text"),
        ({"kind": "quantity"}, "a quantity target needs a value"),
        ({"kind": "quantity", "value": "abc"}, "'abc' is not a number"),
        (
            {"kind": "quantity", "value": "1", "comparator": "~"},
            "comparator '~' is not one of <, <=, >=, >, =",
        ),
        ({"kind": "range"}, "a range target needs a low or a high value"),
        ({"kind": "range", "low": "9", "high": "8"}, "the range's low 9 is above its high 8"),
        ({"kind": "text", "text": " "}, "a qualitative target needs its text"),
    ],
)
def test_a_bad_target_says_what_is_wrong(parts: dict[str, str], message: str) -> None:
    kind = parts.pop("kind")
    with pytest.raises(InvalidInput) as caught:
        target_make(kind, where="goal target", **parts)
    assert caught.value.message == message
    assert caught.value.where is not None


def test_review_falls_a_year_on_or_at_once_after_a_transition() -> None:
    assert review_due(date(2025, 3, 1)) == date(2026, 3, 1)
    assert review_due(date(2025, 3, 1), transitions_since=1, today=date(2025, 6, 2)) == date(2025, 6, 2)
