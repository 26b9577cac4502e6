"""Finding the patient an inbound message (or any outside record) is about, without guessing.

1. By identifier: a record number and the system of its assigning authority. Exactly one patient holds
   one of them -> that patient, unless the birth dates disagree (then nobody: a person decides).
2. Else by demographics: family name, first given name (both ignoring case), birth date and
   administrative sex all equal, and no identifier of the same system with a different value. Exactly
   one such patient -> that patient.
3. Otherwise no match; the reason says whether nobody or several patients fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from carenav.patients.models import Patient, PatientIdentifier


@dataclass(frozen=True)
class MatchQuery:
    identifiers: Sequence[tuple[str, str]]  # (system, value), only those that identify a patient record
    family: str | None
    given: str | None
    birth_date: date | None
    sex: str | None


@dataclass(frozen=True)
class PatientMatch:
    patient: Patient | None
    method: str  # identifier | demographics | none
    reason: str
    candidates: tuple[str, ...] = field(default=())  # uuids of the patients that fit, when several


def first_given(given: str | None) -> str:
    """The first given name, case-folded: up to the first blank of any kind (a tab or a carriage return in
    a feed's name separates names as a space does)."""
    words = (given or "").split(maxsplit=1)
    return words[0].casefold() if words else ""


def names_agree(family_a: str | None, given_a: str | None, family_b: str | None, given_b: str | None) -> bool:
    """Same family name and same first given name, ignoring case and surrounding blanks; both needed."""
    family_a_text, family_b_text = (family_a or "").strip().casefold(), (family_b or "").strip().casefold()
    if not family_a_text or not first_given(given_a):
        return False
    return family_a_text == family_b_text and first_given(given_a) == first_given(given_b)


def identifiers_conflict(wanted: Sequence[tuple[str, str]], held: Sequence[tuple[str | None, str]]) -> bool:
    """Does a patient hold record numbers of an authority the query names, but none of the query's?"""
    wanted_by_system: dict[str, set[str]] = {}
    for system, value in wanted:
        wanted_by_system.setdefault(system, set()).add(value)
    held_by_system: dict[str, set[str]] = {}
    for held_system, value in held:
        if held_system is not None:
            held_by_system.setdefault(held_system, set()).add(value)
    return any(
        system in held_by_system and not (values & held_by_system[system])
        for system, values in wanted_by_system.items()
    )


def patient_match(*, session: Session, org_id: int, query: MatchQuery) -> PatientMatch:
    """The one patient of ``org_id`` the query describes, or why there is none (see module doc)."""
    pairs = sorted(set(query.identifiers))
    if pairs:
        holders = sorted(
            set(
                session.scalars(
                    select(PatientIdentifier.patient_id).where(
                        PatientIdentifier.org_id == org_id,
                        tuple_(PatientIdentifier.system, PatientIdentifier.value).in_(pairs),
                    )
                )
            )
        )
        if len(holders) == 1:
            patient = session.get_one(Patient, holders[0])
            if patient.birth_date and query.birth_date and patient.birth_date != query.birth_date:
                return PatientMatch(
                    None,
                    "none",
                    f"the identifier matches patient {patient.uuid}, but the birth dates differ "
                    f"({patient.birth_date.isoformat()} on record, "
                    f"{query.birth_date.isoformat()} in the message)",
                    (patient.uuid,),
                )
            return PatientMatch(patient, "identifier", "matched by identifier")
        if len(holders) > 1:
            uuids = tuple(
                session.scalars(select(Patient.uuid).where(Patient.id.in_(holders)).order_by(Patient.uuid))
            )
            return PatientMatch(None, "none", f"the identifiers belong to {len(holders)} patients", uuids)
    if not (query.family and query.given and query.birth_date and query.sex):
        return PatientMatch(
            None, "none", "no patient has these identifiers, and name, birth date and sex are not all given"
        )
    candidates = session.scalars(
        select(Patient).where(
            Patient.org_id == org_id,
            Patient.birth_date == query.birth_date,
            Patient.administrative_sex == query.sex,
        )
    ).all()
    fitting = [
        patient
        for patient in candidates
        if any(names_agree(query.family, query.given, n.family, n.given) for n in patient.names)
        and not identifiers_conflict(pairs, [(i.system, i.value) for i in patient.identifiers])
    ]
    if len(fitting) == 1:
        return PatientMatch(fitting[0], "demographics", "matched by name, birth date and sex")
    if not fitting:
        return PatientMatch(None, "none", "no patient has these identifiers or this name, birth date and sex")
    return PatientMatch(
        None,
        "none",
        f"{len(fitting)} patients have this name, birth date and sex",
        tuple(sorted(p.uuid for p in fitting)),
    )
