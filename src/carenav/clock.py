"""The only reader of the clock. Everything inside is aware UTC.

A deployment for demos, training or tests fixes the clock with ``CARENAV_FIXED_NOW`` (settings): the web
application and every command call ``fix_clock`` with it, and from then on every part of the system reads
that instant. Tests fix it for a block with ``frozen_at``, which wins over a fixed clock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

_frozen: datetime | None = None
_fixed: datetime | None = None


def now() -> datetime:
    """The current instant, aware, in UTC."""
    if _frozen is not None:
        return _frozen
    return _fixed if _fixed is not None else datetime.now(UTC)


def fix_clock(instant: datetime | None) -> None:
    """Fix the process's clock at ``instant`` (None: the real clock again)."""
    global _fixed
    if instant is not None and instant.tzinfo is None:
        raise ValueError("a fixed clock needs an aware datetime")
    _fixed = instant.astimezone(UTC) if instant is not None else None


def today() -> date:
    return now().date()


@contextmanager
def frozen_at(instant: datetime) -> Iterator[None]:
    """Fix the clock for the duration of a block (tests, replays)."""
    global _frozen
    if instant.tzinfo is None:
        raise ValueError("frozen_at needs an aware datetime")
    previous, _frozen = _frozen, instant.astimezone(UTC)
    try:
        yield
    finally:
        _frozen = previous
