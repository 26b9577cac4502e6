"""Prior authorization rules, pure (hypothesis for the machines and the date arithmetic): the request's
status machine, the appeal machine and its levels, the deadlines the payer rules set, the codes a request
carries, the documents it may hold, and the payer rules file's checks."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carenav.authorizations.rules import (
    ADVERSE,
    APPEAL_MOVES,
    APPEAL_OPEN,
    AUTHORIZATION_MOVES,
    DECISIONS,
    NEEDS_REASON,
    AppealOutcome,
    AppealStatus,
    AppealView,
    AuthorizationStatus,
    DueKind,
    PayerKind,
    add_months,
    appeal_effect,
    appeal_move,
    authorization_deadlines,
    authorization_move,
    codes_parse,
    diagnosis_code,
    hours_as_days,
    next_appeal_level,
    payer_rules,
    payer_rules_parse,
    service_code,
    submission_gaps,
)
from carenav.errors import InvalidInput, RuleViolation

S = AuthorizationStatus
NOTES = st.sampled_from([None, "", "  ", "not medically necessary"])
DATES = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))


@settings(max_examples=300)
@given(st.lists(st.tuples(st.sampled_from(list(S)), NOTES), max_size=8))
def test_a_request_follows_its_machine(steps: list[tuple[AuthorizationStatus, str | None]]) -> None:
    status = S.DRAFT
    path = [status]
    for to, note in steps:
        allowed = to in AUTHORIZATION_MOVES[status] and not (to in NEEDS_REASON and not (note or "").strip())
        if allowed:
            status = authorization_move(status, to, reason=note)
            path.append(status)
        else:
            with pytest.raises(RuleViolation):
                authorization_move(status, to, reason=note)
    assert path.count(S.SUBMITTED) <= 1, "a request is submitted once"
    if status in DECISIONS or status is S.WITHDRAWN:
        assert not AUTHORIZATION_MOVES[status], "a decision changes only through an appeal"
    if S.PENDING in path:
        assert path.index(S.SUBMITTED) < path.index(S.PENDING), "pending comes after submitted"


def test_a_decided_request_says_an_appeal_changes_it() -> None:
    with pytest.raises(RuleViolation, match="an appeal changes a decision"):
        authorization_move(S.DENIED, S.APPROVED)
    with pytest.raises(RuleViolation, match="the payer's reason"):
        authorization_move(S.PENDING, S.DENIED, reason="  ")
    with pytest.raises(RuleViolation, match="cannot become pending"):
        authorization_move(S.DRAFT, S.PENDING)


@settings(max_examples=300)
@given(
    st.lists(
        st.tuples(st.sampled_from(list(AppealStatus)), NOTES, st.sampled_from([None, *AppealOutcome])),
        max_size=8,
    )
)
def test_an_appeal_follows_its_machine(
    steps: list[tuple[AppealStatus, str | None, AppealOutcome | None]],
) -> None:
    status = AppealStatus.FILED
    for to, note, outcome in steps:
        allowed = (
            to in APPEAL_MOVES[status]
            and (outcome is not None) == (to is AppealStatus.DECIDED)
            and not (
                to in (AppealStatus.WITHDRAWN, AppealStatus.PEER_TO_PEER_HELD) and not (note or "").strip()
            )
        )
        if allowed:
            status = appeal_move(status, to, note=note, outcome=outcome)
        else:
            with pytest.raises(RuleViolation):
                appeal_move(status, to, note=note, outcome=outcome)
    if status not in APPEAL_OPEN:
        assert not APPEAL_MOVES[status], "decided and withdrawn appeals stay so"


@given(st.sampled_from(list(S)), st.sampled_from(list(AppealOutcome)))
def test_an_appeal_outcome_moves_the_request(status: AuthorizationStatus, outcome: AppealOutcome) -> None:
    if status not in ADVERSE:
        with pytest.raises(RuleViolation):
            appeal_effect(status, outcome)
        return
    after = appeal_effect(status, outcome)
    expected = {
        AppealOutcome.UPHELD: status,
        AppealOutcome.OVERTURNED: S.APPROVED,
        AppealOutcome.PARTIALLY_OVERTURNED: S.PARTIALLY_APPROVED,
    }[outcome]
    assert after is expected


APPEALS = st.lists(
    st.builds(
        AppealView,
        level=st.integers(1, 4),
        status=st.sampled_from(list(AppealStatus)),
        outcome=st.sampled_from([None, *AppealOutcome]),
        decision_due_on=st.none() | DATES,
        peer_to_peer_on=st.none() | DATES,
    ),
    max_size=5,
)


@given(st.sampled_from(list(S)), APPEALS)
def test_the_next_appeal_level(status: AuthorizationStatus, appeals: list[AppealView]) -> None:
    if status not in ADVERSE or any(a.status in APPEAL_OPEN for a in appeals):
        with pytest.raises(RuleViolation):
            next_appeal_level(status, appeals)
        return
    level = next_appeal_level(status, appeals)
    decided = [a.level for a in appeals if a.status is AppealStatus.DECIDED]
    assert level == max(decided, default=0) + 1
    assert level >= 1


@settings(max_examples=300)
@given(
    st.sampled_from(list(S)),
    st.none() | DATES,
    st.none() | DATES,
    st.none() | DATES,
    APPEALS,
    DATES,
)
def test_deadlines(
    status: AuthorizationStatus,
    decision_due_on: date | None,
    appeal_by: date | None,
    valid_to: date | None,
    appeals: list[AppealView],
    today: date,
) -> None:
    deadlines = authorization_deadlines(
        status,
        decision_due_on=decision_due_on,
        appeal_by=appeal_by,
        valid_to=valid_to,
        appeals=appeals,
        today=today,
    )
    assert [d.on for d in deadlines] == sorted(d.on for d in deadlines), "soonest first"
    kinds = [d.kind for d in deadlines]
    open_appeals = [a for a in appeals if a.status in APPEAL_OPEN]
    assert (DueKind.DECISION in kinds) == (status in (S.SUBMITTED, S.PENDING) and decision_due_on is not None)
    assert kinds.count(DueKind.APPEAL_DECISION) == sum(1 for a in open_appeals if a.decision_due_on)
    expected_p2p = sum(
        1 for a in open_appeals if a.status is AppealStatus.PEER_TO_PEER_SCHEDULED and a.peer_to_peer_on
    )
    assert kinds.count(DueKind.PEER_TO_PEER) == expected_p2p
    window = status in ADVERSE and not open_appeals and appeal_by is not None and appeal_by >= today
    assert (DueKind.APPEAL_BY in kinds) == window, "the last day to appeal shows until it lapses"
    for d in deadlines:
        if d.kind in (DueKind.APPEAL_BY, DueKind.APPROVAL_ENDS):
            assert not d.overdue(today), "a window lapses, it is never overdue"
        assert d.days_left(today) == (d.on - today).days
    if status in (S.DRAFT, S.WITHDRAWN, S.APPROVED) and not open_appeals:
        assert all(d.kind is DueKind.APPROVAL_ENDS for d in deadlines)


@given(DATES, st.integers(0, 48))
def test_adding_months(start: date, months: int) -> None:
    end = add_months(start, months)
    months_apart = (end.year - start.year) * 12 + end.month - start.month
    if end.day == start.day:
        assert months_apart == months
    else:
        assert end.day == 1, "no such day: the first of the month after"
        assert months_apart == months + 1
    assert end >= start


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (date(2025, 10, 31), 4, date(2026, 3, 1)),
        (date(2025, 1, 15), 4, date(2025, 5, 15)),
        (date(2023, 10, 29), 4, date(2024, 2, 29)),
        (date(2025, 9, 30), 4, date(2026, 1, 30)),
        (date(2025, 12, 31), 2, date(2026, 3, 1)),
    ],
)
def test_adding_months_examples(start: date, months: int, end: date) -> None:
    assert add_months(start, months) == end


@given(st.integers(0, 1000))
def test_hours_round_up_to_days(hours: int) -> None:
    days = hours_as_days(hours)
    assert days * 24 >= hours > (days - 1) * 24 or hours == days == 0


@given(DATES, st.sampled_from(list(PayerKind)), st.booleans())
def test_every_payer_kind_has_a_decision_rule_and_a_first_appeal(
    submitted: date, kind: PayerKind, expedited: bool
) -> None:
    rules = payer_rules()
    decision = rules.decision_rule(kind, submitted)
    assert decision.effective_from is None or decision.effective_from <= submitted
    due = decision.due(submitted, expedited=expedited)
    assert submitted < due <= submitted + timedelta(days=15)
    first = rules.appeal_rule(kind, 1)
    assert first is not None
    assert not first.automatic
    file_by = first.file_by(submitted)
    assert file_by is not None
    assert file_by >= submitted + timedelta(days=60)
    appeal_due = first.decision_due(submitted, expedited=expedited)
    if appeal_due is not None and expedited and first.expedited_decide_within_hours:
        assert appeal_due == submitted + timedelta(days=3)


def test_the_payer_rules_in_force() -> None:
    rules = payer_rules()
    ma = PayerKind.MEDICARE_ADVANTAGE
    assert rules.decision_rule(ma, date(2025, 12, 31)).due(date(2025, 12, 31), expedited=False) == date(
        2026, 1, 14
    )
    assert rules.decision_rule(ma, date(2026, 1, 1)).due(date(2026, 1, 1), expedited=False) == date(
        2026, 1, 8
    )
    assert rules.decision_rule(ma, date(2026, 1, 1)).due(date(2026, 1, 1), expedited=True) == date(2026, 1, 4)
    assert "default" in rules.decision_rule(PayerKind.MEDICAID, date(2025, 6, 1)).source
    assert "440.230" in rules.decision_rule(PayerKind.MEDICAID, date(2026, 6, 1)).source
    reconsideration = rules.appeal_rule(ma, 1)
    assert reconsideration is not None
    assert reconsideration.file_by(date(2025, 6, 2)) == date(2025, 8, 6), "65 calendar days"
    assert reconsideration.decision_due(date(2025, 6, 2), expedited=True) == date(2025, 6, 5)
    assert reconsideration.decision_due(date(2025, 6, 2), expedited=False) == date(2025, 7, 2)
    ire = rules.appeal_rule(ma, 2)
    assert ire is not None
    assert ire.automatic
    assert ire.file_by(date(2025, 6, 2)) is None
    assert rules.appeal_rule(ma, 4) is None, "a level with no rule is not tracked"
    medicaid = rules.appeal_rule(PayerKind.MEDICAID_MANAGED_CARE, 1)
    assert medicaid is not None
    assert medicaid.file_by(date(2025, 6, 2)) == date(2025, 8, 1)
    redetermination = rules.appeal_rule(PayerKind.MEDICARE, 1)
    assert redetermination is not None
    assert redetermination.file_by(date(2025, 6, 2)) == date(2025, 6, 7) + timedelta(days=120), (
        "presumed receipt"
    )
    internal = rules.appeal_rule(PayerKind.COMMERCIAL, 1)
    assert internal is not None
    assert internal.file_by(date(2025, 6, 2)) == date(2025, 11, 29)
    external = rules.appeal_rule(PayerKind.COMMERCIAL, 2)
    assert external is not None
    assert external.file_by(date(2025, 10, 31)) == date(2026, 3, 1)
    other = rules.appeal_rule(PayerKind.OTHER, 1)
    assert other is not None
    assert other.payer_kind == "default"
    assert other.file_by(date(2025, 6, 2)) == date(2025, 8, 1)
    assert rules.appeal_rule(PayerKind.OTHER, 2) is None
    sources = [r.source for r in rules.decisions] + [r.source for r in rules.appeals]
    assert all(s.strip() for s in sources), "every rule states its source"


GOOD = """
[[decision]]
payer_kind = "default"
standard_days = 14
expedited_hours = 72
source = "s"

[[appeal]]
payer_kind = "default"
level = 1
name = "First"
file_within_days = 60
source = "s"
"""


@pytest.mark.parametrize(
    ("text", "place", "message"),
    [
        ("[[decision]\n", "rules.toml", "not valid TOML"),
        (GOOD + "\n[extra]\nx = 1\n", "rules.toml: extra", "unknown table"),
        (
            GOOD.replace('payer_kind = "default"\nstandard', 'payer_kind = "tricare"\nstandard'),
            "decision[0].payer_kind",
            "tricare",
        ),
        (
            GOOD.replace("standard_days = 14", "standard_days = -1"),
            "decision[0].standard_days",
            "whole number",
        ),
        (
            GOOD.replace("standard_days = 14", "standard_days = true"),
            "decision[0].standard_days",
            "whole number",
        ),
        (GOOD.replace("expedited_hours = 72\n", ""), "decision[0].expedited_hours", "missing"),
        (
            GOOD.replace('source = "s"\n\n', 'source = "s"\neffective_from = "2026"\n\n'),
            "decision[0].effective_from",
            "a date",
        ),
        (
            GOOD.replace("file_within_days = 60", "file_within_days = 60\nfile_within_months = 2"),
            "appeal[0]",
            "one of",
        ),
        (GOOD.replace("level = 1", "level = 0"), "appeal[0].level", "1 to 9"),
        (GOOD.replace('name = "First"', 'name = ""'), "appeal[0].name", "missing text"),
        (
            GOOD.replace("level = 1", 'level = 1\nfiled_by = "automatic"'),
            "appeal[0].filed_by",
            "no filing window",
        ),
        (GOOD.replace("level = 1", 'level = 1\nfiled_by = "member"'), "appeal[0].filed_by", "'patient' or"),
        (GOOD.replace("level = 1", "level = 1\ncolour = 1"), "appeal[0].colour", "unknown field"),
        (GOOD.replace("level = 1", "level = 2"), "rules.toml: appeal", "default level 1"),
        (GOOD + GOOD.split("[[appeal]]")[0], "decision[1]", "a second default rule"),
        (
            GOOD.replace('payer_kind = "default"\nstandard', 'payer_kind = "commercial"\nstandard'),
            "rules.toml: decision",
            "a default decision rule",
        ),
    ],
)
def test_a_bad_payer_rules_file_names_its_place(text: str, place: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as caught:
        payer_rules_parse(text, source="rules.toml")
    assert caught.value.where is not None
    assert place in caught.value.where
    assert payer_rules_parse(GOOD, source="rules.toml").appeals[0].file_within_days == 60


@pytest.mark.parametrize(
    ("text", "code"),
    [("97110", "97110"), (" e0470 ", "E0470"), ("0042T", "0042T"), ("1111F", "1111F"), ("G0151", "G0151")],
)
def test_service_codes(text: str, code: str) -> None:
    assert service_code(text) == code


@pytest.mark.parametrize("text", ["9711", "971100", "W1234", "E047", "ABCDE", ""])
def test_bad_service_codes(text: str) -> None:
    with pytest.raises(InvalidInput, match="not a CPT code") as caught:
        service_code(text)
    assert caught.value.where == "service codes"


@pytest.mark.parametrize(
    ("text", "code"), [("I50.9", "I50.9"), ("i509", "I50.9"), ("E11", "E11"), ("S72.001A", "S72.001A")]
)
def test_diagnosis_codes(text: str, code: str) -> None:
    assert diagnosis_code(text) == code


@pytest.mark.parametrize("text", ["150.9", "I5", "I50.12345", "99213"])
def test_bad_diagnosis_codes(text: str) -> None:
    with pytest.raises(InvalidInput, match="not an ICD-10-CM code"):
        diagnosis_code(text)


@given(st.lists(st.sampled_from(["97110", "97112", "e0470", "G0151", "97110"]), max_size=12))
def test_codes_parse_keeps_order_and_drops_duplicates(codes: list[str]) -> None:
    parsed = codes_parse(", ".join(codes), "service")
    assert parsed == list(dict.fromkeys(c.upper() for c in codes))
    assert codes_parse(codes, "service") == parsed


def test_too_many_codes() -> None:
    with pytest.raises(InvalidInput, match="at most 25"):
        codes_parse([f"9{n:04d}" for n in range(26)], "service")


def test_submission_gaps() -> None:
    assert (
        submission_gaps(
            service="PT",
            payer_name="Acme",
            service_codes=["97110"],
            diagnosis_codes=["M17.11"],
            justification="x",
        )
        == []
    )
    assert submission_gaps(
        service=" ", payer_name="", service_codes=[], diagnosis_codes=[], justification=""
    ) == [
        "the service requested",
        "the payer",
        "at least one CPT or HCPCS code",
        "at least one ICD-10-CM diagnosis code",
        "the clinical justification",
    ]
