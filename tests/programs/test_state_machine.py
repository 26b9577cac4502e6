"""The enrolment state machine (pure): only allowed transitions succeed; closed episodes stay closed."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carenav.errors import RuleViolation
from carenav.programs.rules import (
    OPEN_STATES,
    REASON_REQUIRED,
    TERMINAL_STATES,
    TRANSITIONS,
    EnrolmentAction,
    EnrolmentState,
    allowed_actions,
    consent_problem,
    reopens_as_new_episode,
    transition,
)

S, A = EnrolmentState, EnrolmentAction
EXPECTED = {
    S.IDENTIFIED: {A.START_OUTREACH: S.OUTREACH, A.ENROL: S.ENROLLED, A.DECLINE: S.DECLINED,
                   A.MARK_INELIGIBLE: S.INELIGIBLE},
    S.OUTREACH: {A.ENROL: S.ENROLLED, A.DECLINE: S.DECLINED, A.MARK_INELIGIBLE: S.INELIGIBLE},
    S.ENROLLED: {A.PAUSE: S.PAUSED, A.DISCHARGE: S.DISCHARGED},
    S.PAUSED: {A.RESUME: S.ENROLLED, A.DISCHARGE: S.DISCHARGED},
    S.DISCHARGED: {},
    S.DECLINED: {},
    S.INELIGIBLE: {},
}  # fmt: skip


def test_the_table_is_the_documented_one() -> None:
    for state, moves in EXPECTED.items():
        assert {a: transition(state, a, reason="r") for a in allowed_actions(state)} == moves


@given(
    state=st.sampled_from(list(S)),
    action=st.sampled_from(list(A)),
    reason=st.sampled_from([None, "", " ", "why"]),
)
def test_only_allowed_transitions_succeed(
    state: EnrolmentState, action: EnrolmentAction, reason: str | None
) -> None:
    allowed = (state, action) in TRANSITIONS
    needs_reason = action in REASON_REQUIRED and not (reason or "").strip()
    if allowed and not needs_reason:
        assert transition(state, action, reason=reason) == TRANSITIONS[(state, action)]
    else:
        with pytest.raises(RuleViolation):
            transition(state, action, reason=reason)


@given(actions=st.lists(st.sampled_from(list(A)), max_size=30))
def test_any_sequence_stays_on_the_graph_and_terminal_states_stay_terminal(
    actions: list[EnrolmentAction],
) -> None:
    state = S.IDENTIFIED
    closed = False
    for action in actions:
        try:
            after = transition(state, action, reason="because")
        except RuleViolation:
            assert (state, action) not in TRANSITIONS
            continue
        assert not closed, "a closed episode moved"
        assert (state, action) in TRANSITIONS
        state = after
        closed = state in TERMINAL_STATES
    assert (state in TERMINAL_STATES) == closed


def test_every_state_is_open_or_terminal() -> None:
    assert set(S) == OPEN_STATES | TERMINAL_STATES
    assert not OPEN_STATES & TERMINAL_STATES
    assert all(not allowed_actions(s) for s in TERMINAL_STATES)
    assert all(allowed_actions(s) for s in OPEN_STATES)


@given(
    state=st.sampled_from(list(S)),
    ended_days_ago=st.none() | st.integers(min_value=0, max_value=400),
    after_days=st.integers(min_value=0, max_value=365),
    manual=st.booleans(),
)
def test_new_episodes_only_after_a_closed_one(
    state: EnrolmentState, ended_days_ago: int | None, after_days: int, manual: bool
) -> None:
    today = date(2025, 6, 1)
    ended = None if ended_days_ago is None else date.fromordinal(today.toordinal() - ended_days_ago)
    reopens = reopens_as_new_episode(state, ended, today, after_days=after_days, manual=manual)
    if state in OPEN_STATES:
        assert not reopens
    elif manual or ended_days_ago is None:
        assert reopens
    else:
        assert reopens == (ended_days_ago >= after_days)


@pytest.mark.parametrize(
    ("required", "kind", "given_on", "by", "problem"),
    [
        (True, None, None, None, "ccm needs the patient's consent at enrolment"),
        (False, None, None, None, None),
        (True, "verbal", date(2025, 5, 1), "Nurse Ann", None),
        (True, "written", date(2025, 6, 1), "Nurse Ann", None),
        (True, "nodded", date(2025, 5, 1), "Nurse Ann", "consent kind must be verbal or written"),
        (True, "verbal", None, "Nurse Ann", "needs the date"),
        (True, "verbal", date(2025, 6, 2), "Nurse Ann", "in the future"),
        (True, "verbal", date(2025, 5, 1), "  ", "who obtained it"),
        (False, "verbal", date(2025, 6, 2), "Nurse Ann", "in the future"),
    ],
)
def test_consent(
    required: bool, kind: str | None, given_on: date | None, by: str | None, problem: str | None
) -> None:
    found = consent_problem(
        program_code="ccm", consent_required=required, kind=kind, given_on=given_on, obtained_by=by,
        today=date(2025, 6, 1),
    )  # fmt: skip
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert problem in found
