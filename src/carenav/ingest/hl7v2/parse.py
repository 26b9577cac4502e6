"""One HL7 v2 ADT message -> ``MessageHeader`` and ``AdtMessage``, read with python-hl7.

python-hl7 splits the message by the separators MSH declares and unescapes values; it validates
nothing, which suits real feeds (v2.3 to v2.8 in one stream, odd fields). What we need is checked here,
field by field, and every error names its field (``PID-7``).
"""

from __future__ import annotations

import re
from datetime import tzinfo
from typing import Any

import hl7
from hl7.exceptions import ParseException

from carenav.errors import InvalidInput
from carenav.feeds.rules import (
    EVENTS_THAT_FIND_AN_ENCOUNTER,
    Event,
    assigning_system,
    diagnosis_system,
    diagnosis_use,
    discharge_disposition_system,
    identifier_kind_for,
    is_emergency_contact,
    plan_type_for,
    sex_from_hl7,
    unsupported_reason,
)
from carenav.feeds.schemas import (
    AdtMessage,
    Coded,
    MessageAddress,
    MessageCoverage,
    MessageDiagnosis,
    MessageHeader,
    MessageIdentifier,
    MessageName,
    MessagePatient,
    MessageRelatedPerson,
    MessageTelecom,
    MessageVisit,
)
from carenav.ingest.hl7v2.timestamps import parse_date, parse_timestamp
from carenav.patients.rules import display_name

_SEGMENT_ID = re.compile(r"^[A-Z][A-Z0-9]{2}$")
_NAME_USE = {"L": "official", "M": "maiden", "N": "nickname", "D": "usual"}
_ADDRESS_USE = {"H": "home", "B": "work", "O": "work", "M": "home", "C": "temp"}


class _Segment:
    """A python-hl7 segment with total accessors: a value absent from the message reads as ''."""

    def __init__(self, segment: Any, ordinal: int) -> None:
        self.raw = segment
        self.id = str(segment[0][0])
        self.ordinal = ordinal

    def get(self, field: int, component: int = 1, sub: int = 1, *, rep: int = 1) -> str:
        try:
            value = self.raw.extract_field(1, field, rep, component, sub)
        except IndexError:
            return ""
        return str(value).strip()

    def reps(self, field: int) -> int:
        if field >= len(self.raw):
            return 0
        text = str(self.raw[field])
        return len(self.raw[field]) if text else 0

    def subcomponents(self, field: int, component: int, *, rep: int = 1, upto: int = 3) -> str:
        parts = [self.get(field, component, sub, rep=rep) for sub in range(1, upto + 1)]
        return " ".join(p for p in parts if p)

    def where(self, field: int) -> str:
        return f"{self.id}-{field}" if self.ordinal <= 1 else f"{self.id}[{self.ordinal}]-{field}"


def _hl7_parse(text: str) -> Any:
    stripped = text.lstrip()
    if not stripped.startswith("MSH"):
        first = stripped.split("\r", 1)[0][:20]
        raise InvalidInput(
            f"not an HL7 v2 message: it starts with {first!r}, not an MSH segment", where="MSH"
        )
    if len(stripped) < 8 or stripped[3].isalnum() or stripped[3].isspace():
        raise InvalidInput("the MSH segment is truncated before its encoding characters", where="MSH-2")
    try:
        message = hl7.parse(text)
    except (ParseException, ValueError, IndexError, AssertionError) as exc:
        raise InvalidInput(f"not a readable HL7 v2 message: {exc}", where="MSH") from None
    for ordinal, segment in enumerate(message, start=1):
        name = str(segment[0][0]) if len(segment) else ""
        if not _SEGMENT_ID.match(name):
            raise InvalidInput(
                f"segment {ordinal} ({str(segment)[:20]!r}) is not an HL7 segment: no three-letter id",
                where=f"segment {ordinal}",
            )
    return message


def _hd(segment: _Segment, field: int) -> str:
    """A hierarchic designator's namespace id, else its universal id."""
    return segment.get(field, 1) or segment.get(field, 2)


def _header(message: Any) -> MessageHeader:
    msh = _Segment(message.segment("MSH"), 1)
    header = MessageHeader(
        field_separator=str(message.segment("MSH")[1][0]),
        encoding_characters=str(message.segment("MSH")[2][0]),
        sending_application=_hd(msh, 3),
        sending_facility=_hd(msh, 4),
        receiving_application=_hd(msh, 5),
        receiving_facility=_hd(msh, 6),
        message_type=msh.get(9, 1).upper(),
        trigger_event=msh.get(9, 2).upper(),
        control_id=msh.get(10),
        processing_id=msh.get(11),
        version=msh.get(12),
    )
    if not header.message_type:
        raise InvalidInput("the message type is missing (the message may be truncated)", where="MSH-9")
    if not header.control_id:
        raise InvalidInput("the message control id is missing", where="MSH-10")
    return header


def parse_header(text: str) -> MessageHeader:
    """MSH of ``text`` (a CR-separated message); InvalidInput if it is not HL7 or MSH lacks MSH-9/-10."""
    return _header(_hl7_parse(text))


def parse_adt(text: str, *, tz: tzinfo) -> AdtMessage:
    """The ADT message ``text`` (normalised, CR-separated) as typed data; times without an offset are
    read in ``tz``. InvalidInput names the field at fault; Unsupported-type messages raise InvalidInput
    with ``where='MSH-9'`` (the caller has checked the header first)."""
    message = _hl7_parse(text)
    header = _header(message)
    reason = unsupported_reason(header.message_type, header.trigger_event)
    if reason:
        raise InvalidInput(reason, where="MSH-9")
    event = Event(header.trigger_event)
    segments: dict[str, list[_Segment]] = {}
    for raw in message:
        name = str(raw[0][0])
        segments.setdefault(name, []).append(_Segment(raw, len(segments.get(name, [])) + 1))
    msh = segments["MSH"][0]
    if "PID" not in segments:
        raise InvalidInput(f"{header.type_label} has no PID segment", where="PID")
    evn = segments.get("EVN", [None])[0]
    patient = _patient(segments["PID"][0], tz=tz, fallback_authority=header.sending_facility)
    visit = None
    if "PV1" in segments:
        visit = _visit(
            segments["PV1"][0], segments.get("PV2", [None])[0], tz=tz, msh_facility=header.sending_facility
        )
    elif event is not Event.UPDATE:
        raise InvalidInput(f"{header.type_label} has no PV1 segment", where="PV1")
    if (
        event in EVENTS_THAT_FIND_AN_ENCOUNTER
        and visit is not None
        and not (visit.visit_number or visit.admit_at)
    ):
        raise InvalidInput(
            f"{header.type_label} must name its visit: PV1-19 (visit number) and PV1-44 (admit) are empty",
            where="PV1-19",
        )
    return AdtMessage(
        sending_application=header.sending_application,
        sending_facility=header.sending_facility,
        receiving_application=header.receiving_application,
        receiving_facility=header.receiving_facility,
        message_type=header.message_type,
        trigger_event=header.trigger_event,
        control_id=header.control_id,
        processing_id=header.processing_id,
        version=header.version,
        sent_at=parse_timestamp(msh.get(7), tz=tz, where="MSH-7"),
        recorded_at=parse_timestamp(evn.get(2), tz=tz, where="EVN-2") if evn else None,
        occurred_at=parse_timestamp(evn.get(6), tz=tz, where="EVN-6") if evn else None,
        patient=patient,
        visit=visit,
        diagnoses=tuple(_diagnosis(s, tz=tz) for s in segments.get("DG1", []) if s.get(3, 1)),
        related_persons=tuple(r for r in (_related(s) for s in segments.get("NK1", [])) if r),
        coverages=tuple(_coverage(s) for s in segments.get("IN1", [])),
        segment_ids=tuple(str(raw[0][0]) for raw in message),
    )


def _name(segment: _Segment, field: int, rep: int) -> MessageName | None:
    family = segment.subcomponents(field, 1, rep=rep, upto=1)
    given = " ".join(p for p in (segment.get(field, 2, rep=rep), segment.get(field, 3, rep=rep)) if p)
    if not family and not given:
        return None
    return MessageName(
        family=family or None,
        given=given or None,
        suffix=segment.get(field, 4, rep=rep) or None,
        prefix=segment.get(field, 5, rep=rep) or None,
        use=_NAME_USE.get(segment.get(field, 7, rep=rep).upper()),
    )


def _address(segment: _Segment, field: int, rep: int) -> MessageAddress | None:
    street = segment.subcomponents(field, 1, rep=rep)
    other = segment.get(field, 2, rep=rep)
    lines = "\n".join(p for p in (street, other) if p)
    parts = [segment.get(field, c, rep=rep) for c in (3, 4, 5, 6)]
    if not lines and not any(parts):
        return None
    city, state, postal_code, country = (p or None for p in parts)
    return MessageAddress(
        lines=lines or None,
        city=city,
        state=state,
        postal_code=postal_code,
        country=country,
        use=_ADDRESS_USE.get(segment.get(field, 7, rep=rep).upper()),
    )


def _telecom(segment: _Segment, field: int, rep: int, use: str) -> MessageTelecom | None:
    equipment = segment.get(field, 3, rep=rep).upper()
    email = segment.get(field, 4, rep=rep)
    if equipment in {"INTERNET", "X.400"} and email:
        return MessageTelecom(system="email", value=email, use=use)
    number = segment.get(field, 1, rep=rep)
    if not number:
        number = "".join(segment.get(field, c, rep=rep) for c in (6, 7))
    if not number:
        return None
    return MessageTelecom(system="phone", value=number, use="mobile" if equipment == "CP" else use)


def _patient(pid: _Segment, *, tz: tzinfo, fallback_authority: str) -> MessagePatient:
    identifiers = []
    for rep in range(1, pid.reps(3) + 1):
        value = pid.get(3, 1, rep=rep)
        if not value:
            continue
        type_code = pid.get(3, 5, rep=rep).upper()
        namespace = pid.get(3, 4, 1, rep=rep)
        identifiers.append(
            MessageIdentifier(
                value=value,
                type_code=type_code,
                kind=identifier_kind_for(type_code).value,
                system=assigning_system(
                    namespace=namespace,
                    universal_id=pid.get(3, 4, 2, rep=rep),
                    universal_id_type=pid.get(3, 4, 3, rep=rep),
                    fallback=pid.get(3, 6, 1, rep=rep) or fallback_authority,
                ),
                assigner=namespace or pid.get(3, 6, 1, rep=rep) or fallback_authority or None,
            )
        )
    names = tuple(n for n in (_name(pid, 5, rep) for rep in range(1, pid.reps(5) + 1)) if n)
    if not identifiers and not names:
        raise InvalidInput("the patient has neither an identifier (PID-3) nor a name (PID-5)", where="PID-3")
    telecoms = [t for rep in range(1, pid.reps(13) + 1) if (t := _telecom(pid, 13, rep, "home"))]
    telecoms += [t for rep in range(1, pid.reps(14) + 1) if (t := _telecom(pid, 14, rep, "work"))]
    death_indicator = pid.get(30).upper()
    deceased_at = parse_timestamp(pid.get(29), tz=tz, where="PID-29")
    return MessagePatient(
        identifiers=tuple(identifiers),
        names=names,
        birth_date=parse_date(pid.get(7), where="PID-7"),
        sex=(sex.value if (sex := sex_from_hl7(pid.get(8))) else None),
        addresses=tuple(a for a in (_address(pid, 11, rep) for rep in range(1, pid.reps(11) + 1)) if a),
        telecoms=tuple(telecoms),
        marital_status=pid.get(16) or None,
        language=pid.get(15) or None,
        deceased=True
        if death_indicator == "Y" or deceased_at
        else (False if death_indicator == "N" else None),
        deceased_at=deceased_at,
    )


def _coded(segment: _Segment, field: int, system: str | None = None) -> Coded | None:
    code = segment.get(field, 1)
    if not code:
        return None
    return Coded(
        code=code, display=segment.get(field, 2) or None, system=system or segment.get(field, 3) or None
    )


def _person(segment: _Segment, field: int) -> str | None:
    """An XCN (attending doctor) for people: prefix, given, family; the id when there is no name."""
    family = segment.subcomponents(field, 2, upto=1)
    given = segment.get(field, 3)
    prefix = segment.get(field, 6)
    name = display_name(given or None, family or None) if (family or given) else ""
    if name and prefix:
        name = f"{prefix} {name}"
    return name or segment.get(field, 1) or None


def _visit(pv1: _Segment, pv2: _Segment | None, *, tz: tzinfo, msh_facility: str) -> MessageVisit:
    where_parts = [pv1.subcomponents(3, 1, upto=1), pv1.get(3, 2), pv1.get(3, 3)]
    labels = ["", "room ", "bed "]
    location = ", ".join(f"{label}{part}" for label, part in zip(labels, where_parts, strict=True) if part)
    disposition = pv1.get(36, 1)
    return MessageVisit(
        patient_class=pv1.get(2).upper(),
        location=location or None,
        facility=pv1.get(3, 4, 1) or msh_facility or None,
        prior_facility=pv1.get(6, 4, 1) or None,
        admission_type=pv1.get(4) or None,
        attending=_person(pv1, 7),
        hospital_service=pv1.get(10) or None,
        admit_source=pv1.get(14) or None,
        visit_number=pv1.get(19, 1) or None,
        discharge_disposition=(
            Coded(disposition, pv1.get(36, 2) or None, discharge_disposition_system(disposition))
            if disposition
            else None
        ),
        admit_at=parse_timestamp(pv1.get(44), tz=tz, where="PV1-44"),
        discharge_at=parse_timestamp(pv1.get(45), tz=tz, where="PV1-45"),
        reason=_coded(pv2, 3) if pv2 else None,
    )


def _diagnosis(dg1: _Segment, *, tz: tzinfo) -> MessageDiagnosis:
    code = dg1.get(3, 1)
    system = diagnosis_system(dg1.get(3, 3)) or diagnosis_system(dg1.get(2))
    priority = dg1.get(15)
    set_id = dg1.get(1)
    rank = int(priority) if priority.isdigit() else (int(set_id) if set_id.isdigit() else dg1.ordinal)
    return MessageDiagnosis(
        rank=rank,
        code=code,
        system=system,
        display=dg1.get(3, 2) or dg1.get(4) or None,
        use=diagnosis_use(dg1.get(6)),
        at=parse_timestamp(dg1.get(5), tz=tz, where=dg1.where(5)),
    )


def _related(nk1: _Segment) -> MessageRelatedPerson | None:
    name = _name(nk1, 2, 1)
    if name is None:
        return None
    address = _address(nk1, 4, 1)
    phone = _telecom(nk1, 5, 1, "home")
    address_text = None
    if address:
        address_text = ", ".join(
            p for p in (address.lines, address.city, address.state, address.postal_code, address.country) if p
        )
    return MessageRelatedPerson(
        name=display_name(name.given, name.family),
        relationship_code=nk1.get(3, 1) or None,
        relationship_display=nk1.get(3, 2) or nk1.get(3, 1) or None,
        phone=phone.value if phone else None,
        address=address_text or None,
        is_emergency_contact=is_emergency_contact(nk1.get(7, 1), nk1.get(7, 2)),
    )


def _coverage(in1: _Segment) -> MessageCoverage:
    payer = in1.get(4, 1) or None
    plan = in1.get(2, 2) or in1.get(2, 1) or None
    return MessageCoverage(
        plan_type=plan_type_for(plan, payer).value,
        payer_name=payer,
        plan_name=plan,
        member_id=in1.get(36) or in1.get(49, 1) or None,
        period_start=parse_date(in1.get(12), where=in1.where(12)),
        period_end=parse_date(in1.get(13), where=in1.where(13)),
    )
