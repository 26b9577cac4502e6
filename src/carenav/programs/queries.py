"""Reads of program enrolment: a patient's enrolments with history, counts per program and state, and the
organization's rules file."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carenav.access import Actor, patient_scope, patient_visible
from carenav.accounts.models import Organization
from carenav.audit.services import audit_record
from carenav.db.session import kept_for_reads
from carenav.errors import NotFound
from carenav.patients.models import Patient
from carenav.programs.models import ProgramEnrolment
from carenav.programs.rules import OPEN_STATES, RuleSet, rules_for_org
from carenav.settings import get_settings


def program_rules_for(*, session: Session, actor: Actor) -> RuleSet:
    """The actor's organization's rules: ``<rules_dir>/<org-slug>.toml`` if present, else the default."""
    org = session.get_one(Organization, actor.org_id)
    return rules_for_org(org.slug, get_settings().rules_dir)


def enrolment_latest_of(*, session: Session, patient: Patient, program_code: str) -> ProgramEnrolment | None:
    """The latest episode of ``patient`` in ``program_code`` (the caller has checked access)."""
    return session.scalar(
        select(ProgramEnrolment)
        .where(ProgramEnrolment.patient_id == patient.id, ProgramEnrolment.program_code == program_code)
        .order_by(ProgramEnrolment.episode.desc())
        .limit(1)
    )


def enrolment_latest(
    *, session: Session, actor: Actor, patient_uuid: str, program_code: str
) -> tuple[Patient, ProgramEnrolment]:
    """A visible patient and their latest episode in a program; NotFound for either."""
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    enrolment = enrolment_latest_of(session=session, patient=patient, program_code=program_code)
    if enrolment is None:
        raise NotFound(f"patient {patient_uuid} has no enrolment in {program_code!r}", where="program")
    return patient, enrolment


@kept_for_reads
def enrolments_of(session: Session, patient_id: int) -> tuple[ProgramEnrolment, ...]:
    """Every episode of a patient in every program (with history and consents), by program, newest episode
    first within each. The caller has checked access and audits. A page's panels share one read."""
    return tuple(
        session.scalars(
            select(ProgramEnrolment)
            .where(ProgramEnrolment.patient_id == patient_id)
            .order_by(ProgramEnrolment.program_code, ProgramEnrolment.episode.desc())
        )
    )


def programs_open_of(session: Session, patient_id: int) -> list[str]:
    """The programs in which the patient has an open episode (identified, in outreach, enrolled, paused)."""
    return sorted({e.program_code for e in enrolments_of(session, patient_id) if e.state in OPEN_STATES})


def enrolment_list_for_patient(
    *, session: Session, actor: Actor, patient_uuid: str
) -> list[ProgramEnrolment]:
    """Every episode of a patient in every program (with history and consents), newest episode first
    within each program; audited as a read."""
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    enrolments = list(enrolments_of(session, patient.id))
    audit_record(
        session=session,
        actor=actor,
        action="read",
        patient_uuid=patient.uuid,
        entity_type="ProgramEnrolment",
        detail="program enrolments",
    )
    return enrolments


def enrolment_counts(
    *, session: Session, actor: Actor, latest_only: bool = True
) -> dict[tuple[str, str], int]:
    """(program code, state) -> number of patients within the actor's reach. ``latest_only``: count each
    patient's latest episode per program only (a re-identified patient counts once)."""
    query = (
        select(ProgramEnrolment.program_code, ProgramEnrolment.state, func.count())
        .join(Patient, Patient.id == ProgramEnrolment.patient_id)
        .where(patient_scope(actor))
    )
    if latest_only:
        newer = ProgramEnrolment.__table__.alias("newer")
        query = query.where(
            ~select(newer.c.id)
            .where(
                newer.c.patient_id == ProgramEnrolment.patient_id,
                newer.c.program_code == ProgramEnrolment.program_code,
                newer.c.episode > ProgramEnrolment.episode,
            )
            .exists()
        )
    rows = session.execute(query.group_by(ProgramEnrolment.program_code, ProgramEnrolment.state))
    return {(code, state): count for code, state, count in rows}


def enrolment_open_states(
    *, session: Session, actor: Actor, patient_uuids: Sequence[str] | None = None
) -> dict[str, dict[str, str]]:
    """Patient uuid -> {program code: state} of their open episodes, for the population page's filters
    (enrolment status, unassigned). Limited to ``patient_uuids`` when given."""
    query = (
        select(Patient.uuid, ProgramEnrolment.program_code, ProgramEnrolment.state)
        .join(Patient, Patient.id == ProgramEnrolment.patient_id)
        .where(patient_scope(actor), ProgramEnrolment.state.in_([s.value for s in OPEN_STATES]))
    )
    if patient_uuids is not None:
        query = query.where(Patient.uuid.in_(list(patient_uuids)))
    states: dict[str, dict[str, str]] = {}
    for uuid, code, state in session.execute(query):
        states.setdefault(uuid, {})[code] = state
    return states
