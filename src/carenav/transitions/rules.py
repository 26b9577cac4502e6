"""Transitions of care as pure rules: which discharges open an episode, its five tasks and their deadlines,
how a task's timeliness follows from its deadline and its completion, the 30-day window and readmissions.

The data is ``transitions.toml`` (with its sources); the business days are ``carenav.workdays``.

- A **discharge** from a stay (an encounter class in ``stay_classes``) to a community setting (a
  disposition marked ``community``, or none known) opens an episode, unless it is already older than the
  window (the discharge day and the 29 days after it) when it arrives.
- **Deadlines**: the interactive contact, 2 business days after the discharge day; the face-to-face visit,
  7 calendar days for high complexity and 14 for moderate; the follow-up appointment, the discharge
  information and the medication reconciliation, by the face-to-face date at the latest.
- **Timeliness**: a task done on or before its deadline is on time (``done``), after it late
  (``late-done``); an open task whose deadline has passed is **missed** (and may still be done, late).
- **Attempts**: reaching the patient or caregiver does the interactive contact (``attempt_does_task``); a
  contact counts for an episode from the discharge to the window's last day (``contact_in_episode``).
- A **readmission**: a stay admitted after the discharge and within ``readmission_days`` of its day.

Pure: no SQL, no HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

from carenav.datafiles import toml_read
from carenav.errors import InvalidInput, RuleViolation
from carenav.workdays import BusinessCalendar

RULES_PATH = Path(__file__).with_name("transitions.toml")


class TaskKind(StrEnum):
    """The five tasks of an episode; the values are the codes of ``TCM_TASK_SYSTEM``."""

    INTERACTIVE_CONTACT = "tcm-interactive-contact"
    DISCHARGE_INFORMATION = "tcm-discharge-information"
    MEDICATION_RECONCILIATION = "tcm-medication-reconciliation"
    FOLLOW_UP_APPOINTMENT = "tcm-follow-up-appointment"
    FACE_TO_FACE = "tcm-face-to-face"


class Complexity(StrEnum):
    """The medical decision making the face-to-face window follows (CPT 99496 high, 99495 moderate)."""

    MODERATE = "moderate"
    HIGH = "high"


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"  # on or before the deadline
    LATE_DONE = "late-done"
    MISSED = "missed"  # the deadline passed with the task open
    CANCELLED = "cancelled"  # the episode closed early (readmission, cancelled)


class Timeliness(StrEnum):
    """What the care manager sees of a task: due, on time, late, missed, cancelled."""

    DUE = "due"
    ON_TIME = "on-time"
    LATE = "late"
    MISSED = "missed"
    CANCELLED = "cancelled"


class EpisodeStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class CloseReason(StrEnum):
    PERIOD_ENDED = "period-ended"  # the discharge day and 29 days have passed
    COMPLETED = "completed"  # a person closed it with every task done
    READMITTED = "readmitted"
    DISCHARGE_CANCELLED = "discharge-cancelled"  # ADT^A13
    NOT_A_TRANSITION = "not-a-transition"  # a person found the patient did not go home
    DECEASED = "deceased"


class AttemptOutcome(StrEnum):
    REACHED = "reached"
    NO_ANSWER = "no-answer"
    VOICEMAIL = "voicemail"
    WRONG_NUMBER = "wrong-number"
    DECLINED = "declined"


OPEN_TASK_STATUSES = frozenset({TaskStatus.OPEN, TaskStatus.MISSED})
"""Tasks that may still be done (a missed one, late)."""
DONE_STATUSES = frozenset({TaskStatus.DONE, TaskStatus.LATE_DONE})
CLOSES_BY_PERSON = frozenset({CloseReason.COMPLETED, CloseReason.NOT_A_TRANSITION, CloseReason.DECEASED})
PROMPTS_ENROLMENT = frozenset({CloseReason.PERIOD_ENDED, CloseReason.COMPLETED})
"""Closes after which eligible patients are prompted to enrol in ongoing care management."""


@dataclass(frozen=True)
class TaskRule:
    kind: TaskKind
    title: str
    basis: str
    business_days: int | None = None
    calendar_days: Mapping[Complexity, int] | None = None
    by: TaskKind | None = None


@dataclass(frozen=True)
class Disposition:
    code: str
    label: str
    community: bool


@dataclass(frozen=True)
class TransitionRules:
    window_days: int
    readmission_days: int
    stay_classes: frozenset[str]
    tasks: tuple[TaskRule, ...]
    dispositions: Mapping[str, Disposition]

    def task(self, kind: TaskKind) -> TaskRule:
        return next(t for t in self.tasks if t.kind is kind)


@dataclass(frozen=True)
class Opening:
    """Whether a discharge opens an episode, and why (or why not)."""

    opens: bool
    reason: str
    disposition: Disposition | None = None


def rules_load(path: Path) -> TransitionRules:
    """The rules from their TOML file; InvalidInput naming the file and the entry at fault."""
    where = str(path)
    document = toml_read(path)
    window, readmission = document.get("window_days"), document.get("readmission_days")
    if not (isinstance(window, int) and window > 0 and isinstance(readmission, int) and readmission > 0):
        raise InvalidInput("window_days and readmission_days are positive whole numbers", where=where)
    classes = document.get("stay_classes")
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        raise InvalidInput("stay_classes is a list of encounter class codes", where=where)
    tasks = tuple(_task(raw, f"{path.name}: task[{n}]") for n, raw in enumerate(document.get("task", [])))
    if sorted(t.kind for t in tasks) != sorted(TaskKind):
        raise InvalidInput("give each of the five task kinds once", where=where)
    for rule in tasks:
        if rule.by is not None and not _has_own_deadline(rule, tasks):
            raise InvalidInput(f"{rule.kind}: 'by' names a task without a deadline of its own", where=where)
    dispositions: dict[str, Disposition] = {}
    for n, raw in enumerate(document.get("disposition", [])):
        code, label, community = raw.get("code"), raw.get("label"), raw.get("community")
        if not (isinstance(code, str) and code and isinstance(label, str) and isinstance(community, bool)):
            raise InvalidInput("a disposition has a code, a label and community", where=f"{where}: [{n}]")
        if code in dispositions:
            raise InvalidInput(f"disposition {code} is listed twice", where=f"{where}: [{n}]")
        dispositions[code] = Disposition(code, label, community)
    return TransitionRules(window, readmission, frozenset(classes), tasks, dispositions)


def _task(raw: Mapping[str, Any], where: str) -> TaskRule:
    try:
        kind = TaskKind(str(raw.get("kind")))
    except ValueError:
        raise InvalidInput(f"kind {raw.get('kind')!r} is not a transition task", where=where) from None
    business, calendar, by = raw.get("business_days"), raw.get("calendar_days"), raw.get("by")
    if sum(x is not None for x in (business, calendar, by)) != 1:
        raise InvalidInput("give one of business_days, calendar_days or by", where=where)
    days: dict[Complexity, int] | None = None
    if calendar is not None:
        if not isinstance(calendar, dict) or sorted(calendar) != sorted(Complexity):
            raise InvalidInput("calendar_days gives days for high and moderate", where=where)
        days = {Complexity(k): int(v) for k, v in calendar.items()}
    if business is not None and not (isinstance(business, int) and business >= 0):
        raise InvalidInput("business_days is a whole number", where=where)
    if by is not None and by not in {k.value for k in TaskKind}:
        raise InvalidInput(f"by {by!r} is not a transition task", where=where)
    return TaskRule(
        kind=kind,
        title=str(raw.get("title") or kind.value),
        basis=str(raw.get("basis") or ""),
        business_days=business,
        calendar_days=days,
        by=TaskKind(by) if by is not None else None,
    )


def _has_own_deadline(rule: TaskRule, tasks: tuple[TaskRule, ...]) -> bool:
    target = next((t for t in tasks if t.kind is rule.by), None)
    return target is not None and target.by is None


@cache
def transition_rules() -> TransitionRules:
    """The shipped rules (``transitions.toml``)."""
    return rules_load(RULES_PATH)


def disposition_of(rules: TransitionRules, code: str | None) -> Disposition | None:
    """The listed disposition of a code (HL7 0112 / NUBC two-digit codes, or FHIR's words); None when
    missing or not listed."""
    if not code:
        return None
    return rules.dispositions.get(code.strip()) or rules.dispositions.get(code.strip().lower())


def window_ends_on(rules: TransitionRules, discharged_on: date) -> date:
    """The last day of the episode: the discharge day and ``window_days - 1`` days after it."""
    return discharged_on + timedelta(days=rules.window_days - 1)


def in_window(rules: TransitionRules, discharged_on: date, today: date) -> bool:
    """Whether ``today`` is still within the discharge's window (a discharge dated after today, a clock
    a little behind the hospital's, is too)."""
    return today <= window_ends_on(rules, discharged_on)


def discharge_opening(
    rules: TransitionRules,
    *,
    encounter_class: str,
    disposition_code: str | None,
    discharged_on: date | None,
    today: date,
    deceased: bool = False,
) -> Opening:
    """Whether a finished encounter opens a transition episode."""
    if encounter_class not in rules.stay_classes:
        return Opening(False, f"a {encounter_class} encounter is not a stay one is discharged from")
    if discharged_on is None:
        return Opening(False, "no discharge time")
    if deceased:
        return Opening(False, "the patient has died")
    disposition = disposition_of(rules, disposition_code)
    if disposition is not None and not disposition.community:
        return Opening(False, f"discharged to {disposition.label.lower()}", disposition)
    if not in_window(rules, discharged_on, today):
        return Opening(False, f"the discharge of {discharged_on} is older than {rules.window_days} days")
    why = "discharged home" if disposition is not None else "discharge disposition not known: confirm"
    return Opening(True, why, disposition)


def task_deadlines(
    rules: TransitionRules, calendar: BusinessCalendar, discharged_on: date, complexity: Complexity
) -> dict[TaskKind, date]:
    """The deadline of each task of a discharge on ``discharged_on``."""
    out: dict[TaskKind, date] = {}
    for rule in rules.tasks:
        if rule.business_days is not None:
            out[rule.kind] = calendar.add_business_days(discharged_on, rule.business_days)
        elif rule.calendar_days is not None:
            out[rule.kind] = discharged_on + timedelta(days=rule.calendar_days[complexity])
    for rule in rules.tasks:
        if rule.by is not None:
            out[rule.kind] = out[rule.by]
    return out


def task_done_status(due_on: date, done_on: date) -> TaskStatus:
    """The status of a task done on ``done_on``: on time up to its deadline, late after it."""
    return TaskStatus.DONE if done_on <= due_on else TaskStatus.LATE_DONE


def task_done(status: TaskStatus, due_on: date, done_on: date) -> TaskStatus:
    """The status after doing a task; RuleViolation when it is done or cancelled already."""
    if status not in OPEN_TASK_STATUSES:
        raise RuleViolation(f"the task is {status.value} already", where="transition task")
    return task_done_status(due_on, done_on)


def task_status_on(status: TaskStatus, due_on: date, today: date) -> TaskStatus:
    """The stored status as of ``today``: an open task past its deadline is missed."""
    if status is TaskStatus.OPEN and today > due_on:
        return TaskStatus.MISSED
    return status


def task_timeliness(status: TaskStatus, due_on: date, today: date) -> Timeliness:
    return {
        TaskStatus.OPEN: Timeliness.DUE,
        TaskStatus.DONE: Timeliness.ON_TIME,
        TaskStatus.LATE_DONE: Timeliness.LATE,
        TaskStatus.MISSED: Timeliness.MISSED,
        TaskStatus.CANCELLED: Timeliness.CANCELLED,
    }[task_status_on(status, due_on, today)]


def is_readmission(
    rules: TransitionRules,
    *,
    discharged_at: datetime,
    discharged_on: date,
    admitted_at: datetime,
    admitted_on: date,
) -> bool:
    """Whether a stay admitted at ``admitted_at`` is a readmission after the discharge: after it, and
    within ``readmission_days`` of its day."""
    return admitted_at > discharged_at and (admitted_on - discharged_on).days <= rules.readmission_days


def attempt_does_task(kind: TaskKind, outcome: AttemptOutcome) -> bool:
    """Whether an attempt with this outcome does the task: reaching the patient or caregiver is the
    interactive contact (TCM: within 2 business days, by phone, electronically or in person); no other
    task is done by a call."""
    return kind is TaskKind.INTERACTIVE_CONTACT and outcome is AttemptOutcome.REACHED


def contact_in_episode(
    rules: TransitionRules, *, discharged_at: datetime, discharged_on: date, at: datetime, on: date
) -> bool:
    """Whether a contact at ``at`` (the day ``on`` in the organization's zone) falls within the episode of a
    discharge: at or after the discharge (a talk before it is the hospital's, not the transition's) and by
    the window's last day."""
    return at >= discharged_at and on <= window_ends_on(rules, discharged_on)
