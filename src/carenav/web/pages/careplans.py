"""Care plans on screen: the plan editor (problems → goals → interventions as one tree, edited inline with
HTMX), the template picker, the suggestion inbox, barriers, the patient's agreement, the care team panel,
the version history with its diffs, and the printable plan.

Every change posts a small form. Under HTMX a goal or an intervention answers with its card (edited in
place); otherwise the browser is sent back to the plan at that item. Errors come back as the app's error
page (or fragment), naming what is wrong."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.accounts.models import Organization
from carenav.assessments.models import AssessmentSuggestion
from carenav.careplans.models import CarePlan, Goal, Intervention
from carenav.careplans.queries import (
    latest_measured,
    plan_agreements,
    plan_history,
    plan_read,
    plans_for_patient,
)
from carenav.careplans.rules import (
    PLAN_MOVES,
    Achievement,
    BarrierKind,
    GoalLifecycle,
    GoalPriority,
    InterventionKind,
    InterventionStatus,
    PlanStatus,
    Target,
    target_make,
)
from carenav.careplans.services import (
    AGREEMENT_METHODS,
    barrier_add,
    barrier_edit,
    goal_add,
    goal_edit,
    goal_progress,
    goal_status_change,
    intervention_add,
    intervention_edit,
    intervention_status_change,
    plan_agreement_record,
    plan_create,
    plan_for_change,
    plan_status_change,
    plan_suggestion_take,
    plan_template_apply,
    problem_add,
)
from carenav.careplans.team import care_team_member_add, care_team_member_end
from carenav.careplans.templates import OWNER_ROLES, PATIENT_OWNER, plan_templates, templates_for
from carenav.careplans.tree import plan_tree
from carenav.clock import today
from carenav.errors import InvalidInput
from carenav.patients.models import CareTeamMember, Condition, Medication, Patient
from carenav.patients.rules import CareTeamRole
from carenav.programs.models import ProgramEnrolment
from carenav.web.careplan_pdf import Contact, Medicine, PrintablePlan, plan_pdf
from carenav.web.database import REQUEST_SESSION
from carenav.web.dependencies import Login, current_login
from carenav.web.names import patient_display_name
from carenav.web.rendering import is_htmx, render

router = APIRouter()

OPEN_ENROLMENT = ("identified", "outreach", "enrolled", "paused")


# --- the patient page's part ----------------------------------------------------------------------


def care_plan_panel(session: Session, login: Login, patient: Patient) -> dict[str, Any]:
    """What the patient page shows of care plans: the plans, the enrolments without one, the templates
    the patient's conditions call for, and the care team."""
    plans = plans_for_patient(session=session, actor=login.actor, patient_uuid=patient.uuid)
    planned = {p.enrolment_id for p in plans}
    enrolments = [
        e
        for e in session.scalars(
            select(ProgramEnrolment)
            .where(ProgramEnrolment.patient_id == patient.id, ProgramEnrolment.state.in_(OPEN_ENROLMENT))
            .order_by(ProgramEnrolment.program_code)
        )
        if e.id not in planned
    ]
    return {
        "plans": plans,
        "enrolments": enrolments,
        "suggested_templates": _suggested(session, patient),
        "templates": plan_templates(),
        "team_back": f"/patients/{patient.uuid}#care-team",
        **_people(session, patient),
    }


def _suggested(session: Session, patient: Patient) -> list[Any]:
    rows = session.execute(
        select(Condition.code_system, Condition.code).where(
            Condition.patient_id == patient.id, Condition.clinical_status == "active"
        )
    ).all()
    return templates_for((system, code) for system, code in rows)


def _team(session: Session, patient: Patient) -> list[CareTeamMember]:
    return list(
        session.scalars(
            select(CareTeamMember)
            .where(CareTeamMember.patient_id == patient.id, CareTeamMember.active.is_(True))
            .order_by(CareTeamMember.role, CareTeamMember.id)
        )
    )


@router.post("/patients/{patient_uuid}/careplans")
def plan_start_page(
    patient_uuid: str,
    title: str = Form(""),
    enrolment: str = Form(""),
    template: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    plan = plan_create(
        session=session,
        actor=login.actor,
        patient_uuid=patient_uuid,
        title=title,
        enrolment_uuid=enrolment or None,
    )
    if template:
        plan_template_apply(session=session, actor=login.actor, plan_uuid=plan.uuid, template_id=template)
    return _back(plan)


@router.post("/patients/{patient_uuid}/care-team")
def care_team_add_page(
    patient_uuid: str,
    role: str = Form(""),
    name: str = Form(""),
    phone: str = Form(""),
    organization: str = Form(""),
    role_detail: str = Form(""),
    back: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    care_team_member_add(
        session=session,
        actor=login.actor,
        patient_uuid=patient_uuid,
        role=_choice(CareTeamRole, role, "role"),
        name=name,
        phone=phone,
        organization_name=organization,
        role_display=role_detail,
    )
    return RedirectResponse(_safe_back(back, f"/patients/{patient_uuid}#care-team"), status_code=303)


@router.post("/care-team/{member_uuid}/end")
def care_team_end_page(
    member_uuid: str,
    note: str = Form(""),
    back: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    member = care_team_member_end(
        session=session, actor=login.actor, member_uuid=member_uuid, note=note or None
    )
    patient = session.get_one(Patient, member.patient_id)
    return RedirectResponse(_safe_back(back, f"/patients/{patient.uuid}#care-team"), status_code=303)


def _safe_back(back: str, default: str) -> str:
    """A same-site path to return to (never another site)."""
    return back if back.startswith("/") and not back.startswith("//") else default


# --- the plan page --------------------------------------------------------------------------------


@router.get("/careplans/{plan_uuid}")
def plan_page(
    request: Request,
    plan_uuid: str,
    edit: str = "",
    done: str = "",
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    plan, patient = plan_read(session=session, actor=login.actor, plan_uuid=plan_uuid)
    tree = plan_tree(plan, latest_measured(session=session, plan=plan))
    agreements = plan_agreements(session=session, plan=plan)
    return render(
        request,
        "careplans/plan.html",
        {
            "plan": plan,
            "patient": patient,
            "patient_name": patient_display_name(patient),
            "tree": tree,
            "editing": edit,
            "done": done,
            "agreements": agreements,
            "agreed_current": bool(agreements) and agreements[0].version == plan.version,
            "suggestions": _waiting_suggestions(session, patient),
            "suggested_templates": _suggested(session, patient),
            "templates": plan_templates(),
            "conditions": _active_conditions(session, patient),
            "team_back": f"/careplans/{plan.uuid}#care-team",
            **_people(session, patient),
            **_choices(),
        },
        nav_key="patients",
    )


def _choices() -> dict[str, Any]:
    return {
        "plan_moves": _plan_moves(),
        "priorities": [p.value for p in GoalPriority],
        "achievements": [a.value for a in Achievement],
        "kinds": [k.value for k in InterventionKind],
        "barrier_kinds": [b.value for b in BarrierKind],
        "methods": AGREEMENT_METHODS,
        "today": today(),
    }


def _plan_moves() -> dict[str, list[str]]:
    return {status.value: sorted(m.value for m in moves) for status, moves in PLAN_MOVES.items()}


def _people(session: Session, patient: Patient) -> dict[str, Any]:
    """The care team, and who an intervention can be given to."""
    team = _team(session, patient)
    choices = [(f"member:{m.uuid}", f"{m.name} ({m.role_display or m.role.replace('_', ' ')})") for m in team]
    choices.append((f"role:{PATIENT_OWNER}", "The patient"))
    choices += [
        (f"role:{role}", f"A {role.replace('_', ' ')} (to assign)")
        for role in sorted(OWNER_ROLES - {PATIENT_OWNER})
    ]
    return {
        "team": team,
        "owners": choices,
        "member_values": {m.id: f"member:{m.uuid}" for m in team},
        "roles": [r.value for r in CareTeamRole],
    }


def _active_conditions(session: Session, patient: Patient) -> list[Condition]:
    return list(
        session.scalars(
            select(Condition)
            .where(Condition.patient_id == patient.id, Condition.clinical_status == "active")
            .order_by(Condition.display)
        )
    )


def _waiting_suggestions(session: Session, patient: Patient) -> list[AssessmentSuggestion]:
    return list(
        session.scalars(
            select(AssessmentSuggestion)
            .where(AssessmentSuggestion.patient_id == patient.id, AssessmentSuggestion.status == "suggested")
            .order_by(AssessmentSuggestion.id)
        )
    )


def _owner(value: str) -> tuple[str | None, str | None]:
    """(member uuid, role) from an owner choice."""
    kind, _, rest = value.partition(":")
    if kind == "member" and rest:
        return rest, None
    if kind == "role" and rest in OWNER_ROLES:
        return None, rest
    raise InvalidInput(f"{value!r} is not a care-team member or a role", where="owner")


def _back(plan: CarePlan, anchor: str = "", done: str = "") -> Response:
    query = f"?done={done}" if done else ""
    return RedirectResponse(f"/careplans/{plan.uuid}{query}{'#' + anchor if anchor else ''}", status_code=303)


def _choice(kind: Any, text: str, where: str) -> Any:
    try:
        return kind(text)
    except ValueError:
        allowed = ", ".join(v.value for v in kind)
        raise InvalidInput(f"{text!r} is not one of {allowed}", where=where) from None


def _date(text: str, where: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"{text!r} is not a date like 2026-03-14", where=where) from None


def _target(
    kind: str, comparator: str, value: str, low: str, high: str, unit: str, text: str
) -> Target | None:
    if not kind:
        return None
    return target_make(
        kind, value=value, comparator=comparator or None, low=low, high=high, unit=unit, text=text
    )


@router.post("/careplans/{plan_uuid}/status")
def plan_status_page(
    plan_uuid: str,
    to: str = Form(""),
    reason: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    plan = plan_status_change(
        session=session,
        actor=login.actor,
        plan_uuid=plan_uuid,
        to=_choice(PlanStatus, to, "plan status"),
        reason=reason.strip() or None,
    )
    return _back(plan, done=f"plan {plan.status}")


@router.post("/careplans/{plan_uuid}/template")
def plan_template_page(
    plan_uuid: str,
    template: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    if not template:
        raise InvalidInput("choose a template", where="template")
    applied = plan_template_apply(
        session=session, actor=login.actor, plan_uuid=plan_uuid, template_id=template
    )
    done = (
        f"{applied.problems} problem(s), {applied.goals} goal(s), "
        f"{applied.interventions} intervention(s) added"
    )
    return _back(applied.plan, done=done)


@router.post("/careplans/{plan_uuid}/problems")
def problem_add_page(
    plan_uuid: str,
    text: str = Form(""),
    condition: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    problem = problem_add(
        session=session, actor=login.actor, plan_uuid=plan_uuid, text=text, condition_uuid=condition or None
    )
    return _back(plan_for_change(session, login.actor, plan_uuid)[0], anchor=f"problem-{problem.uuid}")


@router.post("/careplans/{plan_uuid}/goals")
def goal_add_page(
    plan_uuid: str,
    description: str = Form(""),
    problem: str = Form(""),
    patient_stated: str = Form(""),
    priority: str = Form(GoalPriority.MEDIUM.value),
    due_on: str = Form(""),
    target_kind: str = Form(""),
    comparator: str = Form(""),
    value: str = Form(""),
    low: str = Form(""),
    high: str = Form(""),
    unit: str = Form(""),
    target_text: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    goal = goal_add(
        session=session,
        actor=login.actor,
        plan_uuid=plan_uuid,
        description=description,
        problem_uuid=problem or None,
        target=_target(target_kind, comparator, value, low, high, unit, target_text),
        due_on=_date(due_on, "due date"),
        priority=_choice(GoalPriority, priority, "priority"),
        patient_stated=patient_stated == "yes",
    )
    return _back(plan_for_change(session, login.actor, plan_uuid)[0], anchor=f"goal-{goal.uuid}")


# --- a goal, in place -----------------------------------------------------------------------------


def _goal_card(request: Request, session: Session, login: Login, goal: Goal, *, editing: bool) -> Response:
    plan, patient = plan_for_change(session, login.actor, _plan_uuid(session, goal.plan_id))
    tree = plan_tree(plan, latest_measured(session=session, plan=plan))
    node = next(n for p in tree.problems for n in p.goals if n.goal.id == goal.id)
    return render(
        request,
        "careplans/_goal.html",
        {
            "node": node,
            "plan": plan,
            "editing": goal.uuid if editing else "",
            **_people(session, patient),
            **_choices(),
        },
        block="goal",
    )


def _plan_uuid(session: Session, plan_id: int | None) -> str:
    if plan_id is None:
        raise InvalidInput("the goal belongs to no plan", where="goal")
    return session.get_one(CarePlan, plan_id).uuid


def _goal_after(request: Request, session: Session, login: Login, goal: Goal) -> Response:
    if is_htmx(request):
        return _goal_card(request, session, login, goal, editing=False)
    plan = session.get_one(CarePlan, goal.plan_id)
    return _back(plan, anchor=f"goal-{goal.uuid}")


def _goal_of(session: Session, login: Login, goal_uuid: str) -> Goal:
    goal = session.scalar(select(Goal).where(Goal.uuid == goal_uuid))
    if goal is None or goal.plan_id is None:
        raise InvalidInput(f"no goal {goal_uuid} in a plan", where="goal")
    plan_for_change(session, login.actor, _plan_uuid(session, goal.plan_id))  # the access check
    return goal


@router.get("/careplans/goals/{goal_uuid}")
def goal_card_page(
    request: Request,
    goal_uuid: str,
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    return _goal_card(request, session, login, _goal_of(session, login, goal_uuid), editing=False)


@router.get("/careplans/goals/{goal_uuid}/edit")
def goal_edit_form(
    request: Request,
    goal_uuid: str,
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    goal = _goal_of(session, login, goal_uuid)
    if not is_htmx(request):
        return RedirectResponse(
            f"/careplans/{_plan_uuid(session, goal.plan_id)}?edit={goal.uuid}#goal-{goal.uuid}", 303
        )
    return _goal_card(request, session, login, goal, editing=True)


@router.post("/careplans/goals/{goal_uuid}")
def goal_edit_page(
    request: Request,
    goal_uuid: str,
    description: str = Form(""),
    priority: str = Form(""),
    due_on: str = Form(""),
    target_kind: str = Form(""),
    comparator: str = Form(""),
    value: str = Form(""),
    low: str = Form(""),
    high: str = Form(""),
    unit: str = Form(""),
    target_text: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    target = _target(target_kind, comparator, value, low, high, unit, target_text)
    goal = goal_edit(
        session=session,
        actor=login.actor,
        goal_uuid=goal_uuid,
        description=description or None,
        target=target,
        due_on=_date(due_on, "due date"),
        priority=_choice(GoalPriority, priority, "priority") if priority else None,
    )
    return _goal_after(request, session, login, goal)


@router.post("/careplans/goals/{goal_uuid}/status")
def goal_status_page(
    request: Request,
    goal_uuid: str,
    to: str = Form(""),
    reason: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    goal = goal_status_change(
        session=session,
        actor=login.actor,
        goal_uuid=goal_uuid,
        to=_choice(GoalLifecycle, to, "goal status"),
        reason=reason.strip() or None,
    )
    return _goal_after(request, session, login, goal)


@router.post("/careplans/goals/{goal_uuid}/progress")
def goal_progress_page(
    request: Request,
    goal_uuid: str,
    note: str = Form(""),
    achievement: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    goal = goal_progress(
        session=session,
        actor=login.actor,
        goal_uuid=goal_uuid,
        note=note,
        achievement=_choice(Achievement, achievement, "achievement") if achievement else None,
    )
    return _goal_after(request, session, login, goal)


# --- an intervention, in place --------------------------------------------------------------------


@router.post("/careplans/{plan_uuid}/interventions")
def intervention_add_page(
    plan_uuid: str,
    kind: str = Form(""),
    text: str = Form(""),
    goal: str = Form(""),
    owner: str = Form(""),
    due_on: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    member, role = _owner(owner) if owner else (None, None)
    intervention = intervention_add(
        session=session,
        actor=login.actor,
        plan_uuid=plan_uuid,
        kind=_choice(InterventionKind, kind, "kind"),
        text=text,
        goal_uuids=[goal] if goal else [],
        owner_member_uuid=member,
        owner_role=role,
        due_on=_date(due_on, "due date"),
    )
    return _back(plan_for_change(session, login.actor, plan_uuid)[0], anchor=f"step-{intervention.uuid}")


def _intervention_of(session: Session, login: Login, uuid: str) -> Intervention:
    intervention = session.scalar(select(Intervention).where(Intervention.uuid == uuid))
    if intervention is None or intervention.plan_id is None:
        raise InvalidInput(f"no intervention {uuid} in a plan", where="intervention")
    plan_for_change(session, login.actor, _plan_uuid(session, intervention.plan_id))
    return intervention


def _step_card(
    request: Request, session: Session, login: Login, step: Intervention, *, editing: bool
) -> Response:
    plan, patient = plan_for_change(session, login.actor, _plan_uuid(session, step.plan_id))
    tree = plan_tree(plan, {})
    nodes = [*(i for g in tree.goals() for i in g.interventions), *tree.loose_interventions]
    node = next(n for n in nodes if n.intervention.id == step.id)
    return render(
        request,
        "careplans/_intervention.html",
        {
            "step": node,
            "plan": plan,
            "editing": step.uuid if editing else "",
            **_people(session, patient),
            **_choices(),
        },
        block="step",
    )


def _step_after(request: Request, session: Session, login: Login, step: Intervention) -> Response:
    if is_htmx(request):
        return _step_card(request, session, login, step, editing=False)
    return _back(session.get_one(CarePlan, step.plan_id), anchor=f"step-{step.uuid}")


@router.get("/careplans/interventions/{uuid}")
def step_card_page(
    request: Request, uuid: str, login: Login = Depends(current_login), session: Session = REQUEST_SESSION
) -> Response:
    return _step_card(request, session, login, _intervention_of(session, login, uuid), editing=False)


@router.get("/careplans/interventions/{uuid}/edit")
def step_edit_form(
    request: Request, uuid: str, login: Login = Depends(current_login), session: Session = REQUEST_SESSION
) -> Response:
    step = _intervention_of(session, login, uuid)
    if not is_htmx(request):
        return RedirectResponse(
            f"/careplans/{_plan_uuid(session, step.plan_id)}?edit={step.uuid}#step-{step.uuid}", 303
        )
    return _step_card(request, session, login, step, editing=True)


@router.post("/careplans/interventions/{uuid}")
def step_edit_page(
    request: Request,
    uuid: str,
    text: str = Form(""),
    owner: str = Form(""),
    due_on: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    member, role = _owner(owner) if owner else (None, None)
    step = intervention_edit(
        session=session,
        actor=login.actor,
        intervention_uuid=uuid,
        text=text or None,
        owner_member_uuid=member,
        owner_role=role,
        due_on=_date(due_on, "due date"),
    )
    return _step_after(request, session, login, step)


@router.post("/careplans/interventions/{uuid}/status")
def step_status_page(
    request: Request,
    uuid: str,
    to: str = Form(""),
    reason: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    step = intervention_status_change(
        session=session,
        actor=login.actor,
        intervention_uuid=uuid,
        to=_choice(InterventionStatus, to, "intervention status"),
        reason=reason.strip() or None,
    )
    return _step_after(request, session, login, step)


# --- barriers, suggestions, agreement -------------------------------------------------------------


@router.post("/careplans/{plan_uuid}/barriers")
def barrier_add_page(
    plan_uuid: str,
    kind: str = Form(""),
    text: str = Form(""),
    mitigation: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    barrier_add(
        session=session,
        actor=login.actor,
        plan_uuid=plan_uuid,
        kind=_choice(BarrierKind, kind, "barrier kind"),
        text=text,
        mitigation=mitigation,
    )
    return _back(plan_for_change(session, login.actor, plan_uuid)[0], anchor="barriers")


@router.post("/careplans/barriers/{barrier_uuid}")
def barrier_edit_page(
    barrier_uuid: str,
    mitigation: str = Form(""),
    resolved: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    barrier = barrier_edit(
        session=session,
        actor=login.actor,
        barrier_uuid=barrier_uuid,
        mitigation=mitigation,
        resolved=resolved == "yes",
    )
    return _back(session.get_one(CarePlan, barrier.plan_id), anchor="barriers")


@router.post("/careplans/{plan_uuid}/suggestions/{suggestion_uuid}")
def suggestion_take_page(
    plan_uuid: str,
    suggestion_uuid: str,
    text: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    plan_suggestion_take(
        session=session,
        actor=login.actor,
        plan_uuid=plan_uuid,
        suggestion_uuid=suggestion_uuid,
        text=text or None,
    )
    return _back(
        plan_for_change(session, login.actor, plan_uuid)[0], anchor="suggestions", done="suggestion added"
    )


@router.post("/careplans/{plan_uuid}/agreement")
def agreement_page(
    plan_uuid: str,
    agreed_on: str = Form(""),
    method: str = Form(""),
    agreed_by: str = Form("patient"),
    name: str = Form(""),
    relationship: str = Form(""),
    note: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    agreement = plan_agreement_record(
        session=session,
        actor=login.actor,
        plan_uuid=plan_uuid,
        agreed_on=_date(agreed_on, "agreement date") or today(),
        method=method,
        agreed_by=agreed_by,
        name=name,
        relationship=relationship,
        note=note,
    )
    plan = plan_for_change(session, login.actor, plan_uuid)[0]
    return _back(plan, anchor="agreement", done=f"agreement to version {agreement.version} recorded")


# --- history --------------------------------------------------------------------------------------


@router.get("/careplans/{plan_uuid}/history")
def plan_history_page(
    request: Request,
    plan_uuid: str,
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    plan, patient = plan_read(
        session=session, actor=login.actor, plan_uuid=plan_uuid, what="care plan history"
    )
    return render(
        request,
        "careplans/history.html",
        {
            "plan": plan,
            "patient": patient,
            "patient_name": patient_display_name(patient),
            "history": plan_history(session=session, plan=plan),
            "agreements": plan_agreements(session=session, plan=plan),
        },
        nav_key="patients",
    )


# --- the printable plan ---------------------------------------------------------------------------


@router.get("/careplans/{plan_uuid}/print")
def plan_print_page(
    request: Request,
    plan_uuid: str,
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    """The patient's copy of the plan (PDF), audited as a read."""
    plan, patient = plan_read(
        session=session, actor=login.actor, plan_uuid=plan_uuid, what="care plan printed"
    )
    team = _team(session, patient)
    contacts = [
        Contact(
            m.name,
            m.role_display or m.role.replace("_", " "),
            m.phone,
            m.role == CareTeamRole.CARE_MANAGER.value,
        )
        for m in sorted(team, key=lambda m: (m.role != CareTeamRole.CARE_MANAGER.value, m.role, m.id))
    ]
    medicines = [
        Medicine(m.display or m.code or "a medicine", m.dosage_text)
        for m in session.scalars(
            select(Medication)
            .where(Medication.patient_id == patient.id, Medication.status == "active")
            .order_by(Medication.display)
        )
    ]
    phone = request.app.state.settings.after_hours_phone
    after_hours = (
        f"After hours and at weekends, call the nurse line: {phone}."
        if phone
        else "After hours and at weekends, call your care manager's number: the message tells you how to "
        "reach the nurse on call."
    )
    document = PrintablePlan(
        patient_name=patient_display_name(patient),
        title=plan.title,
        version=plan.version,
        printed_on=today(),
        organization=session.get_one(Organization, patient.org_id).name,
        tree=plan_tree(plan, latest_measured(session=session, plan=plan)),
        contacts=contacts,
        medicines=medicines,
        after_hours=after_hours,
    )
    filename = f"care-plan-v{plan.version}.pdf"
    return Response(
        plan_pdf(document),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"', "Cache-Control": "no-store"},
    )
