"""Care plans on screen: a patient's plans and starting one, the plan page (its tree of problems, goals and
steps, templates, suggestions, barriers, agreement), its history with the diffs, and the patient's
printable copy. Goals and steps in place are ``careplan_items``; the care team and preferences
``care_team``.

Every change posts a small form and comes back to the plan; errors come back as the app's error page,
naming what is wrong."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.accounts.models import Organization
from carenav.assessments.models import AssessmentSuggestion
from carenav.careplans.models import CarePlan
from carenav.careplans.preferences import preferences_of
from carenav.careplans.queries import (
    latest_measured,
    plan_agreements,
    plan_contributors,
    plan_history,
    plan_read,
    plans_for_patient,
)
from carenav.careplans.rules import BarrierKind, PlanStatus
from carenav.careplans.services import (
    barrier_add,
    barrier_edit,
    plan_agreement_record,
    plan_create,
    plan_for_change,
    plan_reviewed,
    plan_status_change,
    plan_suggestion_take,
    plan_template_apply,
    problem_add,
    templates_for_patient,
)
from carenav.careplans.templates import plan_templates
from carenav.careplans.tree import plan_tree
from carenav.clock import today
from carenav.education.services import medication_schedule_for
from carenav.errors import InvalidInput
from carenav.patients.models import Condition, Patient
from carenav.patients.rules import CareTeamRole
from carenav.programs.queries import enrolments_of
from carenav.programs.rules import OPEN_STATES
from carenav.referrals.services import referrals_by_goal
from carenav.web.careplan_pdf import Contact, Medicine, PrintablePlan, plan_pdf
from carenav.web.database import REQUEST_SESSION
from carenav.web.dependencies import Login, current_login
from carenav.web.forms import form_choice, form_date
from carenav.web.pages.care_team import preference_lines, preferences_panel
from carenav.web.pages.careplan_support import active_team, back_to_plan, people, plan_choices
from carenav.web.rendering import render

router = APIRouter()


def care_plan_panel(session: Session, login: Login, patient: Patient) -> dict[str, Any]:
    """What the patient page shows of care plans: the plans, the enrolments without one, the templates
    the patient's conditions call for, and the care team."""
    plans = plans_for_patient(session=session, actor=login.actor, patient_uuid=patient.uuid)
    planned = {p.enrolment_id for p in plans}
    enrolments = [
        e for e in enrolments_of(session, patient.id) if e.state in OPEN_STATES and e.id not in planned
    ]
    return {
        "plans": plans,
        "enrolments": enrolments,
        "suggested_templates": templates_for_patient(session, patient.id),
        "templates": plan_templates(),
        "team_back": f"/patients/{patient.uuid}#care-team",
        **preferences_panel(session, login, patient, f"/patients/{patient.uuid}#preferences"),
        **people(session, patient),
    }


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
    return back_to_plan(plan)


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
            "patient_name": patient.name_shown,
            "tree": tree,
            "editing": edit,
            "done": done,
            "agreements": agreements,
            "contributors": plan_contributors(session=session, plan=plan),
            "agreed_current": bool(agreements) and agreements[0].version == plan.version,
            "suggestions": _waiting_suggestions(session, patient),
            "suggested_templates": templates_for_patient(session, patient.id),
            "templates": plan_templates(),
            "conditions": _active_conditions(session, patient),
            "team_back": f"/careplans/{plan.uuid}#care-team",
            "goal_referrals": referrals_by_goal(session=session, goal_ids=[g.id for g in plan.goals]),
            **preferences_panel(session, login, patient, f"/careplans/{plan.uuid}#preferences"),
            **people(session, patient),
            **plan_choices(),
        },
        nav_key="patients",
    )


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
        to=form_choice(PlanStatus, to, "plan status"),
        reason=reason.strip() or None,
    )
    return back_to_plan(plan, done=f"plan {plan.status}")


@router.post("/careplans/{plan_uuid}/reviewed")
def plan_reviewed_page(
    plan_uuid: str,
    note: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    plan = plan_reviewed(session=session, actor=login.actor, plan_uuid=plan_uuid, note=note.strip() or None)
    return back_to_plan(plan, done=f"reviewed; next review {plan.next_review_on}")


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
    return back_to_plan(applied.plan, done=done)


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
    return back_to_plan(plan_for_change(session, login.actor, plan_uuid)[0], anchor=f"problem-{problem.uuid}")


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
        kind=form_choice(BarrierKind, kind, "barrier kind"),
        text=text,
        mitigation=mitigation,
    )
    return back_to_plan(plan_for_change(session, login.actor, plan_uuid)[0], anchor="barriers")


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
    return back_to_plan(session.get_one(CarePlan, barrier.plan_id), anchor="barriers")


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
    return back_to_plan(
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
        agreed_on=form_date(agreed_on, "agreement date") or today(),
        method=method,
        agreed_by=agreed_by,
        name=name,
        relationship=relationship,
        note=note,
    )
    plan = plan_for_change(session, login.actor, plan_uuid)[0]
    return back_to_plan(plan, anchor="agreement", done=f"agreement to version {agreement.version} recorded")


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
            "patient_name": patient.name_shown,
            "history": plan_history(session=session, plan=plan),
            "agreements": plan_agreements(session=session, plan=plan),
        },
        nav_key="patients",
    )


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
    team = active_team(session, patient)
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
        Medicine(row.what, row.when, row.why)
        for row in medication_schedule_for(session=session, actor=login.actor, patient_uuid=patient.uuid)
    ]
    phone = request.app.state.settings.after_hours_phone
    after_hours = (
        f"After hours and at weekends, call the nurse line: {phone}."
        if phone
        else "After hours and at weekends, call your care manager's number: the message tells you how to "
        "reach the nurse on call."
    )
    document = PrintablePlan(
        patient_name=patient.name_shown,
        title=plan.title,
        version=plan.version,
        printed_on=today(),
        organization=session.get_one(Organization, patient.org_id).name,
        tree=plan_tree(plan, latest_measured(session=session, plan=plan)),
        contacts=contacts,
        medicines=medicines,
        after_hours=after_hours,
        preferences=preference_lines(
            preferences_of(session=session, actor=login.actor, patient_uuid=patient.uuid)
        ),
    )
    filename = f"care-plan-v{plan.version}.pdf"
    return Response(
        plan_pdf(document),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"', "Cache-Control": "no-store"},
    )
