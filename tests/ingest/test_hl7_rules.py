"""Pure rules of the ADT feed and of patient matching: unit and property tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carenav.feeds.rules import (
    AckCode,
    Event,
    MessageStatus,
    ack_code_for,
    assigning_system,
    encounter_class_for,
    encounter_status_after,
    identifier_matches_patients,
    is_stale,
    plan_type_for,
    unsupported_reason,
)
from carenav.patients.matching import identifiers_conflict, names_agree
from carenav.patients.rules import EncounterStatus

statuses = st.sampled_from([None, *[s.value for s in EncounterStatus]])
instants = st.none() | st.datetimes(timezones=st.just(UTC))


@given(statuses, st.booleans())
def test_a08_never_infers_a_status(current: str | None, discharged: bool) -> None:
    assert encounter_status_after(Event.UPDATE, current, discharged=discharged) is None


@given(statuses, st.booleans())
def test_cancellations_and_discharge_always_set_their_status(current: str | None, discharged: bool) -> None:
    assert encounter_status_after(Event.CANCEL_ADMIT, current, discharged=discharged) == "cancelled"
    assert encounter_status_after(Event.CANCEL_DISCHARGE, current, discharged=discharged) == "in-progress"
    assert encounter_status_after(Event.DISCHARGE, current, discharged=discharged) == "finished"


def test_admit_register_and_transfer() -> None:
    assert encounter_status_after(Event.ADMIT, None, discharged=False) == "in-progress"
    assert encounter_status_after(Event.ADMIT, None, discharged=True) == "finished"
    assert encounter_status_after(Event.REGISTER, None, discharged=False) == "planned"
    assert encounter_status_after(Event.TRANSFER, "planned", discharged=False) == "in-progress"
    assert encounter_status_after(Event.TRANSFER, "finished", discharged=False) is None


@pytest.mark.parametrize(
    ("patient_class", "event", "expected"),
    [
        ("I", Event.ADMIT, "IMP"),
        ("E", Event.REGISTER, "EMER"),
        ("O", Event.ADMIT, "AMB"),
        ("P", Event.ADMIT, "PRENC"),
        ("R", Event.UPDATE, "AMB"),
        ("", Event.REGISTER, "AMB"),
        ("U", Event.ADMIT, "IMP"),
    ],
)
def test_patient_class_to_encounter_class(patient_class: str, event: Event, expected: str) -> None:
    assert encounter_class_for(patient_class, event) == expected


@given(instants, instants)
def test_stale_only_when_strictly_older_than_the_record(
    incoming: datetime | None, on_record: datetime | None
) -> None:
    stale = is_stale(incoming, on_record)
    assert stale == (incoming is not None and on_record is not None and incoming < on_record)
    assert not is_stale(incoming, incoming)


def test_ack_codes() -> None:
    assert ack_code_for(MessageStatus.APPLIED) is AckCode.ACCEPT
    assert ack_code_for(MessageStatus.UNMATCHED) is AckCode.ACCEPT
    assert ack_code_for(MessageStatus.ERROR) is AckCode.ERROR
    assert ack_code_for(MessageStatus.REJECTED) is AckCode.REJECT


@given(st.text(max_size=4), st.text(max_size=4))
def test_only_the_seven_adt_events_are_supported(message_type: str, event: str) -> None:
    supported = message_type == "ADT" and event in {"A01", "A02", "A03", "A04", "A08", "A11", "A13"}
    assert (unsupported_reason(message_type, event) is None) == supported


@pytest.mark.parametrize(
    ("hd", "fallback", "expected"),
    [
        (("ADT1", "", ""), "FAC", "ADT1"),
        (("test1", "2.16.1", "HCD"), "FAC", "test1"),
        (("GHH", "2.16.840.1.113883.19", "ISO"), "FAC", "urn:oid:2.16.840.1.113883.19"),
        (
            ("", "E3C4A7D4-0000-4000-8000-000000000000", "UUID"),
            "FAC",
            "urn:uuid:e3c4a7d4-0000-4000-8000-000000000000",
        ),
        (("USSSA", "", ""), "FAC", "http://hl7.org/fhir/sid/us-ssn"),
        (("", "", ""), "FAC", "FAC"),
    ],
)
def test_assigning_authority_to_system(hd: tuple[str, str, str], fallback: str, expected: str) -> None:
    namespace, universal_id, kind = hd
    assert (
        assigning_system(
            namespace=namespace, universal_id=universal_id, universal_id_type=kind, fallback=fallback
        )
        == expected
    )


def test_only_record_numbers_match() -> None:
    assert all(identifier_matches_patients(code) for code in ("", "MR", "mr", "PI"))
    assert not any(identifier_matches_patients(code) for code in ("SS", "DL", "AN", "VN", "MA"))


def test_first_given_name_ends_at_any_blank() -> None:
    assert names_agree("Lee", "Ana\r Maria", "LEE", "ana")
    assert names_agree("Lee", "Ana\tMaria", "Lee", "Ana")
    assert not names_agree("Lee", " \r\n", "Lee", "")


def test_plan_types_from_names() -> None:
    assert plan_type_for("MEDICARE", None) == "medicare_ffs"
    assert plan_type_for("Aetna Medicare Advantage", None) == "medicare_advantage"
    assert plan_type_for(None, "SELF PAY") == "uninsured"
    assert plan_type_for("Blue Advantage HMO", "Blue Cross") == "other"


@given(st.text(min_size=1, max_size=12).filter(str.strip), st.text(min_size=1, max_size=12).filter(str.strip))
def test_names_agree_ignoring_case_and_middle_names(family: str, given_name: str) -> None:
    first = given_name.split()[0]
    assert names_agree(family, f"{first} Middle", family.upper(), first.lower()) == (
        family.strip().casefold() == family.upper().strip().casefold()
        and first.casefold() == first.lower().casefold()
    )


def test_names_need_both_parts() -> None:
    assert not names_agree("Shaw", None, "Shaw", None)
    assert not names_agree(None, "Amy", None, "Amy")
    assert names_agree("Shaw", "Amy B", "SHAW", "amy")
    assert not names_agree("Shaw", "Amy", "Shaw", "Ann")


def test_another_record_number_of_the_same_authority_conflicts() -> None:
    assert identifiers_conflict([("GEN", "1")], [("GEN", "2")])
    assert not identifiers_conflict([("GEN", "1")], [("GEN", "1"), ("GEN", "3")])
    assert not identifiers_conflict([("GEN", "1")], [("OTHER", "2"), (None, "9")])
    assert not identifiers_conflict([], [("GEN", "2")])
