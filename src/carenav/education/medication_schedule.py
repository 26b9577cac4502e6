"""A plain-language schedule of the patient's medicines: for each, **what** it is (the name as a patient
reads it), **when** to take it, and **why** (the condition it is for, in everyday words).

"When" comes from the structured dosage when there is one (a FHIR ``Dosage``: dose, frequency and period,
events such as breakfast or bedtime, times of day, days of the week, as needed and what for), from the
dosage text otherwise (prescription shorthand such as ``1 tab PO BID`` spelled out), and says "ask your care
team" when nothing is known: the schedule never guesses. "Why" is the medicine's recorded reason, in the
words of ``plain_terms.toml`` when it has them, and likewise "ask your care team" when none is recorded.

Pure: no SQL. ``dosage_from_fhir`` reads a FHIR R4 ``Dosage`` (as in ``MedicationRequest.dosageInstruction``)
and names the faulty element of a malformed one."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from carenav.errors import InvalidInput

PLAIN_TERMS_PATH = Path(__file__).parent / "plain_terms.toml"
ASK_WHEN = "Ask your care team when to take it"
ASK_WHY = "Ask your care team what it is for"
ON_HOLD = "On hold: do not take it until your care team tells you to start again"

PERIOD_UNITS: Mapping[str, tuple[str, str]] = {
    "s": ("second", "seconds"),
    "min": ("minute", "minutes"),
    "h": ("hour", "hours"),
    "d": ("day", "days"),
    "wk": ("week", "weeks"),
    "mo": ("month", "months"),
    "a": ("year", "years"),
}
EVENTS: Mapping[str, str] = {
    "MORN": "in the morning",
    "MORN.early": "early in the morning",
    "MORN.late": "late in the morning",
    "NOON": "at noon",
    "AFT": "in the afternoon",
    "AFT.early": "early in the afternoon",
    "AFT.late": "late in the afternoon",
    "EVE": "in the evening",
    "EVE.early": "early in the evening",
    "EVE.late": "late in the evening",
    "NIGHT": "at night",
    "PHS": "after you sleep",
    "HS": "at bedtime",
    "WAKE": "when you wake up",
    "C": "with a meal",
    "CM": "with breakfast",
    "CD": "with lunch",
    "CV": "with dinner",
    "AC": "before meals",
    "ACM": "before breakfast",
    "ACD": "before lunch",
    "ACV": "before dinner",
    "PC": "after meals",
    "PCM": "after breakfast",
    "PCD": "after lunch",
    "PCV": "after dinner",
}
"""FHIR event timing (``Timing.repeat.when``: HL7 v3 TimingEvent and FHIR's additions) in plain words."""
WEEKDAYS: Mapping[str, str] = {
    "mon": "Monday",
    "tue": "Tuesday",
    "wed": "Wednesday",
    "thu": "Thursday",
    "fri": "Friday",
    "sat": "Saturday",
    "sun": "Sunday",
}
TIMING_CODES: Mapping[str, str] = {
    "QD": "once a day",
    "BID": "twice a day",
    "TID": "3 times a day",
    "QID": "4 times a day",
    "AM": "in the morning",
    "PM": "in the evening",
    "BED": "at bedtime",
    "QOD": "every other day",
    "Q1H": "every hour",
    "Q2H": "every 2 hours",
    "Q3H": "every 3 hours",
    "Q4H": "every 4 hours",
    "Q6H": "every 6 hours",
    "Q8H": "every 8 hours",
    "WK": "once a week",
    "MO": "once a month",
}
"""FHIR's timing abbreviations (``Timing.code``, GTSAbbreviation) in plain words."""
COUNTED = ("tablet", "capsule", "puff", "spray", "patch", "drop", "injection", "unit", "dose")
UNITS: Mapping[str, str] = {
    "mg": "mg",
    "g": "g",
    "mcg": "mcg",
    "ug": "mcg",
    "ml": "mL",
    "l": "L",
    "u": "unit",
    "[iu]": "unit",
    "iu": "unit",
    "unit": "unit",
    "units": "unit",
    "{tbl}": "tablet",
    "{tablet}": "tablet",
    "tab": "tablet",
    "tablet": "tablet",
    "tablets": "tablet",
    "{capsule}": "capsule",
    "cap": "capsule",
    "capsule": "capsule",
    "capsules": "capsule",
    "{puff}": "puff",
    "puff": "puff",
    "puffs": "puff",
    "{spray}": "spray",
    "spray": "spray",
    "sprays": "spray",
    "[drp]": "drop",
    "drop": "drop",
    "drops": "drop",
    "patch": "patch",
    "{patch}": "patch",
}
_FORMS: Sequence[tuple[str, str]] = (
    (r"\b(tablets?|caplets?|pack)\b", "tablet"),
    (r"\bcapsules?\b", "capsule"),
    (r"\bspray\b", "spray"),
    (r"\bpatch\b", "patch"),
    (r"\b(inhaler|actuat|inhalation)\b", "puff"),
    (r"\b(injection|injectable|syringe|auto-injector|injector)\b", "injection"),
    (r"\b(drops?|ophthalmic|otic)\b", "drop"),
)
_NUMBER_WORDS = {2: "twice"}
_TIME = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])(:[0-5][0-9](\.[0-9]+)?)?$")


@dataclass(frozen=True)
class Timing:
    """When a dose repeats (FHIR ``Timing``): ``frequency`` times (to ``frequency_max``) every ``period``
    (to ``period_max``) ``period_unit``; at events (``when``), times of day, on days of the week; or a
    coded pattern (``code``: BID, Q6H...)."""

    frequency: int | None = None
    frequency_max: int | None = None
    period: float | None = None
    period_max: float | None = None
    period_unit: str | None = None
    when: tuple[str, ...] = ()
    time_of_day: tuple[str, ...] = ()
    day_of_week: tuple[str, ...] = ()
    code: str | None = None

    @property
    def empty(self) -> bool:
        return (
            self.frequency is None
            and self.period is None
            and not self.when
            and not self.time_of_day
            and not self.day_of_week
            and self.code is None
        )


@dataclass(frozen=True)
class Dose:
    """How much per dose: ``low`` (to ``high`` for a range) of ``unit`` (None: a count of the medicine's
    form, a tablet or a puff)."""

    low: float
    high: float | None = None
    unit: str | None = None


@dataclass(frozen=True)
class Dosage:
    text: str | None = None
    timing: Timing | None = None
    dose: Dose | None = None
    as_needed: bool | None = None
    as_needed_for: str | None = None


@dataclass(frozen=True)
class MedicineFacts:
    """What the record says of one medicine: its name (an RxNorm display), code, status, when it was
    ordered, its dosage, and its reason (code and display)."""

    name: str | None
    code: str | None = None
    status: str = "active"
    authored_at: datetime | None = None
    dosage: Dosage = Dosage()
    reason_code: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class ScheduleRow:
    what: str
    when: str
    why: str
    when_known: bool
    why_known: bool
    as_needed: bool = False
    on_hold: bool = False


# --- reading a FHIR Dosage -------------------------------------------------------------------------


def dosage_from_fhir(raw: object, where: str = "dosageInstruction[0]") -> Dosage:
    """A FHIR R4 ``Dosage``; InvalidInput naming the element (``dosageInstruction[0].timing.repeat.period``)
    of a malformed one."""
    dosage = _object(raw, where)
    text = dosage.get("text")
    if text is not None and not isinstance(text, str):
        raise InvalidInput("is not text", where=f"{where}.text")
    as_needed: bool | None = None
    as_needed_for = None
    if "asNeededBoolean" in dosage:
        flag = dosage["asNeededBoolean"]
        if not isinstance(flag, bool):
            raise InvalidInput("is not true or false", where=f"{where}.asNeededBoolean")
        as_needed = flag
    if "asNeededCodeableConcept" in dosage:
        as_needed = True
        as_needed_for = _concept_text(dosage["asNeededCodeableConcept"], f"{where}.asNeededCodeableConcept")
    timing = None
    if "timing" in dosage:
        timing = _timing(_object(dosage["timing"], f"{where}.timing"), f"{where}.timing")
    dose = None
    rates = dosage.get("doseAndRate", [])
    if not isinstance(rates, list):
        raise InvalidInput("is not a list", where=f"{where}.doseAndRate")
    if rates:
        dose = _dose(_object(rates[0], f"{where}.doseAndRate[0]"), f"{where}.doseAndRate[0]")
    return Dosage(
        text=text.strip() if isinstance(text, str) and text.strip() else None,
        timing=timing if timing is not None and not timing.empty else None,
        dose=dose,
        as_needed=as_needed,
        as_needed_for=as_needed_for,
    )


def _timing(timing: Mapping[str, Any], where: str) -> Timing:
    code = None
    if "code" in timing:
        concept = _object(timing["code"], f"{where}.code")
        codings = concept.get("coding", [])
        if not isinstance(codings, list):
            raise InvalidInput("is not a list", where=f"{where}.code.coding")
        for coding in codings:
            value = _object(coding, f"{where}.code.coding").get("code")
            if isinstance(value, str) and value.upper() in TIMING_CODES:
                code = value.upper()
    repeat = _object(timing.get("repeat", {}), f"{where}.repeat")
    at = f"{where}.repeat"
    unit = repeat.get("periodUnit")
    if unit is not None and unit not in PERIOD_UNITS:
        raise InvalidInput(f"{unit!r} is not one of {', '.join(PERIOD_UNITS)}", where=f"{at}.periodUnit")
    period = _positive(repeat.get("period"), f"{at}.period")
    if period is not None and unit is None:
        raise InvalidInput("a period needs its unit (periodUnit)", where=f"{at}.period")
    when = _codes(repeat.get("when", []), f"{at}.when")
    for event in when:
        if event not in EVENTS:
            raise InvalidInput(f"{event!r} is not an event code (MORN, HS, CM...)", where=f"{at}.when")
    times = _codes(repeat.get("timeOfDay", []), f"{at}.timeOfDay")
    for time in times:
        if not _TIME.match(time):
            raise InvalidInput(f"{time!r} is not a time like 08:00:00", where=f"{at}.timeOfDay")
    days = _codes(repeat.get("dayOfWeek", []), f"{at}.dayOfWeek")
    for day in days:
        if day not in WEEKDAYS:
            raise InvalidInput(f"{day!r} is not a day (mon to sun)", where=f"{at}.dayOfWeek")
    frequency = _count(repeat.get("frequency"), f"{at}.frequency")
    frequency_max = _count(repeat.get("frequencyMax"), f"{at}.frequencyMax")
    period_max = _positive(repeat.get("periodMax"), f"{at}.periodMax")
    if frequency_max is not None and (frequency is None or frequency_max < frequency):
        raise InvalidInput("is below frequency, or there is no frequency", where=f"{at}.frequencyMax")
    if period_max is not None and (period is None or period_max < period):
        raise InvalidInput("is below period, or there is no period", where=f"{at}.periodMax")
    return Timing(
        frequency=frequency,
        frequency_max=frequency_max,
        period=period,
        period_max=period_max,
        period_unit=unit if period is not None else None,
        when=when,
        time_of_day=times,
        day_of_week=days,
        code=code,
    )


def _dose(rate: Mapping[str, Any], where: str) -> Dose | None:
    if "doseQuantity" in rate:
        quantity = _object(rate["doseQuantity"], f"{where}.doseQuantity")
        value = _positive(quantity.get("value"), f"{where}.doseQuantity.value")
        if value is None:
            return None
        return Dose(value, unit=_unit(quantity))
    if "doseRange" in rate:
        span = _object(rate["doseRange"], f"{where}.doseRange")
        low = _object(span.get("low", {}), f"{where}.doseRange.low")
        high = _object(span.get("high", {}), f"{where}.doseRange.high")
        low_value = _positive(low.get("value"), f"{where}.doseRange.low.value")
        high_value = _positive(high.get("value"), f"{where}.doseRange.high.value")
        if low_value is None:
            return None
        if high_value is not None and high_value < low_value:
            raise InvalidInput("the high dose is below the low one", where=f"{where}.doseRange")
        return Dose(low_value, high_value, _unit(low) or _unit(high))
    return None


def _unit(quantity: Mapping[str, Any]) -> str | None:
    for key in ("unit", "code"):
        value = quantity.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _object(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput("is not an object", where=where)
    return value


def _codes(values: object, where: str) -> tuple[str, ...]:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise InvalidInput("is not a list of codes", where=where)
    return tuple(values)


def _count(value: object, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(f"{value!r} is not a whole number of 1 or more", where=where)
    return value


def _positive(value: object, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise InvalidInput(f"{value!r} is not a number above 0", where=where)
    return float(value)


def _concept_text(value: object, where: str) -> str | None:
    concept = _object(value, where)
    text = concept.get("text")
    if isinstance(text, str) and text.strip():
        return text.strip()
    codings = concept.get("coding", [])
    if isinstance(codings, list):
        for coding in codings:
            if isinstance(coding, dict) and isinstance(coding.get("display"), str):
                return str(coding["display"]).strip() or None
    return None


# --- plain words -----------------------------------------------------------------------------------


def medicine_words(name: str | None, code: str | None = None) -> str:
    """A medicine's name as a patient reads it: ``24 HR metoprolol succinate 100 MG Extended Release Oral
    Tablet [Toprol]`` -> ``Metoprolol succinate 100 mg extended-release tablet (Toprol)``."""
    if not name or not name.strip():
        return f"A medicine with no name on record (RxNorm {code})" if code else "A medicine with no name"
    text = " ".join(name.split())
    brands = re.findall(r"\[([^\]]+)\]", text)
    text = re.sub(r"\s*\[[^\]]+\]\s*", " ", text).strip()
    text = re.sub(r"^NDA\d+\s+", "", text)
    text = re.sub(r"^\d+(\.\d+)?\s*(HR|ML|ACTUAT)\s+", "", text)
    text = re.sub(
        r"\b([a-z]+[A-Z]{2,}[A-Za-z]*|[A-Z]{2,}[a-z]+[A-Za-z]*)\b", lambda m: m.group(1).lower(), text
    )
    replacements = (
        (r"\bMG\b", "mg"),
        (r"\bMCG\b", "mcg"),
        (r"\bML\b", "mL"),
        (r"\bUNT\b", "units"),
        (r"/ACTUAT\b", " per spray" if re.search(r"\bspray\b", text, re.IGNORECASE) else " per puff"),
        (r"\bMEQ\b", "mEq"),
        (r"(\d)(mg|mcg|ml)\b", r"\1 \2"),
        (r"\bExtended Release\b", "extended-release"),
        (r"\bDelayed Release\b", "delayed-release"),
        (r"\bOral Tablet\b", "tablet"),
        (r"\bChewable Tablet\b", "chewable tablet"),
        (r"\bOral Capsule\b", "capsule"),
        (r"\bOral Solution\b", "liquid"),
        (r"\bOral Suspension\b", "liquid"),
        (r"\bInjectable (Solution|Suspension)\b", "injection"),
        (r"\bInjection\b", "injection"),
        (r"\bPrefilled Syringe\b", "prefilled syringe"),
        (r"\bAuto-Injector\b", "auto-injector"),
        (r"\s*\bMucosal Spray\b", " (mouth spray)"),
        (r"\s*\bNasal Spray\b", " (nose spray)"),
        (r"\s*\bDry Powder Inhaler\b", " (powder inhaler)"),
        (r"\s*\bMetered Dose Inhaler\b", " (inhaler)"),
        (r"\bTopical Cream\b", "skin cream"),
        (r"\bTopical Ointment\b", "skin ointment"),
        (r"\bTransdermal\b", "skin"),
        (r"\b(Oral )?Tablet\b", "tablet"),
        (r"\s/\s", " and "),
    )
    for pattern, words in replacements:
        text = re.sub(pattern, words, text)
    text = re.sub(r"\s+", " ", text).strip()
    first, _, rest = text.partition(" ")
    rest = re.sub(r"\b([A-Z][a-z]{2,})\b", lambda m: m.group(1).lower(), rest)
    text = f"{first} {rest}".strip()
    if brands:
        text += f" ({', '.join(b.strip() for b in brands)})"
    return text[:1].upper() + text[1:]


def dose_form(name: str | None) -> str | None:
    """What one dose of the medicine is counted in, from its name: tablet, capsule, puff, spray..."""
    if not name:
        return None
    lowered = name.lower()
    for pattern, form in _FORMS:
        if re.search(pattern, lowered):
            return form
    return None


def dose_words(dose: Dose | None, form: str | None) -> str | None:
    """``1 tablet``, ``half a tablet``, ``1 to 2 puffs``, ``10 units``, ``5 mL``; None without a dose."""
    if dose is None:
        return None
    unit = UNITS.get((dose.unit or "").lower(), dose.unit) if dose.unit else (form or "dose")
    counted = unit in COUNTED
    if dose.high is not None and dose.high != dose.low:
        return f"{_number(dose.low)} to {_number(dose.high)} {_plural(unit, dose.high) if counted else unit}"
    if counted and dose.low == 0.5:
        return f"half a {unit}"
    if counted and dose.low % 1 == 0.5:
        return f"{int(dose.low)} and a half {_plural(unit, 2)}"
    return f"{_number(dose.low)} {_plural(unit, dose.low) if counted else unit}"


def _plural(noun: str, count: float) -> str:
    if count == 1:
        return noun
    return noun + ("es" if noun.endswith(("ch", "sh", "s", "x")) else "s")


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


def how_often(timing: Timing) -> str | None:
    """The frequency over the period in words: ``once a day``, ``twice a day``, ``every 6 hours``,
    ``every 4 to 6 hours``, ``every other day``, ``3 times a week``; None without a period."""
    if timing.period is None or timing.period_unit is None:
        return TIMING_CODES.get(timing.code or "") if not timing.when and not timing.time_of_day else None
    one, many = PERIOD_UNITS[timing.period_unit]
    period, period_max = timing.period, timing.period_max
    if timing.period_unit == "d" and period == 7 and period_max is None:
        one, many, period = "week", "weeks", 1.0
    frequency = timing.frequency or 1
    if frequency == 1 and timing.frequency_max in (None, 1):
        if period_max is not None and period_max != period:
            return f"every {_number(period)} to {_number(period_max)} {many}"
        if period == 1:
            return (
                f"every {one}" if timing.period_unit in ("s", "min", "h") else f"once {_article(one)} {one}"
            )
        if period == 2 and timing.period_unit in ("d", "wk", "mo"):
            return f"every other {one}"
        return f"every {_number(period)} {many}"
    times = _NUMBER_WORDS.get(frequency, f"{frequency} times")
    if timing.frequency_max is not None and timing.frequency_max != frequency:
        times = f"{frequency} to {timing.frequency_max} times"
    if period == 1 and period_max is None:
        return f"{times} {_article(one)} {one}"
    span = f"{_number(period)} to {_number(period_max)}" if period_max else _number(period)
    return f"{times} every {span} {many}"


def _article(noun: str) -> str:
    return "an" if noun[0] in "aeiou" or noun == "hour" else "a"


def _clock(time: str) -> str:
    match = _TIME.match(time)
    if match is None:
        return time
    hour, minute = int(match.group(1)), int(match.group(2))
    if (hour, minute) == (12, 0):
        return "at noon"
    if (hour, minute) == (0, 0):
        return "at midnight"
    suffix = "am" if hour < 12 else "pm"
    shown = hour % 12 or 12
    return f"at {shown}{f':{minute:02d}' if minute else ''} {suffix}"


def _join(parts: Sequence[str]) -> str:
    if len(parts) <= 2:
        return " and ".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _days(days: Sequence[str]) -> str:
    return "on " + _join([WEEKDAYS[d] + "s" for d in days]) if days else ""


def timing_words(timing: Timing, dose: str | None) -> str | None:
    """The structured timing in words, with the dose: ``1 tablet in the morning and 1 at bedtime``,
    ``2 puffs twice a day``, ``1 tablet every 6 hours``; None when the timing says nothing usable."""
    moments = [EVENTS[w] for w in timing.when] + [_clock(t) for t in timing.time_of_day]
    days = _days(timing.day_of_week)
    daily = timing.period_unit in (None, "d") and timing.period in (None, 1.0) and timing.period_max is None
    if moments and daily and timing.frequency in (None, len(moments)) and timing.frequency_max is None:
        count = dose.split(" ")[0] if dose and dose[0].isdigit() else None
        if dose and count:
            parts = [f"{dose} {moments[0]}"] + [f"{count} {m}" for m in moments[1:]]
        elif dose:
            parts = [f"{dose} {moments[0]}", *moments[1:]]
        else:
            parts = list(moments)
        return " ".join(p for p in (_join(parts), days) if p)
    often = how_often(timing)
    if often is None and not moments and not days:
        return None
    pieces = [dose or "", often or "", _join(moments), days]
    return " ".join(p for p in pieces if p)


_SIG: Sequence[tuple[str, str]] = (
    (r"q\.?\s?(\d+)\s?(?:-|to)\s?(\d+)\s?h(?:rs?|ours?)?", r"every \1 to \2 hours"),
    (r"q\.?\s?(\d+)\s?h(?:rs?|ours?)?", r"every \1 hours"),
    (r"q\.?\s?(\d+)\s?d(?:ays?)?", r"every \1 days"),
    (r"q\.?\s?(\d+)\s?min(?:utes?)?", r"every \1 minutes"),
    (r"b\.?i\.?d\.?", "twice a day"),
    (r"t\.?i\.?d\.?", "3 times a day"),
    (r"q\.?i\.?d\.?", "4 times a day"),
    (r"q\.?h\.?s\.?", "at bedtime"),
    (r"h\.?s\.?", "at bedtime"),
    (r"q\.?a\.?m\.?", "every morning"),
    (r"q\.?p\.?m\.?", "every evening"),
    (r"q\.?o\.?d\.?", "every other day"),
    (r"q\.?d\.?", "once a day"),
    (r"q\.?w(?:k)?\.?", "once a week"),
    (r"once daily", "once a day"),
    (r"twice daily", "twice a day"),
    (r"(\d+) times daily", r"\1 times a day"),
    (r"daily", "every day"),
    (r"weekly", "once a week"),
    (r"p\.?r\.?n\.?", "when needed"),
    (r"as needed", "when needed"),
    (r"p\.?o\.?", "by mouth"),
    (r"s\.?l\.?", "under the tongue"),
    (r"(?:subq|subcut|s\.?q\.?)", "under the skin"),
    (r"a\.?c\.?", "before meals"),
    (r"p\.?c\.?", "after meals"),
    (r"tabs", "tablets"),
    (r"tab", "tablet"),
    (r"caps", "capsules"),
    (r"cap", "capsule"),
    (r"gtts?", "drops"),
    (r"inh", "inhaled"),
    (r"ml", "mL"),
)
_VAGUE = re.compile(
    r"^(take |use )?(as directed|ud|as dir\.?)( by (your )?(doctor|physician|prescriber))?\.?$"
)


def sig_words(text: str) -> str | None:
    """Dosage text with prescription shorthand spelled out (``1 tab PO BID prn pain`` -> ``1 tablet by
    mouth twice a day when needed pain``); None when it says nothing (``as directed``)."""
    words = " ".join(text.split())
    if not words or _VAGUE.match(words.lower()):
        return None
    for pattern, plain in _SIG:
        words = re.sub(rf"(?<![A-Za-z0-9]){pattern}(?![A-Za-z])", plain, words, flags=re.IGNORECASE)
    words = re.sub(r"\bwhen needed\s+(?!for\b|and\b|or\b|to\b|with\b)(?=[a-z])", "when needed for ", words)
    words = re.sub(r"\bevery 1 hours\b", "every hour", words)
    words = re.sub(r"\bevery 1 days\b", "every day", words)
    return words[:1].upper() + words[1:]


def when_words(dosage: Dosage, form: str | None) -> tuple[str, bool]:
    """When to take it, and whether that is known (False: the words ask the care team)."""
    dose = dose_words(dosage.dose, form)
    needed = dosage.as_needed is True
    for_what = f" for {dosage.as_needed_for.lower()}" if dosage.as_needed_for else ""
    if dosage.timing is not None:
        words = timing_words(dosage.timing, dose)
        if words:
            if needed:
                words += f", only when needed{for_what}"
            return _capital(words), True
    if dosage.text:
        words = sig_words(dosage.text)
        if words:
            return words, True
        return "As directed: ask your care team how and when to take it", False
    if needed:
        return _capital(f"{dose + ' ' if dose else ''}only when needed{for_what}"), True
    if dosage.as_needed is False:
        return "Regularly, not only when needed: ask your care team what times", False
    return ASK_WHEN, False


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


@cache
def _plain_terms() -> tuple[Mapping[str, str], Mapping[str, str], Mapping[str, str]]:
    where = str(PLAIN_TERMS_PATH)
    try:
        document = tomllib.loads(PLAIN_TERMS_PATH.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"not a readable TOML file ({exc})", where=where) from exc
    tables = []
    for key in ("snomed", "icd10cm", "display"):
        table = document.get(key, {})
        if not isinstance(table, dict) or not all(isinstance(v, str) and v.strip() for v in table.values()):
            raise InvalidInput(f"[{key}] must map codes to non-empty words", where=f"{where}: {key}")
        tables.append({str(k).lower() if key == "display" else str(k): v.strip() for k, v in table.items()})
    return tables[0], tables[1], tables[2]


def reason_words(code: str | None, display: str | None) -> str | None:
    """The condition a medicine is for, in everyday words (``38341003`` or ``Hypertension`` -> ``high
    blood pressure``); the recorded display without its SNOMED tag otherwise; None when nothing is known."""
    snomed, icd10cm, displays = _plain_terms()
    if code:
        bare = code.strip()
        if bare in snomed:
            return snomed[bare]
        compact = bare.replace(".", "").upper()
        for length in range(len(compact), 2, -1):
            if compact[:length] in icd10cm:
                return icd10cm[compact[:length]]
    if display and display.strip():
        cleaned = re.sub(
            r"\s*\((disorder|finding|situation|morphologic abnormality|event)\)\s*$", "", display
        )
        cleaned = " ".join(cleaned.split())
        return displays.get(cleaned.lower(), cleaned)
    return None


# --- the schedule ----------------------------------------------------------------------------------


def schedule_row(facts: MedicineFacts) -> ScheduleRow:
    what = medicine_words(facts.name, facts.code)
    reason = reason_words(facts.reason_code, facts.reason)
    why = _capital(reason) if reason else ASK_WHY
    if facts.status == "on-hold":
        return ScheduleRow(what, ON_HOLD, why, True, reason is not None, on_hold=True)
    when, known = when_words(facts.dosage, dose_form(facts.name))
    return ScheduleRow(what, when, why, known, reason is not None, as_needed=facts.dosage.as_needed is True)


def medication_schedule(medicines: Iterable[MedicineFacts]) -> list[ScheduleRow]:
    """One row per medicine (the latest order of a medicine ordered more than once), those taken
    regularly first, then those taken when needed, then those on hold, each by name."""
    latest: dict[str, MedicineFacts] = {}
    for facts in medicines:
        if facts.status not in ("active", "on-hold"):
            continue
        key = facts.code or (facts.name or "").lower()
        held = latest.get(key)
        if held is None or _order(facts) > _order(held):
            latest[key] = facts
    rows = [schedule_row(f) for f in latest.values()]
    return sorted(rows, key=lambda r: (r.on_hold, r.as_needed, r.what.lower()))


def _order(facts: MedicineFacts) -> tuple[bool, float]:
    return (facts.authored_at is not None, facts.authored_at.timestamp() if facts.authored_at else 0.0)
