"""Assessments on screen: start one for a patient, fill its form (drafts saved as the care manager
goes, skip logic decided by the engine on every change), complete, read the result, amend, withdraw;
and the patient's alerts and open tasks.

The form posts ``a:<linkId>`` fields (``carenav.web.questionnaire_form``). An HTMX autosave answers with
a status line and, in the ``HX-Trigger`` header, the event ``carenav-form-state``: the linkIds enabled by
the answers so far and the error of each item at fault, which ``assessment-form.js`` applies.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from carenav.accounts.queries import user_display_names
from carenav.assessments.instruments import Instrument, instrument_get
from carenav.assessments.models import Assessment
from carenav.assessments.panels import assessment_outcomes
from carenav.assessments.queries import assessment_get, assessment_read
from carenav.assessments.questionnaire import Questionnaire
from carenav.assessments.responses import ItemError, ResponseInvalid
from carenav.assessments.results import flag_text
from carenav.assessments.rules import AssessmentStatus, Channel, Respondent, sdoh_domains
from carenav.assessments.services import (
    assessment_amend,
    assessment_complete,
    assessment_save_draft,
    assessment_start,
    assessment_withdraw,
    suggestion_decide,
)
from carenav.clock import now
from carenav.errors import InvalidInput
from carenav.patients.models import Patient
from carenav.tasks.rules import TaskStatus
from carenav.tasks.services import alert_clear, task_finish
from carenav.web.database import REQUEST_SESSION
from carenav.web.dependencies import Login, current_login
from carenav.web.forms import form_choice, posted_form
from carenav.web.questionnaire_form import (
    FIELD,
    Fields,
    FormNode,
    answer_rows,
    errors_by_item,
    form_fields,
    form_nodes,
    form_parse,
)
from carenav.web.rendering import is_htmx, render

router = APIRouter()

FORM_STATE_EVENT = "carenav-form-state"


def posted_fields(form: dict[str, list[str]] = Depends(posted_form)) -> dict[str, list[str]]:
    """The form's answer fields (``a:...``) as posted, every value of each."""
    return {name: values for name, values in form.items() if name.startswith(FIELD)}


# --- start ----------------------------------------------------------------------------------------


@router.post("/patients/{patient_uuid}/assessments")
def assessment_start_page(
    patient_uuid: str,
    instrument: str = Form(""),
    channel: str = Form(Channel.IN_PERSON.value),
    respondent: str = Form(Respondent.PATIENT.value),
    proxy_name: str = Form(""),
    proxy_relationship: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    if not instrument:
        raise InvalidInput("choose an instrument", where="instrument")
    assessment = assessment_start(
        session=session,
        actor=login.actor,
        patient_uuid=patient_uuid,
        instrument_id=instrument,
        channel=form_choice(Channel, channel, "channel"),
        respondent=form_choice(Respondent, respondent, "respondent"),
        proxy_name=proxy_name.strip() or None,
        proxy_relationship=proxy_relationship.strip() or None,
    )
    return RedirectResponse(f"/assessments/{assessment.uuid}", status_code=303)


# --- the form -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FormState:
    """A form as posted or stored, read by the engine: the response items to keep, which items are
    enabled, and the errors by linkId."""

    items: list[dict[str, Any]]
    enabled: frozenset[str]
    errors: dict[str, str]
    questionnaire: Questionnaire

    def with_errors(self, errors: Sequence[ItemError]) -> FormState:
        found = errors_by_item(self.questionnaire, errors, self.enabled)
        return replace(self, errors={**found, **self.errors})


@dataclass(frozen=True)
class OpenForm:
    """An assessment's form in one request: its patient and instrument, and the fields (as posted, or as
    stored when none were)."""

    request: Request
    session: Session
    login: Login
    patient: Patient
    assessment: Assessment
    instrument: Instrument
    fields: Fields

    def state(self) -> FormState:
        q = self.instrument.questionnaire
        parsed = form_parse(q, self.fields)
        enabled = self.instrument.enabled(parsed.values, sex=self.patient.administrative_sex)
        return FormState(parsed.items(enabled), enabled, errors_by_item(q, parsed.errors, enabled), q)

    def render(self, state: FormState, mode: str, *, reason: str = "", status_code: int = 200) -> Response:
        nodes = form_nodes(
            self.instrument.questionnaire, self.fields, errors=state.errors, enabled=state.enabled
        )
        anchors = {"reason": "amend-reason", **_anchors(nodes)}
        return render(
            self.request,
            "assessments/form.html",
            {
                "patient": self.patient,
                "patient_name": self.patient.name_shown,
                "assessment": self.assessment,
                "started_by": started_by(self.session, self.assessment),
                "instrument": self.instrument,
                "nodes": nodes,
                "errors": [
                    (link_id, self._item_text(link_id), message, anchors.get(link_id, "assessment-form"))
                    for link_id, message in state.errors.items()
                ],
                "mode": mode,
                "reason": reason,
            },
            status_code=status_code,
            nav_key="patients",
        )

    def submit(
        self,
        state: FormState,
        save: Callable[[list[dict[str, Any]]], object],
        *,
        mode: str,
        reason: str = "",
        then: str | None = None,
    ) -> Response:
        """Save the form's items with ``save``, then go to ``then`` (the result by default); or show the
        form again (422) with every error the form or the engine found, nothing of it stored."""
        if not state.errors:
            try:
                save(state.items)
                return RedirectResponse(then or f"/assessments/{self.assessment.uuid}", status_code=303)
            except ResponseInvalid as exc:
                self.session.rollback()
                state = state.with_errors(exc.errors)
        return self.render(state, mode, reason=reason, status_code=422)

    def _item_text(self, link_id: str) -> str:
        item = self.instrument.questionnaire.by_link_id.get(link_id)
        return item.text if item and item.text else link_id


def open_form(
    request: Request, session: Session, login: Login, assessment_uuid: str, fields: Fields | None = None
) -> OpenForm:
    patient, assessment = assessment_get(session=session, actor=login.actor, assessment_uuid=assessment_uuid)
    instrument = instrument_get(assessment.instrument_id)
    if fields is None:
        fields = form_fields(instrument.questionnaire, assessment.response)
    return OpenForm(request, session, login, patient, assessment, instrument, fields)


def started_by(session: Session, assessment: Assessment) -> str:
    """Who started the assessment: their display name, or the label kept when the user is gone."""
    names = user_display_names(session, [assessment.started_by_user_id])
    return names.get(assessment.started_by_user_id or 0, assessment.started_by)


def _anchors(nodes: Sequence[FormNode]) -> dict[str, str]:
    """The HTML id of each linkId's first appearance in the form (where an error summary links to)."""
    found: dict[str, str] = {}
    for node in nodes:
        found.setdefault(node.item.link_id, node.dom_id)
        for inner in (node.children, *node.instances):
            for link_id, anchor in _anchors(inner).items():
                found.setdefault(link_id, anchor)
    return found


@router.get("/assessments/{assessment_uuid}")
def assessment_page(
    request: Request,
    assessment_uuid: str,
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    """A draft opens as its form; any other assessment as its result (the read is audited)."""
    patient, assessment = assessment_read(
        session=session, actor=login.actor, assessment_uuid=assessment_uuid, what="assessment page"
    )
    if assessment.status == AssessmentStatus.IN_PROGRESS.value:
        form = open_form(request, session, login, assessment_uuid)
        return form.render(form.state(), "draft")
    instrument = instrument_get(assessment.instrument_id)
    return render(
        request,
        "assessments/result.html",
        {
            "patient": patient,
            "patient_name": patient.name_shown,
            "assessment": assessment,
            "started_by": started_by(session, assessment),
            "instrument": instrument,
            "parts": score_parts(assessment.score or {}),
            "outcomes": assessment_outcomes(session=session, assessment=assessment),
            "rows": answer_rows(instrument.questionnaire, assessment.response),
            "domains": sdoh_domains(),
        },
        nav_key="patients",
    )


@router.post("/assessments/{assessment_uuid}/draft")
def assessment_draft_page(
    request: Request,
    assessment_uuid: str,
    fields: dict[str, list[str]] = Depends(posted_fields),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    """Keep the answers so far. Under HTMX (autosave): a status line and the form's state; otherwise
    back to the patient (or the form again with the errors)."""
    form = open_form(request, session, login, assessment_uuid, fields)
    state = form.state()
    if not is_htmx(request):
        back = f"/patients/{form.patient.uuid}#assessments"
        return form.submit(state, lambda items: _save_draft(form, items), mode="draft", then=back)
    if not state.errors:
        try:
            _save_draft(form, state.items)
        except ResponseInvalid as exc:
            session.rollback()
            state = state.with_errors(exc.errors)
    response = render(
        request,
        "assessments/_autosave.html",
        {"saved_at": None if state.errors else now(), "errors": state.errors},
    )
    response.headers["HX-Trigger"] = json.dumps(
        {FORM_STATE_EVENT: {"enabled": sorted(state.enabled), "errors": state.errors}}
    )
    return response


def _save_draft(form: OpenForm, items: list[dict[str, Any]]) -> None:
    assessment_save_draft(
        session=form.session,
        actor=form.login.actor,
        assessment_uuid=form.assessment.uuid,
        response={"item": items},
    )


@router.post("/assessments/{assessment_uuid}/complete")
def assessment_complete_page(
    request: Request,
    assessment_uuid: str,
    fields: dict[str, list[str]] = Depends(posted_fields),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    form = open_form(request, session, login, assessment_uuid, fields)

    def complete(items: list[dict[str, Any]]) -> object:
        return assessment_complete(
            session=session, actor=login.actor, assessment_uuid=assessment_uuid, response={"item": items}
        )

    return form.submit(form.state(), complete, mode="draft")


@router.get("/assessments/{assessment_uuid}/amend")
def assessment_amend_form(
    request: Request,
    assessment_uuid: str,
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    form = open_form(request, session, login, assessment_uuid)
    return form.render(form.state(), "amend")


@router.post("/assessments/{assessment_uuid}/amend")
def assessment_amend_page(
    request: Request,
    assessment_uuid: str,
    reason: str = Form(""),
    fields: dict[str, list[str]] = Depends(posted_fields),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    form = open_form(request, session, login, assessment_uuid, fields)
    state = form.state()
    if not reason.strip():
        state = state.with_errors([ItemError("reason", "say why the assessment is amended")])

    def amend(items: list[dict[str, Any]]) -> object:
        return assessment_amend(
            session=session,
            actor=login.actor,
            assessment_uuid=assessment_uuid,
            response={"item": items},
            reason=reason.strip(),
        )

    return form.submit(state, amend, mode="amend", reason=reason)


@router.post("/assessments/{assessment_uuid}/withdraw")
def assessment_withdraw_page(
    assessment_uuid: str,
    reason: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    assessment_withdraw(session=session, actor=login.actor, assessment_uuid=assessment_uuid, reason=reason)
    return RedirectResponse(f"/assessments/{assessment_uuid}", status_code=303)


# --- the result -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScorePart:
    """One instrument's score as shown: a composed assessment has one per section instrument."""

    title: str
    total: Any
    band: str | None
    positive: bool | None
    subscales: Mapping[str, Any]
    flags: list[str]
    asked: bool = True


def score_parts(score: Mapping[str, Any]) -> list[ScorePart]:
    """A stored score (``Score.as_json``) as rows: its own, or each section instrument's."""
    sections: Mapping[str, Any] = score.get("sections") or {}
    parts = sections.items() if sections else [(score.get("instrument", ""), score)]
    out = []
    for instrument_id, part in parts:
        title = instrument_get(instrument_id).title if instrument_id else ""
        if part is None:
            out.append(ScorePart(title, None, None, None, {}, [], asked=False))
            continue
        out.append(
            ScorePart(
                title=title,
                total=part.get("total"),
                band=part.get("band"),
                positive=part.get("positive"),
                subscales=part.get("subscales") or {},
                flags=[flag_text([instrument_id], f) for f in part.get("flags", [])],
            )
        )
    return out


# --- alerts, tasks, suggestions on the patient page -----------------------------------------------


def _back_to_patient(session: Session, patient_id: int, anchor: str = "") -> Response:
    patient = session.get_one(Patient, patient_id)
    return RedirectResponse(f"/patients/{patient.uuid}{anchor}", status_code=303)


@router.post("/alerts/{alert_uuid}/clear")
def alert_clear_page(
    alert_uuid: str,
    note: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    alert = alert_clear(session=session, actor=login.actor, alert_uuid=alert_uuid, note=note)
    return _back_to_patient(session, alert.patient_id)


@router.post("/tasks/{task_uuid}/done")
def task_done_page(
    task_uuid: str,
    note: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    task = task_finish(
        session=session, actor=login.actor, task_uuid=task_uuid, to=TaskStatus.DONE, note=note.strip() or None
    )
    return _back_to_patient(session, task.patient_id)


@router.post("/suggestions/{suggestion_uuid}/decide")
def suggestion_decide_page(
    suggestion_uuid: str,
    decision: str = Form(""),
    note: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    if decision not in ("accept", "dismiss"):
        raise InvalidInput("decide accept or dismiss", where="decision")
    suggestion = suggestion_decide(
        session=session,
        actor=login.actor,
        suggestion_uuid=suggestion_uuid,
        accept=decision == "accept",
        note=note.strip() or None,
    )
    return _back_to_patient(session, suggestion.patient_id, "#assessments")
