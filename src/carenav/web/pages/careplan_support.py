"""What the care plan pages share: the care team as choices of owner, the choices every plan form offers,
a goal's target from its form fields, and the way back to the plan."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.careplans.models import CarePlan
from carenav.careplans.rules import (
    PLAN_MOVES,
    Achievement,
    BarrierKind,
    GoalPriority,
    InterventionKind,
    Target,
    target_make,
)
from carenav.careplans.services import AGREEMENT_METHODS
from carenav.careplans.templates import OWNER_ROLES, PATIENT_OWNER
from carenav.clock import today
from carenav.errors import InvalidInput
from carenav.patients.models import CareTeamMember, Patient
from carenav.patients.rules import CareTeamRole


def active_team(session: Session, patient: Patient) -> list[CareTeamMember]:
    return list(
        session.scalars(
            select(CareTeamMember)
            .where(CareTeamMember.patient_id == patient.id, CareTeamMember.active.is_(True))
            .order_by(CareTeamMember.role, CareTeamMember.id)
        )
    )


def people(session: Session, patient: Patient) -> dict[str, Any]:
    """The care team, and who a step can be given to: a member, the patient, or a role to fill."""
    team = active_team(session, patient)
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


def owner_from_form(value: str) -> tuple[str | None, str | None]:
    """(member uuid, role) from an owner choice."""
    kind, _, rest = value.partition(":")
    if kind == "member" and rest:
        return rest, None
    if kind == "role" and rest in OWNER_ROLES:
        return None, rest
    raise InvalidInput(f"{value!r} is not a care-team member or a role", where="owner")


def plan_choices() -> dict[str, Any]:
    """The fixed choices of the plan's forms."""
    return {
        "plan_moves": {status.value: sorted(m.value for m in moves) for status, moves in PLAN_MOVES.items()},
        "priorities": [p.value for p in GoalPriority],
        "achievements": [a.value for a in Achievement],
        "kinds": [k.value for k in InterventionKind],
        "barrier_kinds": [b.value for b in BarrierKind],
        "methods": AGREEMENT_METHODS,
        "today": today(),
    }


def form_target(
    kind: str, comparator: str, value: str, low: str, high: str, unit: str, text: str
) -> Target | None:
    """A goal's target from the target fields (None when no kind is chosen)."""
    if not kind:
        return None
    return target_make(
        kind, value=value, comparator=comparator or None, low=low, high=high, unit=unit, text=text
    )


def back_to_plan(plan: CarePlan, anchor: str = "", done: str = "") -> Response:
    """Back to the plan (at ``anchor``), saying what was ``done``."""
    query = f"?{urlencode({'done': done})}" if done else ""
    return RedirectResponse(f"/careplans/{plan.uuid}{query}{'#' + anchor if anchor else ''}", status_code=303)


def plan_uuid_of(session: Session, plan_id: int | None) -> str:
    if plan_id is None:
        raise InvalidInput("the item belongs to no plan", where="care plan")
    return session.get_one(CarePlan, plan_id).uuid
