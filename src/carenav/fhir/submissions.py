"""The body of ``POST QuestionnaireResponse`` read into a ``Submission``, as far as it can be without the
database: valid FHIR R4, a Patient subject, a shipped Questionnaire, a status carenav can start in, the
channel and who answered. Every refusal names the element at fault: 400 (``InvalidInput``,
``ResourceInvalid``) for what is malformed, 422 (``Unsupported``, ``RuleViolation``) for what carenav does
not take. Pure: no session.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse as R4QuestionnaireResponse
from pydantic import BaseModel, ValidationError

from carenav.assessments.instruments import Instrument, instruments
from carenav.assessments.rules import AssessmentStatus, Channel
from carenav.errors import InvalidInput, RuleViolation, Unsupported
from carenav.fhir.mappers.questionnaire_response import CHANNEL_EXTENSION, QUESTIONNAIRE_RESPONSE
from carenav.fhir.outcome import Issue, ResourceInvalid
from carenav.fhir.search import patient_reference

QR = QUESTIONNAIRE_RESPONSE
DEFAULT_CHANNEL = Channel.IN_PERSON
"""The channel of a response that does not say (the extension ``CHANNEL_EXTENSION``), as for
``carenav assessments record``."""
CREATED_AS = {AssessmentStatus.IN_PROGRESS.value: False, AssessmentStatus.COMPLETED.value: True}
"""The statuses a new response may have, and whether it is completed (else kept as a draft)."""
R4_STATUSES = ("in-progress", "completed", "amended", "entered-in-error", "stopped")
_PROXY_DISPLAY = re.compile(r"^(?P<name>.*\S)\s*\((?P<relationship>[^()]*\S[^()]*)\)\s*$")


@dataclass(frozen=True)
class AnsweredBy:
    """Who answered, as the submission says: the patient; a proxy by name and relationship; or a
    RelatedPerson of the patient's record (looked up for their name and relationship)."""

    proxy_name: str | None = None
    proxy_relationship: str | None = None
    related_person_id: str | None = None


@dataclass(frozen=True)
class Submission:
    """A QuestionnaireResponse a client sent, read and checked as far as it can be without the database."""

    resource: dict[str, Any]
    patient_uuid: str
    instrument: Instrument
    complete: bool
    channel: Channel
    respondent: AnsweredBy


def submission_read(body: bytes) -> Submission:
    """The body of ``POST QuestionnaireResponse``: JSON, valid FHIR R4, with a Patient subject, a shipped
    Questionnaire and status in-progress or completed."""
    resource = json_resource(body, QR)
    check_structure(resource, R4QuestionnaireResponse)
    complete = _creatable_status(resource.get("status"))
    patient_uuid = _subject(resource.get("subject"))
    return Submission(
        resource=resource,
        patient_uuid=patient_uuid,
        instrument=instrument_for_canonical(resource.get("questionnaire")),
        complete=complete,
        channel=_channel(resource.get("extension") or []),
        respondent=_respondent(resource.get("source"), patient_uuid),
    )


def json_resource(body: bytes, resource_type: str) -> dict[str, Any]:
    """The body as a JSON resource of ``resource_type``; InvalidInput naming what is wrong otherwise."""
    if not body.strip():
        raise InvalidInput(f"send a {resource_type} as the JSON body", where="body")
    try:
        resource = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"the body is not JSON ({exc})", where="body") from None
    if not isinstance(resource, dict):
        raise InvalidInput(f"the body must be a {resource_type} (a JSON object)", where="body")
    if resource.get("resourceType") != resource_type:
        raise InvalidInput(
            f"expected a {resource_type}, got resourceType {resource.get('resourceType')!r}",
            where=f"{resource_type}.resourceType",
        )
    return resource


def check_structure(resource: dict[str, Any], model: type[BaseModel]) -> None:
    """Valid FHIR R4, checked with the R4B model of the type (the same as R4's for the types we take,
    docs/fhir.md); ResourceInvalid with one issue per element at fault."""
    resource_type = str(resource.get("resourceType"))
    try:
        model.model_validate(resource)
    except ValidationError as exc:
        issues = [
            Issue(_path(resource_type, error["loc"]), _structure_message(error["type"], error["msg"]))
            for error in exc.errors()
        ]
        raise ResourceInvalid(issues, where=resource_type) from None


def _path(root: str, loc: tuple[int | str, ...]) -> str:
    path = root
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _structure_message(kind: str, message: str) -> str:
    if kind == "extra_forbidden":
        return "not an element of this type in FHIR R4"
    return message


def _creatable_status(status: Any) -> bool:
    if status in CREATED_AS:
        return CREATED_AS[status]
    where = f"{QR}.status"
    if status in R4_STATUSES:
        raise RuleViolation(
            f"a new {QR} is in-progress (kept as a draft) or completed (scored), not {status}", where=where
        )
    raise InvalidInput(f"status {status!r} is not one of {', '.join(R4_STATUSES)}", where=where)


def _subject(subject: Any) -> str:
    where = f"{QR}.subject"
    if not isinstance(subject, Mapping) or not subject.get("reference"):
        raise InvalidInput("name the patient: subject.reference = Patient/<id>", where=where)
    return patient_reference(str(subject["reference"]), where=f"{where}.reference")


def instrument_for_canonical(text: Any) -> Instrument:
    """The shipped instrument a response's ``questionnaire`` names: its canonical URL, with ``|version``
    equal to the shipped version, or without."""
    where = f"{QR}.questionnaire"
    if not text:
        raise InvalidInput(
            "name the form: questionnaire = the canonical URL of a shipped Questionnaire "
            "(https://carenav.org/fhir/Questionnaire/<id>, optionally |version; "
            "GET Questionnaire lists them)",
            where=where,
        )
    canonical, _, version = str(text).partition("|")
    instrument = next((i for i in instruments() if i.questionnaire.url == canonical), None)
    if instrument is None:
        raise Unsupported(
            f"{text!r} is not a Questionnaire carenav ships (GET Questionnaire lists them, with their url)",
            where=where,
        )
    if version and version != instrument.version:
        raise Unsupported(
            f"{instrument.id} is shipped in version {instrument.version}, not {version}", where=where
        )
    return instrument


def _channel(extensions: list[Any]) -> Channel:
    where = f"{QR}.extension('{CHANNEL_EXTENSION}')"
    given = [e for e in extensions if isinstance(e, Mapping) and e.get("url") == CHANNEL_EXTENSION]
    if not given:
        return DEFAULT_CHANNEL
    if len(given) > 1:
        raise InvalidInput("give the channel once", where=where)
    code = given[0].get("valueCode")
    known = [c.value for c in Channel]
    if code not in known:
        raise InvalidInput(f"channel {code!r} is not one of {', '.join(known)} (valueCode)", where=where)
    return Channel(code)


def _respondent(source: Any, patient_uuid: str) -> AnsweredBy:
    """Who answered: no source, or the subject, is the patient; a RelatedPerson, or a display
    ``Name (relationship)``, a proxy. Anyone else is refused."""
    where = f"{QR}.source"
    if not isinstance(source, Mapping) or not (source.get("reference") or source.get("display")):
        return AnsweredBy()
    display = str(source.get("display") or "")
    proxy = _PROXY_DISPLAY.match(display)
    text = source.get("reference")
    if text:
        head, _, target = str(text).rstrip("/").rpartition("/")
        target_type = head.rpartition("/")[2]
        if target_type == "Patient" and target == patient_uuid:
            return AnsweredBy()
        if target_type == "RelatedPerson" and target:
            if proxy:
                return AnsweredBy(proxy["name"], proxy["relationship"].strip())
            return AnsweredBy(related_person_id=target)
        raise Unsupported(
            f"{text!r} cannot be who answered: carenav records the patient (the subject), or a proxy "
            "answering for them (a RelatedPerson of the patient, or display 'Name (relationship)')",
            where=f"{where}.reference",
        )
    if proxy is None:
        raise InvalidInput(
            f"a proxy answering for the patient is given as 'Name (relationship)', not {display!r}",
            where=f"{where}.display",
        )
    return AnsweredBy(proxy["name"], proxy["relationship"].strip())
