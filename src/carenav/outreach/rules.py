"""Outreach as pure rules: what a contact is, when the next follow-up is due, when a patient counts as
unable to reach, and which answers of a structured follow-up note are red flags. Pure: no SQL, no HTTP.

- **Contacts**: a kind (call, video, home visit, clinic visit, message, letter), a direction, with whom
  (the patient, a caregiver, a provider, a payer, a community organization) and an outcome (reached, no
  answer, voicemail, wrong number, declined). ``contact_check`` says which combinations make sense;
  ``interactive_contact_attempt`` what a contact is to an open transition of care's interactive contact.
- **Cadence** (``cadence.toml``): rules per program and/or risk tier. A *recurring* rule repeats every so
  many days, business days or months after the last time the patient was reached (the enrolment date
  before that); a *discharge* rule follows a recent discharge to the community with steps at fixed
  offsets (2 business days, 7, 14 and 30 days). When several recurring rules apply, the most frequent wins
  and the others wait; every applying discharge rule runs beside it.
- **Unable to reach** (``unable_to_reach.toml``): so many unsuccessful attempts on so many different days
  within a window of business days, then actions (a letter, a supervisor review), each a task.
- **Note templates** (``note_templates/*.toml``): the symptom review of a program or condition as fields,
  and red flags on their answers, each with its words, its source line, and a mark where a clinician must
  review the threshold because the reference does not give it.
"""

from __future__ import annotations

import calendar as month_calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

from carenav.datafiles import is_whole, toml_read, toml_tables, toml_text
from carenav.errors import InvalidInput, NotFound, RuleViolation
from carenav.transitions.rules import AttemptOutcome
from carenav.workdays import BusinessCalendar, business_calendar

HERE = Path(__file__).parent
CADENCE_PATH = HERE / "cadence.toml"
UNABLE_TO_REACH_PATH = HERE / "unable_to_reach.toml"
NOTE_TEMPLATES_DIR = HERE / "note_templates"


# --- contacts -------------------------------------------------------------------------------------


class ContactKind(StrEnum):
    CALL = "call"
    VIDEO = "video"
    HOME_VISIT = "home-visit"
    CLINIC_VISIT = "clinic-visit"
    MESSAGE = "message"
    LETTER = "letter"


class Direction(StrEnum):
    OUTBOUND = "outbound"
    INBOUND = "inbound"


class Party(StrEnum):
    PATIENT = "patient"
    CAREGIVER = "caregiver"
    PROVIDER = "provider"
    PAYER = "payer"
    COMMUNITY_ORGANIZATION = "community-organization"


class Outcome(StrEnum):
    REACHED = "reached"
    NO_ANSWER = "no-answer"
    VOICEMAIL = "voicemail"
    WRONG_NUMBER = "wrong-number"
    DECLINED = "declined"


PATIENT_SIDE = frozenset({Party.PATIENT, Party.CAREGIVER})
"""Whom a follow-up is with: reaching the patient or their caregiver is reaching the patient."""
UNSUCCESSFUL = frozenset({Outcome.NO_ANSWER, Outcome.VOICEMAIL, Outcome.WRONG_NUMBER})
OUTCOMES_OF: Mapping[ContactKind, frozenset[Outcome]] = {
    ContactKind.CALL: frozenset(Outcome),
    ContactKind.VIDEO: frozenset({Outcome.REACHED, Outcome.NO_ANSWER, Outcome.DECLINED}),
    ContactKind.HOME_VISIT: frozenset({Outcome.REACHED, Outcome.NO_ANSWER, Outcome.DECLINED}),
    ContactKind.CLINIC_VISIT: frozenset({Outcome.REACHED, Outcome.NO_ANSWER, Outcome.DECLINED}),
    ContactKind.MESSAGE: frozenset({Outcome.REACHED, Outcome.NO_ANSWER, Outcome.WRONG_NUMBER}),
    ContactKind.LETTER: frozenset({Outcome.REACHED, Outcome.NO_ANSWER, Outcome.WRONG_NUMBER}),
}
"""The outcomes each kind of contact can have (a home visit has no voicemail; a letter that came back is
a wrong address, recorded as wrong number; a message or letter with no reply is no answer)."""


def contact_check(
    kind: ContactKind, direction: Direction, party: Party, outcome: Outcome, party_name: str | None
) -> None:
    """RuleViolation when the contact does not make sense: an outcome the kind cannot have, an inbound
    contact that did not reach anyone, a contact with someone other than the patient that names nobody."""
    if outcome not in OUTCOMES_OF[kind]:
        allowed = ", ".join(sorted(o.value for o in OUTCOMES_OF[kind]))
        raise RuleViolation(
            f"a {kind.value} cannot end {outcome.value} (it ends {allowed})", where="contact outcome"
        )
    if direction is Direction.INBOUND and outcome in UNSUCCESSFUL:
        raise RuleViolation(
            f"an inbound {kind.value} reached the care team: it cannot be {outcome.value}",
            where="contact outcome",
        )
    if party is not Party.PATIENT and not (party_name or "").strip():
        raise InvalidInput(
            f"name the {party.value.replace('-', ' ')} the contact was with", where="contact with"
        )


def reaches_patient(party: Party, outcome: Outcome) -> bool:
    """Whether the contact reached the patient (or their caregiver) and so counts as a follow-up done."""
    return party in PATIENT_SIDE and outcome is Outcome.REACHED


def is_attempt(direction: Direction, party: Party, outcome: Outcome) -> bool:
    """Whether the contact is an unsuccessful attempt to reach the patient (unable-to-reach protocol)."""
    return direction is Direction.OUTBOUND and party in PATIENT_SIDE and outcome in UNSUCCESSFUL


INTERACTIVE_KINDS = frozenset(
    {
        ContactKind.CALL,
        ContactKind.VIDEO,
        ContactKind.HOME_VISIT,
        ContactKind.CLINIC_VISIT,
        ContactKind.MESSAGE,
    }
)
"""The kinds of contact that are an interactive contact after a discharge (TCM, care-management-standards.md
§5.3: "phone, electronic, in person"): a call; a video call or a message (electronic — a message counts as
reached only when the patient answered it); a visit at home or in the clinic. A letter is not interactive."""


def interactive_contact_attempt(kind: ContactKind, party: Party, outcome: Outcome) -> AttemptOutcome | None:
    """What a contact is to the interactive-contact task of an open transition of care: an attempt with
    this outcome — reached, it does the task (``transitions.rules.attempt_does_task``); no answer,
    voicemail, wrong number or declined, an attempt that did not. None when it is no try at it: a letter,
    or a contact with anyone but the patient or their caregiver."""
    if kind not in INTERACTIVE_KINDS or party not in PATIENT_SIDE:
        return None
    return AttemptOutcome(outcome.value)


def answers_patient(party: Party, outcome: Outcome) -> bool:
    """Whether the patient side answered (reached, or declined to talk): the protocol starts again."""
    return party in PATIENT_SIDE and outcome in (Outcome.REACHED, Outcome.DECLINED)


# --- intervals ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    """So many calendar days, business days or months (one of them)."""

    days: int = 0
    business_days: int = 0
    months: int = 0

    def after(self, day: date, calendar: BusinessCalendar | None = None) -> date:
        if self.business_days:
            return (calendar or business_calendar()).add_business_days(day, self.business_days)
        if self.months:
            return add_months(day, self.months)
        return day + timedelta(days=self.days)

    @property
    def approx_days(self) -> float:
        """About how many calendar days (to compare frequencies)."""
        return self.days + self.business_days * 7 / 5 + self.months * 30.44

    @property
    def words(self) -> str:
        if self.business_days:
            return _plural(self.business_days, "business day")
        if self.months:
            return _plural(self.months, "month")
        return _plural(self.days, "day")


def _plural(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it is shorter)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = month_calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


# --- cadence ----------------------------------------------------------------------------------------


class Anchor(StrEnum):
    ENROLMENT = "enrolment"
    DISCHARGE = "discharge"


@dataclass(frozen=True)
class CadenceRule:
    """``programs``/``tiers`` empty: any. A recurring rule has ``every``; a discharge rule ``steps``."""

    key: str
    title: str
    anchor: Anchor
    programs: tuple[str, ...] = ()
    tiers: tuple[int, ...] = ()
    every: Interval | None = None
    steps: tuple[Interval, ...] = ()
    source: str = ""

    @property
    def recurring(self) -> bool:
        return self.every is not None

    def matches(self, programs: frozenset[str], tier: int | None) -> bool:
        """Whether the rule applies to a patient enrolled in ``programs`` (non-empty) at ``tier``."""
        if not programs:
            return False
        if self.programs and not programs & set(self.programs):
            return False
        return not self.tiers or tier in self.tiers

    @property
    def words(self) -> str:
        if self.every is not None:
            return f"every {self.every.words}"
        return "after discharge: " + ", ".join(s.words for s in self.steps)


@dataclass(frozen=True)
class Cadence:
    rules: tuple[CadenceRule, ...]
    discharge_window_days: int = 30

    def rule(self, key: str) -> CadenceRule:
        for rule in self.rules:
            if rule.key == key:
                return rule
        raise NotFound(f"no cadence rule {key!r}", where="cadence")


def cadence_load(path: Path) -> Cadence:
    """The cadence rules of a TOML file; InvalidInput naming the file and the rule at fault."""
    document = toml_read(path)
    rules: list[CadenceRule] = []
    seen: set[str] = set()
    for n, raw in enumerate(toml_tables(document, "rule", str(path))):
        where = f"{path.name}: rule[{n}]"
        key = toml_text(raw, "key", where)
        where = f"{path.name}: rule {key}"
        if key in seen:
            raise InvalidInput(f"rule key {key!r} is used twice", where=where)
        seen.add(key)
        try:
            anchor = Anchor(str(raw.get("anchor", Anchor.ENROLMENT.value)))
        except ValueError:
            raise InvalidInput("anchor is enrolment or discharge", where=where) from None
        programs = raw.get("programs", [])
        tiers = raw.get("tiers", [])
        if not isinstance(programs, list) or not all(isinstance(p, str) and p for p in programs):
            raise InvalidInput("programs is a list of program codes", where=where)
        if not isinstance(tiers, list) or not all(is_whole(t) and 1 <= t <= 9 for t in tiers):
            raise InvalidInput("tiers is a list of tier levels (1 to 9)", where=where)
        every = _interval(raw["every"], f"{where} every") if "every" in raw else None
        steps_raw = raw.get("steps", [])
        if not isinstance(steps_raw, list):
            raise InvalidInput("steps is a list of intervals", where=where)
        steps = tuple(_interval(s, f"{where} steps[{i}]") for i, s in enumerate(steps_raw))
        if anchor is Anchor.ENROLMENT and (every is None or steps):
            raise InvalidInput("an enrolment rule repeats: give every, and no steps", where=where)
        if anchor is Anchor.DISCHARGE and (every is not None or not steps):
            raise InvalidInput("a discharge rule has steps, and no every", where=where)
        if steps and [s.approx_days for s in steps] != sorted({s.approx_days for s in steps}):
            raise InvalidInput("steps come in order, each later than the one before", where=where)
        rules.append(
            CadenceRule(
                key=key,
                title=toml_text(raw, "title", where),
                anchor=anchor,
                programs=tuple(programs),
                tiers=tuple(int(t) for t in tiers),
                every=every,
                steps=steps,
                source=str(raw.get("source", "")),
            )
        )
    if not rules:
        raise InvalidInput("no [[rule]]", where=str(path))
    discharge = document.get("discharge", {})
    window = discharge.get("window_days", 30)
    if not is_whole(window) or not 1 <= window <= 365:
        raise InvalidInput("discharge.window_days is 1 to 365", where=f"{path.name}: discharge")
    if "community_dispositions" in discharge:
        raise InvalidInput(
            "which discharges go to the community is decided once, in transitions/transitions.toml",
            where=f"{path.name}: discharge.community_dispositions",
        )
    return Cadence(tuple(rules), int(window))


def _interval(raw: Any, where: str) -> Interval:
    if not isinstance(raw, dict) or len(raw) != 1:
        raise InvalidInput(
            "an interval is one of { days = n }, { business_days = n }, { months = n }", where=where
        )
    ((unit, n),) = raw.items()
    if unit not in ("days", "business_days", "months") or not is_whole(n) or not 1 <= n <= 3650:
        raise InvalidInput(f"{unit} = {n!r}: give days, business_days or months, 1 to 3650", where=where)
    return Interval(**{unit: int(n)})


@cache
def cadence() -> Cadence:
    """The shipped cadence rules (``cadence.toml``)."""
    return cadence_load(CADENCE_PATH)


def rules_applying(
    rules: Sequence[CadenceRule], *, programs: frozenset[str], tier: int | None, discharged_on: date | None
) -> list[CadenceRule]:
    """The rules that schedule follow-ups for a patient enrolled in ``programs`` (the open, active
    enrolments) at ``tier``, discharged to the community on ``discharged_on`` within the window (or None):
    the most frequent matching recurring rule (the first in the file on a tie), then every matching
    discharge rule."""
    matching = [r for r in rules if r.matches(programs, tier)]
    recurring = [r for r in matching if r.every is not None]
    chosen: list[CadenceRule] = []
    if recurring:
        chosen.append(min(recurring, key=lambda r: r.every.approx_days if r.every else 0.0))
    if discharged_on is not None:
        chosen.extend(r for r in matching if r.anchor is Anchor.DISCHARGE)
    return chosen


def next_due(
    rule: CadenceRule,
    *,
    anchor: date,
    last_reached: date | None = None,
    steps_done: int = 0,
    calendar: BusinessCalendar | None = None,
) -> date | None:
    """When the rule's next follow-up is due: a recurring rule, ``every`` after the last time the patient
    was reached (on or after ``anchor``), else after ``anchor`` (the enrolment); a discharge rule, its
    first step not done or missed yet after ``anchor`` (the discharge), None when every step is."""
    if rule.every is not None:
        base = max(anchor, last_reached) if last_reached is not None else anchor
        return rule.every.after(base, calendar)
    if steps_done >= len(rule.steps):
        return None
    return rule.steps[steps_done].after(anchor, calendar)


def step_due(rule: CadenceRule, step: int, anchor: date, calendar: BusinessCalendar | None = None) -> date:
    return rule.steps[step].after(anchor, calendar)


# --- unable to reach -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProtocolAction:
    key: str
    title: str
    due_business_days: int
    detail: str = ""


@dataclass(frozen=True)
class UnableToReachProtocol:
    attempts: int
    distinct_days: int
    window_business_days: int
    actions: tuple[ProtocolAction, ...]
    source: str = ""

    @property
    def words(self) -> str:
        return (
            f"{self.attempts} attempts on {self.distinct_days} different days within "
            f"{self.window_business_days} business days, then "
            + " and ".join(a.title.lower() for a in self.actions)
        )


def unable_to_reach_load(path: Path) -> UnableToReachProtocol:
    document = toml_read(path)
    where = path.name
    numbers = {}
    for key in ("attempts", "distinct_days", "window_business_days"):
        value = document.get(key)
        if not is_whole(value) or not 1 <= value <= 60:
            raise InvalidInput(f"{key} is a whole number, 1 to 60", where=f"{where}: {key}")
        numbers[key] = int(value)
    if numbers["distinct_days"] > numbers["attempts"]:
        raise InvalidInput("distinct_days cannot be more than attempts", where=f"{where}: distinct_days")
    actions = []
    for n, raw in enumerate(toml_tables(document, "action", where)):
        at = f"{where}: action[{n}]"
        due = raw.get("due_business_days", 0)
        if not is_whole(due) or not 0 <= due <= 60:
            raise InvalidInput("due_business_days is 0 to 60", where=at)
        actions.append(
            ProtocolAction(
                toml_text(raw, "key", at), toml_text(raw, "title", at), int(due), str(raw.get("detail", ""))
            )
        )
    if not actions:
        raise InvalidInput("the protocol needs its actions ([[action]])", where=where)
    return UnableToReachProtocol(
        numbers["attempts"],
        numbers["distinct_days"],
        numbers["window_business_days"],
        tuple(actions),
        str(document.get("source", "")),
    )


@cache
def unable_to_reach_protocol() -> UnableToReachProtocol:
    return unable_to_reach_load(UNABLE_TO_REACH_PATH)


class ReachState(StrEnum):
    NONE = "none"  # no unsuccessful attempt since the patient last answered
    IN_PROTOCOL = "in-protocol"
    EXHAUSTED = "exhausted"


@dataclass(frozen=True)
class UnableToReach:
    state: ReachState
    attempts: int = 0
    days: int = 0
    window_start: date | None = None
    window_end: date | None = None
    started_at: int | None = None
    """The index (in the attempts given) of the first attempt of the window: what the protocol's tasks
    are keyed on, so that they are made once."""

    @property
    def exhausted(self) -> bool:
        return self.state is ReachState.EXHAUSTED


def unable_to_reach_state(
    attempts: Sequence[date],
    protocol: UnableToReachProtocol | None = None,
    calendar: BusinessCalendar | None = None,
) -> UnableToReach:
    """Where the protocol stands after these unsuccessful attempts (the days of the attempts made since
    the patient last answered, in any order). Exhausted when some window of ``window_business_days``
    business days (the first attempt's day being the first) holds ``attempts`` attempts on
    ``distinct_days`` different days; otherwise in protocol, counting the window of the latest attempts."""
    protocol = protocol or unable_to_reach_protocol()
    cal = calendar or business_calendar()
    if not attempts:
        return UnableToReach(ReachState.NONE)
    order = sorted(range(len(attempts)), key=lambda i: (attempts[i], i))
    best: UnableToReach | None = None
    for position, first in enumerate(order):
        start = attempts[first]
        end = _window_end(start, protocol, cal)
        inside = [attempts[i] for i in order[position:] if attempts[i] <= end]
        days = len(set(inside))
        if len(inside) >= protocol.attempts and days >= protocol.distinct_days:
            return UnableToReach(ReachState.EXHAUSTED, len(inside), days, start, end, first)
        if attempts[order[-1]] <= end and best is None:
            best = UnableToReach(ReachState.IN_PROTOCOL, len(inside), days, start, end, first)
    assert best is not None  # the window of the latest attempt holds it
    return best


def _window_end(start: date, protocol: UnableToReachProtocol, cal: BusinessCalendar) -> date:
    """The last day of the window opened by an attempt on ``start`` (its first business day)."""
    first = start if cal.is_business_day(start) else cal.add_business_days(start, 1)
    return cal.add_business_days(first, protocol.window_business_days - 1)


# --- note templates ---------------------------------------------------------------------------------


class FieldType(StrEnum):
    NUMBER = "number"
    YES_NO = "yes-no"
    CHOICE = "choice"
    TEXT = "text"


class Op(StrEnum):
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    EQ = "=="
    IN = "in"
    RISE = "rise"  # up by at least the value since the previous measure


NUMBER_OPS = frozenset({Op.LT, Op.LE, Op.GT, Op.GE, Op.EQ, Op.RISE})
Answer = float | bool | str


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class NoteField:
    key: str
    label: str
    type: FieldType
    unit: str = ""
    low: float | None = None
    high: float | None = None
    choices: tuple[Choice, ...] = ()
    previous_loinc: str | None = None
    """The LOINC code of the Observation holding the previous value (for a ``rise`` flag)."""
    help: str = ""


@dataclass(frozen=True)
class FlagRule:
    key: str
    field: str
    op: Op
    value: Answer | tuple[str, ...]
    words: str
    source: str
    review: bool
    alert: str | None = None
    """The kind of patient alert (banner) the flag also raises (``suicide-risk``), if any."""

    def hit(self, answer: Answer, previous: float | None) -> bool:
        if self.op is Op.IN:
            return isinstance(answer, str) and isinstance(self.value, tuple) and answer in self.value
        if self.op is Op.EQ:
            return answer == self.value
        if isinstance(answer, bool) or not isinstance(answer, float) or isinstance(self.value, tuple):
            return False
        limit = float(self.value)
        if self.op is Op.RISE:
            return previous is not None and answer - previous >= limit
        return {
            Op.LT: answer < limit,
            Op.LE: answer <= limit,
            Op.GT: answer > limit,
            Op.GE: answer >= limit,
        }[self.op]


@dataclass(frozen=True)
class NoteTemplate:
    id: str
    title: str
    version: str
    programs: tuple[str, ...]
    plan_templates: tuple[str, ...]
    always: bool
    fields: tuple[NoteField, ...]
    flags: tuple[FlagRule, ...]

    def field(self, key: str) -> NoteField:
        for item in self.fields:
            if item.key == key:
                return item
        raise NotFound(f"the {self.title} note has no field {key!r}", where=self.id)


@dataclass(frozen=True)
class RedFlag:
    template: str
    key: str
    field: str
    value: Answer
    words: str
    source: str
    review: bool = False
    alert: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "template": self.template,
            "key": self.key,
            "field": self.field,
            "value": self.value,
            "words": self.words,
            "source": self.source,
            "review": self.review,
            "alert": self.alert,
        }


def note_template_load(path: Path) -> NoteTemplate:
    where = str(path.name)
    document = toml_read(path)
    template_id = toml_text(document, "id", where)
    if template_id != path.stem:
        raise InvalidInput(f"the template's id {template_id!r} is not its file name", where=where)
    fields: list[NoteField] = []
    for n, raw in enumerate(toml_tables(document, "field", where)):
        fields.append(_field(raw, f"{where}: field[{n}]"))
    keys = [f.key for f in fields]
    for key in keys:
        if keys.count(key) > 1:
            raise InvalidInput(f"field key {key!r} is used twice", where=where)
    if not fields:
        raise InvalidInput("a note template needs at least one [[field]]", where=where)
    by_key = {f.key: f for f in fields}
    flags = tuple(
        _flag(raw, by_key, f"{where}: flag[{n}]")
        for n, raw in enumerate(toml_tables(document, "flag", where))
    )
    flag_keys = [f.key for f in flags]
    for key in flag_keys:
        if flag_keys.count(key) > 1:
            raise InvalidInput(f"flag key {key!r} is used twice", where=where)
    applies = document.get("applies_to", {})
    if not isinstance(applies, dict):
        raise InvalidInput("applies_to is a table", where=where)
    programs, plans = applies.get("programs", []), applies.get("plan_templates", [])
    always = applies.get("always", False)
    if not isinstance(programs, list) or not isinstance(plans, list) or not isinstance(always, bool):
        raise InvalidInput(
            "applies_to has programs and plan_templates (lists) and always (true/false)", where=where
        )
    if not (programs or plans or always):
        raise InvalidInput(
            "say what the template applies to (programs, plan_templates or always)", where=where
        )
    return NoteTemplate(
        id=template_id,
        title=toml_text(document, "title", where),
        version=toml_text(document, "version", where),
        programs=tuple(str(p) for p in programs),
        plan_templates=tuple(str(p) for p in plans),
        always=always,
        fields=tuple(fields),
        flags=flags,
    )


def _field(raw: Mapping[str, Any], where: str) -> NoteField:
    key = toml_text(raw, "key", where)
    where = f"{where.rsplit(':', 1)[0]}: field {key}"
    try:
        kind = FieldType(str(raw.get("type")))
    except ValueError:
        raise InvalidInput(
            f"type {raw.get('type')!r} is not one of {', '.join(t.value for t in FieldType)}", where=where
        ) from None
    choices: tuple[Choice, ...] = ()
    if kind is FieldType.CHOICE:
        options = raw.get("choices")
        if not isinstance(options, list) or len(options) < 2:
            raise InvalidInput("a choice field lists at least two choices", where=where)
        choices = tuple(Choice(toml_text(o, "value", where), toml_text(o, "label", where)) for o in options)
    low, high = raw.get("min"), raw.get("max")
    for bound in (low, high):
        if bound is not None and (isinstance(bound, bool) or not isinstance(bound, int | float)):
            raise InvalidInput("min and max are numbers", where=where)
    if low is not None and high is not None and low > high:
        raise InvalidInput(f"min {low} is above max {high}", where=where)
    return NoteField(
        key=key,
        label=toml_text(raw, "label", where),
        type=kind,
        unit=str(raw.get("unit", "")),
        low=None if low is None else float(low),
        high=None if high is None else float(high),
        choices=choices,
        previous_loinc=raw.get("previous_loinc"),
        help=str(raw.get("help", "")),
    )


def _flag(raw: Mapping[str, Any], fields: Mapping[str, NoteField], where: str) -> FlagRule:
    key = toml_text(raw, "key", where)
    where = f"{where.rsplit(':', 1)[0]}: flag {key}"
    name = toml_text(raw, "field", where)
    target = fields.get(name)
    if target is None:
        raise InvalidInput(f"names the unknown field {name!r}", where=where)
    try:
        op = Op(str(raw.get("op")))
    except ValueError:
        raise InvalidInput(
            f"op {raw.get('op')!r} is not one of {', '.join(o.value for o in Op)}", where=where
        ) from None
    value = raw.get("value")
    parsed: Answer | tuple[str, ...]
    if target.type is FieldType.NUMBER:
        if op not in NUMBER_OPS or isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInput(
                "a number field's flag compares with a number (<, <=, >, >=, ==, rise)", where=where
            )
        if op is Op.RISE and not target.previous_loinc:
            raise InvalidInput(
                "a rise needs the field's previous_loinc (where the previous value is)", where=where
            )
        parsed = float(value)
    elif target.type is FieldType.YES_NO:
        if op is not Op.EQ or not isinstance(value, bool):
            raise InvalidInput("a yes-no field's flag is == true or == false", where=where)
        parsed = value
    elif target.type is FieldType.CHOICE:
        allowed = {c.value for c in target.choices}
        values = value if isinstance(value, list) else [value]
        if op not in (Op.IN, Op.EQ) or not values or any(v not in allowed for v in values):
            raise InvalidInput(f"a choice field's flag is in or == some of {sorted(allowed)}", where=where)
        parsed = tuple(str(v) for v in values) if op is Op.IN else str(value)
    else:
        raise InvalidInput("a text field raises no flag", where=where)
    review, alert = raw.get("review", False), raw.get("alert")
    if not isinstance(review, bool):
        raise InvalidInput("review is true or false", where=where)
    if alert is not None and (not isinstance(alert, str) or not alert.strip()):
        raise InvalidInput("alert names the kind of patient alert", where=where)
    words, source = toml_text(raw, "words", where), toml_text(raw, "source", where)
    return FlagRule(key, name, op, parsed, words, source, review, alert)


@cache
def note_templates() -> tuple[NoteTemplate, ...]:
    """Every shipped note template, the ones for every contact first, then by title."""
    loaded = (note_template_load(p) for p in NOTE_TEMPLATES_DIR.glob("*.toml"))
    return tuple(sorted(loaded, key=lambda t: (not t.always, t.title)))


def note_template_get(template_id: str) -> NoteTemplate:
    for template in note_templates():
        if template.id == template_id:
            return template
    known = ", ".join(t.id for t in note_templates())
    raise NotFound(f"no note template {template_id!r} (shipped: {known})", where="note template")


def note_templates_for(
    programs: frozenset[str] | set[str], plan_templates: frozenset[str] | set[str]
) -> list[NoteTemplate]:
    """The note templates of a contact: those for every contact, those of the patient's programs, and
    those of the care-plan templates the patient's conditions call for."""
    return [
        t
        for t in note_templates()
        if t.always or set(t.programs) & set(programs) or set(t.plan_templates) & set(plan_templates)
    ]


def note_answers(template: NoteTemplate, raw: Mapping[str, str]) -> dict[str, Answer]:
    """The answers typed in a note (text as posted, by field key), typed and checked; a field left empty
    is left out. InvalidInput naming the template and the field's label otherwise."""
    answers: dict[str, Answer] = {}
    for item in template.fields:
        text = (raw.get(item.key) or "").strip()
        if not text:
            continue
        where = f"{template.title}: {item.label}"
        if item.type is FieldType.NUMBER:
            try:
                number = float(text)
            except ValueError:
                raise InvalidInput(f"{text!r} is not a number", where=where) from None
            if (
                number != number
                or (item.low is not None and number < item.low)
                or (item.high is not None and number > item.high)
            ):
                raise InvalidInput(
                    f"{text} is outside {_g(item.low)} to {_g(item.high)} {item.unit}".strip(), where=where
                )
            answers[item.key] = number
        elif item.type is FieldType.YES_NO:
            if text not in ("yes", "no"):
                raise InvalidInput(f"{text!r} is not yes or no", where=where)
            answers[item.key] = text == "yes"
        elif item.type is FieldType.CHOICE:
            allowed = [c.value for c in item.choices]
            if text not in allowed:
                raise InvalidInput(f"{text!r} is not one of {', '.join(allowed)}", where=where)
            answers[item.key] = text
        else:
            if len(text) > 4000:
                raise InvalidInput("at most 4,000 characters", where=where)
            answers[item.key] = text
    return answers


def _g(number: float | None) -> str:
    return "any" if number is None else f"{number:g}"


def red_flags(
    template: NoteTemplate, answers: Mapping[str, Answer], previous: Mapping[str, float] | None = None
) -> list[RedFlag]:
    """The red flags the answers raise, in the template's order, each with its words (``{value}`` and
    ``{previous}`` filled in), its source and whether a clinician must review its threshold.
    ``previous``: the previous value of a field (by key) for a ``rise`` flag."""
    found: list[RedFlag] = []
    for flag in template.flags:
        if flag.field not in answers:
            continue
        answer = answers[flag.field]
        before = (previous or {}).get(flag.field)
        if flag.hit(answer, before):
            words = flag.words.replace("{value}", _shown(answer)).replace(
                "{previous}", _shown(before) if before is not None else "?"
            )
            found.append(
                RedFlag(
                    template.id, flag.key, flag.field, answer, words, flag.source, flag.review, flag.alert
                )
            )
    return found


def _shown(value: Answer | float) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return value


# --- reading TOML -----------------------------------------------------------------------------------
