"""Prior authorizations as pure rules: the request's status machine, its appeals' machine, what a submission
needs, the codes it carries, the documents it may hold, and the deadlines that follow from the payer's rules
(kept as data in ``appeal_rules.toml``).

The request: **draft → submitted → pending → approved | partially-approved | denied**, or **withdrawn**
(with a reason) before a decision. A payer may decide a submitted request without pending it first. A denial
or partial approval needs its reason; it may then be appealed, level after level: **filed → peer-to-peer
scheduled → peer-to-peer held → decided** (upheld, overturned or partially overturned), or **withdrawn**. An
overturned appeal approves the request, a partially overturned one approves it in part.

Deadlines (``authorization_deadlines``): the payer's decision on a request in review, the peer-to-peer
review, the payer's decision on an open appeal, the last day to file the next appeal of a denial, and the
last day of an approval. A deadline before today is overdue, except the last day to appeal, which lapses.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

from carenav.errors import InvalidInput, RuleViolation

RULES_PATH = Path(__file__).parent / "appeal_rules.toml"
DEFAULT_KIND = "default"


class PayerKind(StrEnum):
    MEDICARE_ADVANTAGE = "medicare-advantage"
    MEDICARE_PART_D = "medicare-part-d"
    MEDICARE = "medicare"  # traditional (fee-for-service) Medicare
    MEDICAID_MANAGED_CARE = "medicaid-managed-care"
    MEDICAID = "medicaid"  # fee-for-service Medicaid
    COMMERCIAL = "commercial"  # employer and individual (ACA) health plans
    OTHER = "other"


class AuthorizationStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    PENDING = "pending"
    APPROVED = "approved"
    PARTIALLY_APPROVED = "partially-approved"
    DENIED = "denied"
    WITHDRAWN = "withdrawn"


_A = AuthorizationStatus
AUTHORIZATION_MOVES: Mapping[AuthorizationStatus, frozenset[AuthorizationStatus]] = {
    _A.DRAFT: frozenset({_A.SUBMITTED, _A.WITHDRAWN}),
    _A.SUBMITTED: frozenset({_A.PENDING, _A.APPROVED, _A.PARTIALLY_APPROVED, _A.DENIED, _A.WITHDRAWN}),
    _A.PENDING: frozenset({_A.APPROVED, _A.PARTIALLY_APPROVED, _A.DENIED, _A.WITHDRAWN}),
    _A.APPROVED: frozenset(),
    _A.PARTIALLY_APPROVED: frozenset(),
    _A.DENIED: frozenset(),
    _A.WITHDRAWN: frozenset(),
}
"""The moves a person records. A decided request changes again only through an appeal's outcome."""
DECISIONS = frozenset({_A.APPROVED, _A.PARTIALLY_APPROVED, _A.DENIED})
IN_REVIEW = frozenset({_A.SUBMITTED, _A.PENDING})
ADVERSE = frozenset({_A.DENIED, _A.PARTIALLY_APPROVED})
"""Decisions that deny the request in whole or in part: these may be appealed, and call for alternatives."""
NEEDS_REASON = frozenset({_A.DENIED, _A.PARTIALLY_APPROVED, _A.WITHDRAWN})


def authorization_move(
    status: AuthorizationStatus, to: AuthorizationStatus, *, reason: str | None = None
) -> AuthorizationStatus:
    """The request's status after ``to``; RuleViolation when the step is not open from ``status``, or a
    denial, partial approval or withdrawal has no reason."""
    if to not in AUTHORIZATION_MOVES[status]:
        if status in DECISIONS and to in DECISIONS:
            raise RuleViolation(
                f"the request is already {status.value}: an appeal changes a decision",
                where="authorization status",
            )
        raise RuleViolation(
            f"a {status.value} request cannot become {to.value}", where="authorization status"
        )
    if to in NEEDS_REASON and not (reason or "").strip():
        what = {
            _A.DENIED: "the payer's reason for the denial",
            _A.PARTIALLY_APPROVED: "what the payer denied, and why",
            _A.WITHDRAWN: "the reason it is withdrawn",
        }[to]
        raise RuleViolation(f"a {to.value} request needs {what}", where="authorization status")
    return to


class AppealStatus(StrEnum):
    FILED = "filed"
    PEER_TO_PEER_SCHEDULED = "p2p-scheduled"
    PEER_TO_PEER_HELD = "p2p-held"
    DECIDED = "decided"
    WITHDRAWN = "withdrawn"


class AppealOutcome(StrEnum):
    UPHELD = "upheld"  # the denial stands
    OVERTURNED = "overturned"
    PARTIALLY_OVERTURNED = "partially-overturned"


_P = AppealStatus
APPEAL_MOVES: Mapping[AppealStatus, frozenset[AppealStatus]] = {
    _P.FILED: frozenset({_P.PEER_TO_PEER_SCHEDULED, _P.DECIDED, _P.WITHDRAWN}),
    # scheduled again: the review was moved
    _P.PEER_TO_PEER_SCHEDULED: frozenset(
        {_P.PEER_TO_PEER_SCHEDULED, _P.PEER_TO_PEER_HELD, _P.DECIDED, _P.WITHDRAWN}
    ),
    _P.PEER_TO_PEER_HELD: frozenset({_P.DECIDED, _P.WITHDRAWN}),
    _P.DECIDED: frozenset(),
    _P.WITHDRAWN: frozenset(),
}
APPEAL_OPEN = frozenset({_P.FILED, _P.PEER_TO_PEER_SCHEDULED, _P.PEER_TO_PEER_HELD})


def appeal_move(
    status: AppealStatus,
    to: AppealStatus,
    *,
    note: str | None = None,
    outcome: AppealOutcome | None = None,
) -> AppealStatus:
    """The appeal's status after ``to``; RuleViolation when the step is not open from ``status``, a decision
    has no outcome, or a withdrawal or a held peer-to-peer review has no note."""
    if to not in APPEAL_MOVES[status]:
        raise RuleViolation(
            f"a {_appeal_words(status)} appeal cannot become {_appeal_words(to)}", where="appeal status"
        )
    if to is _P.DECIDED and outcome is None:
        raise RuleViolation("a decided appeal needs its outcome", where="appeal outcome")
    if to is not _P.DECIDED and outcome is not None:
        raise RuleViolation("only a decision has an outcome", where="appeal outcome")
    if to in (_P.WITHDRAWN, _P.PEER_TO_PEER_HELD) and not (note or "").strip():
        what = "the reason" if to is _P.WITHDRAWN else "what was said and agreed"
        raise RuleViolation(f"a {_appeal_words(to)} appeal needs {what}", where="appeal status")
    return to


def _appeal_words(status: AppealStatus) -> str:
    return {
        _P.FILED: "filed",
        _P.PEER_TO_PEER_SCHEDULED: "peer-to-peer scheduled",
        _P.PEER_TO_PEER_HELD: "peer-to-peer held",
        _P.DECIDED: "decided",
        _P.WITHDRAWN: "withdrawn",
    }[status]


def appeal_effect(status: AuthorizationStatus, outcome: AppealOutcome) -> AuthorizationStatus:
    """The request's status after an appeal of it is decided."""
    if status not in ADVERSE:
        raise RuleViolation(f"a {status.value} request has nothing to appeal", where="appeal outcome")
    if outcome is AppealOutcome.OVERTURNED:
        return _A.APPROVED
    if outcome is AppealOutcome.PARTIALLY_OVERTURNED:
        return _A.PARTIALLY_APPROVED
    return status


@dataclass(frozen=True)
class AppealView:
    """What the rules need to know of an appeal."""

    level: int
    status: AppealStatus
    outcome: AppealOutcome | None = None
    decision_due_on: date | None = None
    peer_to_peer_on: date | None = None


def next_appeal_level(status: AuthorizationStatus, appeals: Sequence[AppealView]) -> int:
    """The level of the next appeal of this request: one past the highest decided one (a withdrawn appeal
    may be filed again at its level). RuleViolation when the request is not denied or partially approved,
    or an appeal of it is still open."""
    if status not in ADVERSE:
        raise RuleViolation(
            f"only a denied or partially approved request can be appealed; this one is {status.value}",
            where="appeal",
        )
    for appeal in appeals:
        if appeal.status in APPEAL_OPEN:
            raise RuleViolation(
                f"the level {appeal.level} appeal is still open: record its decision or withdraw it first",
                where="appeal",
            )
    decided = [a.level for a in appeals if a.status is AppealStatus.DECIDED]
    return max(decided, default=0) + 1


# --- what a submission needs, and the codes it carries ----------------------------------------------

MAX_CODES = 25
_CPT = re.compile(r"^[0-9]{4}[0-9FTU]$")  # CPT (Category I), or a Category II / III / PLA code
_HCPCS = re.compile(r"^[A-V][0-9]{4}$")  # HCPCS Level II
_ICD10CM = re.compile(r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")
_SEPARATORS = re.compile(r"[\s,;]+")


def service_code(text: str, *, where: str = "service codes") -> str:
    """A CPT or HCPCS Level II code, upper-cased; InvalidInput naming it otherwise."""
    code = text.strip().upper()
    if _CPT.match(code) or _HCPCS.match(code):
        return code
    raise InvalidInput(
        f"{text.strip()!r} is not a CPT code (5 digits, e.g. 97110) or a HCPCS code (a letter and 4 digits,"
        " e.g. E0470)",
        where=where,
    )


def diagnosis_code(text: str, *, where: str = "diagnosis codes") -> str:
    """An ICD-10-CM code with its dot (``I509`` is ``I50.9``); InvalidInput naming it otherwise."""
    code = text.strip().upper()
    if "." not in code and len(code) > 3:
        code = f"{code[:3]}.{code[3:]}"
    if _ICD10CM.match(code):
        return code
    raise InvalidInput(
        f"{text.strip()!r} is not an ICD-10-CM code (a letter, 2 characters, then up to 4 after the dot,"
        " e.g. I50.9)",
        where=where,
    )


def codes_parse(text: str | Iterable[str], kind: str) -> list[str]:
    """Codes typed in one field (separated by spaces, commas or semicolons) or given as a list: each checked,
    upper-cased, duplicates dropped, order kept. ``kind``: "service" or "diagnosis"."""
    items = _SEPARATORS.split(text) if isinstance(text, str) else [str(t) for t in text]
    check = service_code if kind == "service" else diagnosis_code
    where = "service codes" if kind == "service" else "diagnosis codes"
    codes: list[str] = []
    for item in items:
        if item.strip():
            code = check(item, where=where)
            if code not in codes:
                codes.append(code)
    if len(codes) > MAX_CODES:
        raise InvalidInput(f"{len(codes)} codes; a request carries at most {MAX_CODES}", where=where)
    return codes


def submission_gaps(
    *,
    service: str,
    payer_name: str,
    service_codes: Sequence[str],
    diagnosis_codes: Sequence[str],
    justification: str,
) -> list[str]:
    """What a request lacks before it can be sent to the payer (empty: it is complete)."""
    gaps = []
    if not service.strip():
        gaps.append("the service requested")
    if not payer_name.strip():
        gaps.append("the payer")
    if not service_codes:
        gaps.append("at least one CPT or HCPCS code")
    if not diagnosis_codes:
        gaps.append("at least one ICD-10-CM diagnosis code")
    if not justification.strip():
        gaps.append("the clinical justification")
    return gaps


# --- payer rules and the deadlines they set ----------------------------------------------------------


def add_days(start: date, days: int) -> date:
    """``days`` calendar days after ``start`` (the day after ``start`` is day 1)."""
    return start + timedelta(days=days)


def add_months(start: date, months: int) -> date:
    """The same day of the month ``months`` months after ``start``; when that month has no such day, the first
    day of the month after it (the way federal external-review windows are counted)."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    try:
        return date(year, month, start.day)
    except ValueError:
        return date(year + month // 12, month % 12 + 1, 1)


def hours_as_days(hours: int) -> int:
    """Hours counted as whole days, rounded up (72 hours from a filing on June 2 ends on June 5)."""
    return math.ceil(hours / 24)


@dataclass(frozen=True)
class DecisionRule:
    """How long a payer has to decide a prior authorization request."""

    payer_kind: str
    standard_days: int
    expedited_hours: int
    source: str
    effective_from: date | None = None

    def due(self, submitted_on: date, *, expedited: bool) -> date:
        days = hours_as_days(self.expedited_hours) if expedited else self.standard_days
        return add_days(submitted_on, days)


@dataclass(frozen=True)
class AppealRule:
    """One level of a payer's appeals: how long to file it and how long the payer has to decide it."""

    payer_kind: str
    level: int
    name: str
    source: str
    automatic: bool = False
    file_within_days: int | None = None
    file_within_months: int | None = None
    presumed_receipt_days: int = 0
    decide_within_days: int | None = None
    expedited_decide_within_hours: int | None = None

    def file_by(self, notice_on: date) -> date | None:
        """The last day to file this appeal against a notice dated ``notice_on`` (None: no window)."""
        received = add_days(notice_on, self.presumed_receipt_days)
        if self.file_within_days is not None:
            return add_days(received, self.file_within_days)
        if self.file_within_months is not None:
            return add_months(received, self.file_within_months)
        return None

    def decision_due(self, filed_on: date, *, expedited: bool) -> date | None:
        """When the payer must decide this appeal, filed on ``filed_on`` (None: no timeframe recorded). An
        expedited appeal without an expedited timeframe has the standard one."""
        if expedited and self.expedited_decide_within_hours is not None:
            return add_days(filed_on, hours_as_days(self.expedited_decide_within_hours))
        if self.decide_within_days is not None:
            return add_days(filed_on, self.decide_within_days)
        return None


@dataclass(frozen=True)
class PayerRules:
    decisions: tuple[DecisionRule, ...]
    appeals: tuple[AppealRule, ...]
    source: str

    def decision_rule(self, payer_kind: PayerKind, submitted_on: date) -> DecisionRule:
        """The payer kind's rule in force on ``submitted_on`` (the latest one started by then), else the
        default in force then."""
        for kind in (payer_kind.value, DEFAULT_KIND):
            in_force = [
                r
                for r in self.decisions
                if r.payer_kind == kind and (r.effective_from is None or r.effective_from <= submitted_on)
            ]
            if in_force:
                return max(in_force, key=lambda r: r.effective_from or date.min)
        raise RuleViolation(f"no decision rule in force on {submitted_on}", where=self.source)

    def appeal_rule(self, payer_kind: PayerKind, level: int) -> AppealRule | None:
        """The payer kind's rule for this level of appeal; for a first appeal, the default when the kind has
        none. None: a level not tracked."""
        for rule in self.appeals:
            if rule.payer_kind == payer_kind.value and rule.level == level:
                return rule
        if level == 1 and not any(r.payer_kind == payer_kind.value for r in self.appeals):
            return next(r for r in self.appeals if r.payer_kind == DEFAULT_KIND and r.level == 1)
        return None


class _Where:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, place: str, message: str) -> InvalidInput:
        return InvalidInput(message, where=f"{self.source}: {place}")


def payer_rules_parse(text: str, *, source: str) -> PayerRules:
    """Check and read a payer rules file's content; InvalidInput naming the entry and field otherwise."""
    where = _Where(source)
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"not valid TOML: {exc}", where=source) from None
    unknown = set(document) - {"decision", "appeal"}
    if unknown:
        raise where.fail(sorted(unknown)[0], "unknown table (expected [[decision]] and [[appeal]])")
    decisions = tuple(
        _decision(raw, f"decision[{n}]", where) for n, raw in enumerate(_tables(document, "decision", where))
    )
    appeals = tuple(
        _appeal(raw, f"appeal[{n}]", where) for n, raw in enumerate(_tables(document, "appeal", where))
    )
    seen: set[tuple[str, date | None]] = set()
    for n, d in enumerate(decisions):
        if (d.payer_kind, d.effective_from) in seen:
            raise where.fail(f"decision[{n}]", f"a second {d.payer_kind} rule from the same date")
        seen.add((d.payer_kind, d.effective_from))
    if not any(d.payer_kind == DEFAULT_KIND and d.effective_from is None for d in decisions):
        raise where.fail("decision", 'a default decision rule (payer_kind = "default", no effective_from)')
    levels: set[tuple[str, int]] = set()
    for n, a in enumerate(appeals):
        if (a.payer_kind, a.level) in levels:
            raise where.fail(f"appeal[{n}]", f"a second level {a.level} rule for {a.payer_kind}")
        levels.add((a.payer_kind, a.level))
    if (DEFAULT_KIND, 1) not in levels:
        raise where.fail("appeal", 'a default level 1 appeal rule (payer_kind = "default", level = 1)')
    return PayerRules(decisions=decisions, appeals=appeals, source=source)


def _tables(document: Mapping[str, Any], key: str, where: _Where) -> list[Mapping[str, Any]]:
    raw = document.get(key, [])
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        raise where.fail(key, f"write each as a [[{key}]] table")
    return raw


def _known(raw: Mapping[str, Any], fields: set[str], place: str, where: _Where) -> None:
    for key in raw:
        if key not in fields:
            raise where.fail(f"{place}.{key}", f"unknown field (expected one of {', '.join(sorted(fields))})")


def _kind(raw: Mapping[str, Any], place: str, where: _Where) -> str:
    kind = raw.get("payer_kind")
    allowed = [DEFAULT_KIND, *(k.value for k in PayerKind)]
    if kind not in allowed:
        raise where.fail(f"{place}.payer_kind", f"{kind!r} is not one of {', '.join(allowed)}")
    return str(kind)


def _count(raw: Mapping[str, Any], key: str, place: str, where: _Where, *, required: bool) -> int | None:
    value = raw.get(key)
    if value is None:
        if required:
            raise where.fail(f"{place}.{key}", "missing")
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > 3650:
        raise where.fail(f"{place}.{key}", f"must be a whole number from 0 to 3650, not {value!r}")
    return value


def _required_count(raw: Mapping[str, Any], key: str, place: str, where: _Where) -> int:
    value = _count(raw, key, place, where, required=True)
    assert value is not None
    return value


def _text(raw: Mapping[str, Any], key: str, place: str, where: _Where) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise where.fail(f"{place}.{key}", "missing text")
    return value.strip()


def _decision(raw: Mapping[str, Any], place: str, where: _Where) -> DecisionRule:
    _known(raw, {"payer_kind", "effective_from", "standard_days", "expedited_hours", "source"}, place, where)
    effective = raw.get("effective_from")
    if effective is not None and type(effective) is not date:
        raise where.fail(f"{place}.effective_from", f"must be a date like 2026-01-01, not {effective!r}")
    return DecisionRule(
        payer_kind=_kind(raw, place, where),
        standard_days=_required_count(raw, "standard_days", place, where),
        expedited_hours=_required_count(raw, "expedited_hours", place, where),
        source=_text(raw, "source", place, where),
        effective_from=effective,
    )


def _appeal(raw: Mapping[str, Any], place: str, where: _Where) -> AppealRule:
    fields = {
        "payer_kind",
        "level",
        "name",
        "source",
        "filed_by",
        "file_within_days",
        "file_within_months",
        "presumed_receipt_days",
        "decide_within_days",
        "expedited_decide_within_hours",
    }
    _known(raw, fields, place, where)
    level = raw.get("level")
    if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 9:
        raise where.fail(f"{place}.level", f"must be a whole number from 1 to 9, not {level!r}")
    filed_by = raw.get("filed_by", "patient")
    if filed_by not in ("patient", "automatic"):
        raise where.fail(f"{place}.filed_by", f"must be 'patient' or 'automatic', not {filed_by!r}")
    days = _count(raw, "file_within_days", place, where, required=False)
    months = _count(raw, "file_within_months", place, where, required=False)
    if filed_by == "automatic" and (days is not None or months is not None):
        raise where.fail(f"{place}.filed_by", "an automatic appeal has no filing window")
    if filed_by == "patient" and (days is None) == (months is None):
        raise where.fail(place, "give one of file_within_days or file_within_months")
    return AppealRule(
        payer_kind=_kind(raw, place, where),
        level=level,
        name=_text(raw, "name", place, where),
        source=_text(raw, "source", place, where),
        automatic=filed_by == "automatic",
        file_within_days=days,
        file_within_months=months,
        presumed_receipt_days=_count(raw, "presumed_receipt_days", place, where, required=False) or 0,
        decide_within_days=_count(raw, "decide_within_days", place, where, required=False),
        expedited_decide_within_hours=_count(
            raw, "expedited_decide_within_hours", place, where, required=False
        ),
    )


@cache
def payer_rules() -> PayerRules:
    """The payer rules shipped with carenav (``appeal_rules.toml``), checked once."""
    return payer_rules_parse(RULES_PATH.read_text(encoding="utf-8"), source=RULES_PATH.name)


class DueKind(StrEnum):
    DECISION = "decision"
    PEER_TO_PEER = "peer-to-peer"
    APPEAL_DECISION = "appeal-decision"
    APPEAL_BY = "appeal-by"
    APPROVAL_ENDS = "approval-ends"


DUE_LABELS: Mapping[DueKind, str] = {
    DueKind.DECISION: "payer's decision due",
    DueKind.PEER_TO_PEER: "peer-to-peer review",
    DueKind.APPEAL_DECISION: "appeal decision due",
    DueKind.APPEAL_BY: "last day to appeal",
    DueKind.APPROVAL_ENDS: "approval ends",
}
_DUE_ORDER = {kind: n for n, kind in enumerate(DueKind)}


@dataclass(frozen=True)
class Deadline:
    kind: DueKind
    on: date
    level: int | None = None  # the appeal's level, for appeal deadlines

    @property
    def label(self) -> str:
        what = DUE_LABELS[self.kind]
        return f"{what} (level {self.level})" if self.level is not None else what

    def days_left(self, today: date) -> int:
        return (self.on - today).days

    def overdue(self, today: date) -> bool:
        return self.on < today


def authorization_deadlines(
    status: AuthorizationStatus,
    *,
    decision_due_on: date | None,
    appeal_by: date | None,
    valid_to: date | None,
    appeals: Sequence[AppealView],
    today: date,
) -> list[Deadline]:
    """The request's open deadlines, soonest first. ``appeal_by``: the last day to file the next appeal of a
    denial (shown while no appeal is open, until it lapses); ``valid_to``: the last day of an approval (shown
    until it has passed)."""
    found: list[Deadline] = []
    if status in IN_REVIEW and decision_due_on is not None:
        found.append(Deadline(DueKind.DECISION, decision_due_on))
    open_appeals = [a for a in appeals if a.status in APPEAL_OPEN]
    for appeal in open_appeals:
        if appeal.status is AppealStatus.PEER_TO_PEER_SCHEDULED and appeal.peer_to_peer_on is not None:
            found.append(Deadline(DueKind.PEER_TO_PEER, appeal.peer_to_peer_on, appeal.level))
        if appeal.decision_due_on is not None:
            found.append(Deadline(DueKind.APPEAL_DECISION, appeal.decision_due_on, appeal.level))
    if status in ADVERSE and not open_appeals and appeal_by is not None and appeal_by >= today:
        level = next_appeal_level(status, appeals)
        found.append(Deadline(DueKind.APPEAL_BY, appeal_by, level))
    if status in (_A.APPROVED, _A.PARTIALLY_APPROVED) and valid_to is not None and valid_to >= today:
        found.append(Deadline(DueKind.APPROVAL_ENDS, valid_to))
    return sorted(found, key=lambda d: (d.on, _DUE_ORDER[d.kind]))
