"""Long ``IN (...)`` lists, sent in chunks: SQLite refuses a statement with more bound values than its
limit (32,766 in the builds we ship with, 999 in older ones), and a planner does no better with more."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")

IN_LIST_CHUNK = 900
"""Values per ``IN`` list: under the oldest SQLite limit (999), with room for the statement's own."""


def chunks(values: Sequence[T], size: int = IN_LIST_CHUNK) -> Iterator[Sequence[T]]:
    """``values`` in consecutive slices of at most ``size``."""
    for start in range(0, len(values), size):
        yield values[start : start + size]
