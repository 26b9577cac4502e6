"""The HL7 v2 ADT feed at its service interface: store, match, apply, the unmatched queue. Both databases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.accounts.models import Organization
from carenav.audit.models import AuditEvent
from carenav.errors import Conflict, InvalidInput, NotFound
from carenav.feeds.models import InboundMessage
from carenav.feeds.queries import inbound_message_list, inbound_message_summary
from carenav.feeds.rules import MessageStatus
from carenav.feeds.services import inbound_message_apply, inbound_message_resolve, inbound_message_store
from carenav.ingest.hl7v2.framing import decode, split_messages
from carenav.ingest.hl7v2.parse import parse_adt, parse_header
from carenav.patients.models import Coverage, Encounter, Patient, RelatedPerson
from tests.builders import make_org, make_patient

NEW_YORK = ZoneInfo("America/New_York")


@dataclass
class Feed:
    session: Session
    org: Organization
    actor: Actor

    def receive(self, text: str) -> InboundMessage:
        """What the listener does with one message, in the test's transaction."""
        (raw,) = split_messages(text)
        adt = parse_adt(raw.text, tz=NEW_YORK)
        stored = inbound_message_store(
            session=self.session,
            actor=self.actor,
            channel="file",
            origin="test",
            text=raw.text,
            header=parse_header(raw.text),
            adt=adt,
            status=MessageStatus.RECEIVED,
        )
        if not stored.duplicate:
            inbound_message_apply(session=self.session, actor=self.actor, message=stored.message)
        self.session.flush()
        return stored.message

    def receive_file(self, path: Path) -> InboundMessage:
        return self.receive(decode(path.read_bytes()))

    def resolve(self, message: InboundMessage, **how: object) -> Patient:
        resolution = inbound_message_resolve(
            session=self.session, actor=self.actor, message_id=message.id, **how
        )  # type: ignore[arg-type]
        assert resolution.patient is not None
        return resolution.patient

    def encounters(self, patient: Patient) -> list[Encounter]:
        return list(self.session.scalars(select(Encounter).where(Encounter.patient_id == patient.id)))


@pytest.fixture
def feed(session: Session) -> Feed:
    org = make_org(session)
    return Feed(session, org, Actor.system(org.id, "mllp", channel="mllp"))


def adt(
    event: str,
    *,
    control: str,
    recorded: str = "20240301080000",
    mrn: str = "M100",
    family: str = "Shaw",
    given: str = "Amy",
    birth: str = "19570302",
    sex: str = "F",
    visit: str = "V1",
    patient_class: str = "I",
    location: str = "4W^401^A^GEN",
    admit: str = "20240301073000",
    discharge: str = "",
    disposition: str = "",
    extra: str = "",
) -> str:
    pv1 = ["PV1", "1", patient_class, location] + [""] * 15 + [visit] + [""] * 16 + [disposition] + [""] * 7
    pv1 += [admit, discharge]
    return "\r".join(
        [
            f"MSH|^~\\&|EPIC|GEN|CARENAV|CN|{recorded}||ADT^{event}^ADT_A01|{control}|P|2.5.1",
            f"EVN|{event}|{recorded}",
            f"PID|1||{mrn}^^^GEN^MR||{family}^{given}||{birth}|{sex}|||1 Main St^^Springfield^MA^01101",
            "|".join(pv1),
            *([extra] if extra else []),
        ]
    )


# --- the real messages -------------------------------------------------------------------------------------


def test_real_a01_then_a03_of_one_visit_open_then_close_one_encounter(feed: Feed, shared_data: Path) -> None:
    folder = shared_data / "hl7v2-adt"
    admit = feed.receive_file(folder / "fhirconv_ADT-A01-02.hl7")
    assert admit.status == MessageStatus.UNMATCHED  # nobody in this organization yet: never guessed
    patient = feed.resolve(admit, create=True)
    assert admit.status == MessageStatus.APPLIED
    (encounter,) = feed.encounters(patient)
    assert (encounter.status, encounter.encounter_class) == ("in-progress", "PRENC")
    assert (encounter.visit_number, encounter.facility_name) == ("40007716", "HOMERTON UNIVER")
    assert encounter.period_start == datetime(2015, 2, 8, 10, 24, 19, tzinfo=UTC)
    assert encounter.period_end is None

    discharge = feed.receive_file(folder / "fhirconv_ADT-A03-02.hl7")
    assert discharge.status == MessageStatus.APPLIED, discharge.match_note
    assert discharge.patient_id == patient.id
    assert discharge.encounter_id == encounter.id
    feed.session.refresh(encounter)
    assert feed.encounters(patient) == [encounter]
    assert encounter.status == "finished"
    assert encounter.period_end == datetime(2015, 2, 9, 10, 24, 19, tzinfo=UTC)
    assert patient.names[0].family == "EVERYMAN"
    assert {(i.system, i.value) for i in patient.identifiers} >= {("test1", "PATID1234")}


def test_real_kitchen_sink_admit_brings_diagnoses_kin_and_coverage(feed: Feed, shared_data: Path) -> None:
    message = feed.receive_file(shared_data / "hl7v2-adt" / "fhirconv_ADT01-23.hl7")
    patient = feed.resolve(message, create=True)
    (encounter,) = feed.encounters(patient)
    feed.session.refresh(encounter)
    assert [(d.code, d.code_system, d.use) for d in encounter.diagnoses] == [
        ("71596", "http://hl7.org/fhir/sid/icd-9-cm", "AD")
    ]
    assert encounter.attending == "WALT DISNEY"
    kin = feed.session.scalars(select(RelatedPerson).where(RelatedPerson.patient_id == patient.id)).all()
    assert [k.name for k in kin] == ["HUEY DUCK"]
    plans = feed.session.scalars(select(Coverage).where(Coverage.patient_id == patient.id)).all()
    assert sorted(c.plan_type for c in plans) == ["medicare_ffs", "other", "uninsured"]
    assert patient.birth_date == date(1924, 10, 10)
    assert patient.administrative_sex == "male"


def test_a_real_a08_updates_the_patient_and_never_infers_status(feed: Feed, shared_data: Path) -> None:
    folder = shared_data / "hl7v2-adt"
    patient = feed.resolve(feed.receive_file(folder / "fhirconv_ADT-A01-02.hl7"), create=True)
    update = feed.receive_file(folder / "fhirconv_ADT-A08-01.hl7")  # carries PV1-45, yet no status
    assert update.status == MessageStatus.APPLIED
    (encounter,) = feed.encounters(patient)
    feed.session.refresh(encounter)
    assert encounter.status == "in-progress"
    assert encounter.period_end == datetime(2015, 2, 9, 10, 24, 19, tzinfo=UTC)  # a field present: patched
    assert [d.code for d in encounter.diagnoses] == ["422504002"]


# --- events ------------------------------------------------------------------------------------------------


def test_transfer_discharge_and_cancellations(feed: Feed) -> None:
    patient = feed.resolve(feed.receive(adt("A01", control="1")), create=True)
    (encounter,) = feed.encounters(patient)
    assert (
        feed.receive(adt("A02", control="2", recorded="20240302", location="ICU^2^B^GEN")).status == "applied"
    )
    feed.session.refresh(encounter)
    assert (encounter.location, encounter.status) == ("ICU, room 2, bed B", "in-progress")

    feed.receive(adt("A03", control="3", recorded="20240305", discharge="20240305101500", disposition="06"))
    feed.session.refresh(encounter)
    assert encounter.status == "finished"
    assert encounter.period_end == datetime(2024, 3, 5, 15, 15, tzinfo=UTC)  # EST: UTC-5
    assert (encounter.discharge_disposition_code, encounter.discharge_disposition_system) == (
        "06",
        "https://www.nubc.org/CodeSystem/PatDischargeStatus",
    )

    feed.receive(adt("A13", control="4", recorded="20240306", discharge="20240305101500"))
    feed.session.refresh(encounter)
    assert (encounter.status, encounter.period_end, encounter.discharge_disposition_code) == (
        "in-progress",
        None,
        None,
    )

    feed.receive(adt("A11", control="5", recorded="20240307"))
    feed.session.refresh(encounter)
    assert encounter.status == "cancelled"
    assert feed.encounters(patient) == [encounter]


def test_a04_registers_an_emergency_visit(feed: Feed) -> None:
    patient = feed.resolve(feed.receive(adt("A04", control="1", patient_class="E", visit="ED7")), create=True)
    (encounter,) = feed.encounters(patient)
    assert (encounter.encounter_class, encounter.status) == ("EMER", "planned")


def test_an_older_a08_does_not_regress_newer_data(feed: Feed) -> None:
    patient = feed.resolve(feed.receive(adt("A01", control="1", recorded="20240301")), create=True)
    newer = feed.receive(
        adt("A08", control="2", recorded="20240310", family="Shaw-Lee", location="5E^1^A^GEN")
    )
    assert newer.status == "applied"
    older = feed.receive(adt("A08", control="3", recorded="20240305", family="Shaw", location="3N^9^A^GEN"))
    assert older.status == "applied"
    assert older.outcome is not None
    assert "older than the data on record" in older.outcome
    feed.session.refresh(patient)
    assert patient.names[0].family == "Shaw-Lee"
    (encounter,) = feed.encounters(patient)
    feed.session.refresh(encounter)
    assert encounter.location == "5E, room 1, bed A"


def test_a_message_that_cannot_be_applied_leaves_nothing_half_written(feed: Feed) -> None:
    patient = feed.resolve(feed.receive(adt("A01", control="1", visit="V1")), create=True)
    audit_rows = feed.session.scalar(select(func.count()).select_from(AuditEvent))
    cancel = feed.receive(adt("A11", control="2", recorded="20240309", visit="NOPE", family="Changed"))
    assert cancel.status == MessageStatus.ERROR
    assert cancel.error is not None
    assert "no encounter on record for visit NOPE at GEN" in cancel.error
    assert cancel.error.startswith("PV1-19: ")
    feed.session.refresh(patient)
    assert patient.names[0].family == "Shaw"  # the demographics of the failed message were rolled back
    assert len(feed.encounters(patient)) == 1
    new_audit = feed.session.scalars(select(AuditEvent).order_by(AuditEvent.id).offset(audit_rows)).all()
    assert [a.action for a in new_audit] == ["receive"]


def test_the_same_message_twice_is_applied_once(feed: Feed) -> None:
    feed.resolve(feed.receive(adt("A01", control="1")), create=True)
    text = adt("A08", control="2", recorded="20240302", family="Once")
    first, second = feed.receive(text), feed.receive(text.replace("\r", "\n"))  # separators do not matter
    assert first.id == second.id
    assert first.status == "applied"
    count = feed.session.scalar(
        select(func.count()).select_from(InboundMessage).where(InboundMessage.control_id == "2")
    )
    assert count == 1
    reused = feed.receive(adt("A08", control="2", recorded="20240303", family="Twice"))
    assert reused.id != first.id  # same control id, other content: another message


# --- matching ----------------------------------------------------------------------------------------------


def test_matched_by_identifier_and_assigning_authority(feed: Feed) -> None:
    patient = make_patient(
        feed.session,
        feed.org,
        family="Other",
        given="Name",
        birth_date=date(1957, 3, 2),
        identifiers=[{"kind": "mrn", "value": "M100", "system": "GEN"}],
    )
    message = feed.receive(adt("A01", control="1"))
    assert (message.status, message.patient_id, message.match_note) == (
        "applied",
        patient.id,
        "matched by identifier",
    )
    elsewhere = make_patient(
        feed.session,
        feed.org,
        family="X",
        given="Y",
        identifiers=[{"kind": "mrn", "value": "M200", "system": "OTHER"}],
    )
    assert feed.receive(adt("A01", control="2", mrn="M200", family="Q", visit="V2")).status == "unmatched"
    assert elsewhere.id is not None


def test_matched_by_name_birth_date_and_sex_only_when_exactly_one_fits(feed: Feed) -> None:
    amy = make_patient(
        feed.session, feed.org, family="SHAW", given="amy", birth_date=date(1957, 3, 2), sex="female"
    )
    message = feed.receive(adt("A01", control="1"))
    assert message.patient_id == amy.id
    assert message.match_note == "matched by name, birth date and sex"
    assert {(i.system, i.value) for i in amy.identifiers} == {("GEN", "M100")}  # now found by identifier

    twin_a = make_patient(
        feed.session, feed.org, family="Roe", given="Kim", birth_date=date(1980, 5, 5), sex="male"
    )
    twin_b = make_patient(
        feed.session, feed.org, family="Roe", given="Kim", birth_date=date(1980, 5, 5), sex="male"
    )
    ambiguous = feed.receive(
        adt("A01", control="2", mrn="M9", family="Roe", given="Kim", birth="19800505", sex="M")
    )
    assert ambiguous.status == "unmatched"
    assert ambiguous.match_note is not None
    assert "2 patients have this name" in ambiguous.match_note
    assert twin_a.uuid in ambiguous.match_note
    assert twin_b.uuid in ambiguous.match_note


def test_an_identifier_match_with_another_birth_date_is_not_guessed(feed: Feed) -> None:
    make_patient(
        feed.session,
        feed.org,
        birth_date=date(1940, 1, 1),
        identifiers=[{"kind": "mrn", "value": "M100", "system": "GEN"}],
    )
    message = feed.receive(adt("A01", control="1"))
    assert message.status == "unmatched"
    assert message.match_note is not None
    assert "birth dates differ" in message.match_note


def test_other_organizations_patients_are_never_matched(feed: Feed, session: Session) -> None:
    other = make_org(session)
    make_patient(
        session,
        other,
        family="Shaw",
        given="Amy",
        birth_date=date(1957, 3, 2),
        sex="female",
        identifiers=[{"kind": "mrn", "value": "M100", "system": "GEN"}],
    )
    assert feed.receive(adt("A01", control="1")).status == "unmatched"


# --- the unmatched queue -----------------------------------------------------------------------------------


def test_resolving_links_creates_or_dismisses(feed: Feed) -> None:
    first = feed.receive(adt("A01", control="1", mrn="A1", family="Link"))
    second = feed.receive(adt("A01", control="2", mrn="A2", family="Drop", visit="V2"))
    later = feed.receive(
        adt("A03", control="3", mrn="A1", family="Link", recorded="20240305", discharge="20240305")
    )
    queue = inbound_message_list(session=feed.session, actor=feed.actor, status=MessageStatus.UNMATCHED)
    assert [m.id for m in queue] == [first.id, second.id, later.id]
    assert inbound_message_summary(queue[0])["patient"]["identifiers"] == ["GEN|A1"]

    chosen = make_patient(feed.session, feed.org, family="Link", given="Amy")
    resolution = inbound_message_resolve(
        session=feed.session, actor=feed.actor, message_id=first.id, patient_uuid=chosen.uuid
    )
    assert resolution.patient is chosen
    assert first.status == "applied"
    assert resolution.also_applied == [later.id]  # the discharge now matches the linked patient
    (encounter,) = feed.encounters(chosen)
    assert encounter.status == "finished"

    with pytest.raises(InvalidInput, match="--note"):
        inbound_message_resolve(session=feed.session, actor=feed.actor, message_id=second.id, dismiss=True)
    inbound_message_resolve(
        session=feed.session, actor=feed.actor, message_id=second.id, dismiss=True, note="test"
    )
    assert (second.status, second.resolution_note, second.resolved_by) == ("dismissed", "test", "system:mllp")
    with pytest.raises(Conflict, match="not waiting in the unmatched queue"):
        inbound_message_resolve(session=feed.session, actor=feed.actor, message_id=second.id, create=True)
    with pytest.raises(InvalidInput, match="exactly one way"):
        inbound_message_resolve(
            session=feed.session, actor=feed.actor, message_id=second.id, create=True, dismiss=True
        )


def test_resolving_is_scoped_to_the_organization(feed: Feed, session: Session) -> None:
    message = feed.receive(adt("A01", control="1"))
    other = make_org(session)
    stranger = Actor.operator(other.id)
    with pytest.raises(NotFound):
        inbound_message_resolve(session=session, actor=stranger, message_id=message.id, create=True)
    outsider = make_patient(session, other)
    with pytest.raises(NotFound):
        inbound_message_resolve(
            session=session, actor=feed.actor, message_id=message.id, patient_uuid=outsider.uuid
        )
    assert message.status == "unmatched"
