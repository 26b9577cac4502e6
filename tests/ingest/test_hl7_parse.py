"""HL7 v2 ADT reading: framing, parsing the 14 real messages, timestamps, bad input, ACKs. No database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import hl7
import pytest
from hypothesis import given
from hypothesis import strategies as st

from carenav.errors import InvalidInput
from carenav.feeds.rules import AckCode
from carenav.feeds.schemas import adt_from_json, adt_to_json
from carenav.ingest.hl7v2.ack import ack_build
from carenav.ingest.hl7v2.framing import decode, split_messages
from carenav.ingest.hl7v2.parse import parse_adt, parse_header
from carenav.ingest.hl7v2.timestamps import parse_date, parse_timestamp

NEW_YORK = ZoneInfo("America/New_York")
# file -> (MSH-9.2, PV1-2, MSH-12)
EXPECTED = {
    "fhirconv_ADT-A01-01.hl7": ("A01", "P", "2.8"),
    "fhirconv_ADT-A01-02.hl7": ("A01", "P", "2.8"),
    "fhirconv_ADT-A03-01.hl7": ("A03", "P", "2.8"),
    "fhirconv_ADT-A03-02.hl7": ("A03", "P", "2.8"),
    "fhirconv_ADT-A08-01.hl7": ("A08", "P", "2.8"),
    "fhirconv_ADT01-23.hl7": ("A01", "I", "2.3"),
    "fhirconv_ADT01-28.hl7": ("A01", "I", "2.5.1"),
    "fhirconv_ADT04-23.hl7": ("A04", "O", "2.3"),
    "fhirconv_ADT04-251.hl7": ("A04", "E", "2.3"),
    "fhirconv_ADT04-28.hl7": ("A04", "I", "2.3"),
    "v2tofhir_A01-Admit-Patient-v2.8-base-standard-example.hl7": ("A01", "I", "2.8"),
    "v2tofhir_A01-Simple-Admit-VHIS-1-v2.3.1.hl7": ("A01", "E", "2.3.1"),
    "v2tofhir_A04-with-allergies-v2.3.1.hl7": ("A04", "I", "2.3.1"),
    "v2tofhir_A08-Update-Patient-v2.3.hl7": ("A08", "R", "2.3"),
}


def _adt_dir(shared_data: Path) -> Path:
    return shared_data / "hl7v2-adt"


def test_the_shared_folder_holds_the_fourteen_messages(shared_data: Path) -> None:
    assert sorted(p.name for p in _adt_dir(shared_data).glob("*.hl7")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_real_message_parses_with_the_event_from_msh_9(shared_data: Path, name: str) -> None:
    data = (_adt_dir(shared_data) / name).read_bytes()
    messages = split_messages(decode(data))
    assert len(messages) == 1
    raw = messages[0]
    assert raw.segments[0].startswith("MSH|")
    assert all("\n" not in s and "\r" not in s for s in raw.segments)
    adt = parse_adt(raw.text, tz=NEW_YORK)
    event, patient_class, version = EXPECTED[name]
    assert (adt.trigger_event, adt.version) == (event, version)
    assert adt.visit is not None
    assert adt.visit.patient_class == patient_class
    assert adt.patient.identifiers
    assert adt.patient.names
    assert adt_from_json(adt_to_json(adt)) == adt


def test_evn_1_is_not_trusted_for_the_event(shared_data: Path) -> None:
    text = (_adt_dir(shared_data) / "fhirconv_ADT-A03-01.hl7").read_text(encoding="utf-8")
    assert "\nEVN|A01|" in text
    adt = parse_adt(split_messages(text)[0].text, tz=NEW_YORK)
    assert adt.trigger_event == "A03"
    assert adt.visit is not None
    assert adt.visit.discharge_at == datetime(2015, 2, 9, 10, 24, 19, tzinfo=UTC)  # 11:34:19+0110


def test_msh_text_inside_fields_does_not_split_the_message(shared_data: Path) -> None:
    raw = (_adt_dir(shared_data) / "fhirconv_ADT04-23.hl7").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.count(b"MSH") == 3
    messages = split_messages(decode(raw))
    assert len(messages) == 1
    assert len(messages[0].segments) == 8


def test_the_v28_example_reads_identifiers_names_and_kin(shared_data: Path) -> None:
    name = "v2tofhir_A01-Admit-Patient-v2.8-base-standard-example.hl7"
    adt = parse_adt(split_messages(decode((_adt_dir(shared_data) / name).read_bytes()))[0].text, tz=NEW_YORK)
    mrn, ssn = adt.patient.identifiers
    assert (mrn.value, mrn.type_code, mrn.kind, mrn.system) == ("PATID1234", "MR", "mrn", "ADT1")
    assert (ssn.value, ssn.kind, ssn.system) == ("123456789", "ssn", "http://hl7.org/fhir/sid/us-ssn")
    assert adt.patient.names[0].family == "EVERYMAN"
    assert adt.patient.names[0].given == "ADAM A"
    assert (adt.patient.birth_date, adt.patient.sex) == (date(1961, 6, 15), "male")
    assert adt.related_persons[0].name == "NELDA W NUCLEAR"
    assert adt.related_persons[0].relationship_code == "SPO"
    # EVN-2 200708181123 has no offset: read in the organization's zone (EDT, UTC-4)
    assert adt.recorded_at == datetime(2007, 8, 18, 15, 23, tzinfo=UTC)


def test_diagnoses_coverage_and_discharge_fields(shared_data: Path) -> None:
    adt = parse_adt(
        split_messages(decode((_adt_dir(shared_data) / "fhirconv_ADT01-23.hl7").read_bytes()))[0].text,
        tz=NEW_YORK,
    )
    (diagnosis,) = adt.diagnoses
    assert (diagnosis.code, diagnosis.system, diagnosis.use) == (
        "71596",
        "http://hl7.org/fhir/sid/icd-9-cm",
        "AD",
    )
    assert [c.payer_name for c in adt.coverages] == ["MEDICARE", "MEDICAL MUTUAL CALIF.", "SELF PAY"]
    assert [c.plan_type for c in adt.coverages] == ["medicare_ffs", "other", "uninsured"]
    assert adt.visit is not None
    assert (adt.visit.visit_number, adt.visit.facility, adt.visit.location) == (
        "40007716",
        "1",
        "PREOP, room 101, bed 1",
    )


@pytest.mark.parametrize("separator", ["\r", "\n", "\r\n"])
@pytest.mark.parametrize("terminated", [True, False])
def test_any_segment_separator_and_an_unterminated_end(separator: str, terminated: bool) -> None:
    segments = [
        "MSH|^~\\&|APP|FAC|||20240101120000||ADT^A08|C1|P|2.5",
        "EVN|A08|20240101120000",
        "PID|1||42^^^HOSP^MR||Roe^Ann||19700101|F",
    ]
    text = "\ufeff" + separator.join(segments) + (separator if terminated else "")
    (raw,) = split_messages(text)
    assert raw.segments == tuple(segments)
    assert parse_adt(raw.text, tz=NEW_YORK).patient.names[0].family == "Roe"


def test_a_file_with_several_messages_and_batch_envelopes_splits_on_msh() -> None:
    one = "MSH|^~\\&|A|F|||20240101||ADT^A08|1|P|2.5\nPID|1||1^^^H^MR||A^B"
    two = "MSH|^~\\&|A|F|||20240101||ADT^A08|2|P|2.5\nPID|1||2^^^H^MR||C^D"
    messages = split_messages(f"FHS|^~\\&\nBHS|^~\\&\n{one}\n{two}\nBTS|2\nFTS|1\n")
    assert [m.segments[0].split("|")[9] for m in messages] == ["1", "2"]
    assert [m.index for m in messages] == [1, 2]


@pytest.mark.parametrize(
    ("text", "where", "fragment"),
    [
        ("PID|1||42^^^H^MR||Roe^Ann", "MSH", "not an HL7 v2 message"),
        ("hello world", "MSH", "not an HL7 v2 message"),
        ("MSH|^~\\&|APP|FAC|||2024", "MSH-9", "message type is missing"),
        ("MSH|^~\\&|APP|FAC|||2024||ADT^A01", "MSH-10", "control id is missing"),
        ("MSH", "MSH-2", "truncated"),
    ],
)
def test_header_errors_name_the_field(text: str, where: str, fragment: str) -> None:
    with pytest.raises(InvalidInput, match=fragment) as caught:
        parse_header(split_messages(text)[0].text)
    assert caught.value.where == where


@pytest.mark.parametrize(
    ("body", "where", "fragment"),
    [
        ("EVN|A01\rPV1|1|I", "PID", "no PID segment"),
        ("PID|1||42^^^H^MR||Roe^Ann||19701345|F\rPV1|1|I", "PID-7", "not a valid date"),
        ("PID|1||42^^^H^MR||Roe^Ann||1970|F\rPV1|1|I", "PID-7", "not an HL7 date"),
        ("PID|1||42^^^H^MR||Roe^Ann\rPV1|1|I" + "|" * 42 + "2024-01-01", "PV1-44", "not an HL7 timestamp"),
        ("PID|1||42^^^H^MR||Roe^Ann", "PV1", "no PV1 segment"),
        ("PID|1", "PID-3", "neither an identifier"),
        ("PID|1||42^^^H^MR||Roe^Ann\rpv1|1|I", "segment 3", "not an HL7 segment"),
    ],
)
def test_body_errors_name_the_field(body: str, where: str, fragment: str) -> None:
    text = "MSH|^~\\&|APP|FAC|||20240101||ADT^A01|C1|P|2.5\r" + body + "\r"
    with pytest.raises(InvalidInput, match=fragment) as caught:
        parse_adt(text, tz=NEW_YORK)
    assert caught.value.where == where


def test_unknown_event_and_type_are_refused() -> None:
    for kind, fragment in (
        ("ADT^A99", r"event ADT\^A99 is not supported"),
        ("ORU^R01", "ORU is not supported"),
    ):
        text = f"MSH|^~\\&|APP|FAC|||20240101||{kind}|C1|P|2.5\rPID|1||1^^^H^MR||A^B\r"
        with pytest.raises(InvalidInput, match=fragment):
            parse_adt(text, tz=NEW_YORK)


def test_a11_without_visit_number_or_admit_time_is_an_error() -> None:
    text = "MSH|^~\\&|APP|FAC|||20240101||ADT^A11|C1|P|2.5\rPID|1||1^^^H^MR||A^B\rPV1|1|I\r"
    with pytest.raises(InvalidInput, match="must name its visit") as caught:
        parse_adt(text, tz=NEW_YORK)
    assert caught.value.where == "PV1-19"


# --- timestamps --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("20150208113419+0110", datetime(2015, 2, 8, 10, 24, 19, tzinfo=UTC)),
        ("20210817151943.4+0200", datetime(2021, 8, 17, 13, 19, 43, 400000, tzinfo=UTC)),
        ("198808181126+0215", datetime(1988, 8, 18, 9, 11, tzinfo=UTC)),
        ("20240115", datetime(2024, 1, 15, 5, 0, tzinfo=UTC)),  # EST, UTC-5
        ("202407150930", datetime(2024, 7, 15, 13, 30, tzinfo=UTC)),  # EDT, UTC-4
        ("20240101120000-0500", datetime(2024, 1, 1, 17, 0, tzinfo=UTC)),
        ("", None),
    ],
)
def test_timestamp_forms(value: str, expected: datetime | None) -> None:
    assert parse_timestamp(value, tz=NEW_YORK, where="X-1") == expected


@pytest.mark.parametrize("value", ["2024", "20241301", "2024010112000", "20240101+2500", "yesterday"])
def test_bad_timestamps_name_their_field(value: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_timestamp(value, tz=NEW_YORK, where="PV1-45")
    assert caught.value.where == "PV1-45"


@given(
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2099, 12, 31)),
    st.integers(min_value=-12 * 60, max_value=14 * 60),
)
def test_timestamps_with_an_offset_round_trip(moment: datetime, offset_minutes: int) -> None:
    moment = moment.replace(microsecond=0)
    sign = "-" if offset_minutes < 0 else "+"
    hours, minutes = divmod(abs(offset_minutes), 60)
    text = moment.strftime("%Y%m%d%H%M%S") + f"{sign}{hours:02d}{minutes:02d}"
    parsed = parse_timestamp(text, tz=NEW_YORK, where="EVN-2")
    assert parsed is not None
    assert parsed.tzinfo is UTC
    assert parsed == moment.replace(tzinfo=timezone(timedelta(minutes=offset_minutes)))


@given(
    st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)),
    st.sampled_from(["", "1230", "123045"]),
)
def test_dates_are_read_as_written(day: date, time_part: str) -> None:
    assert parse_date(day.strftime("%Y%m%d") + time_part, where="PID-7") == day


# --- acknowledgements --------------------------------------------------------------------------------------


def test_ack_echoes_the_control_id_and_reads_as_hl7() -> None:
    header = parse_header("MSH|^~\\&|SEND|SFAC|RECV|RFAC|20240101||ADT^A01^ADT_A01|CTRL-9|P|2.5.1\r")
    text = ack_build(
        header=header,
        code=AckCode.ERROR,
        at=datetime(2024, 1, 1, tzinfo=UTC),
        facility="default",
        text="PID-7: '19701345' is not a valid date | or ^ so",
        error_code="102",
        where="PID-7",
    )
    ack = hl7.parse(text)
    assert str(ack.segment("MSH")(9)) == "ACK^A01^ACK"
    assert str(ack.segment("MSH")(5)) == "SEND"
    assert str(ack.segment("MSA")(1)) == "AE"
    assert str(ack.segment("MSA")(2)) == "CTRL-9"
    assert ack.unescape(str(ack.segment("MSA")(3))).endswith("| or ^ so")
    assert str(ack.segment("ERR")(2)) == "PID^1^7"


def test_a_nak_for_unreadable_input_has_no_control_id() -> None:
    text = ack_build(
        header=None, code=AckCode.REJECT, at=datetime(2024, 1, 1, tzinfo=UTC), facility="x", text="?"
    )
    ack = hl7.parse(text)
    assert str(ack.segment("MSA")(1)) == "AR"
    assert str(ack.segment("MSA")(2)) == ""
