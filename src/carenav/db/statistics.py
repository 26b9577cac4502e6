"""The planner's statistics. Both databases choose how to run a query from what they know of each table's
size and spread; after a large load that knowledge is stale (PostgreSQL's autovacuum catches up in its own
time, and may be off; SQLite keeps none until asked), and a plan chosen for an empty table reads every row
of a full one. A load that wrote many rows refreshes them itself."""

from __future__ import annotations

import time

from sqlalchemy import Engine, text

REFRESH_AFTER_ROWS = 10_000
"""A load that stored at least this many records refreshes the statistics when it has committed."""


def statistics_refresh(engine: Engine) -> float:
    """``ANALYZE`` the whole database (outside any open transaction); the seconds it took."""
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    return time.perf_counter() - started
