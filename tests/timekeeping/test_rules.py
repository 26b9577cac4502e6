"""Time rules, pure: what a month's minutes bill under the shipped billing codes (the CMS examples, exactly),
properties under hypothesis (more time never bills less, no threshold is passed with less time than it
needs, add-ons stay under their cap), the codes file checked with the place of each fault, and timers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carenav.errors import InvalidInput, RuleViolation
from carenav.timekeeping.rules import (
    DEFAULT_CODES_PATH,
    MAX_MINUTES,
    Month,
    StaffRole,
    code_progress,
    codes_parse,
    codes_text,
    days_left,
    default_codes,
    entry_check,
    minutes_text,
    month_progress,
    near_threshold,
    timer_minutes,
)

STAFF = StaffRole.CLINICAL_STAFF
PRACTITIONER = StaffRole.BILLING_PRACTITIONER
REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"


def billed(program: str, staff: int = 0, practitioner: int = 0) -> str:
    return codes_text(month_progress({STAFF: staff, PRACTITIONER: practitioner}, program).billable)


@pytest.mark.parametrize(
    ("minutes", "codes", "to_next"),
    [
        (0, "", 20),
        (19, "", 1),
        (20, "99490", 20),
        (39, "99490", 1),
        (40, "99490 + 99439", 20),
        (59, "99490 + 99439", 1),
        (60, "99490 + 2 x 99439", None),
        (80, "99490 + 2 x 99439", None),
        (600, "99490 + 2 x 99439", None),
    ],
)
def test_ccm_clinical_staff(minutes: int, codes: str, to_next: int | None) -> None:
    progress = month_progress({STAFF: minutes}, "ccm")
    assert codes_text(progress.billable) == codes
    assert progress.to_next == to_next
    assert progress.lines[0].thresholds == (20, 40, 60), "the bar shows 20 / 40 / 60"


def test_ccm_billing_practitioner_personally() -> None:
    assert billed("ccm", practitioner=29) == ""
    assert billed("ccm", practitioner=30) == "99491"
    assert billed("ccm", practitioner=60) == "99491 + 99437"
    assert billed("ccm", staff=0, practitioner=45) == "99491"
    # practitioner time does not count toward the clinical-staff code, nor staff time toward 99491
    assert billed("ccm", staff=19, practitioner=19) == ""
    progress = month_progress({STAFF: 19, PRACTITIONER: 29}, "ccm")
    assert progress.to_next == 1
    assert progress.next_code in {"99490", "99491"}


def test_one_ccm_family_a_month() -> None:
    progress = month_progress({STAFF: 40, PRACTITIONER: 30}, "ccm")
    assert codes_text(progress.billable) == "99490 + 99439", "the family with the most units"
    assert [line.code.code for line in progress.also_reached] == ["99491"]
    tie = month_progress({STAFF: 20, PRACTITIONER: 30}, "ccm")
    assert codes_text(tie.billable) == "99490", "a tie goes to the file's order"


@pytest.mark.parametrize(
    ("minutes", "codes"),
    [(59, ""), (60, "99487"), (89, "99487"), (90, "99487 + 99489"), (120, "99487 + 2 x 99489")],
)
def test_complex_ccm(minutes: int, codes: str) -> None:
    assert billed("ccm_complex", staff=minutes) == codes


def test_pcm_bhi_and_programs_without_codes() -> None:
    assert billed("pcm", staff=29) == ""
    assert billed("pcm", staff=30) == "99426"
    assert billed("pcm", staff=60) == "99426 + 99427"
    assert billed("pcm", practitioner=30) == "99424"
    assert billed("bhi", staff=19) == ""
    assert billed("bhi", staff=20) == "99484"
    bhi = month_progress({STAFF: 200, PRACTITIONER: 15}, "bhi")
    assert codes_text(bhi.billable) == "99484"
    assert bhi.to_next is None, "99484 has no add-on"
    assert bhi.uncounted == 15, "practitioner time counts toward no BHI code here"
    tcm = month_progress({STAFF: 45}, "tcm")
    assert tcm.lines == ()
    assert tcm.billable == ()
    assert tcm.total == 45
    assert tcm.to_next is None


ROLE_MINUTES = st.integers(min_value=0, max_value=31 * MAX_MINUTES)
PROGRAMS = st.sampled_from(["ccm", "ccm_complex", "pcm", "bhi", "tcm"])


@settings(max_examples=400)
@given(PROGRAMS, ROLE_MINUTES, ROLE_MINUTES, ROLE_MINUTES, ROLE_MINUTES)
def test_more_time_never_bills_less(
    program: str, staff: int, practitioner: int, more_s: int, more_p: int
) -> None:
    before = month_progress({STAFF: staff, PRACTITIONER: practitioner}, program)
    after = month_progress({STAFF: staff + more_s, PRACTITIONER: practitioner + more_p}, program)
    assert after.total >= before.total
    for line_before, line_after in zip(before.lines, after.lines, strict=True):
        assert line_after.units >= line_before.units
    units = sum(u for _, u in before.billable)
    assert sum(u for _, u in after.billable) >= units


@settings(max_examples=400)
@given(PROGRAMS, ROLE_MINUTES, ROLE_MINUTES)
def test_no_threshold_passed_with_less_time_and_addons_capped(
    program: str, staff: int, practitioner: int
) -> None:
    progress = month_progress({STAFF: staff, PRACTITIONER: practitioner}, program)
    for line in progress.lines:
        code = line.code
        assert line.minutes == sum(
            m for r, m in {STAFF: staff, PRACTITIONER: practitioner}.items() if r in code.counts
        )
        assert line.reached == (line.minutes >= code.first_minutes)
        if line.reached:
            needed = code.first_minutes + line.addon_units * (code.addon_minutes or 0)
            assert needed <= line.minutes, "every unit billed has its full time"
        else:
            assert line.addon_units == 0
        if code.max_addons is not None:
            assert line.addon_units <= code.max_addons
        if line.to_next is not None:
            assert line.to_next > 0
            more = code_progress(
                code, {r: line.minutes + line.to_next if r in code.counts else 0 for r in StaffRole}
            )
            assert more.units == line.units + 1, "the next threshold bills exactly one more unit"
            less = code_progress(
                code, {r: line.minutes + line.to_next - 1 if r in code.counts else 0 for r in StaffRole}
            )
            assert less.units == line.units
    if progress.billed_line is not None:
        assert progress.billed_line.reached
        assert all(progress.billed_line.units >= line.units for line in progress.lines)
    else:
        assert progress.billable == ()


@given(st.integers(min_value=1, max_value=30), ROLE_MINUTES)
def test_near_threshold_means_within_and_not_reached(within: int, minutes: int) -> None:
    progress = month_progress({STAFF: minutes}, "ccm")
    if near_threshold(progress, within):
        assert progress.to_next is not None
        assert 0 < progress.to_next <= within
    else:
        assert progress.to_next is None or progress.to_next > within


def test_the_shipped_codes_cite_the_reference() -> None:
    codes = default_codes()
    assert [c.code for c in codes.codes] == ["99490", "99491", "99487", "99426", "99424", "99484"]
    if not REFERENCE.is_dir():
        pytest.skip("the shared reference is not here")
    lines = (REFERENCE / "care-management-standards.md").read_text(encoding="utf-8").splitlines()
    for code in codes.codes:
        name, number = code.source.split(":")
        assert name == "care-management-standards.md"
        cited = lines[int(number) - 1]
        assert cited.startswith(f"| {code.code}"), f"{code.code} cites line {number}: {cited}"
        if code.addon_code:
            assert f"+{code.addon_code}" in cited
        assert f"{code.first_minutes} min" in cited


GOOD = """
[[code]]
code = "99490"
program = "ccm"
label = "CCM"
counts = ["clinical-staff"]
first_minutes = 20
addon_code = "99439"
addon_minutes = 20
max_addons = 2
source = "ref.md:1"
"""


@pytest.mark.parametrize(
    ("change", "where", "message"),
    [
        (("first_minutes = 20", "first_minutes = 0"), "code[0] (99490), field 'first_minutes'", "≥ 1"),
        (("first_minutes = 20", 'first_minutes = "20"'), "field 'first_minutes'", "whole number"),
        (('counts = ["clinical-staff"]', 'counts = ["nurse"]'), "field 'counts'", "not a staff role"),
        (('counts = ["clinical-staff"]', "counts = []"), "field 'counts'", "whose time counts"),
        (('addon_code = "99439"\n', ""), "field 'addon_minutes'", "without 'addon_code'"),
        (('source = "ref.md:1"', 'source = "somewhere"'), "field 'source'", "shape"),
        (('code = "99490"', 'code = "9949"'), "field 'code'", "shape"),
        (("max_addons = 2", "max_adons = 2"), "field 'max_adons'", "did you mean 'max_addons'"),
        (('label = "CCM"\n', ""), "field 'label'", "missing field"),
    ],
)
def test_a_codes_file_fault_names_its_place(change: tuple[str, str], where: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        codes_parse(GOOD.replace(*change), source="mine.toml")
    assert caught.value.where is not None
    assert caught.value.where.startswith("mine.toml")
    assert where in caught.value.where
    assert message in caught.value.message


def test_codes_file_faults_of_the_whole() -> None:
    assert codes_parse(GOOD, source="mine.toml").codes[0].max_addons == 2
    with pytest.raises(InvalidInput, match="already defined by code"):
        codes_parse(GOOD + GOOD.replace('"99490"', '"99491"'), source="mine.toml")
    with pytest.raises(InvalidInput, match="not valid TOML"):
        codes_parse("[[code]\n", source="mine.toml")
    with pytest.raises(InvalidInput, match="at least one"):
        codes_parse('title = "x"', source="mine.toml")
    assert codes_parse(DEFAULT_CODES_PATH.read_text(), source="shipped").programs == (
        "ccm",
        "ccm_complex",
        "pcm",
        "bhi",
    )


def test_entries_and_timers() -> None:
    today = date(2025, 6, 10)
    entry_check(minutes=1, on=today, today=today)
    entry_check(minutes=MAX_MINUTES, on=date(2025, 5, 1), today=today)
    for minutes in (0, -5, MAX_MINUTES + 1):
        with pytest.raises(InvalidInput, match="minute"):
            entry_check(minutes=minutes, on=today, today=today)
    with pytest.raises(InvalidInput, match="future"):
        entry_check(minutes=10, on=date(2025, 6, 11), today=today)
    start = datetime(2025, 6, 10, 14, 0, tzinfo=UTC)
    assert timer_minutes(start, start + timedelta(minutes=19, seconds=59)) == 19, "rounded down, never up"
    assert timer_minutes(start, start + timedelta(minutes=1)) == 1
    with pytest.raises(RuleViolation, match="less than a minute"):
        timer_minutes(start, start + timedelta(seconds=59))
    with pytest.raises(RuleViolation, match="CARENAV_FIXED_NOW"):
        timer_minutes(start, start)
    with pytest.raises(RuleViolation, match="left running"):
        timer_minutes(start, start + timedelta(hours=12, minutes=1))
    assert timer_minutes(start, start + timedelta(hours=12)) == 720


def test_months() -> None:
    june = Month.parse("2025-06")
    assert (june.first, june.last, str(june), june.label) == (
        date(2025, 6, 1),
        date(2025, 6, 30),
        "2025-06",
        "June 2025",
    )
    assert Month(2024, 2).last == date(2024, 2, 29)
    assert Month(2025, 12).next() == Month(2026, 1)
    assert Month(2025, 1).previous() == Month(2024, 12)
    assert days_left(june, date(2025, 6, 23)) == 7
    assert days_left(june, date(2025, 6, 30)) == 0
    assert days_left(june, date(2025, 7, 1)) is None
    for bad in ("2025-13", "June", "2025-6"):
        with pytest.raises(InvalidInput):
            Month.parse(bad)
    assert minutes_text(90) == "1 h 30 min"
    assert minutes_text(45) == "45 min"
    assert minutes_text(120) == "2 h"
