"""Assessments for the demo population (``carenav demo load``, never production): for the first patients of
each care manager's caseload, three months of PHQ-9 and GAD-7 follow-up (totals coming down, so the patient
page's trend chart has something to show), an AHC social-needs screen (some positive: health concerns and
suggestions), and a PHQ-9 left as a draft to resume. Answers are drawn from a generator seeded by the
patient's id, so a demo is the same every time; made through the services, as a care manager would."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.assessments.instruments import Instrument, instrument_get
from carenav.assessments.models import Assessment
from carenav.assessments.questionnaire import Value
from carenav.assessments.responses import response_build
from carenav.assessments.rules import Channel
from carenav.assessments.services import assessment_record
from carenav.clock import frozen_at
from carenav.patients.models import Patient

MONTHS_OF_FOLLOW_UP = 3
FREQUENCY = ("LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9")  # PHQ and GAD answers scoring 0..3
AHC_NO_NEED = {
    "/71802-3": "LA31993-1",
    "/96778-6": "LA9-3",
    "/88122-7": "LA28398-8",
    "/88123-5": "LA28398-8",
    "/93030-5": "LA32-8",
    "/96779-4": "LA32-8",
}
AHC_NEEDS = (  # what a positive screen answers, one social need at a time
    {"/88122-7": "LA6729-3", "/88123-5": "LA28397-0"},  # food
    {"/93030-5": "LA33-6"},  # transportation
    {"/96779-4": "LA33-6"},  # utilities
    {"/71802-3": "LA31994-9"},  # housing instability
)
SAFETY_NEVER = dict.fromkeys(("/95618-5", "/95617-7", "/95616-9", "/95615-1"), "LA6270-8")


def demo_assessments_record(
    *, session: Session, actors: Sequence[tuple[Actor, Sequence[str]]], as_of: date, per_caseload: int = 6
) -> int:
    """Record the demo assessments for the first ``per_caseload`` patients of each care manager (``actors``:
    the care manager and their patients' ids); patients who have any assessment are left alone. Returns
    how many assessments were recorded."""
    made = 0
    for actor, patient_uuids in actors:
        for patient_uuid in patient_uuids[:per_caseload]:
            patient = session.scalar(select(Patient).where(Patient.uuid == patient_uuid))
            if patient is None or session.scalar(
                select(Assessment.id).where(Assessment.patient_id == patient.id).limit(1)
            ):
                continue
            made += _follow_up(session, actor, patient_uuid, as_of)
    return made


def _follow_up(session: Session, actor: Actor, patient_uuid: str, as_of: date) -> int:
    rng = random.Random(patient_uuid)
    phq9, gad7, ahc = instrument_get("phq9"), instrument_get("gad7"), instrument_get("ahc-hrsn")
    phq_total, gad_total = rng.randint(12, 22), rng.randint(9, 18)
    made = 0
    for months_ago in range(MONTHS_OF_FOLLOW_UP, 0, -1):
        when = datetime.combine(as_of - timedelta(days=30 * months_ago), time(15), tzinfo=UTC)
        channel = Channel.IN_PERSON if months_ago == MONTHS_OF_FOLLOW_UP else Channel.PHONE
        with frozen_at(when):
            _record(
                session, actor, patient_uuid, phq9, _spread(rng, phq9, phq_total, last_zero=True), channel
            )
            _record(session, actor, patient_uuid, gad7, _spread(rng, gad7, gad_total), channel)
            if months_ago == MONTHS_OF_FOLLOW_UP:
                answers = {**AHC_NO_NEED, **SAFETY_NEVER, **rng.choice(AHC_NEEDS)}
                _record(session, actor, patient_uuid, ahc, answers, channel)
                made += 1
        made += 2
        phq_total, gad_total = max(phq_total - rng.randint(2, 5), 0), max(gad_total - rng.randint(1, 4), 0)
    with frozen_at(datetime.combine(as_of, time(14), tzinfo=UTC)):
        draft = _spread(rng, phq9, phq_total, last_zero=True)
        first_items = dict(list(draft.items())[:4])
        _record(session, actor, patient_uuid, phq9, first_items, Channel.PHONE, complete=False)
    return made + 1


def _spread(
    rng: random.Random, instrument: Instrument, total: int, *, last_zero: bool = False
) -> dict[str, Value]:
    """Answers to the items of the instrument's total (each 0..3) summing to ``total``, as far as they can
    (the last item at zero if asked: PHQ-9 item 9 would raise an urgent alert on every demo patient)."""
    link_ids = list(instrument.rules.total_items)
    slots = len(link_ids) - 1 if last_zero else len(link_ids)
    points = [0] * len(link_ids)
    for _ in range(min(total, 3 * slots)):
        free = [i for i in range(slots) if points[i] < 3]
        points[rng.choice(free)] += 1
    return {link_id: FREQUENCY[p] for link_id, p in zip(link_ids, points, strict=True)}


def _record(
    session: Session,
    actor: Actor,
    patient_uuid: str,
    instrument: Instrument,
    answers: Mapping[str, Value],
    channel: Channel,
    *,
    complete: bool = True,
) -> None:
    values = {link_id: (value,) for link_id, value in answers.items()}
    status = "completed" if complete else "in-progress"
    assessment_record(
        session=session,
        actor=actor,
        patient_uuid=patient_uuid,
        instrument_id=instrument.id,
        response=response_build(instrument.questionnaire, values, status=status),
        complete=complete,
        channel=channel,
    )
