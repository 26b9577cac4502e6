"""Goals and steps (interventions) of a plan, added and edited in place.

Each is a card of the plan page. Under HTMX the card's links and forms swap the card itself: "Edit" brings
its form, saving or cancelling brings the card back, moving its status or adding a progress note answers
with the card as it now is. Without JavaScript the same links open the plan with the card in edit mode,
and forms send the browser back to the plan at the card. One ``Card`` serves both kinds."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.careplans.models import Goal, Intervention
from carenav.careplans.queries import latest_measured
from carenav.careplans.rules import (
    Achievement,
    GoalLifecycle,
    GoalPriority,
    InterventionKind,
    InterventionStatus,
)
from carenav.careplans.services import (
    goal_add,
    goal_edit,
    goal_progress,
    goal_status_change,
    intervention_add,
    intervention_edit,
    intervention_status_change,
    plan_for_change,
)
from carenav.careplans.tree import GoalNode, InterventionNode, PlanTree, plan_tree
from carenav.errors import NotFound
from carenav.web.database import REQUEST_SESSION
from carenav.web.dependencies import Login, current_login
from carenav.web.forms import form_choice, form_date
from carenav.web.pages.careplan_support import (
    back_to_plan,
    form_target,
    owner_from_form,
    people,
    plan_choices,
    plan_uuid_of,
)
from carenav.web.rendering import is_htmx, render

router = APIRouter()

Item = Goal | Intervention


@dataclass(frozen=True)
class Card:
    """How one kind of plan item shows as a card: its table, the path and HTML id prefix, its template
    and the name the template gives it, and where its node is in the plan's tree."""

    model: type[Goal] | type[Intervention]
    path: str
    anchor: str
    template: str
    variable: str
    nodes: Callable[[PlanTree], Sequence[GoalNode | InterventionNode]]
    measured: bool  # its card shows the latest measured value (goals; a step's card does not)

    def of(self, session: Session, login: Login, uuid: str) -> Item:
        """The item, if the actor may change its plan (NotFound otherwise)."""
        row = cast("Item | None", session.scalar(select(self.model).where(self.model.uuid == uuid)))
        if row is None or row.plan_id is None:
            raise NotFound(f"no {self.model.__name__} {uuid} in a plan", where=self.model.__name__)
        plan_for_change(session, login.actor, plan_uuid_of(session, row.plan_id))
        return row

    def render(
        self, request: Request, session: Session, login: Login, row: Item, *, editing: bool
    ) -> Response:
        plan, patient = plan_for_change(session, login.actor, plan_uuid_of(session, row.plan_id))
        tree = plan_tree(plan, latest_measured(session=session, plan=plan) if self.measured else {})
        node = next(n for n in self.nodes(tree) if n.row.id == row.id)
        context: dict[str, Any] = {
            self.variable: node,
            "plan": plan,
            "editing": row.uuid if editing else "",
            **people(session, patient),
            **plan_choices(),
        }
        return render(request, self.template, context, block=self.anchor)

    def after(self, request: Request, session: Session, login: Login, row: Item) -> Response:
        """The card under HTMX; otherwise back to the plan at the card."""
        if is_htmx(request):
            return self.render(request, session, login, row, editing=False)
        plan, _patient = plan_for_change(session, login.actor, plan_uuid_of(session, row.plan_id))
        return back_to_plan(plan, anchor=f"{self.anchor}-{row.uuid}")


GOAL = Card(
    Goal, "goals", "goal", "careplans/_goal.html", "node", lambda t: [*t.goals(), *t.closed_goals], True
)
STEP = Card(
    Intervention,
    "interventions",
    "step",
    "careplans/_intervention.html",
    "step",
    lambda t: [*(s for g in t.goals() for s in g.interventions), *t.loose_interventions],
    False,
)


def _card_routes(card: Card) -> None:
    def card_page(
        request: Request, uuid: str, login: Login = Depends(current_login), session: Session = REQUEST_SESSION
    ) -> Response:
        return card.render(request, session, login, card.of(session, login, uuid), editing=False)

    def edit_form(
        request: Request, uuid: str, login: Login = Depends(current_login), session: Session = REQUEST_SESSION
    ) -> Response:
        row = card.of(session, login, uuid)
        if not is_htmx(request):
            plan_uuid = plan_uuid_of(session, row.plan_id)
            return RedirectResponse(f"/careplans/{plan_uuid}?edit={row.uuid}#{card.anchor}-{row.uuid}", 303)
        return card.render(request, session, login, row, editing=True)

    router.add_api_route(f"/careplans/{card.path}/{{uuid}}", card_page, methods=["GET"])
    router.add_api_route(f"/careplans/{card.path}/{{uuid}}/edit", edit_form, methods=["GET"])


_card_routes(GOAL)
_card_routes(STEP)


# --- goals ----------------------------------------------------------------------------------------


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
        target=form_target(target_kind, comparator, value, low, high, unit, target_text),
        due_on=form_date(due_on, "due date"),
        priority=form_choice(GoalPriority, priority, "priority"),
        patient_stated=patient_stated == "yes",
    )
    return back_to_plan(plan_for_change(session, login.actor, plan_uuid)[0], anchor=f"goal-{goal.uuid}")


@router.post("/careplans/goals/{uuid}")
def goal_edit_page(
    request: Request,
    uuid: str,
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
    goal = goal_edit(
        session=session,
        actor=login.actor,
        goal_uuid=uuid,
        description=description or None,
        target=form_target(target_kind, comparator, value, low, high, unit, target_text),
        due_on=form_date(due_on, "due date"),
        priority=form_choice(GoalPriority, priority, "priority") if priority else None,
    )
    return GOAL.after(request, session, login, goal)


@router.post("/careplans/goals/{uuid}/status")
def goal_status_page(
    request: Request,
    uuid: str,
    to: str = Form(""),
    reason: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    goal = goal_status_change(
        session=session,
        actor=login.actor,
        goal_uuid=uuid,
        to=form_choice(GoalLifecycle, to, "goal status"),
        reason=reason.strip() or None,
    )
    return GOAL.after(request, session, login, goal)


@router.post("/careplans/goals/{uuid}/progress")
def goal_progress_page(
    request: Request,
    uuid: str,
    note: str = Form(""),
    achievement: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    goal = goal_progress(
        session=session,
        actor=login.actor,
        goal_uuid=uuid,
        note=note,
        achievement=form_choice(Achievement, achievement, "achievement") if achievement else None,
    )
    return GOAL.after(request, session, login, goal)


# --- steps ----------------------------------------------------------------------------------------


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
    member, role = owner_from_form(owner) if owner else (None, None)
    intervention = intervention_add(
        session=session,
        actor=login.actor,
        plan_uuid=plan_uuid,
        kind=form_choice(InterventionKind, kind, "kind"),
        text=text,
        goal_uuids=[goal] if goal else [],
        owner_member_uuid=member,
        owner_role=role,
        due_on=form_date(due_on, "due date"),
    )
    return back_to_plan(
        plan_for_change(session, login.actor, plan_uuid)[0], anchor=f"step-{intervention.uuid}"
    )


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
    member, role = owner_from_form(owner) if owner else (None, None)
    step = intervention_edit(
        session=session,
        actor=login.actor,
        intervention_uuid=uuid,
        text=text or None,
        owner_member_uuid=member,
        owner_role=role,
        due_on=form_date(due_on, "due date"),
    )
    return STEP.after(request, session, login, step)


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
        to=form_choice(InterventionStatus, to, "intervention status"),
        reason=reason.strip() or None,
    )
    return STEP.after(request, session, login, step)
