"""Business days: weekdays that are not holidays of the calendar kept as data (``holidays.toml``: the US
federal holidays and the rule for one on a weekend). Deadlines counted in business days — the two business
days after a discharge for the transition-of-care contact, ten business days of an unable-to-reach protocol —
are counted here. Pure: no SQL, no HTTP."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from carenav.datafiles import toml_read
from carenav.errors import InvalidInput

HOLIDAYS_PATH = Path(__file__).with_name("holidays.toml")
MONDAY, FRIDAY, SATURDAY, SUNDAY = 0, 4, 5, 6


@dataclass(frozen=True)
class Holiday:
    name: str
    month: int
    day: int | None = None
    weekday: int | None = None  # 1 Monday .. 7 Sunday
    nth: int | None = None  # 1..4, or -1: the last
    since: int | None = None

    def on(self, year: int) -> date | None:
        """The holiday's own date in ``year`` (before weekend observance), or None before it existed."""
        if self.since is not None and year < self.since:
            return None
        if self.day is not None:
            return date(year, self.month, self.day)
        weekday, nth = self.weekday or 1, self.nth or 1  # calendar_load gives both to a weekday rule
        if nth > 0:
            first = date(year, self.month, 1)
            offset = (weekday - 1 - first.weekday()) % 7
            return first + timedelta(days=offset + 7 * (nth - 1))
        last = (date(year + self.month // 12, self.month % 12 + 1, 1)) - timedelta(days=1)
        return last - timedelta(days=(last.weekday() - (weekday - 1)) % 7)


@dataclass(frozen=True)
class BusinessCalendar:
    holidays: tuple[Holiday, ...]
    saturday_rule: str = "friday-before"
    sunday_rule: str = "monday-after"
    _years: dict[int, Mapping[date, str]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )
    """The observed days off of each year asked about, worked out once (the calendar never changes)."""

    def observed(self, year: int) -> Mapping[date, str]:
        """The days off observed in ``year`` (a weekend holiday moved by the rules), by date."""
        known = self._years.get(year)
        if known is None:
            known = self._years[year] = MappingProxyType(self._observed(year))
        return known

    def _observed(self, year: int) -> dict[date, str]:
        out: dict[date, str] = {}
        for check_year in (year - 1, year, year + 1):  # New Year's Day on a Saturday is observed Dec 31
            for holiday in self.holidays:
                actual = holiday.on(check_year)
                if actual is None:
                    continue
                day = self._moved(actual)
                if day.year == year:
                    out[day] = holiday.name
        return out

    def _moved(self, day: date) -> date:
        if day.weekday() == SATURDAY:
            return day - timedelta(days=1) if self.saturday_rule == "friday-before" else day
        if day.weekday() == SUNDAY:
            return day + timedelta(days=1) if self.sunday_rule == "monday-after" else day
        return day

    def is_business_day(self, day: date) -> bool:
        return day.weekday() < SATURDAY and day not in self.observed(day.year)

    def add_business_days(self, start: date, days: int) -> date:
        """The ``days``-th business day after ``start`` (``start`` itself does not count)."""
        if days < 0:
            raise ValueError("count business days forward")
        day = start
        left = days
        while left:
            day += timedelta(days=1)
            if self.is_business_day(day):
                left -= 1
        return day

    def business_days_between(self, start: date, end: date) -> int:
        """How many business days come after ``start`` up to and including ``end`` (0 when end <= start):
        the weekdays of the span, whole weeks counted at once, less the days off observed within it."""
        if end <= start:
            return 0
        weeks, rest = divmod((end - start).days, 7)
        count = 5 * weeks
        day = start + timedelta(days=7 * weeks)
        for _ in range(rest):
            day += timedelta(days=1)
            count += day.weekday() < SATURDAY
        for year in range(start.year, end.year + 1):
            count -= sum(1 for off in self.observed(year) if start < off <= end and off.weekday() < SATURDAY)
        return count


RULES = {"saturday": ("friday-before", "none"), "sunday": ("monday-after", "none")}


def calendar_load(path: Path) -> BusinessCalendar:
    """A calendar from its TOML file; InvalidInput naming the file and the entry at fault."""
    document = toml_read(path)
    saturday = str(document.get("observed_saturday", "friday-before"))
    sunday = str(document.get("observed_sunday", "monday-after"))
    if saturday not in RULES["saturday"] or sunday not in RULES["sunday"]:
        raise InvalidInput(
            "observed_saturday is friday-before or none, observed_sunday monday-after or none",
            where=str(path),
        )
    holidays = tuple(
        _holiday(raw, f"{path.name}: holiday[{n}]") for n, raw in enumerate(document.get("holiday", []))
    )
    return BusinessCalendar(holidays, saturday, sunday)


def _holiday(raw: Mapping[str, Any], where: str) -> Holiday:
    name, month = raw.get("name"), raw.get("month")
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("a holiday needs its name", where=where)
    if not isinstance(month, int) or not 1 <= month <= 12:
        raise InvalidInput(f"month {month!r} is not 1 to 12", where=where)
    day, weekday, nth, since = raw.get("day"), raw.get("weekday"), raw.get("nth"), raw.get("since")
    if (day is None) == (weekday is None):
        raise InvalidInput("give either day, or weekday and nth", where=where)
    if day is not None:
        try:
            date(2000, month, int(day))  # a leap year: February 29 is a date
        except (TypeError, ValueError):
            raise InvalidInput(f"day {day!r} is not a day of month {month}", where=where) from None
    elif not (isinstance(weekday, int) and 1 <= weekday <= 7 and nth in (1, 2, 3, 4, -1)):
        raise InvalidInput("weekday is 1 (Monday) to 7, nth is 1 to 4 or -1 (the last)", where=where)
    if since is not None and not isinstance(since, int):
        raise InvalidInput(f"since {since!r} is not a year", where=where)
    return Holiday(name.strip(), month, day, weekday, nth, since)


@cache
def business_calendar() -> BusinessCalendar:
    """The shipped calendar (``holidays.toml``)."""
    return calendar_load(HOLIDAYS_PATH)
