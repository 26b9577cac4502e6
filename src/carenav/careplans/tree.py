"""A plan as one readable tree: problems, the goals under each, the interventions under the goal they serve
first; goals with no problem and interventions with no goal at the end. What the plan editor and the
printable plan show. Reads only rows already loaded."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from carenav.careplans.rules import GOAL_MOVES, INTERVENTION_MOVES, GoalLifecycle, InterventionStatus, Target
from carenav.careplans.versions import goal_target

if TYPE_CHECKING:
    from carenav.careplans.models import CarePlan, Goal, Intervention, PlanProblem
    from carenav.careplans.queries import Measured

HIDDEN_GOALS = frozenset({"cancelled", "rejected", "entered-in-error"})
# The order moves are offered in: the usual next step first, the ways out last.
MOVE_ORDER = (
    "accepted",
    "ready",
    "planned",
    "active",
    "in-progress",
    "requested",
    "received",
    "completed",
    "on-hold",
    "failed",
    "rejected",
    "cancelled",
)


_GOAL_MOVES_BY_VALUE = {status.value: moves for status, moves in GOAL_MOVES.items()}
"""Moves by the stored value (an imported goal may be entered-in-error: it has none)."""


def _ordered(moves: frozenset[GoalLifecycle] | frozenset[InterventionStatus]) -> tuple[str, ...]:
    return tuple(sorted((m.value for m in moves), key=MOVE_ORDER.index))


@dataclass(frozen=True)
class InterventionNode:
    intervention: Intervention
    moves: tuple[str, ...]

    @property
    def row(self) -> Intervention:
        return self.intervention

    @property
    def closed(self) -> bool:
        return not INTERVENTION_MOVES[InterventionStatus(self.intervention.status)]


@dataclass(frozen=True)
class GoalNode:
    goal: Goal
    target: Target | None
    measured: Measured | None
    met: bool | None
    moves: tuple[str, ...]
    interventions: list[InterventionNode] = field(default_factory=list)

    @property
    def row(self) -> Goal:
        return self.goal


@dataclass(frozen=True)
class ProblemNode:
    problem: PlanProblem | None  # None: the goals that work on no problem in particular
    goals: list[GoalNode] = field(default_factory=list)


@dataclass(frozen=True)
class PlanTree:
    problems: list[ProblemNode]
    loose_interventions: list[InterventionNode]
    closed_goals: list[GoalNode]

    def goals(self) -> list[GoalNode]:
        return [g for p in self.problems for g in p.goals]


def plan_tree(plan: CarePlan, measured: dict[int, Measured]) -> PlanTree:
    """The plan's tree; cancelled and rejected goals apart (``closed_goals``), as they no longer guide
    the work but stay on the record."""
    nodes: dict[int, GoalNode] = {}
    closed: list[GoalNode] = []
    for goal in plan.goals:
        target = goal_target(goal)
        value = measured.get(goal.id)
        node = GoalNode(
            goal=goal,
            target=target,
            measured=value,
            met=target.met_by(Decimal(str(value.value)))
            if target is not None and value is not None
            else None,
            moves=_ordered(_GOAL_MOVES_BY_VALUE.get(goal.lifecycle, frozenset())),
        )
        if goal.lifecycle in HIDDEN_GOALS:
            closed.append(node)
        else:
            nodes[goal.id] = node
    loose: list[InterventionNode] = []
    for intervention in plan.interventions:
        step = InterventionNode(
            intervention, _ordered(INTERVENTION_MOVES[InterventionStatus(intervention.status)])
        )
        home = next((nodes[g.id] for g in intervention.goals if g.id in nodes), None)
        if home is None:
            loose.append(step)
        else:
            home.interventions.append(step)
    problems = [
        ProblemNode(p, [n for n in nodes.values() if n.goal.problem_id == p.id]) for p in plan.problems
    ]
    known = {p.id for p in plan.problems}
    others = [n for n in nodes.values() if n.goal.problem_id not in known]
    if others:
        problems.append(ProblemNode(None, others))
    return PlanTree(problems, loose, closed)
