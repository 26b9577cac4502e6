"""The patient's preferences (``CarePreferences``): recorded by the care manager, or taken from the
answers of their latest what-matters assessment (alone, or as a section of the comprehensive assessment)
and then corrected. Every change is audited."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor, patient_visible
from carenav.assessments.instruments import instrument_get
from carenav.assessments.models import Assessment
from carenav.audit.services import audit_record
from carenav.careplans.models import CarePreferences
from carenav.errors import InvalidInput

CONTACT_METHODS = ("phone", "text", "email", "video", "in-person", "letter")
ADVANCE_DIRECTIVE = {"directive-yes": "yes", "directive-no": "no", "directive-unsure": "unsure"}
WHAT_MATTERS = ("what-matters", "comprehensive-assessment")


@dataclass(frozen=True)
class Preferences:
    """The preferences as plain values (what a form shows and posts)."""

    contact_methods: tuple[str, ...] = ()
    contact_times: str = ""
    language: str = ""
    interpreter_needed: bool | None = None
    share_with: str = ""
    cultural_religious: str = ""
    goals_of_care: str = ""
    advance_directive: str = ""
    advance_directive_location: str = ""
    health_care_proxy: str = ""
    source: str = "manual"


def preferences_of(*, session: Session, actor: Actor, patient_uuid: str) -> CarePreferences | None:
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    return session.scalar(select(CarePreferences).where(CarePreferences.patient_id == patient.id))


def preferences_from_assessment(*, session: Session, actor: Actor, patient_uuid: str) -> Preferences | None:
    """The preferences the patient's latest completed what-matters answers give, or None."""
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    assessment = session.scalar(
        select(Assessment)
        .where(
            Assessment.patient_id == patient.id,
            Assessment.instrument_id.in_(WHAT_MATTERS),
            Assessment.status.in_(("completed", "amended")),
        )
        .order_by(Assessment.completed_at.desc(), Assessment.id.desc())
        .limit(1)
    )
    if assessment is None:
        return None
    answers = instrument_get(assessment.instrument_id).check_response(assessment.response)

    def text(link_id: str) -> str:
        value = answers.first(link_id)
        return str(value).strip() if isinstance(value, str) else ""

    interpreter = answers.first("prefers-interpreter")
    directive = answers.first("prefers-advance-directive")
    return Preferences(
        contact_methods=tuple(str(v) for v in answers.get("prefers-contact") if str(v) in CONTACT_METHODS),
        contact_times=text("prefers-times"),
        language=text("prefers-language"),
        interpreter_needed=interpreter if isinstance(interpreter, bool) else None,
        share_with=text("prefers-share-with"),
        cultural_religious=text("prefers-beliefs"),
        goals_of_care=text("matters-most"),
        advance_directive=ADVANCE_DIRECTIVE.get(str(directive), ""),
        source=f"assessment:{assessment.uuid}",
    )


def preferences_record(
    *, session: Session, actor: Actor, patient_uuid: str, preferences: Preferences
) -> CarePreferences:
    """Keep the patient's preferences as given (replacing what was kept)."""
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    unknown = [m for m in preferences.contact_methods if m not in CONTACT_METHODS]
    if unknown:
        raise InvalidInput(
            f"contact method {unknown[0]!r} is not one of {', '.join(CONTACT_METHODS)}", where="preferences"
        )
    if preferences.advance_directive not in ("", "yes", "no", "unsure"):
        raise InvalidInput("advance directive on file: yes, no or unsure", where="preferences")
    row = session.scalar(select(CarePreferences).where(CarePreferences.patient_id == patient.id))
    if row is None:
        row = CarePreferences(org_id=patient.org_id, patient_id=patient.id, updated_by=actor.label)
        session.add(row)
    for name, value in asdict(preferences).items():
        if isinstance(value, str):
            value = value.strip() or None
        if name == "contact_methods":
            value = list(value)
        setattr(row, name, value if name != "source" else (value or "manual"))
    row.updated_by = actor.label
    session.flush()
    audit_record(
        session=session,
        actor=actor,
        action="preferences-record",
        patient_uuid=patient.uuid,
        entity_type="CarePreferences",
        entity_id=row.uuid,
        detail=f"from {row.source}",
    )
    return row


def preferences_values(row: CarePreferences | None) -> Preferences:
    """A kept row as plain values (empty when there is none)."""
    if row is None:
        return Preferences()
    return Preferences(
        contact_methods=tuple(row.contact_methods or ()),
        contact_times=row.contact_times or "",
        language=row.language or "",
        interpreter_needed=row.interpreter_needed,
        share_with=row.share_with or "",
        cultural_religious=row.cultural_religious or "",
        goals_of_care=row.goals_of_care or "",
        advance_directive=row.advance_directive or "",
        advance_directive_location=row.advance_directive_location or "",
        health_care_proxy=row.health_care_proxy or "",
        source=row.source,
    )


def contact_words(methods: Sequence[str]) -> str:
    words = {
        "phone": "a phone call",
        "text": "a text message",
        "email": "email",
        "video": "a video visit",
        "in-person": "in person",
        "letter": "a letter",
    }
    return ", ".join(words.get(m, m) for m in methods)
