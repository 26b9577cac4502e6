"""Patient education on screen: the patient page's education panel (the topics assigned, each with its last
teach-back and when it is next due; the topics the record calls for; a form to record teaching; the
plain-language medication schedule), the writes behind it, and a printable handout of a topic in the
patient's language."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form
from fastapi.responses import RedirectResponse, Response
from fpdf import FPDF
from sqlalchemy.orm import Session

from carenav.access import record_in_reach
from carenav.audit.services import audit_record
from carenav.clock import today
from carenav.education.library import (
    FALLBACK_LANGUAGE,
    Topic,
    TopicText,
    language_name,
    topic_get,
    topics,
)
from carenav.education.models import EducationAssignment
from carenav.education.rules import (
    METHOD_LABELS,
    OPEN,
    EducationStatus,
    Learner,
    TeachBack,
    TeachMethod,
    education_overdue,
    methods_make,
)
from carenav.education.services import (
    education_assign,
    education_assignments,
    education_complete,
    education_reschedule,
    education_stop,
    education_suggestions,
    education_teach,
    medication_schedule_for,
)
from carenav.errors import InvalidInput, NotFound
from carenav.patients.models import Patient
from carenav.web.careplan_pdf import plain
from carenav.web.database import REQUEST_SESSION
from carenav.web.dependencies import Login, current_login
from carenav.web.forms import form_choice, form_date

router = APIRouter()

RESULT_LABELS = {
    TeachBack.UNDERSTOOD: "understood",
    TeachBack.NEEDS_REINFORCEMENT: "needs reinforcement",
    TeachBack.NOT_UNDERSTOOD: "not understood",
}
LEARNER_LABELS = {
    Learner.PATIENT: "the patient",
    Learner.CAREGIVER: "a caregiver",
    Learner.BOTH: "the patient and a caregiver",
}


def education_panel(session: Session, login: Login, patient: Patient) -> dict[str, Any]:
    """What the patient page shows of education: the topics assigned (open ones soonest due first), each
    in its language with its last teaching session, whether it is overdue and what can be done with it;
    the topics the record calls for; every topic of the library; the medication schedule."""
    assignments = education_assignments(session=session, actor=login.actor, patient_uuid=patient.uuid)
    rows = []
    for row in assignments:
        topic, text = _topic_text(row)
        status = EducationStatus(row.status)
        last = row.sessions[-1] if row.sessions else None
        rows.append(
            {
                "row": row,
                "topic": topic,
                "text": text,
                "language": language_name(row.language),
                "last": last,
                "last_methods": ", ".join(METHOD_LABELS[TeachMethod(m)] for m in last.methods)
                if last
                else "",
                "last_result": RESULT_LABELS[TeachBack(last.result)] if last else "",
                "last_learner": LEARNER_LABELS[Learner(last.learner)] if last else "",
                "open": status in OPEN,
                "can_complete": status is EducationStatus.UNDERSTOOD,
                "overdue": education_overdue(status, row.due_on, today()),
            }
        )
    suggestions = education_suggestions(session=session, actor=login.actor, patient_uuid=patient.uuid)
    return {
        "assignments": rows,
        "suggestions": [
            {
                "topic": s.topic,
                "title": s.topic.text(s.language).title,
                "language": s.language,
                "language_name": language_name(s.language),
                "missing": language_name(s.missing_language) if s.missing_language else "",
                "reasons": s.reasons,
            }
            for s in suggestions
        ],
        "topics": [
            {
                "id": t.id,
                "title": t.title,
                "category": t.category.value,
                "languages": ", ".join(language_name(x) for x in t.languages),
            }
            for t in topics()
        ],
        "languages": sorted({x for t in topics() for x in t.languages}),
        "language_name": language_name,
        "methods": [(m.value, METHOD_LABELS[m]) for m in TeachMethod],
        "results": [(r.value, label) for r, label in RESULT_LABELS.items()],
        "learners": [(k.value, label) for k, label in LEARNER_LABELS.items()],
        "schedule": medication_schedule_for(session=session, actor=login.actor, patient_uuid=patient.uuid),
        "today": today(),
    }


def _topic_text(row: EducationAssignment) -> tuple[Topic | None, TopicText | None]:
    """The assignment's topic and its text in the assignment's language (English when that text has gone
    from the library); None for a topic no longer in the library, which the panel shows by its id."""
    try:
        topic = topic_get(row.topic_id)
    except NotFound:
        return None, None
    language = row.language if row.language in topic.languages else FALLBACK_LANGUAGE
    return topic, topic.text(language)


def _back(session: Session, assignment: EducationAssignment) -> Response:
    patient = session.get_one(Patient, assignment.patient_id)
    return RedirectResponse(f"/patients/{patient.uuid}#education", status_code=303)


@router.post("/patients/{patient_uuid}/education")
def education_assign_page(
    patient_uuid: str,
    topic: str = Form(""),
    language: str = Form(""),
    due_on: str = Form(""),
    reason: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    if not topic.strip():
        raise InvalidInput("choose a topic", where="topic")
    assignment = education_assign(
        session=session,
        actor=login.actor,
        patient_uuid=patient_uuid,
        topic_id=topic.strip(),
        language=language.strip() or None,
        due_on=form_date(due_on, "teach by"),
        reason=reason,
    )
    return _back(session, assignment)


@router.post("/education/{assignment_uuid}/teach")
def education_teach_page(
    assignment_uuid: str,
    method: list[str] = Form(default_factory=list),
    result: str = Form(""),
    learner: str = Form(Learner.PATIENT.value),
    taught_on: str = Form(""),
    language: str = Form(""),
    interpreter: str = Form(""),
    notes: str = Form(""),
    next_on: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    taught = education_teach(
        session=session,
        actor=login.actor,
        assignment_uuid=assignment_uuid,
        methods=methods_make(method),
        result=form_choice(TeachBack, result, "teach-back"),
        learner=form_choice(Learner, learner, "learner"),
        taught_on=form_date(taught_on, "taught on"),
        language=language.strip() or None,
        interpreter=interpreter == "yes",
        notes=notes,
        next_on=form_date(next_on, "next date"),
    )
    return _back(session, session.get_one(EducationAssignment, taught.assignment_id))


@router.post("/education/{assignment_uuid}/reschedule")
def education_reschedule_page(
    assignment_uuid: str,
    due_on: str = Form(""),
    note: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    day = form_date(due_on, "due date")
    if day is None:
        raise InvalidInput("give the new due date", where="due date")
    assignment = education_reschedule(
        session=session, actor=login.actor, assignment_uuid=assignment_uuid, due_on=day, note=note
    )
    return _back(session, assignment)


@router.post("/education/{assignment_uuid}/complete")
def education_complete_page(
    assignment_uuid: str,
    note: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    assignment = education_complete(
        session=session, actor=login.actor, assignment_uuid=assignment_uuid, note=note
    )
    return _back(session, assignment)


@router.post("/education/{assignment_uuid}/stop")
def education_stop_page(
    assignment_uuid: str,
    reason: str = Form(""),
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    assignment = education_stop(
        session=session, actor=login.actor, assignment_uuid=assignment_uuid, reason=reason
    )
    return _back(session, assignment)


@router.get("/education/{assignment_uuid}/handout")
def education_handout_page(
    assignment_uuid: str,
    language: str = "",
    login: Login = Depends(current_login),
    session: Session = REQUEST_SESSION,
) -> Response:
    """The topic as a one-page handout for the patient (PDF), in the assignment's language or
    ``language``; audited as a read of the patient's record."""
    assignment, patient = record_in_reach(
        session=session,
        actor=login.actor,
        model=EducationAssignment,
        uuid=assignment_uuid,
        what="education topic",
    )
    topic = topic_get(assignment.topic_id)
    text = topic.text(language.strip().lower() or assignment.language)
    audit_record(
        session=session,
        actor=login.actor,
        action="education-handout",
        patient_uuid=patient.uuid,
        entity_type="EducationAssignment",
        entity_id=assignment.uuid,
        detail=f"{topic.id} v{topic.version} handout in {language_name(text.language)}",
    )
    return Response(
        handout_pdf(text, patient.name_shown, topic.version),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{topic.id}-{text.language}.pdf"',
            "Cache-Control": "no-store",
        },
    )


HANDOUT_LABELS = {
    "en": ("For", "What to remember", "Check yourself", "Questions? Call your care team."),
    "es": (
        "Para",
        "Lo que debe recordar",
        "Compruebe lo que sabe",
        "¿Preguntas? Llame a su equipo de salud.",
    ),
}


def handout_pdf(text: TopicText, patient_name: str, version: str) -> bytes:
    """A topic's text as a large-type handout: title, summary, the key points, the teach-back questions."""
    for_word, points, check, call = HANDOUT_LABELS.get(text.language, HANDOUT_LABELS["en"])
    pdf = FPDF(format="Letter")
    pdf.set_margins(20, 18, 20)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()
    size = 14

    def para(words: str, points_size: int, bold: bool = False) -> None:
        pdf.set_font("Helvetica", "B" if bold else "", points_size)
        pdf.multi_cell(0, points_size * 0.55, plain(words), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)

    para(text.title, 22, bold=True)
    para(f"{for_word}: {patient_name} - {today().isoformat()}", size)
    para(text.summary, size)
    para(points, 18, bold=True)
    for point in text.key_points:
        para(f"- {point}", size)
    para(check, 18, bold=True)
    for question in text.teach_back:
        para(f"- {question}", size)
    pdf.ln(2)
    para(call, size, bold=True)
    pdf.set_font("Helvetica", "", 9)
    pdf.cell(0, 6, plain(f"carenav education library, version {version}"))
    return bytes(pdf.output())
