"""Patient education as pure rules: the kinds of topic, how a topic is taught, the teach-back result, and
when reinforcement is due.

A topic assigned to a patient is **assigned** until first taught. Each teaching session records how it was
taught (one or more methods), who learned (the patient, a caregiver, or both) and the teach-back result:

- **understood**: the topic is **understood**; a later review is due on the date the care manager picks,
  or the topic's review interval after teaching when it has one, or never (no review);
- **needs reinforcement**: the topic is **reinforcing**, due again within the topic's reinforcement
  window (``reinforce_days``, data); a date may be picked inside that window, never after it;
- **not understood**: **reinforcing** too, due again within the shorter re-teach window
  (``reteach_days``).

A device topic (an inhaler, an insulin pen) counts as understood only when the learner showed the skill
back (a return demonstration): saying it back is not enough. Teach-back with a caregiver needs the
caregiver among the learners. An understood topic is **completed** by the care manager; any open topic
may be **stopped** with a reason (declined, no longer relevant). Completed and stopped topics stay so: to
teach one again, assign it anew."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from carenav.errors import InvalidInput, RuleViolation

MAX_WINDOW_DAYS = 90
"""The longest reinforcement or re-teach window a topic may set."""
MAX_REVIEW_DAYS = 730


class TopicCategory(StrEnum):
    CONDITION = "condition"
    MEDICATION = "medication"
    SELF_MANAGEMENT = "self-management"
    DEVICE = "device"


class TeachMethod(StrEnum):
    VERBAL = "verbal"
    WRITTEN = "written-handout"
    DEMONSTRATION = "demonstration"
    RETURN_DEMONSTRATION = "return-demonstration"
    VIDEO = "video"
    CAREGIVER_TEACH_BACK = "teach-back-with-caregiver"


METHOD_LABELS: Mapping[TeachMethod, str] = {
    TeachMethod.VERBAL: "talked it through",
    TeachMethod.WRITTEN: "written handout",
    TeachMethod.DEMONSTRATION: "showed how",
    TeachMethod.RETURN_DEMONSTRATION: "learner showed it back",
    TeachMethod.VIDEO: "video",
    TeachMethod.CAREGIVER_TEACH_BACK: "teach-back with the caregiver",
}


class Learner(StrEnum):
    PATIENT = "patient"
    CAREGIVER = "caregiver"
    BOTH = "patient-and-caregiver"


class TeachBack(StrEnum):
    UNDERSTOOD = "understood"
    NEEDS_REINFORCEMENT = "needs-reinforcement"
    NOT_UNDERSTOOD = "not-understood"


class EducationStatus(StrEnum):
    ASSIGNED = "assigned"
    REINFORCING = "reinforcing"
    UNDERSTOOD = "understood"
    COMPLETED = "completed"
    STOPPED = "stopped"


OPEN = frozenset({EducationStatus.ASSIGNED, EducationStatus.REINFORCING, EducationStatus.UNDERSTOOD})
CLOSED = frozenset({EducationStatus.COMPLETED, EducationStatus.STOPPED})


@dataclass(frozen=True)
class Schedule:
    """A topic's follow-up intervals in days: reinforcement after "needs reinforcement", re-teaching after
    "not understood" (no longer than reinforcement), and the optional review after "understood"."""

    reinforce_days: int
    reteach_days: int
    review_days: int | None = None


def schedule_make(
    reinforce_days: object, reteach_days: object, review_days: object = None, *, where: str
) -> Schedule:
    """A checked schedule; InvalidInput naming ``where`` when a value is not a whole number of days in
    range or the re-teach window is longer than the reinforcement one."""
    reinforce = _days(reinforce_days, "reinforce_days", 1, MAX_WINDOW_DAYS, where)
    reteach = _days(reteach_days, "reteach_days", 1, MAX_WINDOW_DAYS, where)
    if reteach > reinforce:
        raise InvalidInput(
            f"reteach_days {reteach} is longer than reinforce_days {reinforce}: a topic not understood is "
            "taught again sooner than one that needs reinforcement",
            where=where,
        )
    review = None
    if review_days is not None:
        review = _days(review_days, "review_days", 1, MAX_REVIEW_DAYS, where)
        if review <= reinforce:
            raise InvalidInput(
                f"review_days {review} is not after reinforce_days {reinforce}: a review of an understood "
                "topic comes later than reinforcement",
                where=where,
            )
    return Schedule(reinforce, reteach, review)


def _days(value: object, name: str, low: int, high: int, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"{name} {value!r} is not a number of days ({low} to {high})", where=where)
    return value


def methods_make(values: Iterable[str], *, where: str = "how taught") -> tuple[TeachMethod, ...]:
    """The methods named in ``values`` (form values), each once, in the order of ``TeachMethod``;
    InvalidInput for an unknown one or none at all."""
    chosen: set[TeachMethod] = set()
    for value in values:
        text = value.strip()
        if not text:
            continue
        try:
            chosen.add(TeachMethod(text))
        except ValueError:
            allowed = ", ".join(m.value for m in TeachMethod)
            raise InvalidInput(f"{text!r} is not one of {allowed}", where=where) from None
    if not chosen:
        raise InvalidInput("say how the topic was taught (at least one method)", where=where)
    return tuple(m for m in TeachMethod if m in chosen)


@dataclass(frozen=True)
class Outcome:
    """What a teaching session leaves: the topic's status and its next due date (None: nothing due)."""

    status: EducationStatus
    due_on: date | None


def teach_outcome(
    status: EducationStatus,
    *,
    category: TopicCategory,
    schedule: Schedule,
    methods: tuple[TeachMethod, ...],
    learner: Learner,
    result: TeachBack,
    taught_on: date,
    today: date,
    next_on: date | None = None,
) -> Outcome:
    """The status and next due date after teaching a topic on ``taught_on`` with this teach-back result.

    ``next_on`` is the date the care manager picked: for reinforcement or re-teaching it must fall inside
    the topic's window (after the teaching day, at most its days later); for a review of an understood
    topic, any day after teaching. Without it: the end of the window, or the topic's review interval.
    RuleViolation when the topic is closed, a device topic is called understood without a return
    demonstration, teach-back with a caregiver has no caregiver, or the date is outside the window;
    InvalidInput for a teaching day in the future or no method."""
    if status in CLOSED:
        raise RuleViolation(
            f"a {status.value} topic is not taught again: assign it anew", where="education status"
        )
    if not methods:
        raise InvalidInput("say how the topic was taught (at least one method)", where="how taught")
    if taught_on > today:
        raise InvalidInput(f"taught on {taught_on}, which is in the future", where="taught on")
    if TeachMethod.CAREGIVER_TEACH_BACK in methods and learner is Learner.PATIENT:
        raise RuleViolation(
            "teach-back with a caregiver needs the caregiver among the learners", where="learner"
        )
    if (
        category is TopicCategory.DEVICE
        and result is TeachBack.UNDERSTOOD
        and TeachMethod.RETURN_DEMONSTRATION not in methods
    ):
        raise RuleViolation(
            "a device topic is understood only when the learner shows it back: record a return "
            "demonstration, or record that it needs reinforcement",
            where="teach-back",
        )
    if result is TeachBack.UNDERSTOOD:
        if next_on is not None and next_on <= taught_on:
            raise RuleViolation(
                f"the review on {next_on} is not after the teaching on {taught_on}", where="next date"
            )
        default = taught_on + timedelta(days=schedule.review_days) if schedule.review_days else None
        return Outcome(EducationStatus.UNDERSTOOD, next_on or default)
    window = schedule.reinforce_days if result is TeachBack.NEEDS_REINFORCEMENT else schedule.reteach_days
    latest = taught_on + timedelta(days=window)
    if next_on is not None and not taught_on < next_on <= latest:
        what = "reinforcement" if result is TeachBack.NEEDS_REINFORCEMENT else "re-teaching"
        raise RuleViolation(
            f"{what} is due within {window} days of teaching (after {taught_on}, by {latest}); "
            f"{next_on} is outside that",
            where="next date",
        )
    return Outcome(EducationStatus.REINFORCING, next_on or latest)


def reschedule_check(
    status: EducationStatus, due_on: date | None, new_due: date, today: date, note: str | None
) -> date:
    """A new due date for an open topic: not in the past, and a reason when it moves later than it was
    (a missed visit, the patient in hospital)."""
    if status in CLOSED:
        raise RuleViolation(f"a {status.value} topic has nothing due", where="education status")
    if new_due < today:
        raise InvalidInput(f"{new_due} has passed", where="due date")
    if due_on is not None and new_due > due_on and not (note or "").strip():
        raise RuleViolation(
            f"say why the date moves later than {due_on} (a missed visit, a hospital stay)", where="note"
        )
    return new_due


def complete_check(status: EducationStatus) -> EducationStatus:
    """Completing is for a topic the patient understood; anything else is stopped, with a reason."""
    if status is not EducationStatus.UNDERSTOOD:
        raise RuleViolation(
            f"only an understood topic is completed (this one is {status.value}): teach it, or stop it "
            "with a reason",
            where="education status",
        )
    return EducationStatus.COMPLETED


def stop_check(status: EducationStatus, reason: str | None) -> EducationStatus:
    if status in CLOSED:
        raise RuleViolation(f"the topic is already {status.value}", where="education status")
    if not (reason or "").strip():
        raise RuleViolation("say why the topic is stopped", where="reason")
    return EducationStatus.STOPPED


def education_overdue(status: EducationStatus, due_on: date | None, today: date) -> bool:
    """Whether an open topic's due date has passed."""
    return status in OPEN and due_on is not None and today > due_on
