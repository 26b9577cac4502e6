"""What may happen to an assessment, as pure rules: its states and the actions between them, the channels
and who answers.

- ``in-progress`` (a draft): started, saved and resumed any number of times; required items may be empty.
- ``completed``: every enabled required item answered; scored; the response and score are kept as version 1.
- ``amended``: a completed assessment corrected; each amendment is a new version with its reason, the earlier
  versions kept.
- ``entered-in-error``: withdrawn (made for the wrong patient, say), from any state, with a reason; its
  scores no longer count.
These are the FHIR QuestionnaireResponse statuses, so the stored response carries its own.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

from carenav.errors import RuleViolation


class AssessmentStatus(StrEnum):
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    AMENDED = "amended"
    ENTERED_IN_ERROR = "entered-in-error"


class AssessmentAction(StrEnum):
    SAVE_DRAFT = "save-draft"
    COMPLETE = "complete"
    AMEND = "amend"
    WITHDRAW = "withdraw"


class Channel(StrEnum):
    IN_PERSON = "in-person"
    HOME_VISIT = "home-visit"
    PHONE = "phone"
    VIDEO = "video"


class Respondent(StrEnum):
    PATIENT = "patient"
    PROXY = "proxy"  # a caregiver or family member answering for the patient


TRANSITIONS: dict[tuple[AssessmentStatus, AssessmentAction], AssessmentStatus] = {
    (AssessmentStatus.IN_PROGRESS, AssessmentAction.SAVE_DRAFT): AssessmentStatus.IN_PROGRESS,
    (AssessmentStatus.IN_PROGRESS, AssessmentAction.COMPLETE): AssessmentStatus.COMPLETED,
    (AssessmentStatus.COMPLETED, AssessmentAction.AMEND): AssessmentStatus.AMENDED,
    (AssessmentStatus.AMENDED, AssessmentAction.AMEND): AssessmentStatus.AMENDED,
    (AssessmentStatus.IN_PROGRESS, AssessmentAction.WITHDRAW): AssessmentStatus.ENTERED_IN_ERROR,
    (AssessmentStatus.COMPLETED, AssessmentAction.WITHDRAW): AssessmentStatus.ENTERED_IN_ERROR,
    (AssessmentStatus.AMENDED, AssessmentAction.WITHDRAW): AssessmentStatus.ENTERED_IN_ERROR,
}

NEEDS_REASON = frozenset({AssessmentAction.AMEND, AssessmentAction.WITHDRAW})


def assessment_transition(
    status: AssessmentStatus, action: AssessmentAction, *, reason: str | None = None
) -> AssessmentStatus:
    """The status after ``action``; RuleViolation when the action is not open from ``status`` or needs
    a reason it was not given."""
    after = TRANSITIONS.get((status, action))
    if after is None:
        raise RuleViolation(f"an assessment {status.value} cannot {action.value}", where="assessment")
    if action in NEEDS_REASON and not (reason or "").strip():
        raise RuleViolation(f"{action.value} needs a reason", where="assessment")
    return after


def respondent_problem(
    respondent: Respondent, proxy_name: str | None, proxy_relationship: str | None
) -> str | None:
    """Why the respondent details do not hold together, or None: a proxy is named with a relationship;
    the patient answering names no proxy."""
    if respondent is Respondent.PROXY and not (
        (proxy_name or "").strip() and (proxy_relationship or "").strip()
    ):
        return "a proxy respondent needs a name and a relationship to the patient"
    if respondent is Respondent.PATIENT and (proxy_name or proxy_relationship):
        return "the patient answered: no proxy to name"
    return None


SDOH_DOMAINS_PATH = Path(__file__).parent / "sdoh_domains.toml"
SDOH_CATEGORY_SYSTEM = "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes"


@dataclass(frozen=True)
class SdohDomain:
    code: str
    label: str
    z_code: str | None = None
    z_display: str | None = None


@cache
def sdoh_domains() -> Mapping[str, SdohDomain]:
    """The social-needs domains and their Z codes (``sdoh_domains.toml``)."""
    document = tomllib.loads(SDOH_DOMAINS_PATH.read_text(encoding="utf-8"))
    return {
        code: SdohDomain(code, str(raw["label"]), raw.get("z_code"), raw.get("z_display"))
        for code, raw in document.items()
    }


DAILY_LIVING_FLAGS = ("adl-dependency", "iadl-dependency")
DAILY_LIVING_INSTRUMENTS = ("katz-adl", "lawton-iadl")


def daily_living_dependency(instrument_id: str, score: Mapping[str, Any] | None) -> bool | None:
    """Whether a stored score records a dependency in activities of daily living (Katz) or instrumental
    ones (Lawton); None when the assessment did not assess them. Stratification's daily-living flag."""
    if not score:
        return None
    if instrument_id in DAILY_LIVING_INSTRUMENTS:
        return any(flag in DAILY_LIVING_FLAGS for flag in score.get("flags", []))
    sections = score.get("sections") or {}
    parts = [sections[i] for i in DAILY_LIVING_INSTRUMENTS if sections.get(i)]
    if not parts:
        return None
    return any(flag in DAILY_LIVING_FLAGS for part in parts for flag in part.get("flags", []))


SUGGESTIONS_PATH = Path(__file__).parent / "suggestions.toml"
SUGGESTION_KINDS = ("goal", "referral")


@dataclass(frozen=True)
class Suggestion:
    """A goal or referral a positive screen suggests (``when``: the domain or flag); ``service``: the
    resource directory category a referral is for."""

    when: str
    kind: str
    text: str
    service: str | None = None


@cache
def suggestions() -> tuple[Suggestion, ...]:
    """The suggestions kept as data (``suggestions.toml``); a bad entry fails with its number."""
    document = tomllib.loads(SUGGESTIONS_PATH.read_text(encoding="utf-8"))
    found = []
    for number, raw in enumerate(document.get("suggestion", []), start=1):
        where = f"{SUGGESTIONS_PATH.name}, suggestion {number}"
        if raw.get("kind") not in SUGGESTION_KINDS or not raw.get("when") or not raw.get("text"):
            raise RuleViolation(f"needs when, text and kind ({' or '.join(SUGGESTION_KINDS)})", where=where)
        if raw["kind"] == "referral" and not raw.get("service"):
            raise RuleViolation("a referral names its service category", where=where)
        found.append(Suggestion(str(raw["when"]), str(raw["kind"]), str(raw["text"]), raw.get("service")))
    return tuple(found)


def suggestions_for(positive: tuple[str, ...]) -> list[Suggestion]:
    """The suggestions of the positive domains and raised flags, in file order."""
    return [s for s in suggestions() if s.when in positive]
