"""Writes of program enrolment: identify (from a run, idempotent, or by a person), outreach, enrol with
consent, pause, resume, discharge, decline, mark ineligible, assign; bulk outreach and assignment for the
population page. Every change leaves a history row and an audit row; services flush, the caller commits.
A change of state keeps the patient's follow-up schedule in step (``outreach.schedule``: only an enrolled
enrolment schedules follow-ups)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor, patient_scope, patient_visible
from carenav.accounts.models import User
from carenav.accounts.services import care_manager_assign
from carenav.audit.services import audit_record
from carenav.clock import now, today
from carenav.db.types import new_uuid
from carenav.errors import CarenavError, Forbidden, InvalidInput, RuleViolation
from carenav.outreach.schedule import followups_sync_patient
from carenav.patients.models import Patient
from carenav.programs.models import EnrolmentTransition, ProgramConsent, ProgramEnrolment
from carenav.programs.queries import enrolment_latest, enrolment_latest_of, program_rules_for
from carenav.programs.rules import (
    OPEN_STATES,
    TERMINAL_STATES,
    EnrolmentAction,
    EnrolmentState,
    Program,
    RuleSet,
    consent_problem,
    reopens_as_new_episode,
    transition,
)
from carenav.programs.schemas import BulkOutcome, ConsentInput, IdentifyOutcome, ProgramFlag

_CHUNK = 500


def _history(
    *,
    session: Session,
    actor: Actor,
    patient: Patient,
    enrolment: ProgramEnrolment,
    from_state: str | None,
    reason: str | None,
    action: str,
) -> None:
    enrolment.history.append(
        EnrolmentTransition(
            from_state=from_state,
            to_state=enrolment.state,
            at=now(),
            actor=actor.label,
            user_id=actor.user_id,
            reason=reason,
        )
    )
    change = f"{from_state} -> {enrolment.state}" if from_state else enrolment.state
    audit_record(
        session=session,
        actor=actor,
        action=f"program-{action}",
        patient_uuid=patient.uuid,
        entity_type="ProgramEnrolment",
        entity_id=enrolment.uuid,
        detail=f"{enrolment.program_code} episode {enrolment.episode}: {change}"
        + (f"; {reason}" if reason else ""),
    )


# --- Identify ----------------------------------------------------------------------------------------------


def _identify(
    *,
    session: Session,
    actor: Actor,
    patient: Patient,
    program_code: str,
    latest: ProgramEnrolment | None,
    manual: bool,
    after_days: int,
    reasons: str | None,
    run_id: str | None,
    rules_version: str | None,
) -> tuple[IdentifyOutcome, ProgramEnrolment | None]:
    if latest is not None:
        state = EnrolmentState(latest.state)
        if state in OPEN_STATES:
            return IdentifyOutcome(
                patient.uuid, program_code, "already-open", latest.episode, latest.state
            ), latest
        if not reopens_as_new_episode(state, latest.ended_on, today(), after_days=after_days, manual=manual):
            return (
                IdentifyOutcome(patient.uuid, program_code, "recently-closed", latest.episode, latest.state),
                latest,
            )
    enrolment = ProgramEnrolment(
        uuid=new_uuid(),
        org_id=patient.org_id,
        patient_id=patient.id,
        program_code=program_code,
        episode=1 if latest is None else latest.episode + 1,
        state=EnrolmentState.IDENTIFIED.value,
        state_since=now(),
        identified_on=today(),
        identified_run_id=run_id,
        rules_version=rules_version,
        reasons=reasons,
    )
    session.add(enrolment)
    why = reasons or ("identified by a person" if manual else "identified by a run")
    if run_id:
        why = f"run {run_id}: {why}"
    _history(
        session=session,
        actor=actor,
        patient=patient,
        enrolment=enrolment,
        from_state=None,
        reason=why,
        action="identify",
    )
    outcome = "opened" if latest is None else "reopened"
    return IdentifyOutcome(patient.uuid, program_code, outcome, enrolment.episode, enrolment.state), enrolment


def enrolment_identify(
    *,
    session: Session,
    actor: Actor,
    patient_uuid: str,
    program_code: str,
    reason: str | None = None,
    rules: RuleSet | None = None,
) -> IdentifyOutcome:
    """A person identifies a patient for a program: opens the first episode, or a new one after a closed
    episode; an open episode is left as it is."""
    rules = rules or program_rules_for(session=session, actor=actor)
    rules.program(program_code)  # NotFound for a code the organization's rules do not define
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    latest = enrolment_latest_of(session=session, patient=patient, program_code=program_code)
    outcome, _ = _identify(
        session=session,
        actor=actor,
        patient=patient,
        program_code=program_code,
        latest=latest,
        manual=True,
        after_days=rules.reidentify_after_days,
        reasons=reason,
        run_id=None,
        rules_version=rules.version,
    )
    session.flush()
    return outcome


def enrolment_identify_from_run(
    *,
    session: Session,
    actor: Actor,
    flags: Iterable[ProgramFlag],
    run_id: str,
    rules: RuleSet | None = None,
) -> list[IdentifyOutcome]:
    """Identify every patient a stratification run flagged, for each program they are eligible for.

    Idempotent: a patient with an open episode in a program is left alone (running it twice opens
    nothing new); a closed episode is followed by a new one only ``reidentify_after_days`` after it
    closed. Operators, jobs and administrators only (it spans the organization)."""
    if not actor.sees_whole_organization:
        raise Forbidden("only operators, jobs and administrators identify from a run", where="programs")
    rules = rules or program_rules_for(session=session, actor=actor)
    known = {p.code for p in rules.programs}
    outcomes: list[IdentifyOutcome] = []
    batch: list[ProgramFlag] = []
    for flag in flags:
        batch.append(flag)
        if len(batch) >= _CHUNK:
            outcomes += _identify_batch(session, actor, batch, known, rules, run_id)
            batch = []
    if batch:
        outcomes += _identify_batch(session, actor, batch, known, rules, run_id)
    return outcomes


def _identify_batch(
    session: Session,
    actor: Actor,
    flags: Sequence[ProgramFlag],
    known: set[str],
    rules: RuleSet,
    run_id: str,
) -> list[IdentifyOutcome]:
    uuids = sorted({f.patient_uuid for f in flags})
    patients = {
        p.uuid: p
        for p in session.scalars(select(Patient).where(Patient.uuid.in_(uuids), patient_scope(actor)))
    }
    latest: dict[tuple[int, str], ProgramEnrolment] = {}
    if patients:
        ids = [p.id for p in patients.values()]
        for enrolment in session.scalars(
            select(ProgramEnrolment).where(ProgramEnrolment.patient_id.in_(ids))
        ):
            key = (enrolment.patient_id, enrolment.program_code)
            if key not in latest or latest[key].episode < enrolment.episode:
                latest[key] = enrolment
    outcomes: list[IdentifyOutcome] = []
    for flag in flags:
        patient = patients.get(flag.patient_uuid)
        for code in sorted(set(flag.programs)):
            if patient is None:
                outcomes.append(IdentifyOutcome(flag.patient_uuid, code, "not-found"))
                continue
            if code not in known:
                outcomes.append(IdentifyOutcome(flag.patient_uuid, code, "unknown-program"))
                continue
            outcome, opened = _identify(
                session=session,
                actor=actor,
                patient=patient,
                program_code=code,
                latest=latest.get((patient.id, code)),
                manual=False,
                after_days=rules.reidentify_after_days,
                reasons=flag.evidence.get(code),
                run_id=run_id,
                rules_version=rules.version,
            )
            if opened is not None:
                latest[(patient.id, code)] = opened
            outcomes.append(outcome)
    session.flush()
    return outcomes


# --- Transitions -------------------------------------------------------------------------------------------


def _apply(
    *,
    session: Session,
    actor: Actor,
    patient: Patient,
    enrolment: ProgramEnrolment,
    action: EnrolmentAction,
    reason: str | None,
) -> ProgramEnrolment:
    before = EnrolmentState(enrolment.state)
    after = transition(before, action, reason=reason)
    instant = now()
    enrolment.state = after.value
    enrolment.state_since = instant
    if action is EnrolmentAction.START_OUTREACH:
        enrolment.outreach_started_on = instant.date()
    elif action is EnrolmentAction.ENROL:
        enrolment.enrolled_on = instant.date()
    if after in TERMINAL_STATES:
        enrolment.ended_on = instant.date()
        enrolment.end_reason = (reason or "").strip() or None
    reason = (reason or "").strip() or None
    _history(
        session=session,
        actor=actor,
        patient=patient,
        enrolment=enrolment,
        from_state=before.value,
        reason=reason,
        action=action.value.replace("_", "-"),
    )
    session.flush()
    followups_sync_patient(session=session, actor=actor, patient=patient)
    return enrolment


def _act(
    session: Session,
    actor: Actor,
    patient_uuid: str,
    program_code: str,
    action: EnrolmentAction,
    reason: str | None,
) -> ProgramEnrolment:
    patient, enrolment = enrolment_latest(
        session=session, actor=actor, patient_uuid=patient_uuid, program_code=program_code
    )
    return _apply(
        session=session, actor=actor, patient=patient, enrolment=enrolment, action=action, reason=reason
    )


def enrolment_outreach_start(
    *, session: Session, actor: Actor, patient_uuid: str, program_code: str, reason: str | None = None
) -> ProgramEnrolment:
    return _act(session, actor, patient_uuid, program_code, EnrolmentAction.START_OUTREACH, reason)


def enrolment_pause(
    *, session: Session, actor: Actor, patient_uuid: str, program_code: str, reason: str
) -> ProgramEnrolment:
    return _act(session, actor, patient_uuid, program_code, EnrolmentAction.PAUSE, reason)


def enrolment_resume(
    *, session: Session, actor: Actor, patient_uuid: str, program_code: str, reason: str | None = None
) -> ProgramEnrolment:
    return _act(session, actor, patient_uuid, program_code, EnrolmentAction.RESUME, reason)


def enrolment_discharge(
    *, session: Session, actor: Actor, patient_uuid: str, program_code: str, reason: str
) -> ProgramEnrolment:
    return _act(session, actor, patient_uuid, program_code, EnrolmentAction.DISCHARGE, reason)


def enrolment_decline(
    *, session: Session, actor: Actor, patient_uuid: str, program_code: str, reason: str
) -> ProgramEnrolment:
    return _act(session, actor, patient_uuid, program_code, EnrolmentAction.DECLINE, reason)


def enrolment_mark_ineligible(
    *, session: Session, actor: Actor, patient_uuid: str, program_code: str, reason: str
) -> ProgramEnrolment:
    return _act(session, actor, patient_uuid, program_code, EnrolmentAction.MARK_INELIGIBLE, reason)


def _program_of(rules: RuleSet, code: str) -> Program | None:
    return next((p for p in rules.programs if p.code == code), None)


def enrolment_enrol(
    *,
    session: Session,
    actor: Actor,
    patient_uuid: str,
    program_code: str,
    consent: ConsentInput | None,
    reason: str | None = None,
    rules: RuleSet | None = None,
) -> ProgramEnrolment:
    """Enrol (from identified or outreach), capturing consent. Consent is required where the rules say so
    (CCM, complex CCM, PCM, BHI by default, per CMS); a program no longer in the rules requires it too."""
    rules = rules or program_rules_for(session=session, actor=actor)
    patient, enrolment = enrolment_latest(
        session=session, actor=actor, patient_uuid=patient_uuid, program_code=program_code
    )
    transition(EnrolmentState(enrolment.state), EnrolmentAction.ENROL)  # fail before recording consent
    program = _program_of(rules, program_code)
    program_name = program.name if program else program_code
    obtained_by = consent.obtained_by if consent else None
    if consent is not None and not (obtained_by or "").strip() and actor.user_id is not None:
        user = session.get(User, actor.user_id)
        obtained_by = user.display_name if user else None
    problem = consent_problem(
        program_code=program_code,
        consent_required=program.consent_required if program else True,
        kind=consent.kind.value if consent else None,
        given_on=consent.given_on if consent else None,
        obtained_by=obtained_by,
        today=today(),
    )
    if problem:
        raise RuleViolation(problem, where="consent")
    if consent is not None:
        assert obtained_by is not None
        record = ProgramConsent(
            uuid=new_uuid(),
            org_id=patient.org_id,
            patient_id=patient.id,
            kind=consent.kind.value,
            given_on=consent.given_on,
            obtained_by=obtained_by.strip(),
            obtained_by_user_id=actor.user_id if consent.obtained_by is None else None,
            scope=(consent.scope or f"{program_name} services").strip(),
            recorded_at=now(),
        )
        enrolment.consents.append(record)
        audit_record(
            session=session,
            actor=actor,
            action="program-consent",
            patient_uuid=patient.uuid,
            entity_type="ProgramConsent",
            entity_id=record.uuid,
            detail=f"{program_code}: {consent.kind.value} consent given {consent.given_on.isoformat()}, "
            f"obtained by {record.obtained_by}",
        )
    return _apply(
        session=session,
        actor=actor,
        patient=patient,
        enrolment=enrolment,
        action=EnrolmentAction.ENROL,
        reason=reason,
    )


# --- Assignment -------------------------------------------------------------------------------------------


def enrolment_assign(
    *, session: Session, actor: Actor, patient_uuid: str, program_code: str, username: str
) -> ProgramEnrolment:
    """Assign an open episode to a care manager: puts the patient on their caseload (the accounts
    service ``care_manager_assign``, administrators and operators only) and names them on the episode."""
    patient, enrolment = enrolment_latest(
        session=session, actor=actor, patient_uuid=patient_uuid, program_code=program_code
    )
    if EnrolmentState(enrolment.state) in TERMINAL_STATES:
        raise RuleViolation(
            f"the {program_code} episode {enrolment.episode} is {enrolment.state}; identify the patient "
            "again to open a new one",
            where="enrolment",
        )
    member = care_manager_assign(session=session, actor=actor, username=username, patient_uuid=patient_uuid)
    enrolment.assigned_user_id = member.user_id
    audit_record(
        session=session,
        actor=actor,
        action="program-assign",
        patient_uuid=patient.uuid,
        entity_type="ProgramEnrolment",
        entity_id=enrolment.uuid,
        detail=f"{program_code} episode {enrolment.episode}: care manager {username}",
    )
    session.flush()
    return enrolment


# --- Bulk actions (the population page) -------------------------------------------------------------------


def _unique(uuids: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(u.strip() for u in uuids if u.strip()))


def enrolment_bulk_outreach_start(
    *,
    session: Session,
    actor: Actor,
    patient_uuids: Sequence[str],
    program_code: str,
    rules: RuleSet | None = None,
) -> list[BulkOutcome]:
    """Start outreach in ``program_code`` for each patient, one savepoint each so that one failure leaves
    the others done. A patient with no open episode is identified first (by the acting person)."""
    rules = rules or program_rules_for(session=session, actor=actor)
    rules.program(program_code)
    outcomes: list[BulkOutcome] = []
    for patient_uuid in _unique(patient_uuids):
        try:
            with session.begin_nested():
                patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
                found: ProgramEnrolment | None = enrolment_latest_of(
                    session=session, patient=patient, program_code=program_code
                )
                if found is not None and found.state == EnrolmentState.OUTREACH.value:
                    outcomes.append(BulkOutcome(patient_uuid, True, f"already in outreach ({program_code})"))
                    continue
                if found is None or EnrolmentState(found.state) in TERMINAL_STATES:
                    _, found = _identify(
                        session=session,
                        actor=actor,
                        patient=patient,
                        program_code=program_code,
                        latest=found,
                        manual=True,
                        after_days=rules.reidentify_after_days,
                        reasons="identified for outreach from the population list",
                        run_id=None,
                        rules_version=rules.version,
                    )
                    assert found is not None
                _apply(
                    session=session,
                    actor=actor,
                    patient=patient,
                    enrolment=found,
                    action=EnrolmentAction.START_OUTREACH,
                    reason=None,
                )
                outcomes.append(
                    BulkOutcome(patient_uuid, True, f"{program_code} episode {found.episode}: outreach")
                )
        except CarenavError as exc:
            outcomes.append(BulkOutcome(patient_uuid, False, str(exc)))
    return outcomes


def enrolment_bulk_assign(
    *,
    session: Session,
    actor: Actor,
    patient_uuids: Sequence[str],
    username: str,
    program_code: str | None = None,
) -> list[BulkOutcome]:
    """Put each patient on a care manager's caseload; with ``program_code``, also name the care manager on
    the patient's open episode of that program (when there is one). One savepoint per patient."""
    if not username.strip():
        raise InvalidInput("name the care manager to assign to", where="username")
    outcomes: list[BulkOutcome] = []
    for patient_uuid in _unique(patient_uuids):
        try:
            with session.begin_nested():
                patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
                member = care_manager_assign(
                    session=session, actor=actor, username=username, patient_uuid=patient_uuid
                )
                message = f"assigned to {username}"
                if program_code is not None:
                    latest = enrolment_latest_of(session=session, patient=patient, program_code=program_code)
                    if latest is not None and EnrolmentState(latest.state) in OPEN_STATES:
                        latest.assigned_user_id = member.user_id
                        audit_record(
                            session=session,
                            actor=actor,
                            action="program-assign",
                            patient_uuid=patient.uuid,
                            entity_type="ProgramEnrolment",
                            entity_id=latest.uuid,
                            detail=f"{program_code} episode {latest.episode}: care manager {username}",
                        )
                        message += f" ({program_code} episode {latest.episode})"
                    else:
                        message += f" (no open {program_code} episode)"
                session.flush()
                outcomes.append(BulkOutcome(patient_uuid, True, message))
        except CarenavError as exc:
            outcomes.append(BulkOutcome(patient_uuid, False, str(exc)))
    return outcomes
