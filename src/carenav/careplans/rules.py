"""Care plans as pure rules: the states of a plan, its goals and its interventions and the moves between
them, the kinds of intervention and barrier, the review schedule, and how a goal's target reads.

- **Plan** (FHIR CarePlan.status): draft -> active <-> on-hold -> completed; revoked from any state but
  completed, with a reason. A plan is activated with at least one goal.
- **Goal lifecycle** (FHIR Goal.lifecycleStatus), kept apart from **achievement** (Goal.achievementStatus):
  proposed -> planned / accepted / rejected; planned -> accepted; accepted -> active; active <-> on-hold;
  active / on-hold -> completed; any open state -> cancelled. Achievement is recorded for accepted, active,
  on-hold and completed goals, any value to any value (progress goes up and down).
- **Intervention** (FHIR Task.status, the base specification's machine, care-management-standards.md):
  draft -> requested / ready / cancelled; requested -> received / accepted / rejected / cancelled;
  received -> accepted / rejected / cancelled; accepted, ready -> in-progress / cancelled; in-progress ->
  completed / failed / on-hold / cancelled / ready (stopped for reassignment); on-hold -> in-progress /
  cancelled; and any -> entered-in-error. Completed, failed, rejected, cancelled and entered-in-error end it.
- **Review**: a plan is reviewed at least every ``REVIEW_INTERVAL_DAYS`` (CCM asks for a yearly review at
  the least) and again after every transition of care (issue 7 reports them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from carenav.errors import InvalidInput, RuleViolation

REVIEW_INTERVAL_DAYS = 365


class PlanStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    ON_HOLD = "on-hold"
    COMPLETED = "completed"
    REVOKED = "revoked"


PLAN_MOVES: Mapping[PlanStatus, frozenset[PlanStatus]] = {
    PlanStatus.DRAFT: frozenset({PlanStatus.ACTIVE, PlanStatus.REVOKED}),
    PlanStatus.ACTIVE: frozenset({PlanStatus.ON_HOLD, PlanStatus.COMPLETED, PlanStatus.REVOKED}),
    PlanStatus.ON_HOLD: frozenset({PlanStatus.ACTIVE, PlanStatus.COMPLETED, PlanStatus.REVOKED}),
    PlanStatus.COMPLETED: frozenset(),
    PlanStatus.REVOKED: frozenset(),
}
OPEN_PLAN = frozenset({PlanStatus.DRAFT, PlanStatus.ACTIVE, PlanStatus.ON_HOLD})


def plan_move(status: PlanStatus, to: PlanStatus, *, goals: int, reason: str | None = None) -> PlanStatus:
    """The plan's status after moving to ``to``; RuleViolation when the move is not open, a plan with no
    goal is activated, or a revocation or hold has no reason."""
    if to not in PLAN_MOVES[status]:
        raise RuleViolation(f"a {status.value} care plan cannot become {to.value}", where="care plan status")
    if to is PlanStatus.ACTIVE and goals == 0:
        raise RuleViolation("a care plan needs at least one goal before it is active", where="care plan")
    if to in (PlanStatus.REVOKED, PlanStatus.ON_HOLD) and not (reason or "").strip():
        raise RuleViolation(f"say why the plan is {to.value}", where="care plan status")
    return to


class GoalLifecycle(StrEnum):
    PROPOSED = "proposed"
    PLANNED = "planned"
    ACCEPTED = "accepted"
    ACTIVE = "active"
    ON_HOLD = "on-hold"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


GOAL_MOVES: Mapping[GoalLifecycle, frozenset[GoalLifecycle]] = {
    GoalLifecycle.PROPOSED: frozenset(
        {GoalLifecycle.PLANNED, GoalLifecycle.ACCEPTED, GoalLifecycle.REJECTED, GoalLifecycle.CANCELLED}
    ),
    GoalLifecycle.PLANNED: frozenset({GoalLifecycle.ACCEPTED, GoalLifecycle.CANCELLED}),
    GoalLifecycle.ACCEPTED: frozenset({GoalLifecycle.ACTIVE, GoalLifecycle.CANCELLED}),
    GoalLifecycle.ACTIVE: frozenset(
        {GoalLifecycle.ON_HOLD, GoalLifecycle.COMPLETED, GoalLifecycle.CANCELLED}
    ),
    GoalLifecycle.ON_HOLD: frozenset(
        {GoalLifecycle.ACTIVE, GoalLifecycle.COMPLETED, GoalLifecycle.CANCELLED}
    ),
    GoalLifecycle.COMPLETED: frozenset(),
    GoalLifecycle.CANCELLED: frozenset(),
    GoalLifecycle.REJECTED: frozenset(),
}
OPEN_GOAL = frozenset(
    {
        GoalLifecycle.PROPOSED,
        GoalLifecycle.PLANNED,
        GoalLifecycle.ACCEPTED,
        GoalLifecycle.ACTIVE,
        GoalLifecycle.ON_HOLD,
    }
)
ACHIEVEMENT_OPEN = frozenset(
    {GoalLifecycle.ACCEPTED, GoalLifecycle.ACTIVE, GoalLifecycle.ON_HOLD, GoalLifecycle.COMPLETED}
)


def goal_move(status: GoalLifecycle, to: GoalLifecycle, *, reason: str | None = None) -> GoalLifecycle:
    """The goal's lifecycle status after moving to ``to``; cancelling or rejecting needs a reason."""
    if to not in GOAL_MOVES[status]:
        raise RuleViolation(f"a {status.value} goal cannot become {to.value}", where="goal status")
    if to in (GoalLifecycle.CANCELLED, GoalLifecycle.REJECTED) and not (reason or "").strip():
        raise RuleViolation(f"say why the goal is {to.value}", where="goal status")
    return to


class Achievement(StrEnum):
    IN_PROGRESS = "in-progress"
    IMPROVING = "improving"
    WORSENING = "worsening"
    NO_CHANGE = "no-change"
    ACHIEVED = "achieved"
    SUSTAINING = "sustaining"
    NOT_ACHIEVED = "not-achieved"
    NO_PROGRESS = "no-progress"
    NOT_ATTAINABLE = "not-attainable"


def achievement_check(lifecycle: GoalLifecycle) -> None:
    """Progress is recorded only for goals the patient has taken on."""
    if lifecycle not in ACHIEVEMENT_OPEN:
        raise RuleViolation(
            f"a {lifecycle.value} goal has no progress to record (accept it first)", where="goal achievement"
        )


class GoalPriority(StrEnum):
    HIGH = "high-priority"
    MEDIUM = "medium-priority"
    LOW = "low-priority"


class InterventionStatus(StrEnum):
    DRAFT = "draft"
    REQUESTED = "requested"
    RECEIVED = "received"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    READY = "ready"
    CANCELLED = "cancelled"
    IN_PROGRESS = "in-progress"
    ON_HOLD = "on-hold"
    FAILED = "failed"
    COMPLETED = "completed"
    ENTERED_IN_ERROR = "entered-in-error"


_S = InterventionStatus
INTERVENTION_MOVES: Mapping[InterventionStatus, frozenset[InterventionStatus]] = {
    _S.DRAFT: frozenset({_S.REQUESTED, _S.READY, _S.CANCELLED}),
    _S.REQUESTED: frozenset({_S.RECEIVED, _S.ACCEPTED, _S.REJECTED, _S.CANCELLED}),
    _S.RECEIVED: frozenset({_S.ACCEPTED, _S.REJECTED, _S.CANCELLED}),
    _S.ACCEPTED: frozenset({_S.IN_PROGRESS, _S.CANCELLED}),
    _S.READY: frozenset({_S.IN_PROGRESS, _S.CANCELLED}),
    _S.IN_PROGRESS: frozenset({_S.COMPLETED, _S.FAILED, _S.ON_HOLD, _S.CANCELLED, _S.READY}),
    _S.ON_HOLD: frozenset({_S.IN_PROGRESS, _S.CANCELLED}),
    _S.COMPLETED: frozenset(),
    _S.FAILED: frozenset(),
    _S.REJECTED: frozenset(),
    _S.CANCELLED: frozenset(),
    _S.ENTERED_IN_ERROR: frozenset(),
}
CLOSED_INTERVENTION = frozenset({_S.COMPLETED, _S.FAILED, _S.REJECTED, _S.CANCELLED, _S.ENTERED_IN_ERROR})
NEEDS_REASON = frozenset({_S.FAILED, _S.REJECTED, _S.CANCELLED, _S.ON_HOLD, _S.ENTERED_IN_ERROR})


def intervention_move(
    status: InterventionStatus, to: InterventionStatus, *, reason: str | None = None
) -> InterventionStatus:
    """The intervention's status after moving to ``to`` (entered-in-error from any state); failing,
    rejecting, cancelling, holding and withdrawing need a reason."""
    if to is not _S.ENTERED_IN_ERROR and to not in INTERVENTION_MOVES[status]:
        raise RuleViolation(
            f"a {status.value} intervention cannot become {to.value}", where="intervention status"
        )
    if status is _S.ENTERED_IN_ERROR:
        raise RuleViolation("an intervention entered in error stays so", where="intervention status")
    if to in NEEDS_REASON and not (reason or "").strip():
        raise RuleViolation(f"say why the intervention is {to.value}", where="intervention status")
    return to


class PlanIntent(StrEnum):
    """FHIR CarePlan.intent: a plan made in carenav is a ``plan``; an imported one keeps its own."""

    PROPOSAL = "proposal"
    PLAN = "plan"
    ORDER = "order"
    OPTION = "option"


class InterventionIntent(StrEnum):
    """FHIR Task.intent: an intervention made in carenav is a ``plan``; an imported Task keeps its own."""

    UNKNOWN = "unknown"
    PROPOSAL = "proposal"
    PLAN = "plan"
    ORDER = "order"
    ORIGINAL_ORDER = "original-order"
    REFLEX_ORDER = "reflex-order"
    FILLER_ORDER = "filler-order"
    INSTANCE_ORDER = "instance-order"
    OPTION = "option"


class InterventionKind(StrEnum):
    EDUCATION = "education"
    MEDICATION_MANAGEMENT = "medication-management"
    MONITORING = "monitoring"
    REFERRAL = "referral"
    COORDINATION = "coordination"
    SELF_MANAGEMENT = "self-management"
    SOCIAL_SERVICE = "social-service"


class BarrierKind(StrEnum):
    TRANSPORTATION = "transportation"
    COST = "cost"
    LANGUAGE = "language"
    HEALTH_LITERACY = "health-literacy"
    COGNITION = "cognition"
    HOUSING = "housing"
    FOOD = "food"
    CAREGIVER = "caregiver"
    MOBILITY = "mobility"
    TECHNOLOGY = "technology"
    MOTIVATION = "motivation"
    OTHER = "other"


def review_due(last_reviewed: date, *, transitions_since: int = 0, today: date | None = None) -> date:
    """When the plan is next due for review: a year after the last review, or at once (``today``) when a
    transition of care has happened since."""
    due = last_reviewed + timedelta(days=REVIEW_INTERVAL_DAYS)
    if transitions_since and today is not None:
        return min(due, today)
    return due


# --- a goal's target ------------------------------------------------------------------------------


class TargetKind(StrEnum):
    QUANTITY = "quantity"  # a value to reach or keep: "<= 140 mm[Hg]"
    RANGE = "range"  # between low and high: "7.0 to 8.0 %"
    TEXT = "text"  # qualitative: "walks to the mailbox without stopping"


COMPARATORS = ("<", "<=", ">=", ">", "=")


@dataclass(frozen=True)
class Target:
    """A goal's measurable target: ``kind`` quantity (``comparator`` and ``value``), range (``low`` and
    ``high``, either may be open) or text; ``unit`` as UCUM where there is one."""

    kind: TargetKind
    value: Decimal | None = None
    comparator: str = "="
    low: Decimal | None = None
    high: Decimal | None = None
    unit: str | None = None
    text: str | None = None

    def reads(self) -> str:
        """The target as a person reads it: "≤ 140 mm[Hg]", "7 to 8 %", or its text."""
        unit = f" {self.unit}" if self.unit else ""
        if self.kind is TargetKind.QUANTITY:
            symbol = {"<": "<", "<=": "≤", ">=": "≥", ">": ">", "=": ""}[self.comparator]
            return f"{symbol} {_plain(self.value)}{unit}".strip()
        if self.kind is TargetKind.RANGE:
            if self.low is not None and self.high is not None:
                return f"{_plain(self.low)} to {_plain(self.high)}{unit}"
            if self.low is not None:
                return f"≥ {_plain(self.low)}{unit}"
            return f"≤ {_plain(self.high)}{unit}"
        return self.text or ""

    def met_by(self, value: Decimal) -> bool | None:
        """Whether a measured value meets the target (None for a text target)."""
        if self.kind is TargetKind.QUANTITY and self.value is not None:
            return {
                "<": value < self.value,
                "<=": value <= self.value,
                ">=": value >= self.value,
                ">": value > self.value,
                "=": value == self.value,
            }[self.comparator]
        if self.kind is TargetKind.RANGE:
            return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)
        return None


def _plain(number: Decimal | None) -> str:
    if number is None:
        return ""
    return format(number.normalize(), "f") if number == number.to_integral_value() else format(number, "f")


def target_make(
    kind: str,
    *,
    value: str | Decimal | None = None,
    comparator: str | None = None,
    low: str | Decimal | None = None,
    high: str | Decimal | None = None,
    unit: str | None = None,
    text: str | None = None,
    where: str = "target",
) -> Target:
    """A checked target from its parts (as typed in a form or read from a template); InvalidInput names
    the part at fault."""
    try:
        target_kind = TargetKind(kind)
    except ValueError:
        raise InvalidInput(f"target kind {kind!r} is not one of quantity, range, text", where=where) from None
    unit = (unit or "").strip() or None
    if target_kind is TargetKind.TEXT:
        if not (text or "").strip():
            raise InvalidInput("a qualitative target needs its text", where=where)
        return Target(target_kind, text=(text or "").strip())
    if target_kind is TargetKind.QUANTITY:
        number = _number(value, where=f"{where} value")
        if number is None:
            raise InvalidInput("a quantity target needs a value", where=where)
        op = comparator or "="
        if op not in COMPARATORS:
            raise InvalidInput(f"comparator {op!r} is not one of {', '.join(COMPARATORS)}", where=where)
        return Target(target_kind, value=number, comparator=op, unit=unit)
    low_number, high_number = _number(low, where=f"{where} low"), _number(high, where=f"{where} high")
    if low_number is None and high_number is None:
        raise InvalidInput("a range target needs a low or a high value", where=where)
    if low_number is not None and high_number is not None and low_number > high_number:
        raise InvalidInput(f"the range's low {low_number} is above its high {high_number}", where=where)
    return Target(target_kind, low=low_number, high=high_number, unit=unit)


def _number(text: str | Decimal | None, *, where: str) -> Decimal | None:
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    try:
        number = Decimal(str(text).strip())
    except ArithmeticError:
        raise InvalidInput(f"{text!r} is not a number", where=where) from None
    if not number.is_finite():
        raise InvalidInput(f"{text!r} is not a number", where=where)
    return number
