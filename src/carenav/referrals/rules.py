"""Referrals as pure rules: their kinds, the closed loop they follow, what each step needs, and when one is
overdue.

The loop: **draft → sent → received → accepted | declined → in-progress → completed** (with an outcome), or
**cancelled** (with a reason) from any open step. A referral to a community organization is sent only once
the patient's consent to share their information with it is on record. A referral is **overdue** when its
expected-by date has passed and it has not reached the step that date was for (accepted, for one sent;
completed, for one in progress)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from enum import StrEnum

from carenav.errors import RuleViolation


class ReferralKind(StrEnum):
    # clinical
    SPECIALIST = "specialist"
    HOME_HEALTH = "home-health"
    THERAPY = "therapy"  # PT, OT, speech
    DME = "dme"  # durable medical equipment
    BEHAVIORAL_HEALTH = "behavioral-health"
    PHARMACY = "pharmacy"  # prescription delivery
    # social
    TRANSPORTATION = "transportation"
    FOOD = "food"
    HOUSING = "housing"
    UTILITIES = "utilities"
    FINANCIAL = "financial"
    RESPITE = "respite"
    LEGAL = "legal"


CLINICAL = frozenset(
    {
        ReferralKind.SPECIALIST,
        ReferralKind.HOME_HEALTH,
        ReferralKind.THERAPY,
        ReferralKind.DME,
        ReferralKind.BEHAVIORAL_HEALTH,
        ReferralKind.PHARMACY,
    }
)


class ReferralStatus(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    RECEIVED = "received"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


_R = ReferralStatus
REFERRAL_MOVES: Mapping[ReferralStatus, frozenset[ReferralStatus]] = {
    _R.DRAFT: frozenset({_R.SENT, _R.CANCELLED}),
    _R.SENT: frozenset({_R.RECEIVED, _R.ACCEPTED, _R.DECLINED, _R.CANCELLED}),
    _R.RECEIVED: frozenset({_R.ACCEPTED, _R.DECLINED, _R.CANCELLED}),
    _R.ACCEPTED: frozenset({_R.IN_PROGRESS, _R.COMPLETED, _R.CANCELLED}),
    _R.IN_PROGRESS: frozenset({_R.COMPLETED, _R.CANCELLED}),
    _R.DECLINED: frozenset(),
    _R.COMPLETED: frozenset(),
    _R.CANCELLED: frozenset(),
}
CLOSED = frozenset({_R.DECLINED, _R.COMPLETED, _R.CANCELLED})
RECEIVER_STEPS = frozenset(
    {_R.RECEIVED, _R.ACCEPTED, _R.DECLINED, _R.IN_PROGRESS, _R.COMPLETED, _R.CANCELLED}
)
"""The steps the organization a referral is sent to may take itself (over FHIR, with its own token); the
referring care team takes any step (sending, and recording what the organization said on the phone)."""
NEEDS_NOTE = frozenset({_R.DECLINED, _R.CANCELLED, _R.COMPLETED})  # a reason, or the outcome


def referral_move(
    status: ReferralStatus,
    to: ReferralStatus,
    *,
    note: str | None = None,
    community: bool = False,
    consent_on_file: bool = False,
    by_receiver: bool = False,
) -> ReferralStatus:
    """The referral's status after ``to``; RuleViolation when the step is not open from ``status``, a
    decline or cancellation has no reason, a completion no outcome, a community referral is sent
    without the patient's consent on file, or the receiving organization (``by_receiver``) takes a step
    that is the referrer's."""
    if by_receiver and to not in RECEIVER_STEPS:
        raise RuleViolation(
            f"the receiving organization cannot mark a referral {to.value}; it may mark it "
            + ", ".join(sorted(s.value for s in RECEIVER_STEPS)),
            where="referral status",
        )
    if to not in REFERRAL_MOVES[status]:
        raise RuleViolation(f"a {status.value} referral cannot become {to.value}", where="referral status")
    if to in NEEDS_NOTE and not (note or "").strip():
        what = "the outcome" if to is _R.COMPLETED else "the reason"
        raise RuleViolation(f"a {to.value} referral needs {what}", where="referral status")
    if to is _R.SENT and community and not consent_on_file:
        raise RuleViolation(
            "record the patient's consent to share their information with the organization before sending",
            where="referral consent",
        )
    return to


def referral_overdue(status: ReferralStatus, expected_by: date | None, today: date) -> bool:
    """Whether an open referral's expected-by date has passed."""
    return status not in CLOSED and status is not _R.DRAFT and expected_by is not None and today > expected_by
