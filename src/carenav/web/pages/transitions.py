"""Transitions of care on screen: the patient page's panel (the open episode with its five tasks, each
deadline and the business days left, on time / late / missed, the attempts logged, the readmission), and
the forms that log an attempt, mark a task done, set the complexity and close an episode. A contact logged
in the Outreach section tries or does the interactive contact too (``outreach.services.contact_log``).

The services are ``transitions.services``; the panel is included on the patient page right after the
alerts, as transition deadlines are urgent."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from carenav.outreach.rules import INTERACTIVE_KINDS, ContactKind
from carenav.patients.models import Patient
from carenav.transitions.models import TransitionTask
from carenav.transitions.rules import CLOSES_BY_PERSON, AttemptOutcome, CloseReason, Complexity, TaskKind
from carenav.transitions.services import (
    transition_attempt_log,
    transition_close,
    transition_for_patient,
    transition_set_complexity,
    transition_task_done,
)
from carenav.web.database import REQUEST_SESSION
from carenav.web.dependencies import Login, current_login
from carenav.web.forms import form_choice

router = APIRouter()

CLOSE_LABELS = {
    CloseReason.COMPLETED: "Completed: every task done",
    CloseReason.NOT_A_TRANSITION: "Not a transition: the patient did not go home",
    CloseReason.DECEASED: "The patient died",
}


def transition_panel(session: Session, login: Login, patient: Patient) -> dict[str, Any]:
    """What the patient page shows of transitions of care."""
    found = transition_for_patient(session=session, actor=login.actor, patient_uuid=patient.uuid)
    return {
        "current": found.current,
        "recent": found.recent,
        "outcomes": [o.value for o in AttemptOutcome],
        "complexities": [c.value for c in Complexity],
        "close_reasons": [(r.value, CLOSE_LABELS[r]) for r in CloseReason if r in CLOSES_BY_PERSON],
        "interactive_kind": TaskKind.INTERACTIVE_CONTACT.value,
        "interactive_words": _or([k.value.replace("-", " ") for k in ContactKind if k in INTERACTIVE_KINDS]),
    }


def _or(words: list[str]) -> str:
    return ", ".join(words[:-1]) + f" or {words[-1]}" if len(words) > 1 else "".join(words)


def _back(session: Session, patient_id: int) -> Response:
    uuid = session.get_one(Patient, patient_id).uuid
    return RedirectResponse(f"/patients/{uuid}#transitions", status_code=303)


@router.post("/transition-tasks/{task_uuid}/done")
def transition_task_done_page(
    task_uuid: str,
    note: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    task = transition_task_done(session=session, actor=login.actor, task_uuid=task_uuid, note=note or None)
    return _back(session, task.patient_id)


@router.post("/transition-tasks/{task_uuid}/attempts")
def transition_attempt_page(
    task_uuid: str,
    outcome: str = Form(""),
    note: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    attempt = transition_attempt_log(
        session=session,
        actor=login.actor,
        task_uuid=task_uuid,
        outcome=form_choice(AttemptOutcome, outcome, "attempt outcome"),
        note=note or None,
    )
    return _back(session, session.get_one(TransitionTask, attempt.task_id).patient_id)


@router.post("/transitions/{episode_uuid}/complexity")
def transition_complexity_page(
    episode_uuid: str,
    complexity: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    episode = transition_set_complexity(
        session=session,
        actor=login.actor,
        episode_uuid=episode_uuid,
        complexity=form_choice(Complexity, complexity, "complexity"),
    )
    return _back(session, episode.patient_id)


@router.post("/transitions/{episode_uuid}/close")
def transition_close_page(
    episode_uuid: str,
    reason: str = Form(""),
    note: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    episode = transition_close(
        session=session,
        actor=login.actor,
        episode_uuid=episode_uuid,
        reason=form_choice(CloseReason, reason, "close reason"),
        note=note or None,
    )
    return _back(session, episode.patient_id)
