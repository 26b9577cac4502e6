"""The worklist's pure rules: the kinds of item a care manager's queue holds, their priority order and
weights (data: ``priorities.toml``), and ``rank`` — a stable, explainable sort in which every item says
why it stands where it does.

The order is a total preorder on ``sort_key``: kind band first (an overdue item takes its kind's
``overdue_band``, never a later band than ``band``), then more days overdue first, then the earlier due
date (no date last), then the patient's name. Items equal on all of these keep the order they came in.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

from carenav.caseloads.rules import DISCIPLINE_LABELS, Discipline
from carenav.errors import InvalidInput

PRIORITIES_PATH = Path(__file__).with_name("priorities.toml")


class ItemKind(StrEnum):
    ALERT = "alert"
    URGENT_TASK = "urgent-task"
    TRANSITION_SOON = "transition-soon"
    FOLLOWUP = "followup"
    TASK = "task"
    TRANSITION = "transition"
    REFERRAL = "referral"
    AUTHORIZATION = "authorization"
    SCREEN = "screen"
    EDUCATION = "education"
    NOT_ENGAGED = "not-engaged"
    NEAR_THRESHOLD = "near-threshold"


class ClaimAction(StrEnum):
    """What a row of the pool trail records."""

    CLAIMED = "claimed"
    HANDED_OFF = "handed-off"
    RELEASED = "released"


# --- team pools: their keys, names and members -------------------------------------------------------

POOL_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
POOL_KEY_MAX = 40
POOL_NAME_MAX = 200
WORKING_ROLES = ("care_manager", "supervisor", "admin")
"""The roles whose people work tasks: a task is handed off only to one of them, and only they (one by one,
or every user of one of these roles) are members of a pool."""


_DISCIPLINES = frozenset(d.value for d in Discipline)


class PoolMemberKind(StrEnum):
    """How a pool names its members: one user, every user of a role, or every user of a discipline."""

    USER = "user"
    ROLE = "role"
    DISCIPLINE = "discipline"


@dataclass(frozen=True)
class PoolMemberSpec:
    """A member of a pool as a person names it: ``role:care_manager``, ``discipline:social-worker``,
    ``user:nina.rn``."""

    kind: PoolMemberKind
    value: str

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.value}"


def pool_member_label(spec: PoolMemberSpec, display_name: str | None = None) -> str:
    """How a member reads on screen: "Nina Nurse (nina.rn)", "every care manager", "every social worker"."""
    if spec.kind is PoolMemberKind.USER:
        return f"{display_name or spec.value} ({spec.value})"
    if spec.kind is PoolMemberKind.ROLE:
        return f"every {spec.value.replace('_', ' ')}"
    if spec.value not in _DISCIPLINES or spec.value == Discipline.OTHER:
        return f"every user of discipline {spec.value!r}"
    return f"every {DISCIPLINE_LABELS[Discipline(spec.value)].lower()}"


def pool_key_clean(key: str) -> str:
    """A pool's key as stored: trimmed, lower-case letters, digits and dashes, at most 40 characters."""
    cleaned = key.strip().lower()
    if not cleaned or not set(cleaned) <= POOL_KEY_CHARS or len(cleaned) > POOL_KEY_MAX:
        raise InvalidInput(
            f"{key!r}: a pool key is 1 to {POOL_KEY_MAX} lower-case letters, digits and dashes",
            where="pool key",
        )
    return cleaned


def pool_name_clean(name: str) -> str:
    """A pool's name as stored: trimmed, not empty, at most 200 characters."""
    cleaned = name.strip()
    if not cleaned:
        raise InvalidInput("name the pool", where="pool name")
    if len(cleaned) > POOL_NAME_MAX:
        raise InvalidInput(f"a pool name is at most {POOL_NAME_MAX} characters", where="pool name")
    return cleaned


def pool_member_spec(kind: str, value: str) -> PoolMemberSpec:
    """A member named by kind and value, checked: a working role, a discipline, or a username (whether the
    user exists and works tasks is for the caller to say)."""
    try:
        member_kind = PoolMemberKind(kind.strip())
    except ValueError:
        allowed = ", ".join(k.value for k in PoolMemberKind)
        raise InvalidInput(f"{kind!r} is not one of {allowed}", where="pool member") from None
    text = value.strip()
    if not text:
        raise InvalidInput(f"name the {member_kind.value}", where="pool member")
    if member_kind is PoolMemberKind.ROLE and text not in WORKING_ROLES:
        raise InvalidInput(
            f"{text!r} is not a role that works tasks ({', '.join(WORKING_ROLES)})", where="pool member"
        )
    if member_kind is PoolMemberKind.DISCIPLINE and text not in _DISCIPLINES:
        known = ", ".join(d.value for d in Discipline)
        raise InvalidInput(f"{text!r} is not a discipline ({known})", where="pool member")
    return PoolMemberSpec(member_kind, text)


def pool_member_parse(token: str) -> PoolMemberSpec:
    """``kind:value`` (as a form's select sends it) as a checked member."""
    kind, sep, value = token.partition(":")
    if not sep:
        raise InvalidInput(
            f"{token!r}: name a member as user:NAME, role:ROLE or discipline:DISCIPLINE", where="pool member"
        )
    return pool_member_spec(kind, value)


@dataclass(frozen=True)
class KindWeight:
    kind: ItemKind
    label: str
    band: int
    overdue_band: int
    overdue_label: str


@dataclass(frozen=True)
class Priorities:
    kinds: Mapping[ItemKind, KindWeight]
    soon_business_days: int
    engagement_days: int
    high_tier: int
    engage_states: frozenset[str]
    authorization_days: int

    def weight(self, kind: ItemKind) -> KindWeight:
        return self.kinds[kind]


@dataclass(frozen=True)
class Action:
    """A one-click action of an item: ``key`` (log-contact, start-timer, open-plan, reschedule, hand-off,
    claim, release, open), its label, where it goes and how (``get``: a link; ``post``: a form)."""

    key: str
    label: str
    url: str
    method: str = "get"


@dataclass(frozen=True)
class WorkItem:
    """One thing that needs the care manager: of which kind, for which patient, why (in words), when it is
    due and by how many days it is overdue (0: not overdue), what it is (``ref``: the source row's
    uuid) and the actions that apply."""

    kind: ItemKind
    patient_uuid: str
    patient_name: str
    reason: str
    due_on: date | None = None
    overdue_days: int = 0
    ref: str = ""
    actions: tuple[Action, ...] = ()
    program: str | None = None
    """A program the patient is enrolled in today (what "Start timer" records time against)."""


@dataclass(frozen=True)
class Ranked:
    """An item at its place: ``position`` from 1, the band it sorted in, and (``why``) why it stands there."""

    position: int
    item: WorkItem
    band: int
    weights: Priorities = field(repr=False, compare=False)

    @property
    def why(self) -> str:
        """Why the item stands where it does, in words (worked out when asked: a list shows few of its
        items)."""
        return _why(self.item, self.weights)


def _int(raw: Mapping[str, Any], key: str, default: int | None = None) -> int:
    value = raw.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidInput(f"{key} must be a whole number of at least 0, not {value!r}", where="priorities")
    return value


def priorities_parse(raw: Mapping[str, Any]) -> Priorities:
    """Priorities from their TOML form, checked: every kind weighed once, overdue bands never after bands."""
    table = raw.get("kind")
    if not isinstance(table, dict):
        raise InvalidInput("no [kind.*] tables", where="priorities")
    unknown = set(table) - {k.value for k in ItemKind}
    if unknown:
        raise InvalidInput(f"unknown kinds: {', '.join(sorted(unknown))}", where="priorities")
    kinds: dict[ItemKind, KindWeight] = {}
    for kind in ItemKind:
        entry = table.get(kind.value)
        if not isinstance(entry, dict):
            raise InvalidInput(f"no weight for {kind.value}", where="priorities")
        band = _int(entry, "band")
        overdue_band = _int(entry, "overdue_band", band)
        if overdue_band > band:
            raise InvalidInput(
                f"{kind.value}: an overdue item may not rank after one not overdue", where="priorities"
            )
        label = str(entry.get("label") or kind.value)
        kinds[kind] = KindWeight(kind, label, band, overdue_band, str(entry.get("overdue_label") or label))
    states = raw.get("engage_states", [])
    if not isinstance(states, list):
        raise InvalidInput("engage_states must be a list", where="priorities")
    return Priorities(
        kinds=kinds,
        soon_business_days=_int(raw, "soon_business_days", 1),
        engagement_days=_int(raw, "engagement_days", 30),
        high_tier=_int(raw, "high_tier", 4),
        engage_states=frozenset(str(s) for s in states),
        authorization_days=_int(raw, "authorization_days", 2),
    )


@cache
def priorities() -> Priorities:
    """The shipped priorities (``priorities.toml``)."""
    with PRIORITIES_PATH.open("rb") as handle:
        return priorities_parse(tomllib.load(handle))


def band_of(item: WorkItem, p: Priorities) -> int:
    weight = p.weight(item.kind)
    return weight.overdue_band if item.overdue_days > 0 else weight.band


def sort_key(item: WorkItem, p: Priorities | None = None) -> tuple[int, int, date, str, str]:
    """Where an item sorts: band, more days overdue first, earlier due date (none last), patient name."""
    p = p or priorities()
    return (
        band_of(item, p),
        -max(item.overdue_days, 0),
        item.due_on or date.max,
        item.patient_name.casefold(),
        item.patient_name,
    )


def label_of(item: WorkItem, p: Priorities | None = None) -> str:
    """The kind's label, the overdue one when the item is overdue."""
    weight = (p or priorities()).weight(item.kind)
    return weight.overdue_label if item.overdue_days > 0 else weight.label


def _why(item: WorkItem, p: Priorities) -> str:
    parts = [f"{label_of(item, p)} (priority band {band_of(item, p)})"]
    if item.overdue_days > 0:
        parts.append(f"{item.overdue_days} day{'' if item.overdue_days == 1 else 's'} overdue")
    if item.due_on is not None:
        parts.append(f"due {item.due_on.isoformat()}")
    parts.append(f"then by patient name ({item.patient_name})")
    return "; ".join(parts)


def rank(items: Iterable[WorkItem], p: Priorities | None = None) -> list[Ranked]:
    """The items in priority order (stable: items that tie keep their order), each with why it is there."""
    p = p or priorities()
    ordered: Sequence[WorkItem] = sorted(items, key=lambda i: sort_key(i, p))
    return [Ranked(n, item, band_of(item, p), p) for n, item in enumerate(ordered, start=1)]
