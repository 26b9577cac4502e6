"""The record writer's shortcuts give exactly what the slower standard paths give."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite

from carenav.db.types import UTCDateTime
from carenav.patients.identity import RECORD_NAMESPACE, record_uuid
from carenav.patients.services import _aware_instant, _sqlite_instant

SQLITE_UTC_DATETIME = UTCDateTime().dialect_impl(sqlite.dialect()).bind_processor(sqlite.dialect())


@given(st.text(), st.text(), st.sampled_from(["Patient", "Observation"]), st.text())
def test_record_uuid_is_uuid5_over_the_name(org: str, source: str, rtype: str, source_id: str) -> None:
    expected = uuid.uuid5(RECORD_NAMESPACE, f"{org}|{source}|{rtype}|{source_id}")
    assert record_uuid(org_uuid=org, source_system=source, resource_type=rtype, source_id=source_id) == str(
        expected
    )


@given(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    st.integers(min_value=-14 * 60, max_value=14 * 60),
)
def test_sqlite_instants_bind_as_utc_datetime_binds_them(moment: datetime, offset_minutes: int) -> None:
    assert SQLITE_UTC_DATETIME is not None
    aware = moment.replace(tzinfo=timezone(timedelta(minutes=offset_minutes)))
    assert _sqlite_instant(aware) == SQLITE_UTC_DATETIME(aware)
    in_utc = moment.replace(tzinfo=UTC)
    assert _sqlite_instant(in_utc) == SQLITE_UTC_DATETIME(in_utc)


def test_naive_instants_are_refused_on_both_databases() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        _sqlite_instant(datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="naive datetime"):
        _aware_instant(datetime(2024, 1, 1))
