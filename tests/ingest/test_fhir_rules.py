"""Pure rules of the FHIR intake: dates, identifier kinds, plan types, coverage collapse."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carenav.ingest.fhir.coverage import CoverageSpan, collapse_spans
from carenav.ingest.fhir.datatypes import ResourceProblem, parse_date, parse_instant
from carenav.ingest.fhir.vocabulary import (
    CARENAV_PLAN_TYPE,
    US_MBI,
    V2_IDENTIFIER_TYPE,
    identifier_kind,
    plan_type,
)
from carenav.patients.rules import IdentifierKind, PlanType

instants = st.datetimes(
    min_value=datetime(1900, 1, 2), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))
offsets = st.integers(min_value=-12 * 60, max_value=13 * 60).map(lambda m: timezone(timedelta(minutes=m)))


@given(instants, offsets)
def test_a_datetime_written_in_any_zone_reads_back_as_the_same_instant(
    instant: datetime, zone: timezone
) -> None:
    text = instant.astimezone(zone).isoformat(timespec="milliseconds")
    assert parse_instant(text, "x") == instant


@given(st.dates(min_value=date(1000, 1, 1), max_value=date(9999, 12, 31)))
def test_partial_dates_mean_their_first_day(day: date) -> None:
    assert parse_date(day.isoformat(), "d") == day
    assert parse_date(day.isoformat()[:7], "d") == day.replace(day=1)
    assert parse_instant(day.isoformat()[:4], "d") == datetime(day.year, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2019-02-30", "is not a valid FHIR date or dateTime"),
        ("2019-13-01T00:00:00Z", "is not a valid FHIR date or dateTime"),
        ("2019-01-01T10:00:00", "has a time but no time zone"),
        ("01/02/2019", "is not a valid FHIR date or dateTime"),
        (20190101, "is not a valid FHIR date or dateTime"),
    ],
)
def test_invalid_dates_are_refused_with_the_reason(text: object, reason: str) -> None:
    with pytest.raises(ResourceProblem, match=reason):
        parse_instant(text, "effectiveDateTime")


def test_identifier_kind_by_system_then_v2_type() -> None:
    assert identifier_kind(US_MBI, []) is IdentifierKind.MBI
    assert identifier_kind("http://hospital.example", [(V2_IDENTIFIER_TYPE, "MR")]) is IdentifierKind.MRN
    assert identifier_kind(None, [(V2_IDENTIFIER_TYPE, "MB")]) is IdentifierKind.MEMBER_ID
    assert identifier_kind(None, [(V2_IDENTIFIER_TYPE, "SN")]) is IdentifierKind.MEMBER_ID
    assert identifier_kind(None, [(V2_IDENTIFIER_TYPE, "DL")]) is IdentifierKind.DRIVERS_LICENSE
    assert identifier_kind(None, [(V2_IDENTIFIER_TYPE, "PPN")]) is IdentifierKind.PASSPORT
    assert identifier_kind("http://x", [("http://other", "MR")]) is IdentifierKind.OTHER


def test_plan_type_prefers_carenav_coding_then_synthea_text_then_source_of_payment() -> None:
    sop = ("https://nahdo.org/sopt", "2")
    assert plan_type([(CARENAV_PLAN_TYPE, "dual"), sop], "private") is PlanType.DUAL
    assert plan_type([sop], "medicare") is PlanType.MEDICARE_FFS
    assert plan_type([sop], None) is PlanType.MEDICAID
    assert plan_type([("https://nahdo.org/sopt", "111")], None) is PlanType.MEDICARE_ADVANTAGE
    assert plan_type([], "no_insurance") is PlanType.UNINSURED
    assert plan_type([], "something else") is PlanType.OTHER


spans = st.builds(
    CoverageSpan,
    patient=st.sampled_from(["p1", "p2"]),
    plan_type=st.sampled_from(["commercial", "medicare_ffs"]),
    payer_name=st.none(),
    start=st.dates(min_value=date(2000, 1, 1), max_value=date(2010, 1, 1)),
    end=st.dates(min_value=date(2010, 1, 2), max_value=date(2020, 1, 1)),
)


@given(st.lists(spans, max_size=30))
def test_coverage_collapses_to_one_row_per_patient_and_plan_spanning_all_periods(
    items: list[CoverageSpan],
) -> None:
    records = collapse_spans(items)
    keys = {(s.patient, s.plan_type) for s in items}
    assert {(r.patient, r.values["plan_type"]) for r in records} == keys
    assert len(records) == len(keys)
    for record in records:
        mine = [s for s in items if (s.patient, s.plan_type) == (record.patient, record.values["plan_type"])]
        assert record.values["period_start"] == min(s.start for s in mine if s.start)
        assert record.values["period_end"] == max(s.end for s in mine if s.end)
