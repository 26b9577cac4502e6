"""Time tracking as pure rules: activity types, whose time counts, calendar months, the billing codes of the
time-based programs (kept as data in ``billing_codes.toml``) and what a month's minutes bill. Pure: no SQL.

- A **time entry** is a whole number of minutes (1 to 600) of one staff member, in one role (clinical staff,
  or the billing practitioner personally), on one day, for one program. Its month is the calendar month of
  its day; time counts in that month only, and once (an entry names one program).
- The **billing codes** of a program are code families: a base code reached at ``first_minutes`` of the
  month, and an optional add-on code for each further ``addon_minutes``, at most ``max_addons`` times. Only
  the minutes of the roles a family ``counts`` go to it. No code is billable below its threshold; each
  add-on needs its full step (no rounding up: a threshold is never passed with less time).
- A program bills **one family a month** (§5.6 of the reference: 99491 not with 99490; one practitioner
  for PCM): the one with the most units reached (ties: the file's order); others that reached their
  threshold are shown as reached, not billable with it.

See ``docs/time.md``.
"""

from __future__ import annotations

import calendar
import difflib
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

from carenav.errors import InvalidInput, RuleViolation

DEFAULT_CODES_PATH = Path(__file__).with_name("billing_codes.toml")

MIN_MINUTES = 1
MAX_MINUTES = 600
"""An entry is 1 to 600 minutes (ten hours); longer work is several entries."""
TIMER_LIMIT = timedelta(hours=12)
"""A timer running longer than this was left running: it is refused, and the time entered by hand."""
DAY_LIMIT_MINUTES = 24 * 60
"""A staff member's entries of one day, across all patients, cannot exceed the day."""


class StaffRole(StrEnum):
    """Whose time it is, for billing: clinical staff under the practitioner's supervision, or the billing
    practitioner (physician or non-physician practitioner) personally."""

    CLINICAL_STAFF = "clinical-staff"
    BILLING_PRACTITIONER = "billing-practitioner"


STAFF_ROLE_LABELS: Mapping[StaffRole, str] = {
    StaffRole.CLINICAL_STAFF: "clinical staff",
    StaffRole.BILLING_PRACTITIONER: "billing practitioner",
}


class ActivityType(StrEnum):
    """What the time was spent on: the non-face-to-face care-management work programs pay for."""

    PATIENT_CONTACT = "patient-contact"  # a call, video or message with the patient or caregiver
    ASSESSMENT = "assessment"  # functional, psychosocial, symptom review, screening
    CARE_PLANNING = "care-planning"  # establishing, revising, sharing the care plan
    MEDICATION_MANAGEMENT = "medication-management"  # reconciliation, adherence, refills
    CARE_COORDINATION = "care-coordination"  # with providers, pharmacies, home health, payers
    COMMUNITY_RESOURCES = "community-resources"  # referrals to community services
    TRANSITION_FOLLOW_UP = "transition-follow-up"  # after a discharge or an emergency visit
    EDUCATION = "education"  # self-management education
    OTHER = "other"


ACTIVITY_LABELS: Mapping[ActivityType, str] = {
    ActivityType.PATIENT_CONTACT: "Patient or caregiver contact",
    ActivityType.ASSESSMENT: "Assessment",
    ActivityType.CARE_PLANNING: "Care planning",
    ActivityType.MEDICATION_MANAGEMENT: "Medication management",
    ActivityType.CARE_COORDINATION: "Care coordination",
    ActivityType.COMMUNITY_RESOURCES: "Community resources",
    ActivityType.TRANSITION_FOLLOW_UP: "Transition follow-up",
    ActivityType.EDUCATION: "Education",
    ActivityType.OTHER: "Other",
}


class TimeSource(StrEnum):
    TIMER = "timer"
    MANUAL = "manual"


# --- Months ----------------------------------------------------------------------------------------------

_MONTH_SHAPE = re.compile(r"^(\d{4})-(\d{2})$")
_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month: the period time counts in."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12 or not 1 <= self.year <= 9999:
            raise InvalidInput(f"{self.year}-{self.month:02d} is not a month", where="month")

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    @classmethod
    def parse(cls, text: str) -> Month:
        """A month written YYYY-MM; InvalidInput otherwise."""
        match = _MONTH_SHAPE.match(text.strip())
        if match is None:
            raise InvalidInput(f"{text!r} is not a month like 2025-06", where="month")
        return cls(int(match.group(1)), int(match.group(2)))

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def next(self) -> Month:
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def previous(self) -> Month:
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    def contains(self, day: date) -> bool:
        return (day.year, day.month) == (self.year, self.month)

    @property
    def label(self) -> str:
        return f"{_MONTH_NAMES[self.month - 1]} {self.year}"

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def days_left(month: Month, today: date) -> int | None:
    """Calendar days of ``month`` after ``today`` (0 on its last day); None when today is not in it."""
    return (month.last - today).days if month.contains(today) else None


# --- Entries and timers ----------------------------------------------------------------------------------


def entry_check(*, minutes: int, on: date, today: date) -> None:
    """InvalidInput when an entry's minutes or day cannot be: outside 1 to 600 minutes, or a day to come."""
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        raise InvalidInput(f"{minutes!r} is not a whole number of minutes", where="minutes")
    if minutes < MIN_MINUTES:
        raise InvalidInput(f"{minutes} minutes: an entry is at least {MIN_MINUTES} minute", where="minutes")
    if minutes > MAX_MINUTES:
        raise InvalidInput(
            f"{minutes} minutes: an entry is at most {MAX_MINUTES} minutes ({MAX_MINUTES // 60} hours); "
            "enter longer work as several entries",
            where="minutes",
        )
    if on > today:
        raise InvalidInput(
            f"{on.isoformat()} is in the future: time is entered once it is spent", where="date"
        )


def timer_minutes(started_at: datetime, stopped_at: datetime) -> int:
    """The whole minutes a timer ran (rounded down: a minute not completed is not counted, so that a
    threshold is never reached with less time than it needs). RuleViolation when no minute has passed
    (a fixed clock — ``CARENAV_FIXED_NOW`` — never moves), or the timer ran over 12 hours."""
    elapsed = stopped_at - started_at
    if elapsed <= timedelta(0):
        raise RuleViolation(
            "no time has passed on the clock since the timer started (the clock may be fixed, as in a "
            "demonstration with CARENAV_FIXED_NOW): discard the timer and enter the minutes by hand",
            where="timer",
        )
    if elapsed > TIMER_LIMIT:
        hours = int(elapsed.total_seconds() // 3600)
        raise RuleViolation(
            f"the timer has run {hours} hours, more than {int(TIMER_LIMIT.total_seconds() // 3600)}: it was "
            "probably left running; discard it and enter the time spent by hand",
            where="timer",
        )
    minutes = int(elapsed.total_seconds() // 60)
    if minutes < MIN_MINUTES:
        seconds = int(elapsed.total_seconds())
        raise RuleViolation(
            f"the timer has run {seconds} seconds, less than a minute: keep it running, or discard it",
            where="timer",
        )
    return minutes


# --- Billing codes as data -------------------------------------------------------------------------------

_CODE_SHAPE = re.compile(r"^[A-Z0-9]{5}$")
_PROGRAM_SHAPE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_SOURCE_SHAPE = re.compile(r"^[\w./-]+:[1-9]\d*$")


@dataclass(frozen=True)
class BillingCode:
    """A code family: the base code, reached at ``first_minutes`` of a month by the roles it ``counts``,
    and an optional add-on for each further ``addon_minutes``, at most ``max_addons`` times (None: no cap)."""

    code: str
    program: str
    label: str
    counts: frozenset[StaffRole]
    first_minutes: int
    addon_code: str | None = None
    addon_minutes: int | None = None
    max_addons: int | None = None
    source: str = ""

    def thresholds(self, minutes: int) -> tuple[int, ...]:
        """The family's thresholds to show against ``minutes``: all of them when the add-ons are capped
        (20 / 40 / 60 for 99490 and twice 99439); otherwise up to the first one beyond ``minutes``."""
        out = [self.first_minutes]
        if self.addon_minutes is None:
            return tuple(out)
        while len(out) <= (self.max_addons if self.max_addons is not None else len(out)):
            if self.max_addons is None and out[-1] > minutes:
                break
            out.append(out[-1] + self.addon_minutes)
        return tuple(out)

    @property
    def counts_label(self) -> str:
        return " and ".join(STAFF_ROLE_LABELS[r] for r in StaffRole if r in self.counts)


@dataclass(frozen=True)
class BillingCodes:
    title: str
    source: str
    codes: tuple[BillingCode, ...]

    def for_program(self, program: str) -> tuple[BillingCode, ...]:
        return tuple(c for c in self.codes if c.program == program)

    @property
    def programs(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.program for c in self.codes))


def _fail(source: str, index: int | None, code: str | None, field: str | None, message: str) -> InvalidInput:
    parts = [source]
    if index is not None:
        parts.append(f"code[{index}]" + (f" ({code})" if code else ""))
    if field:
        parts.append(f"field {field!r}")
    return InvalidInput(message, where=", ".join(parts))


_FIELDS = {
    "code",
    "program",
    "label",
    "counts",
    "first_minutes",
    "addon_code",
    "addon_minutes",
    "max_addons",
    "source",
}


def _whole(table: Mapping[str, Any], key: str, fail: Any, *, required: bool, least: int) -> int | None:
    if key not in table:
        if required:
            raise fail(key, f"missing field {key!r}")
        return None
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise fail(key, f"{key!r} must be a whole number ≥ {least}, not {value!r}")
    return value


def _text(table: Mapping[str, Any], key: str, fail: Any, shape: re.Pattern[str] | None = None) -> str:
    if key not in table:
        raise fail(key, f"missing field {key!r}")
    value = table[key]
    if not isinstance(value, str) or not value.strip():
        raise fail(key, f"{key!r} must be a non-empty string, not {value!r}")
    if shape is not None and not shape.match(value):
        raise fail(key, f"{value!r} is not the shape of a {key} ({shape.pattern})")
    return value.strip()


def _billing_code(table: object, index: int, source: str) -> BillingCode:
    if not isinstance(table, dict):
        raise _fail(source, index, None, None, "each [[code]] must be a table")
    name = table.get("code") if isinstance(table.get("code"), str) else None

    def fail(field: str | None, message: str) -> InvalidInput:
        return _fail(source, index, name, field, message)

    for key in table:
        if key not in _FIELDS:
            hint = difflib.get_close_matches(key, sorted(_FIELDS), n=1)
            raise fail(key, f"unknown field {key!r}" + (f"; did you mean {hint[0]!r}?" if hint else ""))
    code = _text(table, "code", fail, _CODE_SHAPE)
    program = _text(table, "program", fail, _PROGRAM_SHAPE)
    label = _text(table, "label", fail)
    counts_raw = table.get("counts")
    if not isinstance(counts_raw, list) or not counts_raw:
        raise fail(
            "counts", "'counts' must name whose time counts: clinical-staff and/or billing-practitioner"
        )
    counts: set[StaffRole] = set()
    for role in counts_raw:
        try:
            staff_role = StaffRole(role)
        except ValueError:
            allowed = ", ".join(r.value for r in StaffRole)
            raise fail("counts", f"{role!r} is not a staff role ({allowed})") from None
        if staff_role in counts:
            raise fail("counts", f"{role!r} is listed twice")
        counts.add(staff_role)
    first = _whole(table, "first_minutes", fail, required=True, least=1)
    assert first is not None
    if first > MAX_MINUTES * 31:
        raise fail("first_minutes", f"{first} minutes cannot be documented in one month")
    addon_code = _text(table, "addon_code", fail, _CODE_SHAPE) if "addon_code" in table else None
    addon_minutes = _whole(table, "addon_minutes", fail, required=addon_code is not None, least=1)
    max_addons = _whole(table, "max_addons", fail, required=False, least=1)
    if addon_code is None and (addon_minutes is not None or max_addons is not None):
        field = "addon_minutes" if addon_minutes is not None else "max_addons"
        raise fail(field, f"{field!r} without 'addon_code': name the add-on code, or remove it")
    if addon_code == code:
        raise fail("addon_code", f"the add-on code cannot be the base code {code}")
    src = _text(table, "source", fail, _SOURCE_SHAPE)
    return BillingCode(
        code=code,
        program=program,
        label=label,
        counts=frozenset(counts),
        first_minutes=first,
        addon_code=addon_code,
        addon_minutes=addon_minutes,
        max_addons=max_addons,
        source=src,
    )


def codes_parse(text: bytes | str, *, source: str) -> BillingCodes:
    """Validate a billing-codes file; InvalidInput naming the file, the entry and the field at fault."""
    raw = text.decode("utf-8", errors="strict") if isinstance(text, bytes) else text
    try:
        document = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        raise _fail(source, None, None, None, f"not valid TOML: {exc}") from None
    for key in document:
        if key not in {"title", "code"}:
            raise _fail(source, None, None, key, f"unknown field {key!r}; allowed: code, title")
    title = document.get("title", source)
    if not isinstance(title, str):
        raise _fail(source, None, None, "title", "'title' must be a string")
    entries = document.get("code")
    if not isinstance(entries, list) or not entries:
        raise _fail(source, None, None, "code", "define at least one [[code]]")
    codes = [_billing_code(t, i, source) for i, t in enumerate(entries)]
    seen: dict[str, int] = {}
    for index, entry in enumerate(codes):
        for name in (entry.code, entry.addon_code):
            if name is None:
                continue
            if name in seen:
                raise _fail(
                    source, index, entry.code, "code", f"code {name} is already defined by code[{seen[name]}]"
                )
            seen[name] = index
    return BillingCodes(title=title, source=source, codes=tuple(codes))


def codes_load(path: Path) -> BillingCodes:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read the billing codes: {exc.strerror}", where=str(path)) from None
    try:
        return codes_parse(raw, source=path.name)
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"not UTF-8 text ({exc.reason})", where=path.name) from None


@cache
def default_codes() -> BillingCodes:
    """The shipped codes (``billing_codes.toml``)."""
    return codes_load(DEFAULT_CODES_PATH)


# --- A month's progress ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeProgress:
    """One code family against the minutes of the roles it counts."""

    code: BillingCode
    minutes: int
    addon_units: int  # 0 when the base code is not reached
    next_threshold: int | None  # None: the family's cap is reached, nothing more to bill this month
    thresholds: tuple[int, ...]

    @property
    def reached(self) -> bool:
        return self.minutes >= self.code.first_minutes

    @property
    def units(self) -> int:
        return (1 + self.addon_units) if self.reached else 0

    @property
    def to_next(self) -> int | None:
        return None if self.next_threshold is None else self.next_threshold - self.minutes

    @property
    def billed(self) -> tuple[tuple[str, int], ...]:
        """What this family bills: ((base, 1), (add-on, n)) as reached."""
        if not self.reached:
            return ()
        out: list[tuple[str, int]] = [(self.code.code, 1)]
        if self.addon_units and self.code.addon_code:
            out.append((self.code.addon_code, self.addon_units))
        return tuple(out)

    @property
    def percent(self) -> int:
        """How far along the bar (to the last threshold shown) the minutes are, 0 to 100."""
        top = self.thresholds[-1]
        return min(100, (100 * self.minutes) // top) if top else 100


@dataclass(frozen=True)
class ProgramProgress:
    program: str
    minutes_by_role: Mapping[StaffRole, int]
    lines: tuple[CodeProgress, ...]
    billed_line: CodeProgress | None
    """The family counted as billable this month (None: no threshold reached)."""

    @property
    def total(self) -> int:
        return sum(self.minutes_by_role.values())

    @property
    def billable(self) -> tuple[tuple[str, int], ...]:
        return self.billed_line.billed if self.billed_line else ()

    @property
    def also_reached(self) -> tuple[CodeProgress, ...]:
        """Families that reached their threshold but are not billable with the billed one (§5.6)."""
        return tuple(line for line in self.lines if line.reached and line is not self.billed_line)

    @property
    def uncounted(self) -> int:
        """Minutes of roles no code of the program counts (e.g. practitioner time for general BHI)."""
        counted = {role for line in self.lines for role in line.code.counts}
        return sum(m for role, m in self.minutes_by_role.items() if role not in counted) if self.lines else 0

    @property
    def next_line(self) -> CodeProgress | None:
        """The family whose next threshold matters: the billed one (None once it is capped); before any
        threshold, the one nearest to its first."""
        if self.billed_line is not None:
            return self.billed_line if self.billed_line.next_threshold is not None else None
        open_lines = [line for line in self.lines if line.to_next is not None]
        return min(open_lines, key=lambda line: line.to_next or 0) if open_lines else None

    @property
    def to_next(self) -> int | None:
        line = self.next_line
        return line.to_next if line else None

    @property
    def next_code(self) -> str | None:
        line = self.next_line
        if line is None:
            return None
        return line.code.code if not line.reached else line.code.addon_code


def code_progress(code: BillingCode, minutes_by_role: Mapping[StaffRole, int]) -> CodeProgress:
    minutes = sum(m for role, m in minutes_by_role.items() if role in code.counts)
    if minutes < 0:
        raise ValueError("minutes cannot be negative")
    addons = 0
    if minutes >= code.first_minutes and code.addon_minutes:
        addons = (minutes - code.first_minutes) // code.addon_minutes
        if code.max_addons is not None:
            addons = min(addons, code.max_addons)
    if minutes < code.first_minutes:
        next_threshold: int | None = code.first_minutes
    elif code.addon_minutes is None or (code.max_addons is not None and addons >= code.max_addons):
        next_threshold = None
    else:
        next_threshold = code.first_minutes + (addons + 1) * code.addon_minutes
    return CodeProgress(
        code=code,
        minutes=minutes,
        addon_units=addons,
        next_threshold=next_threshold,
        thresholds=code.thresholds(minutes),
    )


def month_progress(
    minutes_by_role: Mapping[StaffRole, int], program: str, codes: BillingCodes | None = None
) -> ProgramProgress:
    """What one program's minutes of a month bill, and how far the next threshold is."""
    for role, minutes in minutes_by_role.items():
        if minutes < 0:
            raise ValueError(f"negative minutes for {role}")
    codes = codes or default_codes()
    lines = tuple(code_progress(code, minutes_by_role) for code in codes.for_program(program))
    reached = [line for line in lines if line.reached]
    billed = max(reached, key=lambda line: line.units) if reached else None  # max keeps the first of ties
    return ProgramProgress(
        program=program,
        minutes_by_role={role: minutes_by_role.get(role, 0) for role in StaffRole},
        lines=lines,
        billed_line=billed,
    )


def near_threshold(progress: ProgramProgress, within_minutes: int) -> bool:
    """Whether the program's next threshold is at most ``within_minutes`` away (and not yet reached)."""
    to_next = progress.to_next
    return to_next is not None and 0 < to_next <= within_minutes


def minutes_text(minutes: int) -> str:
    """90 -> '1 h 30 min'; 45 -> '45 min'."""
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def codes_text(billed: Sequence[tuple[str, int]]) -> str:
    """(('99490', 1), ('99439', 2)) -> '99490 + 2 x 99439'."""
    return " + ".join(code if units == 1 else f"{units} x {code}" for code, units in billed)
