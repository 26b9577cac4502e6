"""HL7 v2 dates and timestamps (DTM/TS) -> aware UTC instants and dates. Pure.

Accepted: ``YYYYMMDD[HH[MM[SS[.S...]]]][+/-ZZZZ]``. Without an offset the time is read in the
organization's zone (the caller's ``tz``).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo

from carenav.errors import InvalidInput

_TIMESTAMP = re.compile(
    r"^(?P<y>\d{4})(?P<mo>\d{2})(?P<d>\d{2})"
    r"(?:(?P<h>\d{2})(?:(?P<mi>\d{2})(?:(?P<s>\d{2})(?:\.(?P<f>\d{1,6}))?)?)?)?"
    r"(?P<off>[+-]\d{4})?$"
)


def parse_timestamp(value: str, *, tz: tzinfo, where: str) -> datetime | None:
    """The instant ``value`` names, in UTC; None for an empty value. ``where`` names the field (PV1-44)."""
    text = value.strip()
    if not text:
        return None
    match = _TIMESTAMP.match(text)
    if match is None:
        raise InvalidInput(
            f"{text!r} is not an HL7 timestamp (YYYYMMDD[HHMM[SS[.S]]][+ZZZZ])",
            where=where,
        )
    fraction = match["f"] or ""
    try:
        naive = datetime(
            int(match["y"]),
            int(match["mo"]),
            int(match["d"]),
            int(match["h"] or 0),
            int(match["mi"] or 0),
            int(match["s"] or 0),
            int(fraction.ljust(6, "0")) if fraction else 0,
        )
    except ValueError as exc:
        raise InvalidInput(f"{text!r} is not a valid date or time: {exc}", where=where) from None
    offset = match["off"]
    if offset:
        hours, minutes = int(offset[1:3]), int(offset[3:5])
        if hours > 14 or minutes > 59:
            raise InvalidInput(f"{text!r} has an impossible UTC offset {offset}", where=where)
        delta = timedelta(hours=hours, minutes=minutes)
        zone: tzinfo = timezone(-delta if offset[0] == "-" else delta)
    else:
        zone = tz
    return naive.replace(tzinfo=zone).astimezone(UTC)


def parse_date(value: str, *, where: str) -> date | None:
    """The calendar date a DT/TS value starts with, as written (no zone shift); None when empty."""
    text = value.strip()
    if not text:
        return None
    if not _TIMESTAMP.match(text):
        raise InvalidInput(f"{text!r} is not an HL7 date (YYYYMMDD)", where=where)
    try:
        return date(int(text[0:4]), int(text[4:6]), int(text[6:8]))
    except ValueError as exc:
        raise InvalidInput(f"{text!r} is not a valid date: {exc}", where=where) from None
