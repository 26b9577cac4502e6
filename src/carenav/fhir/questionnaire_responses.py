"""QuestionnaireResponse over the facade: read, search and create, one response per assessment.

Reads and searches go through the assessment queries (the patient gate, audited). A create takes a
``Submission`` (the body as read by ``fhir/submissions.py``), checks the patient is within reach (404
otherwise) and finds the proxy a RelatedPerson source names, then records it with the assessment
services, which check the answers item by item, score a completed one and write what follows from it
(Observations, health concerns, urgent tasks).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from carenav.access import Actor, patient_visible
from carenav.assessments.instruments import instruments
from carenav.assessments.models import Assessment
from carenav.assessments.queries import (
    AssessmentCriteria,
    InstrumentMatch,
    assessment_page,
    assessment_read,
)
from carenav.assessments.rules import Respondent
from carenav.assessments.services import assessment_record
from carenav.errors import InvalidInput, NotFound, RuleViolation
from carenav.fhir.mappers.common import FHIRDict
from carenav.fhir.mappers.questionnaire_response import (
    QUESTIONNAIRE_ANSWERS_STATUS,
    QUESTIONNAIRE_RESPONSE,
    questionnaire_response_resource,
)
from carenav.fhir.references import refs_for
from carenav.fhir.search import SearchRequest, date_window, required_patient, token_codes
from carenav.fhir.submissions import AnsweredBy, Submission
from carenav.patients.clinical_queries import record_read
from carenav.patients.models import Patient, RelatedPerson

QR = QUESTIONNAIRE_RESPONSE


# --- read and search ------------------------------------------------------------------------------


def questionnaire_response_read(*, session: Session, actor: Actor, resource_id: str) -> FHIRDict:
    """The QuestionnaireResponse of assessment ``resource_id``; NotFound outside the actor's reach."""
    try:
        _patient, assessment = assessment_read(
            session=session, actor=actor, assessment_uuid=resource_id, what="FHIR read"
        )
    except NotFound:
        raise NotFound(f"no {QR} {resource_id}", where=QR) from None
    return questionnaire_response_resource(assessment, refs_for(session, [assessment]))


def questionnaire_responses_mapped(session: Session, rows: list[Assessment]) -> list[FHIRDict]:
    refs = refs_for(session, rows)
    return [questionnaire_response_resource(row, refs) for row in rows]


def questionnaire_matches(text: str, *, where: str) -> list[InstrumentMatch]:
    """The instruments a ``questionnaire`` search value names: canonical URLs (``url`` or
    ``url|version``), ``Questionnaire/<id>`` or bare instrument ids, commas meaning OR. A form carenav
    does not ship matches nothing."""
    matches: list[InstrumentMatch] = []
    for raw in text.split(","):
        part = raw.strip()
        if not part:
            raise InvalidInput(f"empty questionnaire in {text!r}", where=where)
        canonical, _, version = part.partition("|")
        found = [i for i in instruments() if i.questionnaire.url == canonical]
        if not found:
            head, _, tail = canonical.rstrip("/").rpartition("/")
            if not head or head.endswith("Questionnaire"):
                found = [i for i in instruments() if i.id == tail]
        matches += [InstrumentMatch(i.id, version or None) for i in found]
    return matches


def questionnaire_response_search(
    *, session: Session, actor: Actor, query: SearchRequest
) -> tuple[list[FHIRDict], int]:
    """A page of the patient's QuestionnaireResponses (``patient`` required; ``questionnaire``,
    ``status``, ``authored``), newest first, and the total."""
    patient_uuid = required_patient(query)
    questionnaire_text = query.first("questionnaire")
    status_text = query.first("status")
    dates = query.values.get("authored", [])
    window = date_window(dates, where=f"{QR}?authored") if dates else None
    matches = (
        questionnaire_matches(questionnaire_text, where=f"{QR}?questionnaire") if questionnaire_text else []
    )
    statuses = (
        token_codes(status_text, system=QUESTIONNAIRE_ANSWERS_STATUS, where=f"{QR}?status")
        if status_text
        else []
    )
    if (
        (questionnaire_text and not matches)
        or (status_text and not statuses)
        or (window is not None and window.is_empty)
    ):
        patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
        return [], 0
    page = assessment_page(
        session=session,
        actor=actor,
        patient_uuid=patient_uuid,
        criteria=AssessmentCriteria(instruments=matches, statuses=statuses, authored=window),
        offset=query.offset,
        limit=query.count,
    )
    return questionnaire_responses_mapped(session, page.items), page.total


# --- create ---------------------------------------------------------------------------------------


def questionnaire_response_create(*, session: Session, actor: Actor, submission: Submission) -> Assessment:
    """Record the submission as an assessment of its patient (NotFound when the actor may not see them):
    a draft, or completed and scored with its results written. The services flush; on any error the
    caller rolls back, so nothing of a refused submission is kept."""
    try:
        patient = patient_visible(session=session, actor=actor, patient_uuid=submission.patient_uuid)
    except NotFound:
        raise NotFound(f"no Patient {submission.patient_uuid}", where=f"{QR}.subject") from None
    name, relationship = _proxy(session, actor, patient, submission.respondent)
    return assessment_record(
        session=session,
        actor=actor,
        patient_uuid=patient.uuid,
        instrument_id=submission.instrument.id,
        response=submission.resource,
        complete=submission.complete,
        channel=submission.channel,
        respondent=Respondent.PROXY if name else Respondent.PATIENT,
        proxy_name=name,
        proxy_relationship=relationship,
    )


def _proxy(
    session: Session, actor: Actor, patient: Patient, respondent: AnsweredBy
) -> tuple[str | None, str | None]:
    """The proxy's name and relationship (None, None: the patient answered)."""
    if respondent.related_person_id is None:
        return respondent.proxy_name, respondent.proxy_relationship
    where = f"{QR}.source.reference"
    try:
        row, owner = record_read(
            session=session, actor=actor, model=RelatedPerson, record_uuid=respondent.related_person_id
        )
    except NotFound:
        row, owner = None, None
    if row is None or owner is None or owner.id != patient.id:
        raise RuleViolation(
            f"no RelatedPerson {respondent.related_person_id} in the patient's record", where=where
        )
    relationship = row.relationship_display or row.relationship_code
    if not relationship:
        relationship = "caregiver" if row.is_caregiver else "related person"
    return row.name, relationship
