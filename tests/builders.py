"""Test builders: organizations and patients made through the real services.

``make_patient`` writes through ``patient_record_upsert`` (the path imports take), so a built patient
looks exactly like an imported one: deterministic uuid, source system ``test``, audited.

    org = make_org(session)
    patient = make_patient(
        session, org, family="Shaw", given="Amy", birth_date=date(1957, 3, 2), sex="female",
        identifiers=[("mrn", "12345"), {"kind": "mbi", "value": "1EG4-TE5-MK73"}],
        conditions=["I50.9", {"code": "44054006", "system": SNOMED, "display": "Diabetes type 2"}],
    )
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.accounts.models import Organization
from carenav.accounts.services import organization_create
from carenav.patients.models import Patient
from carenav.patients.rules import ICD10CM, SNOMED
from carenav.patients.services import RecordKind, RecordUnit, Ref, SourceRecord, patient_record_upsert

BUILDER_SOURCE = "test"
_ICD10_SHAPE = re.compile(r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")
_org_numbers = itertools.count(1)

IdentifierSpec = tuple[str, str] | dict[str, Any]
ConditionSpec = str | dict[str, Any]


def make_org(session: Session, *, slug: str | None = None, name: str | None = None) -> Organization:
    """A new organization (tenant) with a unique slug."""
    number = next(_org_numbers)
    slug = slug or f"org-{number}-{uuid.uuid4().hex[:6]}"
    return organization_create(
        session=session, slug=slug, name=name or f"Test organization {number}", timezone="America/New_York"
    )


def builder_actor(org: Organization) -> Actor:
    return Actor.operator(org.id, "tests")


def make_patient(
    session: Session,
    org: Organization,
    *,
    family: str = "Doe",
    given: str = "Jane",
    birth_date: date | None = date(1950, 1, 1),
    sex: str = "female",
    identifiers: Sequence[IdentifierSpec] = (),
    conditions: Sequence[ConditionSpec] = (),
    coverages: Sequence[dict[str, Any]] = (),
    encounters: Sequence[dict[str, Any]] = (),
    deceased_at: datetime | None = None,
    source_id: str | None = None,
    **patient_columns: Any,
) -> Patient:
    """A patient with a name, identifiers, conditions, coverages and encounters, written by the services.

    ``identifiers``: ``(kind, value)`` pairs or dicts with ``kind``, ``value`` and optional ``system``.
    ``conditions``: a code (ICD-10-CM if it has that shape, else SNOMED CT) or a dict of Condition
    columns (``code``, ``code_system``, ``display``, ``clinical_status``, ``onset_at``...).
    ``coverages``/``encounters``: dicts of Coverage/Encounter columns (``plan_type``; ``encounter_class``,
    ``period_start``...). Other keyword arguments are Patient columns (``preferred_language``...).
    """
    patient_id = source_id or str(uuid.uuid4())
    records = [
        SourceRecord(
            kind=RecordKind.PATIENT,
            source_id=patient_id,
            values={
                "birth_date": birth_date,
                "administrative_sex": sex,
                "deceased": deceased_at is not None or bool(patient_columns.pop("deceased", False)),
                "deceased_at": deceased_at,
                **patient_columns,
            },
            children={
                "names": [{"use": "official", "family": family, "given": given}],
                "identifiers": [_identifier_row(spec) for spec in identifiers],
            },
        )
    ]
    for number, spec in enumerate(encounters):
        values = {"status": "finished", "encounter_class": "AMB", **spec}
        values.setdefault("period_start", datetime(2024, 1, 1, tzinfo=UTC))
        records.append(
            SourceRecord(RecordKind.ENCOUNTER, f"{patient_id}/encounter/{number}", values, patient=patient_id)
        )
    for number, condition in enumerate(conditions):
        records.append(
            SourceRecord(
                RecordKind.CONDITION,
                f"{patient_id}/condition/{number}",
                _condition_values(condition),
                patient=patient_id,
            )
        )
    for number, spec in enumerate(coverages):
        records.append(
            SourceRecord(
                RecordKind.COVERAGE, f"{patient_id}/coverage/{number}", dict(spec), patient=patient_id
            )
        )
    outcome = patient_record_upsert(
        session=session,
        actor=builder_actor(org),
        units=[RecordUnit(records, label=f"make_patient {family}")],
        source_system=BUILDER_SOURCE,
    )[0]
    if outcome.failed:
        raise AssertionError(f"make_patient could not write: {outcome.failed}")
    patient = (
        session.query(Patient)
        .filter_by(org_id=org.id, source_system=BUILDER_SOURCE, source_id=patient_id)
        .one()
    )
    return patient


def encounter_ref(patient: Patient, number: int = 0) -> Ref:
    """A reference to the ``number``-th encounter built by ``make_patient`` (for ``encounter_id``)."""
    return Ref(RecordKind.ENCOUNTER, f"{patient.source_id}/encounter/{number}")


def _identifier_row(spec: IdentifierSpec) -> dict[str, Any]:
    if isinstance(spec, tuple):
        kind, value = spec
        return {"kind": kind, "value": value, "system": None}
    return {"kind": spec.get("kind", "other"), "value": spec["value"], "system": spec.get("system")}


def _condition_values(spec: ConditionSpec) -> dict[str, Any]:
    if isinstance(spec, str):
        system = ICD10CM if _ICD10_SHAPE.match(spec) else SNOMED
        spec = {"code": spec, "code_system": system}
    values = {"clinical_status": "active", "verification_status": "confirmed", **spec}
    values.setdefault("code_system", SNOMED)
    values.setdefault(
        "codings",
        [{"system": values["code_system"], "code": values.get("code"), "display": values.get("display")}],
    )
    return values


__all__ = ["BUILDER_SOURCE", "builder_actor", "encounter_ref", "make_org", "make_patient"]
