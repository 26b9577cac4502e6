"""Writes of the HL7 v2 ADT feed: keep a message, apply it to the patient record, resolve the unmatched
queue. Services flush; the caller commits (the listener commits the stored message before applying it).

Applying runs in a savepoint: a message that cannot be applied leaves nothing of itself in the record,
and is marked ``error`` with the reason.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from carenav.access import Actor
from carenav.accounts.models import Organization
from carenav.audit.services import audit_record
from carenav.clock import now
from carenav.errors import CarenavError, Conflict, InvalidInput, NotFound
from carenav.feeds.models import InboundMessage
from carenav.feeds.rules import (
    SOURCE_PREFIX,
    Event,
    MessageStatus,
    encounter_class_for,
    encounter_key,
    encounter_status_after,
    identifier_matches_patients,
    is_stale,
)
from carenav.feeds.schemas import AdtMessage, MessageHeader, MessagePatient, adt_from_json, adt_to_json
from carenav.patients.identity import record_uuid
from carenav.patients.matching import MatchQuery, PatientMatch, patient_match
from carenav.patients.models import (
    Coverage,
    Encounter,
    EncounterDiagnosis,
    Patient,
    PatientAddress,
    PatientIdentifier,
    PatientName,
    PatientTelecom,
    RelatedPerson,
)
from carenav.patients.rules import AdministrativeSex, EncounterStatus
from carenav.transitions.services import transitions_on_encounter


def message_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class StoredMessage:
    message: InboundMessage
    duplicate: bool


def inbound_message_store(
    *,
    session: Session,
    actor: Actor,
    channel: str,
    origin: str | None,
    text: str,
    header: MessageHeader,
    adt: AdtMessage | None,
    status: MessageStatus,
    error: str | None = None,
) -> StoredMessage:
    """Keep ``text`` (normalised, CR-separated) as received, or find the copy already kept (a duplicate:
    same sender, control id and content)."""
    digest = message_digest(text)
    key = (
        InboundMessage.org_id == actor.org_id,
        InboundMessage.sending_application == header.sending_application[:227],
        InboundMessage.sending_facility == header.sending_facility[:227],
        InboundMessage.control_id == header.control_id[:199],
        InboundMessage.digest == digest,
    )
    existing = session.scalars(select(InboundMessage).where(*key)).first()
    if existing is not None:
        return StoredMessage(existing, duplicate=True)
    message = InboundMessage(
        org_id=actor.org_id,
        received_at=now(),
        channel=channel,
        origin=(origin or "")[:500] or None,
        control_id=header.control_id[:199],
        sending_application=header.sending_application[:227],
        sending_facility=header.sending_facility[:227],
        message_type=header.message_type[:20],
        trigger_event=header.trigger_event[:10],
        version=header.version[:20] or None,
        raw=text,
        digest=digest,
        parsed=adt_to_json(adt) if adt is not None else None,
        event_recorded_at=adt.as_of if adt is not None else None,
        status=status.value,
        error=error,
    )
    try:
        with session.begin_nested():
            session.add(message)
            session.flush()
    except IntegrityError:  # the same message arrived on another connection a moment ago
        existing = session.scalars(select(InboundMessage).where(*key)).one()
        return StoredMessage(existing, duplicate=True)
    audit_record(
        session=session,
        actor=actor,
        action="receive",
        entity_type="InboundMessage",
        entity_id=str(message.id),
        detail=f"{header.type_label} {header.control_id} via {channel}: {status.value}",
    )
    return StoredMessage(message, duplicate=False)


def inbound_message_apply(*, session: Session, actor: Actor, message: InboundMessage) -> InboundMessage:
    """Match the patient of a received (or still unmatched) message and apply it; queue it as
    ``unmatched`` when no single patient fits; mark it ``error`` when it cannot be applied."""
    if message.status not in (MessageStatus.RECEIVED, MessageStatus.UNMATCHED):
        raise Conflict(f"message {message.id} is {message.status}; only received messages are applied")
    adt = _parsed(message)
    match = _match(session=session, actor=actor, adt=adt)
    if match.patient is None:
        message.status = MessageStatus.UNMATCHED
        message.match_note = match.reason + (f": {', '.join(match.candidates)}" if match.candidates else "")
        session.flush()
        return message
    _apply_safely(
        session=session, actor=actor, message=message, adt=adt, patient=match.patient, created=False
    )
    message.match_note = match.reason
    return message


@dataclass
class Resolution:
    message: InboundMessage
    patient: Patient | None
    also_applied: list[int] = field(default_factory=list)


def inbound_message_resolve(
    *,
    session: Session,
    actor: Actor,
    message_id: int,
    patient_uuid: str | None = None,
    create: bool = False,
    dismiss: bool = False,
    note: str | None = None,
) -> Resolution:
    """Resolve an unmatched message: apply it to the patient ``patient_uuid``, or to a new patient made
    from its PID (``create``), or ``dismiss`` it with a note. Applying it may let other queued messages
    match (the later events of the same patient): those are applied too, in the order they arrived."""
    chosen = sum([patient_uuid is not None, create, dismiss])
    if chosen != 1:
        raise InvalidInput(
            "resolve a message in exactly one way: link to a patient, create one, or dismiss it"
        )
    message = session.scalars(
        select(InboundMessage).where(InboundMessage.id == message_id, InboundMessage.org_id == actor.org_id)
    ).first()
    if message is None:
        raise NotFound(f"no inbound message {message_id}")
    if message.status != MessageStatus.UNMATCHED:
        raise Conflict(f"message {message_id} is {message.status}, not waiting in the unmatched queue")
    note = (note or "").strip() or None
    message.resolved_by = actor.label[:200]
    message.resolved_by_user_id = actor.user_id
    message.resolved_at = now()
    message.resolution_note = note
    if dismiss:
        if note is None:
            raise InvalidInput("say why the message is dismissed (--note)", where="note")
        message.status = MessageStatus.DISMISSED
        audit_record(
            session=session,
            actor=actor,
            action="dismiss",
            entity_type="InboundMessage",
            entity_id=str(message.id),
            detail=note,
        )
        session.flush()
        return Resolution(message, None)
    adt = _parsed(message)
    if create:
        patient = _patient_create(session=session, actor=actor, adt=adt)
        created = True
    else:
        found = session.scalars(
            select(Patient).where(Patient.uuid == patient_uuid, Patient.org_id == actor.org_id)
        ).first()
        if found is None:
            raise NotFound(f"no patient {patient_uuid}")
        patient, created = found, False
    with session.begin_nested():
        _apply(session=session, actor=actor, message=message, adt=adt, patient=patient, created=created)
    message.match_note = "created from the message" if create else f"linked by {actor.label}"
    also = inbound_messages_rematch(session=session, actor=actor)
    return Resolution(message, patient, also)


def inbound_messages_rematch(*, session: Session, actor: Actor) -> list[int]:
    """Try the unmatched queue again (oldest first); returns the ids of messages now applied."""
    applied = []
    waiting = session.scalars(
        select(InboundMessage)
        .where(InboundMessage.org_id == actor.org_id, InboundMessage.status == MessageStatus.UNMATCHED)
        .order_by(InboundMessage.id)
    ).all()
    for message in waiting:
        inbound_message_apply(session=session, actor=actor, message=message)
        if message.status == MessageStatus.APPLIED:
            applied.append(message.id)
    return applied


def inbound_message_mark_error(*, session: Session, message_id: int, error: str) -> None:
    """Record that applying a stored message failed for a reason outside the message (a crash)."""
    message = session.get_one(InboundMessage, message_id)
    message.status = MessageStatus.ERROR
    message.error = error
    session.flush()


# --- internals ---------------------------------------------------------------------------------------------


def _parsed(message: InboundMessage) -> AdtMessage:
    if message.parsed is None:
        raise Conflict(f"message {message.id} was not understood on arrival and cannot be applied")
    return adt_from_json(message.parsed)


def _match(*, session: Session, actor: Actor, adt: AdtMessage) -> PatientMatch:
    patient = adt.patient
    name = patient.names[0] if patient.names else None
    return patient_match(
        session=session,
        org_id=actor.org_id,
        query=MatchQuery(
            identifiers=[
                (i.system, i.value)
                for i in patient.identifiers
                if i.system and identifier_matches_patients(i.type_code)
            ],
            family=name.family if name else None,
            given=name.given if name else None,
            birth_date=patient.birth_date,
            sex=patient.sex,
        ),
    )


def _apply_safely(
    *,
    session: Session,
    actor: Actor,
    message: InboundMessage,
    adt: AdtMessage,
    patient: Patient,
    created: bool,
) -> None:
    try:
        with session.begin_nested():
            _apply(session=session, actor=actor, message=message, adt=adt, patient=patient, created=created)
    except CarenavError as exc:
        message.status = MessageStatus.ERROR
        message.error = str(exc)
        message.patient_id = None
        message.encounter_id = None
        session.flush()


def _org_uuid(session: Session, org_id: int) -> str:
    return session.scalars(select(Organization.uuid).where(Organization.id == org_id)).one()


def _applied_as_of(session: Session, column: InstrumentedAttribute[int | None], key: int) -> datetime | None:
    """The newest EVN/MSH time among the messages already applied to this patient or encounter."""
    value: datetime | None = session.scalar(
        select(func.max(InboundMessage.event_recorded_at)).where(
            column == key, InboundMessage.status == MessageStatus.APPLIED
        )
    )
    if value is not None and value.tzinfo is None:  # an aggregate bypasses the column type on SQLite
        value = value.replace(tzinfo=UTC)
    return value


def _patient_create(*, session: Session, actor: Actor, adt: AdtMessage) -> Patient:
    source_system = f"{SOURCE_PREFIX}{adt.sending_facility or adt.sending_application or 'unknown'}"[:200]
    primary = next((i for i in adt.patient.identifiers if identifier_matches_patients(i.type_code)), None)
    source_id = primary.value[:200] if primary else None
    if (
        source_id is not None
        and session.scalars(
            select(Patient.id).where(
                Patient.org_id == actor.org_id,
                Patient.source_system == source_system,
                Patient.source_id == source_id,
            )
        ).first()
    ):
        source_id = None
    patient = Patient(
        org_id=actor.org_id,
        source_system=source_system,
        source_id=source_id,
        administrative_sex=adt.patient.sex or AdministrativeSex.UNKNOWN,
    )
    if source_id is not None:
        patient.uuid = record_uuid(
            org_uuid=_org_uuid(session, actor.org_id),
            source_system=source_system,
            resource_type="Patient",
            source_id=source_id,
        )
    session.add(patient)
    session.flush()
    audit_record(
        session=session,
        actor=actor,
        action="create",
        patient_uuid=patient.uuid,
        entity_type="Patient",
        entity_id=patient.uuid,
        detail=f"created from {adt.message_type}^{adt.trigger_event} {adt.control_id}",
    )
    return patient


def _apply(
    *,
    session: Session,
    actor: Actor,
    message: InboundMessage,
    adt: AdtMessage,
    patient: Patient,
    created: bool,
) -> None:
    event = Event(adt.trigger_event)
    notes: list[str] = []
    label = f"{adt.message_type}^{adt.trigger_event} {adt.control_id}"
    if created or not is_stale(adt.as_of, _applied_as_of(session, InboundMessage.patient_id, patient.id)):
        _demographics_update(session=session, patient=patient, incoming=adt.patient)
        _related_persons_update(session=session, actor=actor, patient=patient, adt=adt)
        _coverages_update(session=session, actor=actor, patient=patient, adt=adt)
    else:
        notes.append("older than the data on record: demographics left as they were")
    skipped = _identifiers_add(session=session, actor=actor, patient=patient, incoming=adt.patient)
    if skipped:
        notes.append(f"identifiers held by another patient were not added: {', '.join(skipped)}")
    session.flush()
    audit_record(
        session=session,
        actor=actor,
        action="update",
        patient_uuid=patient.uuid,
        entity_type="Patient",
        entity_id=patient.uuid,
        detail=f"from {label}",
    )
    encounter = None
    if adt.visit is not None:
        encounter, note = _encounter_apply(
            session=session, actor=actor, adt=adt, event=event, patient=patient
        )
        if note:
            notes.append(note)
        if encounter is not None:  # a discharge home opens a transition of care; an admission, a readmission?
            transitions_on_encounter(session=session, actor=actor, encounter=encounter)
    message.status = MessageStatus.APPLIED
    message.patient_id = patient.id
    message.encounter_id = encounter.id if encounter else None
    message.applied_at = now()
    message.error = None
    message.outcome = "; ".join(notes) or None
    session.flush()


def _demographics_update(*, session: Session, patient: Patient, incoming: MessagePatient) -> None:
    if incoming.names:
        wanted = [(n.family, n.given, n.prefix, n.suffix, n.use) for n in incoming.names]
        held = [(n.family, n.given, n.prefix, n.suffix, n.use) for n in patient.names]
        if wanted != held:
            patient.names = [
                PatientName(
                    rank=rank,
                    use=n.use,
                    family=_cut(n.family, 200),
                    given=_cut(n.given, 200),
                    prefix=_cut(n.prefix, 50),
                    suffix=_cut(n.suffix, 50),
                )
                for rank, n in enumerate(incoming.names)
            ]
    if incoming.birth_date is not None:
        patient.birth_date = incoming.birth_date
    if incoming.sex is not None:
        patient.administrative_sex = incoming.sex
    if incoming.addresses:
        patient.addresses = [
            PatientAddress(
                rank=rank,
                use=a.use,
                lines=a.lines,
                city=_cut(a.city, 100),
                state=_cut(a.state, 50),
                postal_code=_cut(a.postal_code, 20),
                country=_cut(a.country, 50),
            )
            for rank, a in enumerate(incoming.addresses)
        ]
    if incoming.telecoms:
        patient.telecoms = [
            PatientTelecom(rank=rank, system=t.system, value=_cut(t.value, 200) or "", use=t.use)
            for rank, t in enumerate(incoming.telecoms)
        ]
    if incoming.marital_status:
        patient.marital_status = _cut(incoming.marital_status, 50)
    if incoming.language:
        patient.preferred_language = _cut(incoming.language, 35)
    if incoming.deceased is not None:
        patient.deceased = incoming.deceased
    if incoming.deceased_at is not None:
        patient.deceased_at = incoming.deceased_at
    session.flush()


def _identifiers_add(
    *, session: Session, actor: Actor, patient: Patient, incoming: MessagePatient
) -> list[str]:
    """Add the message's identifiers the patient lacks; never one that another patient holds."""
    skipped = []
    held = {(i.system, i.value) for i in patient.identifiers}
    for identifier in incoming.identifiers:
        key = (identifier.system, identifier.value)
        if key in held:
            continue
        other = session.scalars(
            select(PatientIdentifier.patient_id).where(
                PatientIdentifier.org_id == actor.org_id,
                PatientIdentifier.system == identifier.system,
                PatientIdentifier.value == identifier.value,
                PatientIdentifier.patient_id != patient.id,
            )
        ).first()
        if other is not None:
            skipped.append(f"{identifier.system}|{identifier.value}")
            continue
        patient.identifiers.append(
            PatientIdentifier(
                org_id=actor.org_id,
                rank=len(patient.identifiers),
                kind=identifier.kind,
                system=_cut(identifier.system, 200),
                value=identifier.value[:200],
                assigner=_cut(identifier.assigner, 200),
            )
        )
        held.add(key)
    return skipped


def _related_persons_update(*, session: Session, actor: Actor, patient: Patient, adt: AdtMessage) -> None:
    if not adt.related_persons:
        return
    existing = {
        r.name.casefold(): r
        for r in session.scalars(select(RelatedPerson).where(RelatedPerson.patient_id == patient.id))
    }
    for person in adt.related_persons:
        row = existing.get(person.name.casefold())
        if row is None:
            row = RelatedPerson(
                org_id=actor.org_id,
                patient_id=patient.id,
                source_system=f"{SOURCE_PREFIX}{adt.sending_facility}"[:200],
                name=person.name[:300],
            )
            session.add(row)
            existing[person.name.casefold()] = row
        row.relationship_code = _cut(person.relationship_code, 100)
        row.relationship_display = _cut(person.relationship_display, 500)
        row.phone = _cut(person.phone, 50) or row.phone
        row.address = person.address or row.address
        row.is_emergency_contact = person.is_emergency_contact or row.is_emergency_contact


def _coverages_update(*, session: Session, actor: Actor, patient: Patient, adt: AdtMessage) -> None:
    if not adt.coverages:
        return
    existing = {
        (c.payer_name, c.plan_name, c.member_id): c
        for c in session.scalars(select(Coverage).where(Coverage.patient_id == patient.id))
    }
    for coverage in adt.coverages:
        key = (_cut(coverage.payer_name, 300), _cut(coverage.plan_name, 300), _cut(coverage.member_id, 100))
        row = existing.get(key)
        if row is None:
            row = Coverage(
                org_id=actor.org_id,
                patient_id=patient.id,
                source_system=f"{SOURCE_PREFIX}{adt.sending_facility}"[:200],
                payer_name=key[0],
                plan_name=key[1],
                member_id=key[2],
                plan_type=coverage.plan_type,
            )
            session.add(row)
            existing[key] = row
        row.plan_type = coverage.plan_type
        row.period_start = coverage.period_start or row.period_start
        row.period_end = coverage.period_end or row.period_end


def _encounter_find(*, session: Session, actor: Actor, adt: AdtMessage, patient: Patient) -> Encounter | None:
    visit = adt.visit
    assert visit is not None
    if visit.visit_number:
        facilities = [visit.facility, visit.prior_facility, adt.sending_facility or None]
        for facility in dict.fromkeys(f for f in facilities if f):
            source_system, source_id = encounter_key(facility, visit.visit_number)
            found = session.scalars(
                select(Encounter).where(
                    Encounter.org_id == actor.org_id,
                    Encounter.source_system == source_system[:200],
                    Encounter.source_id == source_id,
                )
            ).first()
            if found is not None:
                return found
        return None
    if visit.admit_at is not None:
        return session.scalars(
            select(Encounter).where(
                Encounter.patient_id == patient.id,
                Encounter.facility_name == visit.facility,
                Encounter.period_start == visit.admit_at,
            )
        ).first()
    return None


def _encounter_apply(
    *, session: Session, actor: Actor, adt: AdtMessage, event: Event, patient: Patient
) -> tuple[Encounter | None, str | None]:
    visit = adt.visit
    assert visit is not None
    visit_label = f"visit {visit.visit_number or '(no number)'} at {visit.facility or '(no facility)'}"
    encounter = _encounter_find(session=session, actor=actor, adt=adt, patient=patient)
    if encounter is not None and encounter.patient_id != patient.id:
        raise Conflict(f"{visit_label} is on record for another patient", where="PV1-19")
    created = False
    if encounter is None:
        if event is Event.UPDATE:
            return None, f"no encounter on record for {visit_label}: only the patient was updated"
        if event in (Event.CANCEL_ADMIT, Event.CANCEL_DISCHARGE):
            raise NotFound(f"no encounter on record for {visit_label} to cancel", where="PV1-19")
        source_system, source_id = encounter_key(visit.facility, visit.visit_number)
        encounter = Encounter(
            org_id=actor.org_id,
            patient_id=patient.id,
            source_system=source_system[:200],
            source_id=source_id,
            status=EncounterStatus.UNKNOWN,
            encounter_class=encounter_class_for(visit.patient_class, event),
            visit_number=_cut(visit.visit_number, 100),
            facility_name=_cut(visit.facility, 300),
            period_start=visit.admit_at or adt.event_time,
        )
        if source_id is not None:
            encounter.uuid = record_uuid(
                org_uuid=_org_uuid(session, actor.org_id),
                source_system=encounter.source_system,
                resource_type="Encounter",
                source_id=source_id,
            )
        session.add(encounter)
        session.flush()
        created = True
    stale = not created and is_stale(
        adt.as_of, _applied_as_of(session, InboundMessage.encounter_id, encounter.id)
    )
    note = None
    if stale and event not in (Event.CANCEL_ADMIT, Event.CANCEL_DISCHARGE):
        _encounter_fill_blanks(encounter, adt)
        note = f"older than the data on record for {visit_label}: only empty encounter fields were filled"
    else:
        _encounter_fields_set(session, encounter, adt, event)
        status = encounter_status_after(
            event, None if created else encounter.status, discharged=visit.discharge_at is not None
        )
        if created and status is None:
            status = EncounterStatus.UNKNOWN
        if status is not None:
            encounter.status = status
        if event is Event.CANCEL_DISCHARGE:
            encounter.period_end = None
            encounter.discharge_disposition_code = None
            encounter.discharge_disposition_display = None
            encounter.discharge_disposition_system = None
        elif (
            encounter.status == EncounterStatus.FINISHED
            and event is not Event.UPDATE
            and encounter.period_end is None
        ):
            encounter.period_end = visit.discharge_at or adt.event_time
    session.flush()
    audit_record(
        session=session,
        actor=actor,
        action="create" if created else "update",
        patient_uuid=patient.uuid,
        entity_type="Encounter",
        entity_id=encounter.uuid,
        detail=f"{adt.message_type}^{adt.trigger_event} {adt.control_id}: {visit_label} {encounter.status}",
    )
    return encounter, note


def _encounter_fields_set(session: Session, encounter: Encounter, adt: AdtMessage, event: Event) -> None:
    visit = adt.visit
    assert visit is not None
    if visit.patient_class:
        encounter.encounter_class = encounter_class_for(visit.patient_class, event)
    values = {
        "location": _cut(visit.location, 200),
        "facility_name": _cut(visit.facility, 300),
        "admission_type": _cut(visit.admission_type, 100),
        "admit_source": _cut(visit.admit_source, 100),
        "attending": _cut(visit.attending, 300),
        "visit_number": _cut(visit.visit_number, 100),
        "period_start": visit.admit_at,
        "reason_code": _cut(visit.reason.code, 100) if visit.reason else None,
        "reason_display": _cut(visit.reason.display, 500) if visit.reason else None,
    }
    if visit.hospital_service:
        values["type_system"] = "http://terminology.hl7.org/CodeSystem/v2-0069"
        values["type_code"] = _cut(visit.hospital_service, 100)
    if event is not Event.CANCEL_DISCHARGE:
        values["period_end"] = visit.discharge_at
        if visit.discharge_disposition is not None:
            values["discharge_disposition_code"] = _cut(visit.discharge_disposition.code, 100)
            values["discharge_disposition_display"] = _cut(visit.discharge_disposition.display, 500)
            values["discharge_disposition_system"] = _cut(visit.discharge_disposition.system, 200)
    for name, value in values.items():
        if value is not None:
            setattr(encounter, name, value)
    if adt.diagnoses:
        encounter.diagnoses = [
            EncounterDiagnosis(
                rank=d.rank,
                use=d.use,
                code_system=_cut(d.system, 200),
                code=_cut(d.code, 100),
                display=_cut(d.display, 500),
            )
            for d in adt.diagnoses
        ]


def _encounter_fill_blanks(encounter: Encounter, adt: AdtMessage) -> None:
    visit = adt.visit
    assert visit is not None
    for name, value in (
        ("location", _cut(visit.location, 200)),
        ("admission_type", _cut(visit.admission_type, 100)),
        ("admit_source", _cut(visit.admit_source, 100)),
        ("attending", _cut(visit.attending, 300)),
        ("period_start", visit.admit_at),
    ):
        if value is not None and getattr(encounter, name) is None:
            setattr(encounter, name, value)


def _cut(value: str | None, length: int) -> str | None:
    return value[:length] if value else None
