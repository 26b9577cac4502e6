"""Writes of care plans. Every change is audited and makes a new version of the plan (the plan as it now
stands, with what was done); services flush, the caller commits. Access goes through the patient gate:
a plan, goal or intervention outside the actor's reach is NotFound, as one that does not exist. The status
of an enrolment's plan (on hold, completed, revoked) pauses its follow-ups: a plan made for an enrolment, or
a change of its status, keeps the follow-up schedule in step (``outreach.schedule``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor, patient_row, patient_visible, record_in_reach
from carenav.assessments.models import AssessmentSuggestion
from carenav.assessments.services import suggestion_decide
from carenav.audit.services import audit_record
from carenav.careplans.models import (
    Barrier,
    CarePlan,
    CarePlanAgreement,
    CarePlanVersion,
    Goal,
    GoalNote,
    Intervention,
    PlanProblem,
)
from carenav.careplans.rules import (
    OPEN_PLAN,
    Achievement,
    BarrierKind,
    GoalLifecycle,
    GoalPriority,
    InterventionKind,
    InterventionStatus,
    PlanStatus,
    Target,
    TargetKind,
    achievement_check,
    goal_move,
    intervention_move,
    plan_move,
    review_due,
)
from carenav.careplans.templates import PATIENT_OWNER, Measure, PlanTemplate, plan_template_get, templates_for
from carenav.careplans.versions import plan_snapshot
from carenav.clock import now, today
from carenav.db.session import kept_for_reads
from carenav.errors import InvalidInput, NotFound, RuleViolation
from carenav.outreach.schedule import followups_sync_patient
from carenav.patients.models import CareTeamMember, Condition, Patient
from carenav.patients.rules import display_name
from carenav.programs.models import ProgramEnrolment

ENTITY = "CarePlan"
AGREEMENT_METHODS = ("in-person", "phone", "video", "portal", "signed-copy")
T = TypeVar("T", Goal, Intervention, Barrier, PlanProblem)


# --- reading for a write --------------------------------------------------------------------------


def plan_for_change(session: Session, actor: Actor, plan_uuid: str) -> tuple[CarePlan, Patient]:
    """The plan and its patient, if the actor may see the patient; NotFound otherwise."""
    return record_in_reach(session=session, actor=actor, model=CarePlan, uuid=plan_uuid, what="care plan")


def _open_plan(session: Session, actor: Actor, plan_uuid: str) -> tuple[CarePlan, Patient]:
    plan, patient = plan_for_change(session, actor, plan_uuid)
    if PlanStatus(plan.status) not in OPEN_PLAN:
        raise RuleViolation(f"the care plan is {plan.status}: it no longer changes", where=ENTITY)
    return plan, patient


def _item(session: Session, actor: Actor, model: type[T], uuid: str) -> tuple[T, CarePlan, Patient]:
    """A goal, intervention, barrier or problem of an open plan the actor may change."""
    row = session.scalar(select(model).where(model.uuid == uuid))
    plan_id = getattr(row, "plan_id", None)
    if row is None or plan_id is None:
        raise NotFound(f"no {model.__name__} {uuid}", where=model.__name__)
    plan = session.get_one(CarePlan, plan_id)
    try:
        plan, patient = _open_plan(session, actor, plan.uuid)
    except NotFound:
        raise NotFound(f"no {model.__name__} {uuid}", where=model.__name__) from None
    return row, plan, patient


def _version(
    session: Session, actor: Actor, plan: CarePlan, patient: Patient, summary: str, *, always: bool = False
) -> CarePlan:
    """Record the plan as it now stands as a new version, with an audit row; a change that changed
    nothing makes no version, unless it is an event of its own (``always``: a review)."""
    session.flush()
    session.expire(plan, ["problems", "goals", "interventions", "barriers"])
    snapshot = plan_snapshot(plan)
    previous = session.scalar(
        select(CarePlanVersion.snapshot)
        .where(CarePlanVersion.plan_id == plan.id)
        .order_by(CarePlanVersion.version.desc())
        .limit(1)
    )
    if previous == snapshot and not always:
        return plan
    plan.version += 1
    session.add(
        CarePlanVersion(
            plan_id=plan.id,
            version=plan.version,
            at=now(),
            actor=actor.label,
            user_id=actor.user_id,
            summary=summary,
            snapshot=snapshot,
        )
    )
    audit_record(
        session=session,
        actor=actor,
        action="care-plan-change",
        patient_uuid=patient.uuid,
        entity_type=ENTITY,
        entity_id=plan.uuid,
        detail=f"version {plan.version}: {summary}",
    )
    session.flush()
    return plan


# --- the plan -------------------------------------------------------------------------------------


def plan_create(
    *,
    session: Session,
    actor: Actor,
    patient_uuid: str,
    title: str,
    enrolment_uuid: str | None = None,
    description: str | None = None,
) -> CarePlan:
    """A draft plan for the patient, for one program enrolment (one plan each) or outside programs."""
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    if not title.strip():
        raise InvalidInput("a care plan needs a title", where="title")
    enrolment_id = None
    if enrolment_uuid is not None:
        enrolment = session.scalar(
            select(ProgramEnrolment).where(
                ProgramEnrolment.uuid == enrolment_uuid, ProgramEnrolment.patient_id == patient.id
            )
        )
        if enrolment is None:
            raise NotFound(f"the patient has no enrolment {enrolment_uuid}", where="enrolment")
        taken = session.scalar(select(CarePlan.uuid).where(CarePlan.enrolment_id == enrolment.id))
        if taken is not None:
            raise RuleViolation(
                f"the {enrolment.program_code} enrolment has its care plan already ({taken})",
                where="enrolment",
            )
        enrolment_id = enrolment.id
    started = today()
    plan = CarePlan(
        org_id=patient.org_id,
        patient_id=patient.id,
        enrolment_id=enrolment_id,
        title=title.strip(),
        description=(description or "").strip() or None,
        status=PlanStatus.DRAFT.value,
        period_start=started,
        author=actor.label,
        author_user_id=actor.user_id,
        version=0,
        last_reviewed_on=started,
        next_review_on=review_due(started),
    )
    session.add(plan)
    session.flush()
    made = _version(session, actor, plan, patient, "care plan started")
    if enrolment_id is not None:
        followups_sync_patient(session=session, actor=actor, patient=patient)
    return made


def plan_status_change(
    *, session: Session, actor: Actor, plan_uuid: str, to: PlanStatus, reason: str | None = None
) -> CarePlan:
    plan, patient = plan_for_change(session, actor, plan_uuid)
    goals = sum(1 for g in plan.goals if g.lifecycle not in ("cancelled", "rejected", "entered-in-error"))
    plan.status = plan_move(PlanStatus(plan.status), to, goals=goals, reason=reason).value
    plan.status_reason = reason
    if to in (PlanStatus.COMPLETED, PlanStatus.REVOKED):
        plan.period_end = today()
    changed = _version(session, actor, plan, patient, f"plan {to.value}" + (f": {reason}" if reason else ""))
    if plan.enrolment_id is not None:
        followups_sync_patient(session=session, actor=actor, patient=patient)
    return changed


def plan_reviewed(*, session: Session, actor: Actor, plan_uuid: str, note: str | None = None) -> CarePlan:
    """The plan was reviewed with the patient today: the next review falls a year on."""
    plan, patient = _open_plan(session, actor, plan_uuid)
    plan.last_reviewed_on = today()
    plan.next_review_on = review_due(plan.last_reviewed_on)
    return _version(
        session, actor, plan, patient, "plan reviewed" + (f": {note}" if note else ""), always=True
    )


# --- templates ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Applied:
    plan: CarePlan
    problems: int
    goals: int
    interventions: int


def plan_template_apply(*, session: Session, actor: Actor, plan_uuid: str, template_id: str) -> Applied:
    """Add the template's problems, goals and interventions the plan does not have yet (each item
    remembers the template key it came from). Problems are linked to the patient's active condition the
    template applies to (the template's first problem is that condition, worded as the record words it);
    owners to the care-team member with the template's role (or left to assign)."""
    template = plan_template_get(template_id)
    plan, patient = _open_plan(session, actor, plan_uuid)
    refs = [p.template_ref for p in plan.problems] + [g.template_ref for g in plan.goals]
    have = {ref for ref in refs + [i.template_ref for i in plan.interventions] if ref}
    condition = _condition_for(session, patient, template)
    problems: dict[str, PlanProblem] = {
        p.template_ref.split(":", 1)[1]: p
        for p in plan.problems
        if p.template_ref and _of(p.template_ref, template)
    }
    goals: dict[str, Goal] = {
        g.template_ref.split(":", 1)[1]: g
        for g in plan.goals
        if g.template_ref and _of(g.template_ref, template)
    }
    counts = {"problems": 0, "goals": 0, "interventions": 0}
    for index, problem in enumerate(template.problems):
        if template.ref(problem.key) in have:
            continue
        linked = condition if index == 0 else None  # the first problem is the condition itself
        made = PlanProblem(
            plan_id=plan.id,
            text=linked.display if linked is not None and linked.display else problem.text,
            detail=problem.detail or None,
            condition_id=linked.id if linked is not None else None,
            template_ref=template.ref(problem.key),
        )
        session.add(made)
        problems[problem.key] = made
        counts["problems"] += 1
    session.flush()
    started = today()
    for goal in template.goals:
        if template.ref(goal.key) in have:
            continue
        made_goal = Goal(
            org_id=patient.org_id,
            patient_id=patient.id,
            plan_id=plan.id,
            problem_id=problems[goal.problem].id if goal.problem in problems else None,
            description=goal.description,
            priority=goal.priority.value,
            lifecycle=GoalLifecycle.PROPOSED.value,
            status_date=started,
            start_on=started,
            due_on=started + timedelta(days=goal.due_days) if goal.due_days is not None else None,
            template_ref=template.ref(goal.key),
        )
        _set_target(made_goal, goal.target, goal.measure)
        session.add(made_goal)
        goals[goal.key] = made_goal
        counts["goals"] += 1
    session.flush()
    team = _team(session, patient)
    for step in template.interventions:
        if template.ref(step.key) in have:
            continue
        member = team.get(step.owner)
        intervention = Intervention(
            org_id=patient.org_id,
            patient_id=patient.id,
            plan_id=plan.id,
            kind=step.kind.value,
            text=step.text,
            owner_role=step.owner,
            owner_member_id=member.id if member is not None else None,
            owner_name=_owner_name(step.owner, member, patient),
            due_on=started + timedelta(days=step.due_days) if step.due_days is not None else None,
            status=InterventionStatus.DRAFT.value,
            status_at=now(),
            template_ref=template.ref(step.key),
            goals=[goals[key] for key in step.goals if key in goals],
        )
        session.add(intervention)
        counts["interventions"] += 1
    summary = (
        f"template {template.title} applied: {counts['problems']} problem(s), {counts['goals']} goal(s), "
        f"{counts['interventions']} intervention(s) added"
    )
    _version(session, actor, plan, patient, summary)
    return Applied(plan, counts["problems"], counts["goals"], counts["interventions"])


def _of(ref: str, template: PlanTemplate) -> bool:
    return ref.split(":", 1)[0] == template.id


@kept_for_reads
def templates_for_patient(session: Session, patient_id: int) -> list[PlanTemplate]:
    """The care-plan templates the patient's active conditions call for, by title. A page's panels share
    one read."""
    codes = session.execute(
        select(Condition.code_system, Condition.code).where(
            Condition.patient_id == patient_id, Condition.clinical_status == "active"
        )
    ).all()
    return templates_for((system, code) for system, code in codes)


def _condition_for(session: Session, patient: Patient, template: PlanTemplate) -> Condition | None:
    """The patient's active condition the template applies to, most recently recorded first."""
    rows = session.scalars(
        select(Condition)
        .where(Condition.patient_id == patient.id, Condition.clinical_status == "active")
        .order_by(Condition.recorded_at.desc(), Condition.id.desc())
    )
    for condition in rows:
        codings = [(condition.code_system, condition.code)] + [
            (c.get("system"), c.get("code")) for c in (condition.codings or []) if isinstance(c, dict)
        ]
        if any(template.applies_to(system, code) for system, code in codings):
            return condition
    return None


def _team(session: Session, patient: Patient) -> dict[str, CareTeamMember]:
    """The patient's active care-team members by role (the first of each role)."""
    members = session.scalars(
        select(CareTeamMember)
        .where(CareTeamMember.patient_id == patient.id, CareTeamMember.active.is_(True))
        .order_by(CareTeamMember.id)
    )
    team: dict[str, CareTeamMember] = {}
    for member in members:
        team.setdefault(member.role, member)
    return team


def _owner_name(role: str, member: CareTeamMember | None, patient: Patient) -> str | None:
    if role == PATIENT_OWNER:
        name = patient.primary_name
        return display_name(name.given, name.family) if name else "the patient"
    return member.name if member is not None else None


# --- goals ----------------------------------------------------------------------------------------


def _set_target(goal: Goal, target: Target | None, measure: Measure | None) -> None:
    goal.target_kind = target.kind.value if target else None
    goal.target_comparator = target.comparator if target and target.kind is TargetKind.QUANTITY else None
    goal.target_value = _text(target.value) if target else None
    goal.target_low = _text(target.low) if target else None
    goal.target_high = _text(target.high) if target else None
    goal.target_unit = target.unit if target else None
    goal.target_text = target.text if target else None
    goal.measure_system = measure.system if measure else None
    goal.measure_code = measure.code if measure else None
    goal.measure_display = measure.display if measure else None


def _text(number: Any) -> str | None:
    return None if number is None else str(number)


def goal_add(
    *,
    session: Session,
    actor: Actor,
    plan_uuid: str,
    description: str,
    problem_uuid: str | None = None,
    target: Target | None = None,
    measure: Measure | None = None,
    due_on: date | None = None,
    priority: GoalPriority = GoalPriority.MEDIUM,
    patient_stated: bool = False,
    suggestion: AssessmentSuggestion | None = None,
) -> Goal:
    """A proposed goal ("what matters to me" when ``patient_stated``)."""
    plan, patient = _open_plan(session, actor, plan_uuid)
    if not description.strip():
        raise InvalidInput("a goal needs a description", where="goal")
    if measure is not None and target is None:
        raise InvalidInput("a measured goal needs a target", where="goal target")
    problem = _problem_of(plan, problem_uuid)
    goal = Goal(
        org_id=patient.org_id,
        patient_id=patient.id,
        plan_id=plan.id,
        problem_id=problem.id if problem else None,
        description=description.strip(),
        patient_stated=patient_stated,
        priority=priority.value,
        lifecycle=GoalLifecycle.PROPOSED.value,
        status_date=today(),
        start_on=today(),
        due_on=due_on,
        suggestion_id=suggestion.id if suggestion else None,
    )
    _set_target(goal, target, measure)
    session.add(goal)
    _version(session, actor, plan, patient, f"goal added: {goal.description}")
    return goal


def _problem_of(plan: CarePlan, problem_uuid: str | None) -> PlanProblem | None:
    if problem_uuid is None:
        return None
    problem = next((p for p in plan.problems if p.uuid == problem_uuid), None)
    if problem is None:
        raise NotFound(f"the plan has no problem {problem_uuid}", where="problem")
    return problem


def goal_edit(
    *,
    session: Session,
    actor: Actor,
    goal_uuid: str,
    description: str | None = None,
    target: Target | None = None,
    clear_target: bool = False,
    measure: Measure | None = None,
    due_on: date | None = None,
    priority: GoalPriority | None = None,
) -> Goal:
    """Change what a goal says or aims at (given parts only)."""
    goal, plan, patient = _item(session, actor, Goal, goal_uuid)
    if description is not None:
        if not description.strip():
            raise InvalidInput("a goal needs a description", where="goal")
        goal.description = description.strip()
    if target is not None or clear_target:
        keep = measure or _measure_of(goal)
        if target is None and keep is not None:
            raise InvalidInput("a measured goal needs a target", where="goal target")
        _set_target(goal, target, keep)
    if due_on is not None:
        goal.due_on = due_on
    if priority is not None:
        goal.priority = priority.value
    _version(session, actor, plan, patient, f"goal changed: {goal.description}")
    return goal


def _measure_of(goal: Goal) -> Measure | None:
    if goal.measure_code is None or goal.measure_system is None:
        return None
    return Measure(goal.measure_system, goal.measure_code, goal.measure_display or goal.measure_code)


def goal_status_change(
    *, session: Session, actor: Actor, goal_uuid: str, to: GoalLifecycle, reason: str | None = None
) -> Goal:
    goal, plan, patient = _item(session, actor, Goal, goal_uuid)
    goal.lifecycle = goal_move(_lifecycle(goal), to, reason=reason).value
    goal.status_reason = reason
    goal.status_date = today()
    if to is GoalLifecycle.ACTIVE and goal.achievement is None:
        goal.achievement = Achievement.IN_PROGRESS.value
    _version(session, actor, plan, patient, f"goal {to.value}: {goal.description}")
    return goal


def _lifecycle(goal: Goal) -> GoalLifecycle:
    try:
        return GoalLifecycle(goal.lifecycle)
    except ValueError:
        raise RuleViolation(f"a goal {goal.lifecycle} no longer changes", where="goal status") from None


def goal_progress(
    *, session: Session, actor: Actor, goal_uuid: str, note: str, achievement: Achievement | None = None
) -> Goal:
    """A progress note on the goal, with its achievement status when it changed."""
    goal, plan, patient = _item(session, actor, Goal, goal_uuid)
    if not note.strip():
        raise InvalidInput("a progress note needs its text", where="goal note")
    if achievement is not None:
        achievement_check(_lifecycle(goal))
        goal.achievement = achievement.value
        goal.status_date = today()
    goal.notes.append(
        GoalNote(
            at=now(),
            author=actor.label,
            text=note.strip(),
            achievement=achievement.value if achievement else None,
        )
    )
    detail = f"progress on {goal.description}" + (f": {achievement.value}" if achievement else "")
    _version(session, actor, plan, patient, detail)
    return goal


# --- interventions --------------------------------------------------------------------------------


def intervention_add(
    *,
    session: Session,
    actor: Actor,
    plan_uuid: str,
    kind: InterventionKind,
    text: str,
    goal_uuids: Sequence[str] = (),
    owner_member_uuid: str | None = None,
    owner_role: str | None = None,
    due_on: date | None = None,
    suggestion: AssessmentSuggestion | None = None,
) -> Intervention:
    plan, patient = _open_plan(session, actor, plan_uuid)
    if not text.strip():
        raise InvalidInput("an intervention needs its text", where="intervention")
    goals = [_goal_of(plan, uuid) for uuid in goal_uuids]
    intervention = Intervention(
        org_id=patient.org_id,
        patient_id=patient.id,
        plan_id=plan.id,
        kind=kind.value,
        text=text.strip(),
        due_on=due_on,
        status=InterventionStatus.READY.value,
        status_at=now(),
        suggestion_id=suggestion.id if suggestion else None,
        goals=goals,
    )
    _assign(session, patient, intervention, owner_member_uuid, owner_role)
    session.add(intervention)
    _version(session, actor, plan, patient, f"intervention added: {intervention.text}")
    return intervention


def _goal_of(plan: CarePlan, goal_uuid: str) -> Goal:
    goal = next((g for g in plan.goals if g.uuid == goal_uuid), None)
    if goal is None:
        raise NotFound(f"the plan has no goal {goal_uuid}", where="goal")
    return goal


def _assign(
    session: Session, patient: Patient, intervention: Intervention, member_uuid: str | None, role: str | None
) -> None:
    """Owner: a care-team member of the patient, the patient, or a role to fill."""
    if member_uuid is not None:
        member = patient_row(
            session=session, model=CareTeamMember, uuid=member_uuid, patient=patient, what="care-team member"
        )
        if not member.active:
            raise NotFound(f"the patient's care team has no active member {member_uuid}", where="owner")
        intervention.owner_member_id = member.id
        intervention.owner_role = member.role
        intervention.owner_name = member.name
        return
    holder = _team(session, patient).get(role) if role else None
    intervention.owner_member_id = holder.id if holder is not None else None
    intervention.owner_role = role
    intervention.owner_name = _owner_name(role, holder, patient) if role else None


def intervention_edit(
    *,
    session: Session,
    actor: Actor,
    intervention_uuid: str,
    text: str | None = None,
    owner_member_uuid: str | None = None,
    owner_role: str | None = None,
    due_on: date | None = None,
    goal_uuids: Sequence[str] | None = None,
) -> Intervention:
    intervention, plan, patient = _item(session, actor, Intervention, intervention_uuid)
    if text is not None:
        if not text.strip():
            raise InvalidInput("an intervention needs its text", where="intervention")
        intervention.text = text.strip()
    if owner_member_uuid is not None or owner_role is not None:
        _assign(session, patient, intervention, owner_member_uuid, owner_role)
    if due_on is not None:
        intervention.due_on = due_on
    if goal_uuids is not None:
        intervention.goals = [_goal_of(plan, uuid) for uuid in goal_uuids]
    _version(session, actor, plan, patient, f"intervention changed: {intervention.text}")
    return intervention


def intervention_status_change(
    *,
    session: Session,
    actor: Actor,
    intervention_uuid: str,
    to: InterventionStatus,
    reason: str | None = None,
) -> Intervention:
    intervention, plan, patient = _item(session, actor, Intervention, intervention_uuid)
    intervention.status = intervention_move(InterventionStatus(intervention.status), to, reason=reason).value
    intervention.status_reason = reason
    intervention.status_at = now()
    _version(session, actor, plan, patient, f"intervention {to.value}: {intervention.text}")
    return intervention


# --- barriers, problems ---------------------------------------------------------------------------


def barrier_add(
    *,
    session: Session,
    actor: Actor,
    plan_uuid: str,
    kind: BarrierKind,
    text: str,
    mitigation: str | None = None,
) -> Barrier:
    plan, patient = _open_plan(session, actor, plan_uuid)
    if not text.strip():
        raise InvalidInput("say what the barrier is", where="barrier")
    barrier = Barrier(
        plan_id=plan.id, kind=kind.value, text=text.strip(), mitigation=(mitigation or "").strip() or None
    )
    session.add(barrier)
    _version(session, actor, plan, patient, f"barrier added: {barrier.text}")
    return barrier


def barrier_edit(
    *,
    session: Session,
    actor: Actor,
    barrier_uuid: str,
    mitigation: str | None = None,
    resolved: bool | None = None,
) -> Barrier:
    barrier, plan, patient = _item(session, actor, Barrier, barrier_uuid)
    if mitigation is not None:
        barrier.mitigation = mitigation.strip() or None
    if resolved is not None:
        barrier.resolved = resolved
    _version(session, actor, plan, patient, f"barrier changed: {barrier.text}")
    return barrier


def problem_add(
    *,
    session: Session,
    actor: Actor,
    plan_uuid: str,
    text: str | None = None,
    condition_uuid: str | None = None,
    detail: str | None = None,
) -> PlanProblem:
    """A problem from the patient's condition or health concern (``condition_uuid``), or in words."""
    plan, patient = _open_plan(session, actor, plan_uuid)
    condition = None
    if condition_uuid is not None:
        condition = patient_row(
            session=session, model=Condition, uuid=condition_uuid, patient=patient, what="condition"
        )
        if any(p.condition_id == condition.id for p in plan.problems):
            raise RuleViolation("the plan works on that condition already", where="problem")
    words = (text or "").strip() or (condition.display if condition is not None else "") or ""
    if not words:
        raise InvalidInput("a problem needs its words or a condition", where="problem")
    problem = PlanProblem(
        plan_id=plan.id,
        text=words,
        detail=(detail or "").strip() or None,
        condition_id=condition.id if condition is not None else None,
    )
    session.add(problem)
    _version(session, actor, plan, patient, f"problem added: {words}")
    return problem


# --- agreement and suggestions --------------------------------------------------------------------


def plan_agreement_record(
    *,
    session: Session,
    actor: Actor,
    plan_uuid: str,
    agreed_on: date,
    method: str,
    agreed_by: str = "patient",
    name: str | None = None,
    relationship: str | None = None,
    note: str | None = None,
) -> CarePlanAgreement:
    """The patient's (or caregiver's) agreement to the plan as it now stands (its current version)."""
    plan, patient = plan_for_change(session, actor, plan_uuid)
    if method not in AGREEMENT_METHODS:
        raise InvalidInput(
            f"method {method!r} is not one of {', '.join(AGREEMENT_METHODS)}", where="agreement"
        )
    if agreed_by not in ("patient", "caregiver"):
        raise InvalidInput("agreed by the patient or a caregiver", where="agreement")
    if agreed_by == "caregiver" and not ((name or "").strip() and (relationship or "").strip()):
        raise InvalidInput("a caregiver's agreement needs their name and relationship", where="agreement")
    if agreed_on > today():
        raise InvalidInput(f"{agreed_on} is in the future", where="agreement date")
    agreement = CarePlanAgreement(
        plan_id=plan.id,
        version=plan.version,
        agreed_on=agreed_on,
        method=method,
        agreed_by=agreed_by,
        name=(name or "").strip() or None,
        relationship_to_patient=(relationship or "").strip() or None,
        recorded_by=actor.label,
        recorded_at=now(),
        note=(note or "").strip() or None,
    )
    session.add(agreement)
    who = "the patient" if agreed_by == "patient" else f"{name} ({relationship})"
    audit_record(
        session=session,
        actor=actor,
        action="care-plan-agreement",
        patient_uuid=patient.uuid,
        entity_type=ENTITY,
        entity_id=plan.uuid,
        detail=f"version {plan.version} agreed by {who} on {agreed_on}, {method}",
    )
    session.flush()
    return agreement


def plan_suggestion_take(
    *, session: Session, actor: Actor, plan_uuid: str, suggestion_uuid: str, text: str | None = None
) -> Goal | Intervention:
    """Accept an assessment's suggestion into the plan, as a proposed goal or a referral (its words
    edited when ``text`` is given). Dismissing one is ``assessments.services.suggestion_decide``."""
    plan, patient = _open_plan(session, actor, plan_uuid)
    suggestion = patient_row(
        session=session, model=AssessmentSuggestion, uuid=suggestion_uuid, patient=patient, what="suggestion"
    )
    words = (text or "").strip() or suggestion.text
    suggestion_decide(
        session=session,
        actor=actor,
        suggestion_uuid=suggestion.uuid,
        accept=True,
        note=f"into plan {plan.title}",
    )
    if suggestion.kind == "goal":
        return goal_add(
            session=session, actor=actor, plan_uuid=plan.uuid, description=words, suggestion=suggestion
        )
    return intervention_add(
        session=session,
        actor=actor,
        plan_uuid=plan.uuid,
        kind=InterventionKind.REFERRAL,
        text=words,
        owner_role="care_manager",
        suggestion=suggestion,
    )
