"""The only reader of the clock. Everything inside is aware UTC; tests set a fixed instant."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

_frozen: datetime | None = None


def now() -> datetime:
    """The current instant, aware, in UTC."""
    return _frozen if _frozen is not None else datetime.now(UTC)


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
