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

from enum import StrEnum

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
