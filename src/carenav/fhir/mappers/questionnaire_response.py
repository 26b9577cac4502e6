"""QuestionnaireResponse: an assessment as last saved (a draft, completed, amended or entered in error).

The id is the assessment's; the items are the stored response's; who answered is ``source`` (the patient,
or a proxy as a display-only reference ``Name (relationship)``); who started it is ``author`` (display
only: carenav users are not Practitioners); how it was given (in person, phone...) is an extension.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from carenav.assessments.rules import Respondent
from carenav.fhir.mappers.common import FHIRDict, Refs, instant, reference, resource

if TYPE_CHECKING:
    from carenav.assessments.models import Assessment

QUESTIONNAIRE_RESPONSE = "QuestionnaireResponse"
QUESTIONNAIRE_ANSWERS_STATUS = "http://hl7.org/fhir/questionnaire-answers-status"
CHANNEL_EXTENSION = "https://carenav.org/fhir/StructureDefinition/assessment-channel"
"""How the assessment was given: ``valueCode`` in-person, home-visit, phone or video."""
QUESTIONNAIRE_BASE = "https://carenav.org/fhir/Questionnaire/"


def proxy_display(name: str, relationship: str) -> str:
    """How a proxy respondent reads in ``source.display``: ``Beth Shaw (daughter)``."""
    return f"{name} ({relationship})"


def questionnaire_canonical(row: Assessment) -> str:
    """The form's canonical with the version the assessment was started on (``url|version``)."""
    stored = row.response.get("questionnaire") if row.response else None
    if isinstance(stored, str) and stored:
        return stored
    return f"{QUESTIONNAIRE_BASE}{row.instrument_id}|{row.instrument_version}"


def questionnaire_response_resource(row: Assessment, refs: Refs) -> FHIRDict:
    subject = reference("Patient", refs.patients.get(row.patient_id))
    source = subject
    if row.respondent == Respondent.PROXY.value and row.proxy_name:
        source = {"display": proxy_display(row.proxy_name, row.proxy_relationship or "proxy")}
    started_by = refs.users.get(row.started_by_user_id) if row.started_by_user_id else None
    return resource(
        QUESTIONNAIRE_RESPONSE,
        row.uuid,
        row.updated_at,
        extension=[{"url": CHANNEL_EXTENSION, "valueCode": row.channel}],
        questionnaire=questionnaire_canonical(row),
        status=row.status,
        subject=subject or {"display": "unknown patient"},
        authored=instant(row.completed_at or row.started_at),
        author={"display": started_by or row.started_by},
        source=source,
        item=list((row.response or {}).get("item", [])),
    )
