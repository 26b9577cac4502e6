"""Business days: the US federal holidays as OPM publishes them (observed dates included), weekends, and
counting business days forward, with the rules under hypothesis; a broken calendar file named."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carenav.clock import fix_clock, now
from carenav.errors import InvalidInput
from carenav.settings import Settings
from carenav.workdays import business_calendar, calendar_load

# OPM's federal holiday tables (opm.gov/policy-data-oversight/pay-leave/federal-holidays) for these years.
OPM_2026 = {
    date(2026, 1, 1), date(2026, 1, 19), date(2026, 2, 16), date(2026, 5, 25), date(2026, 6, 19),
    date(2026, 7, 3), date(2026, 9, 7), date(2026, 10, 12), date(2026, 11, 11), date(2026, 11, 26),
    date(2026, 12, 25),
}  # fmt: skip
OPM_2027 = {
    date(2027, 1, 1), date(2027, 1, 18), date(2027, 2, 15), date(2027, 5, 31), date(2027, 6, 18),
    date(2027, 7, 5), date(2027, 9, 6), date(2027, 10, 11), date(2027, 11, 11), date(2027, 11, 25),
    date(2027, 12, 24), date(2027, 12, 31),
}  # fmt: skip
"""2027: Juneteenth and Christmas on a Saturday (observed Friday), Independence Day on a Sunday (Monday), and
New Year's Day 2028 on a Saturday, observed Friday December 31, 2027."""


def test_the_federal_holidays_are_opms() -> None:
    calendar = business_calendar()
    assert set(calendar.observed(2026)) == OPM_2026
    assert set(calendar.observed(2027)) == OPM_2027
    assert date(2020, 6, 19) not in calendar.observed(2020), "Juneteenth is a federal holiday since 2021"


def test_two_business_days_after_a_discharge() -> None:
    calendar = business_calendar()
    assert calendar.add_business_days(date(2026, 11, 25), 2) == date(2026, 11, 30), (
        "Thanksgiving, the weekend"
    )
    assert calendar.add_business_days(date(2026, 7, 2), 2) == date(2026, 7, 7), "July 3 observed, the weekend"
    assert calendar.add_business_days(date(2026, 3, 2), 2) == date(2026, 3, 4)
    assert calendar.business_days_between(date(2026, 11, 25), date(2026, 11, 30)) == 2


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)), st.integers(0, 40))
def test_business_days_counted_forward(start: date, days: int) -> None:
    calendar = business_calendar()
    end = calendar.add_business_days(start, days)
    assert calendar.business_days_between(start, end) == days
    if days:
        assert calendar.is_business_day(end)
        assert end.weekday() < 5
    assert end - start <= timedelta(days=days * 2 + 7), "never more than weekends and a few holidays"


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)), st.integers(-10, 1200))
def test_business_days_between_counts_each_day(start: date, days: int) -> None:
    calendar = business_calendar()
    end = start + timedelta(days=days)
    one_by_one = sum(calendar.is_business_day(start + timedelta(days=n)) for n in range(1, days + 1))
    assert calendar.business_days_between(start, end) == one_by_one


@given(st.integers(1987, 2100))
def test_every_holiday_of_a_year_is_observed_once_on_a_weekday(year: int) -> None:
    observed = business_calendar().observed(year)
    assert all(d.weekday() < 5 for d in observed)
    existing = 11 if year >= 2021 else 10  # Juneteenth since 2021
    new_year_moves_out = date(year, 1, 1).weekday() == 5  # observed December 31 the year before
    new_year_moves_in = date(year + 1, 1, 1).weekday() == 5
    assert len(observed) == existing - new_year_moves_out + new_year_moves_in


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('[[holiday]]\nname = "x"\nmonth = 13\nday = 1\n', "holiday[0]"),
        ('[[holiday]]\nname = "x"\nmonth = 2\nday = 30\n', "holiday[0]"),
        ('[[holiday]]\nname = "x"\nmonth = 2\nweekday = 8\nnth = 1\n', "holiday[0]"),
        ('[[holiday]]\nname = "x"\nmonth = 2\n', "holiday[0]"),
        ('observed_saturday = "monday"\n', "holidays.toml"),
        ("[[holiday\n", "holidays.toml"),
    ],
)
def test_a_broken_calendar_is_named(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "holidays.toml"
    path.write_text(text)
    with pytest.raises(InvalidInput) as refused:
        calendar_load(path)
    assert where in str(refused.value.where)


def test_a_fixed_clock_is_read_everywhere() -> None:
    settings = Settings(fixed_now="2026-03-02T09:00:00-05:00")  # type: ignore[arg-type]
    try:
        fix_clock(settings.fixed_now)
        assert now().isoformat() == "2026-03-02T14:00:00+00:00"
    finally:
        fix_clock(None)
    with pytest.raises(ValueError, match="needs its zone"):
        Settings(fixed_now="2026-03-02T09:00:00")  # type: ignore[arg-type]
