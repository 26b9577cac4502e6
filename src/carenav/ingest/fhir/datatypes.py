"""Fast checks and conversions of FHIR R4 datatypes (JSON already parsed by orjson).

Each function takes the raw JSON value and the element's name, and raises ``ResourceProblem`` with a
reason a person can act on. No FHIR model library: these are the few rules our tables depend on.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any, NoReturn

from carenav.errors import InvalidInput

_DATE = re.compile(r"^([0-9]{4})(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?)?$")
_DATETIME = re.compile(
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)"
    r"(\.[0-9]{1,9})?(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))$"
)


CODE_LIMIT = 100
SYSTEM_LIMIT = 200


class ResourceProblem(InvalidInput):
    """What is wrong with one resource; the import driver adds the file, line or entry, type and id."""


def as_object(value: Any, element: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ResourceProblem(f"{element} must be a JSON object, not {type(value).__name__}")
    return value


def as_list(value: Any, element: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ResourceProblem(f"{element} must be a JSON array, not {type(value).__name__}")
    return value


def as_text(value: Any, element: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ResourceProblem(f"{element} must be a string, not {type(value).__name__}")
    return value


def as_bool(value: Any, element: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise ResourceProblem(f"{element} must be true or false, not {value!r}")


def as_number(value: Any, element: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ResourceProblem(f"{element} must be a number, not {value!r}")
    return float(value)


def parse_date(value: Any, element: str) -> date | None:
    """A FHIR ``date`` (YYYY, YYYY-MM or YYYY-MM-DD); a partial date becomes its first day.

    A ``dateTime`` given where a date is expected keeps its calendar date as written."""
    if value is None:
        return None
    if isinstance(value, str) and len(value) > 10 and value[10] == "T":
        if not _DATETIME.match(value):
            _bad_date(value, element)
        instant = datetime.fromisoformat(value)
        return instant.date()
    if not isinstance(value, str) or not _DATE.match(value):
        _bad_date(value, element)
    year = int(value[0:4])
    month = int(value[5:7]) if len(value) >= 7 else 1
    day = int(value[8:10]) if len(value) == 10 else 1
    try:
        return date(year, month, day)
    except ValueError:
        _bad_date(value, element)


def parse_instant(value: Any, element: str) -> datetime | None:
    """A FHIR ``dateTime``/``instant`` as an aware UTC datetime.

    A time needs a zone (FHIR requires one). A date without a time means 00:00 UTC of that day;
    a partial date (YYYY or YYYY-MM) means its first day."""
    if value is None:
        return None
    if isinstance(value, str) and len(value) > 10:
        if not _DATETIME.match(value):
            if _DATETIME.match(value + "Z"):
                raise ResourceProblem(f"{element} {value!r} has a time but no time zone")
            _bad_date(value, element)
        try:
            return datetime.fromisoformat(value).astimezone(UTC)
        except ValueError:
            _bad_date(value, element)
    day = parse_date(value, element)
    assert day is not None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _bad_date(value: Any, element: str) -> NoReturn:
    raise ResourceProblem(f"{element} {value!r} is not a valid FHIR date or dateTime")


def period_bounds(value: Any, element: str) -> tuple[datetime | None, datetime | None]:
    if value is None:
        return None, None
    period = as_object(value, element)
    start = parse_instant(period.get("start"), f"{element}.start")
    end = parse_instant(period.get("end"), f"{element}.end")
    if start is not None and end is not None and end < start:
        raise ResourceProblem(
            f"{element} ends ({period.get('end')}) before it starts ({period.get('start')})"
        )
    return start, end


def codings(concept: Any, element: str) -> list[dict[str, Any]]:
    """The codings of a CodeableConcept as ``{system, code, display}`` dicts (codes must be strings).

    orjson gives exact ``dict``/``list``/``str`` values, so the checks compare classes first and call
    the general helpers only for a value of the wrong kind (which raise with the same messages)."""
    if concept is None:
        return []
    if concept.__class__ is not dict:
        as_object(concept, element)
    listed = concept.get("coding")
    if listed is None:
        return []
    if listed.__class__ is not list:
        as_list(listed, f"{element}.coding")
    found = []
    for number, coding in enumerate(listed):
        if coding.__class__ is not dict:
            as_object(coding, f"{element}.coding[{number}]")
        code = coding.get("code")
        if code is not None:
            if code.__class__ is not str and not isinstance(code, str):
                raise ResourceProblem(f"{element}.coding[{number}].code must be a string, not {code!r}")
            if len(code) > CODE_LIMIT:
                raise ResourceProblem(
                    f"{element}.coding[{number}].code is longer than {CODE_LIMIT} characters"
                )
        system = coding.get("system")
        if system is not None and (not isinstance(system, str) or len(system) > SYSTEM_LIMIT):
            raise ResourceProblem(
                f"{element}.coding[{number}].system must be a URI of at most {SYSTEM_LIMIT} characters"
            )
        display = coding.get("display")
        found.append(
            {"system": system, "code": code, "display": display if isinstance(display, str) else None}
        )
    return found


def first_coding(concept: Any, element: str, prefer: tuple[str, ...] = ()) -> dict[str, Any] | None:
    """The coding of a CodeableConcept in the first preferred system, else its first coding with a code."""
    found = [coding for coding in codings(concept, element) if coding["code"]]
    if not found:
        return None
    for system in prefer:
        for coding in found:
            if coding["system"] == system:
                return coding
    return found[0]


def concept_code(concept: Any, element: str) -> str | None:
    coding = first_coding(concept, element)
    return coding["code"] if coding else None


def concept_text(concept: Any, element: str) -> str | None:
    """What a person reads for a CodeableConcept: its text, else its first coding's display."""
    if concept is None:
        return None
    text = as_object(concept, element).get("text")
    if isinstance(text, str) and text:
        return text
    for coding in codings(concept, element):
        if coding["display"]:
            return str(coding["display"])
    return None


def human_name(name: dict[str, Any]) -> tuple[str | None, str | None, str | None, str | None]:
    """(family, given names, prefixes, suffixes) of a HumanName, lists joined by spaces."""
    given = " ".join(part for part in name.get("given") or () if isinstance(part, str)) or None
    prefix = " ".join(part for part in name.get("prefix") or () if isinstance(part, str)) or None
    suffix = " ".join(part for part in name.get("suffix") or () if isinstance(part, str)) or None
    family = name.get("family")
    if family is None and not given and isinstance(name.get("text"), str):
        return name["text"], None, prefix, suffix
    return (family if isinstance(family, str) else None), given, prefix, suffix


def person_name(resource: dict[str, Any] | None) -> str | None:
    """How a person or organization resource is called: its name's text, else given and family names
    (an Organization's ``name`` as it is)."""
    if resource is None:
        return None
    names = resource.get("name")
    if isinstance(names, str):
        return names
    if isinstance(names, list) and names and isinstance(names[0], dict):
        name = names[0]
        if isinstance(name.get("text"), str):
            return str(name["text"])
        given = " ".join(g for g in name.get("given") or () if isinstance(g, str))
        family = name.get("family")
        return " ".join(part for part in (given, family if isinstance(family, str) else None) if part) or None
    return None


def address_text(address: dict[str, Any]) -> str | None:
    parts = [line for line in address.get("line") or () if isinstance(line, str)]
    city_line = " ".join(
        part for part in (address.get("city"), address.get("state"), address.get("postalCode")) if part
    )
    if city_line:
        parts.append(city_line)
    return "\n".join(parts) or (address.get("text") if isinstance(address.get("text"), str) else None)


def first_telecom(telecoms: Any, system: str) -> str | None:
    for contact in telecoms or ():
        if (
            isinstance(contact, dict)
            and contact.get("system") == system
            and isinstance(contact.get("value"), str)
        ):
            return str(contact["value"])
    return None


def clip(value: str | None, size: int) -> str | None:
    """Text cut to a column's size (display strings only; codes and ids are never cut)."""
    if value is None or len(value) <= size:
        return value
    return value[: size - 1] + "…"
