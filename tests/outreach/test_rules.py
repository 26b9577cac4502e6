"""Outreach rules, pure: red flags of the shipped note templates (exact cases and under hypothesis), the
unable-to-reach protocol, the cadence (which rule wins, when the next follow-up is due), and files that
fail to load with the file and the item named; which contacts are an attempt at (and which do) a
transition of care's interactive contact."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carenav.errors import InvalidInput, RuleViolation
from carenav.outreach.rules import (
    CadenceRule,
    ContactKind,
    Direction,
    Interval,
    Outcome,
    Party,
    ReachState,
    add_months,
    cadence,
    cadence_load,
    contact_check,
    interactive_contact_attempt,
    next_due,
    note_answers,
    note_template_get,
    note_template_load,
    note_templates,
    note_templates_for,
    reaches_patient,
    red_flags,
    rules_applying,
    unable_to_reach_load,
    unable_to_reach_state,
)
from carenav.transitions.rules import AttemptOutcome, TaskKind, attempt_does_task
from carenav.workdays import business_calendar

HF = note_template_get("heart-failure")
DM = note_template_get("type-2-diabetes")
COPD = note_template_get("copd")
PHQ = note_template_get("depression")
MONDAY = date(2025, 6, 2)


def flag_keys(template_id: str, raw: dict[str, str], previous: dict[str, float] | None = None) -> list[str]:
    template = note_template_get(template_id)
    return [f.key for f in red_flags(template, note_answers(template, raw), previous)]


# --- exact cases ------------------------------------------------------------------------------------


def test_a_3_lb_gain_in_a_day_flags_heart_failure() -> None:
    flags = red_flags(HF, note_answers(HF, {"weight_gain_day_lb": "3"}))
    assert [f.key for f in flags] == ["hf-weight-day"]
    assert flags[0].words.startswith("Heart failure: weight up 3 lb in a day")
    assert flags[0].review, "the reference gives no threshold: marked for clinician review"
    assert "not in ../shared/reference" in flags[0].source


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"weight_gain_day_lb": "1.5"}, []),
        ({"weight_gain_day_lb": "2"}, ["hf-weight-day"]),
        ({"weight_gain_week_lb": "5"}, ["hf-weight-week"]),
        ({"weight_gain_week_lb": "4.5"}, []),
        ({"breathlessness": "at-rest"}, ["hf-breathless"]),
        ({"breathlessness": "usual"}, []),
        ({"swelling": "worse"}, ["hf-swelling"]),
    ],
)
def test_heart_failure_flags(raw: dict[str, str], expected: list[str]) -> None:
    assert flag_keys("heart-failure", raw) == expected


def test_glucose_65_flags_diabetes() -> None:
    assert flag_keys("type-2-diabetes", {"glucose_low_mg_dl": "65"}) == ["dm-glucose-low"]
    assert flag_keys("type-2-diabetes", {"glucose_low_mg_dl": "70", "glucose_high_mg_dl": "300"}) == []
    assert flag_keys("type-2-diabetes", {"glucose_high_mg_dl": "301"}) == ["dm-glucose-high"]
    assert flag_keys("type-2-diabetes", {"hypoglycemia_symptoms": "yes"}) == ["dm-hypoglycemia"]


def test_the_copd_red_zone_flags() -> None:
    assert flag_keys("copd", {"zone": "red"}) == ["copd-red-zone"]
    assert flag_keys("copd", {"zone": "green"}) == []


def test_phq9_item_9_of_1_flags_whatever_the_total() -> None:
    flags = red_flags(PHQ, note_answers(PHQ, {"phq9_item9": "1", "phq9_total": "6"}))
    assert [f.key for f in flags] == ["phq9-item9"]
    assert flags[0].alert == "suicide-risk"
    assert not flags[0].review, "the reference says so (§3.3)"
    assert "§3.3" in flags[0].source


def test_phq9_severe_and_worse_by_5() -> None:
    assert flag_keys("depression", {"phq9_total": "20"}) == ["phq9-severe"]
    assert flag_keys("depression", {"phq9_total": "15"}, {"phq9_total": 10.0}) == ["phq9-worse"]
    assert flag_keys("depression", {"phq9_total": "14"}, {"phq9_total": 10.0}) == []
    assert flag_keys("depression", {"phq9_total": "15"}) == [], "no previous PHQ-9: no change to judge"
    words = red_flags(PHQ, {"phq9_total": 16.0}, {"phq9_total": 9.0})[0].words
    assert "PHQ-9 16, up from 9" in words


def test_every_shipped_flag_names_its_source() -> None:
    for template in note_templates():
        for flag in template.flags:
            assert flag.source.strip()
            if "not in ../shared/reference" in flag.source:
                assert flag.review, f"{template.id} {flag.key}: a threshold the reference lacks needs review"


def test_templates_for_a_patient() -> None:
    ids = [t.id for t in note_templates_for({"ccm"}, {"heart-failure"})]
    assert ids == ["general", "heart-failure"]
    assert [t.id for t in note_templates_for({"bhi"}, set())] == ["general", "depression"]


def test_three_no_answers_on_two_days_do_not_exhaust_on_three_days_they_do() -> None:
    two_days = unable_to_reach_state([MONDAY, MONDAY, date(2025, 6, 4)])
    assert (two_days.state, two_days.attempts, two_days.days) == (ReachState.IN_PROTOCOL, 3, 2)
    three_days = unable_to_reach_state([MONDAY, date(2025, 6, 4), date(2025, 6, 13)])
    assert three_days.state is ReachState.EXHAUSTED
    assert (three_days.window_start, three_days.window_end) == (MONDAY, date(2025, 6, 13))
    too_late = unable_to_reach_state([MONDAY, date(2025, 6, 4), date(2025, 6, 16)])
    assert too_late.state is ReachState.IN_PROTOCOL, "the 11th business day is past the window"
    assert unable_to_reach_state([]).state is ReachState.NONE


def test_the_window_skips_holidays() -> None:
    # Juneteenth (Thursday June 19, 2025) is not a business day: the window from June 12 ends June 26.
    state = unable_to_reach_state([date(2025, 6, 12), date(2025, 6, 20), date(2025, 6, 26)])
    assert state.window_end == date(2025, 6, 26)
    assert state.exhausted


def test_contact_combinations() -> None:
    contact_check(ContactKind.CALL, Direction.OUTBOUND, Party.PATIENT, Outcome.VOICEMAIL, None)
    with pytest.raises(RuleViolation, match="letter cannot end voicemail"):
        contact_check(ContactKind.LETTER, Direction.OUTBOUND, Party.PATIENT, Outcome.VOICEMAIL, None)
    with pytest.raises(InvalidInput, match="community organization"):
        contact_check(
            ContactKind.CALL, Direction.OUTBOUND, Party.COMMUNITY_ORGANIZATION, Outcome.REACHED, " "
        )


# --- cadence -----------------------------------------------------------------------------------------


def test_the_most_frequent_rule_wins() -> None:
    rules = cadence().rules
    ccm_tier1 = rules_applying(rules, programs=frozenset({"ccm"}), tier=1, discharged_on=None)
    assert [r.key for r in ccm_tier1] == ["ccm-monthly"]
    ccm_tier4 = rules_applying(rules, programs=frozenset({"ccm"}), tier=4, discharged_on=MONDAY)
    assert [r.key for r in ccm_tier4] == ["tier-4-weekly", "post-discharge"]
    assert rules_applying(rules, programs=frozenset(), tier=4, discharged_on=MONDAY) == [], "enrolled only"


def test_next_due() -> None:
    monthly = cadence().rule("ccm-monthly")
    assert next_due(monthly, anchor=date(2025, 1, 31)) == date(2025, 2, 28)
    assert next_due(monthly, anchor=date(2025, 1, 31), last_reached=date(2025, 3, 3)) == date(2025, 4, 3)
    discharge = cadence().rule("post-discharge")
    friday = date(2025, 5, 30)
    due = [next_due(discharge, anchor=friday, steps_done=n) for n in range(5)]
    assert due == [date(2025, 6, 3), date(2025, 6, 6), date(2025, 6, 13), date(2025, 6, 29), None]


# --- hypothesis ----------------------------------------------------------------------------------------

DAYS = st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31))


@settings(max_examples=300)
@given(st.floats(min_value=-50, max_value=50, allow_nan=False))
def test_hf_daily_gain_flags_exactly_at_2_lb_or_more(gain: float) -> None:
    flagged = "hf-weight-day" in flag_keys("heart-failure", {"weight_gain_day_lb": repr(gain)})
    assert flagged is (gain >= 2)


@settings(max_examples=300)
@given(st.integers(min_value=10, max_value=1000), st.integers(min_value=10, max_value=1000))
def test_glucose_flags_exactly_below_70_or_above_300(low: int, high: int) -> None:
    keys = flag_keys("type-2-diabetes", {"glucose_low_mg_dl": str(low), "glucose_high_mg_dl": str(high)})
    assert ("dm-glucose-low" in keys) is (low < 70)
    assert ("dm-glucose-high" in keys) is (high > 300)


@settings(max_examples=200)
@given(st.integers(0, 27), st.integers(0, 3), st.one_of(st.none(), st.integers(0, 27)))
def test_phq9_flags(total: int, item9: int, previous: int | None) -> None:
    before = {"phq9_total": float(previous)} if previous is not None else None
    keys = flag_keys("depression", {"phq9_total": str(total), "phq9_item9": str(item9)}, before)
    assert ("phq9-item9" in keys) is (item9 > 0)
    assert ("phq9-severe" in keys) is (total >= 20)
    assert ("phq9-worse" in keys) is (previous is not None and total - previous >= 5)


@settings(max_examples=300)
@given(st.lists(DAYS, max_size=8), DAYS)
def test_the_protocol_needs_three_days_and_never_unexhausts(attempts: list[date], more: date) -> None:
    state = unable_to_reach_state(attempts)
    if len(set(attempts)) < 3:
        assert not state.exhausted
    if state.exhausted:
        assert unable_to_reach_state([*attempts, more]).exhausted, "another attempt cannot undo it"
        assert state.window_end is not None
        assert state.window_start is not None
        assert business_calendar().business_days_between(state.window_start, state.window_end) <= 10
    assert (state.state is ReachState.NONE) is (not attempts)


@settings(max_examples=200)
@given(DAYS, st.integers(0, 9))
def test_attempts_on_three_business_days_in_a_row_exhaust(start: date, offset: int) -> None:
    calendar = business_calendar()
    first = calendar.add_business_days(start, offset)
    days = [first, calendar.add_business_days(first, 1), calendar.add_business_days(first, 2)]
    assert unable_to_reach_state(days).exhausted


@settings(max_examples=300)
@given(
    DAYS,
    st.one_of(st.none(), DAYS),
    st.sampled_from([r.key for r in cadence().rules if r.recurring]),
)
def test_a_recurring_follow_up_is_always_after_the_last_contact_and_the_anchor(
    anchor: date, last: date | None, key: str
) -> None:
    due = next_due(cadence().rule(key), anchor=anchor, last_reached=last)
    assert due is not None
    assert due > anchor
    if last is not None:
        assert due > last


@settings(max_examples=200)
@given(
    st.sets(st.sampled_from(["ccm", "ccm_complex", "pcm", "bhi", "case_mgmt", "tcm"]), min_size=1),
    st.one_of(st.none(), st.integers(1, 4)),
)
def test_the_chosen_recurring_rule_is_the_most_frequent(programs: set[str], tier: int | None) -> None:
    rules = cadence().rules
    chosen = list(rules_applying(rules, programs=frozenset(programs), tier=tier, discharged_on=None))
    matching = [r for r in rules if r.recurring and r.matches(frozenset(programs), tier)]
    assert len(chosen) == (1 if matching else 0)
    for rule in matching:
        assert chosen[0].every is not None
        assert rule.every is not None
        assert chosen[0].every.approx_days <= rule.every.approx_days


@given(DAYS, st.integers(1, 36))
def test_add_months_keeps_the_day_or_the_months_last(day: date, months: int) -> None:
    later = add_months(day, months)
    assert (later.year * 12 + later.month) - (day.year * 12 + day.month) == months
    assert later.day == day.day or (later + timedelta(days=1)).day == 1


# --- files -----------------------------------------------------------------------------------------


def test_broken_files_name_the_file_and_the_item(tmp_path: Path) -> None:
    bad_flag = tmp_path / "gout.toml"
    bad_flag.write_text(
        'id = "gout"\ntitle = "Gout"\nversion = "1"\n[applies_to]\nalways = true\n'
        '[[field]]\nkey = "pain"\nlabel = "Pain"\ntype = "number"\n'
        '[[flag]]\nkey = "bad"\nfield = "swelling"\nop = ">"\nvalue = 3\nwords = "x"\nsource = "y"\n'
    )
    with pytest.raises(InvalidInput, match="unknown field 'swelling'") as error:
        note_template_load(bad_flag)
    assert error.value.where == "gout.toml: flag bad"
    bad_rule = tmp_path / "cadence.toml"
    bad_rule.write_text('[[rule]]\nkey = "x"\ntitle = "X"\nevery = { weeks = 1 }\n')
    with pytest.raises(InvalidInput, match="weeks") as rule_error:
        cadence_load(bad_rule)
    assert rule_error.value.where == "cadence.toml: rule x every"
    bad_protocol = tmp_path / "unable_to_reach.toml"
    bad_protocol.write_text("attempts = 2\ndistinct_days = 3\nwindow_business_days = 10\n")
    with pytest.raises(InvalidInput, match="distinct_days cannot be more"):
        unable_to_reach_load(bad_protocol)


def test_interval_words() -> None:
    assert Interval(business_days=2).words == "2 business days"
    rule = CadenceRule("k", "t", cadence().rule("post-discharge").anchor, steps=(Interval(days=7),))
    assert rule.words == "after discharge: 7 days"


# --- what a contact is to a transition of care's interactive contact ------------------------------


@pytest.mark.parametrize(
    ("kind", "party", "outcome", "expected"),
    [
        (ContactKind.CALL, Party.PATIENT, Outcome.REACHED, AttemptOutcome.REACHED),
        (ContactKind.CALL, Party.CAREGIVER, Outcome.VOICEMAIL, AttemptOutcome.VOICEMAIL),
        (ContactKind.VIDEO, Party.PATIENT, Outcome.NO_ANSWER, AttemptOutcome.NO_ANSWER),
        (ContactKind.HOME_VISIT, Party.CAREGIVER, Outcome.REACHED, AttemptOutcome.REACHED),
        (ContactKind.CLINIC_VISIT, Party.PATIENT, Outcome.DECLINED, AttemptOutcome.DECLINED),
        (ContactKind.MESSAGE, Party.PATIENT, Outcome.WRONG_NUMBER, AttemptOutcome.WRONG_NUMBER),
        (ContactKind.LETTER, Party.PATIENT, Outcome.REACHED, None),  # not interactive
        (ContactKind.CALL, Party.PROVIDER, Outcome.REACHED, None),  # not the patient's side
        (ContactKind.CALL, Party.PAYER, Outcome.NO_ANSWER, None),
        (ContactKind.VIDEO, Party.COMMUNITY_ORGANIZATION, Outcome.REACHED, None),
    ],
)
def test_which_contacts_are_an_attempt_at_the_interactive_contact(
    kind: ContactKind, party: Party, outcome: Outcome, expected: AttemptOutcome | None
) -> None:
    assert interactive_contact_attempt(kind, party, outcome) is expected


@given(st.sampled_from(list(ContactKind)), st.sampled_from(list(Party)), st.sampled_from(list(Outcome)))
def test_only_a_reached_interactive_contact_with_the_patient_side_does_the_task(
    kind: ContactKind, party: Party, outcome: Outcome
) -> None:
    attempt = interactive_contact_attempt(kind, party, outcome)
    does = attempt is not None and attempt_does_task(TaskKind.INTERACTIVE_CONTACT, attempt)
    assert does == (reaches_patient(party, outcome) and kind is not ContactKind.LETTER)
    if attempt is not None:
        assert attempt.value == outcome.value, "the attempt keeps the contact's outcome"
        assert not attempt_does_task(TaskKind.MEDICATION_RECONCILIATION, attempt), "a call does no other task"
