"""Caseloads: reassignment with a trail, coverage while a care manager is away, and balancing suggestions.
Services flush; the caller commits."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from carenav.access import Actor, patient_visible
from carenav.accounts.models import Team, User
from carenav.accounts.rules import Role
from carenav.accounts.services import care_manager_assign, user_find
from carenav.audit.services import audit_record
from carenav.caseloads.models import CaseloadChange, Coverage
from carenav.caseloads.rules import (
    Candidate,
    CapacityRules,
    PatientNeeds,
    Scored,
    default_capacity_rules,
    suggest,
)
from carenav.clock import now, today
from carenav.errors import Forbidden, InvalidInput, NotFound, RuleViolation
from carenav.patients.models import CareTeamMember, Condition, Patient
from carenav.patients.rules import CareTeamRole
from carenav.programs.models import ProgramEnrolment
from carenav.programs.rules import OPEN_STATES
from carenav.stratification.models import StratificationResult, StratificationRun
from carenav.transitions.models import TransitionEpisode
from carenav.transitions.rules import EpisodeStatus

CASELOAD_ROLES = (Role.CARE_MANAGER.value, Role.SUPERVISOR.value)
SUGGESTION_LIMIT = 50


def require_supervisor(actor: Actor) -> None:
    if not (actor.kind == "operator" or actor.role in {Role.ADMIN, Role.SUPERVISOR}):
        raise Forbidden("only supervisors and administrators manage caseloads", where="caseloads")


def _in_actors_team(actor: Actor, user: User) -> bool:
    """Admins and operators manage everyone; a supervisor themself and the team they lead."""
    if actor.role != Role.SUPERVISOR:
        return True
    return user.id == actor.user_id or (actor.team_id is not None and user.team_id == actor.team_id)


def _caseload_user(session: Session, actor: Actor, username: str) -> User:
    user = user_find(session=session, actor=actor, username=username)
    if not _in_actors_team(actor, user):
        raise Forbidden(f"{username!r} is not in the team you lead", where="username")
    if user.role not in CASELOAD_ROLES or not user.active:
        raise RuleViolation(f"{username!r} is not an active care manager or supervisor", where="username")
    return user


def _active_memberships(session: Session, patient_id: int) -> list[CareTeamMember]:
    return list(
        session.scalars(
            select(CareTeamMember).where(
                CareTeamMember.patient_id == patient_id,
                CareTeamMember.role == CareTeamRole.CARE_MANAGER.value,
                CareTeamMember.user_id.is_not(None),
                CareTeamMember.active.is_(True),
            )
        )
    )


def caseload_reassign(
    *, session: Session, actor: Actor, patient_uuid: str, to_username: str, reason: str
) -> CaseloadChange:
    """Move a patient to ``to_username``'s caseload: every other active care-manager membership ends (today),
    the target's becomes active, and the move is kept in the trail (``CaseloadChange``) and audited.
    Supervisors (within the team they lead) and administrators only; the reason is required."""
    require_supervisor(actor)
    reason = reason.strip()
    if not reason:
        raise InvalidInput("say why the patient moves", where="reason")
    target = _caseload_user(session, actor, to_username)
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    current = _active_memberships(session, patient.id)
    from_user_id = next((m.user_id for m in current if m.user_id != target.id), None)
    if current and all(m.user_id == target.id for m in current):
        raise RuleViolation(f"the patient is already on {to_username}'s caseload only", where="username")
    # Assign first: the actor's reach (a supervisor's) may rest on the membership that ends.
    care_manager_assign(session=session, actor=actor, username=target.username, patient_uuid=patient.uuid)
    day = today()
    for member in current:
        if member.user_id != target.id:
            member.active = False
            member.period_end = day
    change = CaseloadChange(
        org_id=patient.org_id,
        patient_id=patient.id,
        from_user_id=from_user_id,
        to_user_id=target.id,
        by=actor.label,
        at=now(),
        reason=reason,
    )
    session.add(change)
    session.flush()
    from_name = session.scalar(select(User.username).where(User.id == from_user_id)) if from_user_id else None
    audit_record(
        session=session,
        actor=actor,
        action="caseload-reassign",
        patient_uuid=patient.uuid,
        entity_type="CaseloadChange",
        entity_id=change.uuid,
        detail=f"{from_name or 'unassigned'} -> {target.username}: {reason}"[:2000],
    )
    return change


def caseload_trail(*, session: Session, actor: Actor, patient_uuid: str) -> list[CaseloadChange]:
    """The patient's caseload moves, oldest first."""
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    return list(
        session.scalars(
            select(CaseloadChange)
            .where(CaseloadChange.patient_id == patient.id)
            .order_by(CaseloadChange.at, CaseloadChange.id)
        )
    )


# --- Coverage --------------------------------------------------------------------------------------------


def coverage_set(
    *,
    session: Session,
    actor: Actor,
    username: str,
    covered_by: str,
    starts_on: date,
    ends_on: date,
    note: str | None = None,
) -> Coverage:
    """``covered_by`` reaches the caseload of ``username`` from ``starts_on`` to ``ends_on`` (inclusive)."""
    require_supervisor(actor)
    away = _caseload_user(session, actor, username)
    cover = _caseload_user(session, actor, covered_by)
    if away.id == cover.id:
        raise InvalidInput("someone else covers for a care manager away", where="covered_by")
    if ends_on < starts_on:
        raise InvalidInput("the coverage ends before it starts", where="ends_on")
    coverage = Coverage(
        org_id=actor.org_id,
        user_id=away.id,
        covered_by_user_id=cover.id,
        starts_on=starts_on,
        ends_on=ends_on,
        note=(note or "").strip() or None,
        set_by=actor.label,
    )
    session.add(coverage)
    session.flush()
    audit_record(
        session=session,
        actor=actor,
        action="coverage-set",
        entity_type="Coverage",
        entity_id=coverage.uuid,
        detail=f"{cover.username} covers {away.username} {starts_on.isoformat()}..{ends_on.isoformat()}",
    )
    return coverage


def coverage_end(*, session: Session, actor: Actor, coverage_uuid: str) -> Coverage:
    """End a coverage now (the covering user no longer reaches the caseload). Audited."""
    require_supervisor(actor)
    coverage = session.scalar(
        select(Coverage).where(Coverage.uuid == coverage_uuid, Coverage.org_id == actor.org_id)
    )
    if coverage is None:
        raise NotFound(f"no coverage {coverage_uuid}", where="Coverage")
    away = session.get_one(User, coverage.user_id)
    if not _in_actors_team(actor, away):
        raise NotFound(f"no coverage {coverage_uuid}", where="Coverage")
    if coverage.ended_at is None:
        coverage.ended_at = now()
        coverage.ended_by = actor.label
        session.flush()
        audit_record(
            session=session,
            actor=actor,
            action="coverage-end",
            entity_type="Coverage",
            entity_id=coverage.uuid,
        )
    return coverage


def coverages_current(*, session: Session, actor: Actor, on: date) -> list[Coverage]:
    """Coverages not ended whose period has not passed by ``on`` (current and coming), soonest first; a
    supervisor sees those of the team they lead (the ones they may end)."""
    require_supervisor(actor)
    query = select(Coverage).where(
        Coverage.org_id == actor.org_id, Coverage.ended_at.is_(None), Coverage.ends_on >= on
    )
    if actor.role == Role.SUPERVISOR:
        query = query.where(Coverage.user_id.in_(_team_ids(actor)))
    return list(session.scalars(query.order_by(Coverage.starts_on, Coverage.id)))


def _team_ids(actor: Actor) -> Select[Any]:
    """The ids of a supervisor and of the team they lead (``_in_actors_team`` in SQL)."""
    condition = User.id == actor.user_id
    if actor.team_id is not None:
        condition = or_(condition, User.team_id == actor.team_id)
    return select(User.id).where(User.org_id == actor.org_id, condition)


# --- Caseload summaries and balancing --------------------------------------------------------------------


def team_resolve_for(session: Session, actor: Actor, team: str | int | None) -> Team | None:
    """The team a page or command is about: a supervisor's own (whatever is asked); for an admin the team
    named (by id or name), or None for the whole organization."""
    if actor.role == Role.SUPERVISOR:
        return session.get(Team, actor.team_id) if actor.team_id is not None else None
    if team in (None, ""):
        return None
    query = select(Team).where(Team.org_id == actor.org_id)
    if isinstance(team, int) or (isinstance(team, str) and team.isdigit()):
        query = query.where(Team.id == int(team))
    else:
        query = query.where(Team.name == team)
    found = session.scalar(query)
    if found is None:
        raise NotFound(f"no team {team!r}", where="team")
    return found


def team_users(session: Session, actor: Actor, team: Team | None) -> list[User]:
    """The active care managers and supervisors of the team (of the organization when None); for a
    supervisor without a team, themself."""
    query = select(User).where(
        User.org_id == actor.org_id, User.active.is_(True), User.role.in_(CASELOAD_ROLES)
    )
    if team is not None:
        query = query.where(User.team_id == team.id)
    elif actor.role == Role.SUPERVISOR:
        query = query.where(User.id == actor.user_id)
    return list(session.scalars(query.order_by(User.display_name, User.username)))


def team_member_resolve(session: Session, actor: Actor, team: Team | None, username: str) -> User:
    """One of ``team_users``, by username: whom a supervisor (or an administrator, within the team chosen)
    narrows a page or report to; NotFound naming the team otherwise."""
    wanted = username.strip()
    for user in team_users(session, actor, team):
        if user.username == wanted:
            return user
    where = f"team {team.name}" if team is not None else "the organization"
    raise NotFound(f"no active care manager or supervisor {wanted!r} in {where}", where="care manager")


def latest_tiers(
    session: Session, org_id: int, patient_ids: list[int] | None = None
) -> dict[int, int | None]:
    """Each patient's tier in the organization's latest stratification run (as ``outreach.patient_tier``)."""
    run_id = session.scalar(
        select(StratificationRun.id)
        .where(StratificationRun.org_id == org_id)
        .order_by(StratificationRun.finished_at.desc(), StratificationRun.id.desc())
        .limit(1)
    )
    if run_id is None:
        return {}
    query = select(StratificationResult.patient_id, StratificationResult.tier).where(
        StratificationResult.run_id == run_id
    )
    if patient_ids is not None:
        query = query.where(StratificationResult.patient_id.in_(patient_ids))
    return dict(session.execute(query).all())


@dataclass(frozen=True)
class CaseloadRow:
    """One care manager's caseload: size, tier mix (tier → patients; None: not stratified), acuity-weighted
    load and capacity."""

    user: User
    size: int
    tiers: dict[int | None, int]
    weighted_load: float
    capacity: int
    programs: frozenset[str]

    @property
    def over(self) -> int:
        return max(0, self.size - self.capacity)


def caseload_rows(
    session: Session, actor: Actor, users: list[User], rules: CapacityRules | None = None
) -> list[CaseloadRow]:
    rules = rules or default_capacity_rules()
    ids = [u.id for u in users]
    members: dict[int, list[int]] = defaultdict(list)
    if ids:
        for user_id, patient_id in session.execute(
            select(CareTeamMember.user_id, CareTeamMember.patient_id)
            .join(Patient, Patient.id == CareTeamMember.patient_id)
            .where(
                CareTeamMember.user_id.in_(ids),
                CareTeamMember.role == CareTeamRole.CARE_MANAGER.value,
                CareTeamMember.active.is_(True),
                Patient.org_id == actor.org_id,
            )
            .distinct()
        ):
            if user_id is not None:
                members[user_id].append(patient_id)
    all_patients = sorted({p for ps in members.values() for p in ps})
    tiers = latest_tiers(session, actor.org_id, all_patients) if all_patients else {}
    programs = _programs(session, all_patients)
    out = []
    for user in users:
        patients = members.get(user.id, [])
        mix = Counter(tiers.get(p) for p in patients)
        out.append(
            CaseloadRow(
                user=user,
                size=len(patients),
                tiers=dict(mix),
                weighted_load=round(sum(rules.weight(tiers.get(p)) for p in patients), 2),
                capacity=rules.capacity_of(user.discipline, user.max_caseload),
                programs=frozenset(code for p in patients for code in programs.get(p, ())),
            )
        )
    return out


def _programs(session: Session, patient_ids: list[int]) -> dict[int, set[str]]:
    out: dict[int, set[str]] = defaultdict(set)
    if not patient_ids:
        return out
    for patient_id, code in session.execute(
        select(ProgramEnrolment.patient_id, ProgramEnrolment.program_code).where(
            ProgramEnrolment.patient_id.in_(patient_ids),
            ProgramEnrolment.state.in_([s.value for s in OPEN_STATES]),
        )
    ):
        out[patient_id].add(code)
    return out


def patient_needs(session: Session, patient_ids: list[int], org_id: int) -> dict[int, PatientNeeds]:
    """What each patient needs, for balancing: social (an active SDOH condition), clinical (an active
    condition that is not a social need, or an open transition of care), their preferred language, open
    programs and latest tier."""
    if not patient_ids:
        return {}
    social: set[int] = set()
    clinical: set[int] = set()
    for patient_id, domain in session.execute(
        select(Condition.patient_id, Condition.sdoh_domain).where(
            Condition.patient_id.in_(patient_ids),
            Condition.clinical_status.in_(["active", "recurrence", "relapse"]),
        )
    ):
        (social if domain else clinical).add(patient_id)
    clinical.update(
        session.scalars(
            select(TransitionEpisode.patient_id).where(
                TransitionEpisode.patient_id.in_(patient_ids),
                TransitionEpisode.status == EpisodeStatus.OPEN.value,
            )
        )
    )
    languages = dict(
        session.execute(
            select(Patient.id, Patient.preferred_language).where(Patient.id.in_(patient_ids))
        ).all()
    )
    programs = _programs(session, patient_ids)
    tiers = latest_tiers(session, org_id, patient_ids)
    return {
        p: PatientNeeds(
            social=p in social,
            clinical=p in clinical,
            language=languages.get(p),
            programs=frozenset(programs.get(p, ())),
            tier=tiers.get(p),
        )
        for p in patient_ids
    }


@dataclass(frozen=True)
class Suggestion:
    """A patient to place or move, where from (None: unassigned), and the candidates ranked best first."""

    patient: Patient
    needs: PatientNeeds
    from_user: User | None
    why: str
    ranked: tuple[Scored, ...]

    @property
    def best(self) -> Scored | None:
        return self.ranked[0] if self.ranked else None


def balancing_suggestions(
    *, session: Session, actor: Actor, team: str | int | None = None, limit: int = SUGGESTION_LIMIT
) -> list[Suggestion]:
    """Where patients should go: the patients with no care manager (for admins and operators, who reach
    them; highest tier first) and, for each care manager over capacity, as many of their patients as they
    are over (highest tier first) — each with the team's other care managers ranked by
    ``caseloads.rules.suggest``."""
    require_supervisor(actor)
    chosen = team_resolve_for(session, actor, team)
    users = team_users(session, actor, chosen)
    rows = caseload_rows(session, actor, users)
    to_place: list[tuple[int, User | None, str]] = []
    if actor.sees_whole_organization:
        assigned = select(CareTeamMember.patient_id).where(
            CareTeamMember.role == CareTeamRole.CARE_MANAGER.value,
            CareTeamMember.user_id.is_not(None),
            CareTeamMember.active.is_(True),
        )
        unassigned = list(
            session.scalars(
                select(Patient.id)
                .where(
                    Patient.org_id == actor.org_id, Patient.deceased.is_(False), Patient.id.not_in(assigned)
                )
                .order_by(Patient.id)
            )
        )
        to_place.extend((p, None, "no care manager") for p in unassigned)
    for row in rows:
        if row.over <= 0:
            continue
        theirs = list(
            session.scalars(
                select(CareTeamMember.patient_id).where(
                    and_(
                        CareTeamMember.user_id == row.user.id,
                        CareTeamMember.role == CareTeamRole.CARE_MANAGER.value,
                        CareTeamMember.active.is_(True),
                    )
                )
            )
        )
        to_place.extend((p, row.user, f"{row.user.username} is over capacity") for p in theirs)
    ids = [p for p, _, _ in to_place]
    needs = patient_needs(session, ids, actor.org_id)
    tier_key = {p: -(needs[p].tier or 0) for p in ids}
    # Over-capacity users give up as many patients as they are over, highest tier first.
    given: Counter[int] = Counter()
    over = {row.user.id: row.over for row in rows}
    picked: list[tuple[int, User | None, str]] = []
    for p, user, why in sorted(to_place, key=lambda t: (t[1] is not None, tier_key[t[0]], t[0])):
        if user is not None:
            if given[user.id] >= over[user.id]:
                continue
            given[user.id] += 1
        picked.append((p, user, why))
    patients = {
        p.id: p for p in session.scalars(select(Patient).where(Patient.id.in_([p for p, _, _ in picked])))
    }
    out = []
    for p, user, why in picked[:limit]:
        candidates = [
            Candidate(
                username=row.user.username,
                discipline=row.user.discipline,
                languages=frozenset(row.user.languages or ()),
                capacity=row.capacity,
                load=row.size,
                weighted_load=row.weighted_load,
                programs=row.programs,
            )
            for row in rows
            if user is None or row.user.id != user.id
        ]
        out.append(
            Suggestion(
                patient=patients[p],
                needs=needs[p],
                from_user=user,
                why=why,
                ranked=tuple(suggest(needs[p], candidates)),
            )
        )
    return out
