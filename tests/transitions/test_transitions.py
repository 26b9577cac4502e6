"""Transitions of care through the feed, the import and the services (SQLite and PostgreSQL): a real ADT^A03
opens an episode of five tasks with their deadlines; delivered again it opens nothing more; a discharge to a
skilled nursing facility, or one older than 30 days, opens none; a Synthea inpatient stay imported soon
after its discharge opens one, older stays none; a readmission within 30 days is linked and closes the
episode; tasks done late, deadlines missed, the period's end with the enrolment prompt; reach."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.accounts.models import Organization
from carenav.audit.models import AuditEvent
from carenav.clock import frozen_at
from carenav.errors import InvalidInput, NotFound, RuleViolation
from carenav.feeds.rules import MessageStatus
from carenav.ingest.fhir.driver import ImportLimits, fhir_import
from carenav.patients.models import Encounter, Patient
from carenav.programs.models import ProgramEnrolment
from carenav.stratification.models import StratificationResult, StratificationRun
from carenav.tasks.models import Task
from carenav.transitions.models import TransitionEpisode, TransitionTask
from carenav.transitions.rules import (
    AttemptOutcome,
    CloseReason,
    Complexity,
    TaskKind,
    TaskStatus,
    Timeliness,
)
from carenav.transitions.services import (
    transition_attempt_log,
    transition_close,
    transition_for_patient,
    transition_set_complexity,
    transition_task_done,
    transitions_due,
    transitions_refresh,
)
from tests.builders import make_org
from tests.features.test_feeds_adt import Feed, adt
from tests.web.users import assign, cheap_passwords, make_user

__all__ = ["cheap_passwords"]
DAY_AFTER = datetime(2026, 3, 5, 14, 0, tzinfo=UTC)  # Thursday; the discharge below is Wednesday March 4


@pytest.fixture
def feed(session: Session) -> Feed:
    org = make_org(session)
    return Feed(session, org, Actor.system(org.id, "mllp", channel="mllp"))


def _episodes(session: Session, patient: Patient) -> list[TransitionEpisode]:
    return list(
        session.scalars(
            select(TransitionEpisode)
            .where(TransitionEpisode.patient_id == patient.id)
            .order_by(TransitionEpisode.id)
        )
    )


def _due(episode: TransitionEpisode) -> dict[str, date]:
    return {t.kind: t.due_on for t in episode.tasks}


def _task(episode: TransitionEpisode, kind: TaskKind) -> TransitionTask:
    return next(t for t in episode.tasks if t.kind == kind)


def _discharged_home(feed: Feed, *, disposition: str = "01", mrn: str = "M100", visit: str = "V1") -> Patient:
    """Admitted Monday March 2 2026, discharged Wednesday March 4 at 10:15 New York time."""
    with frozen_at(datetime(2026, 3, 2, 13, tzinfo=UTC)):
        patient = feed.resolve(
            feed.receive(adt("A01", control=f"{mrn}-1", mrn=mrn, visit=visit, admit="20260302073000")),
            create=True,
        )
    with frozen_at(DAY_AFTER):
        feed.receive(
            adt(
                "A03",
                control=f"{mrn}-3",
                mrn=mrn,
                visit=visit,
                recorded="20260304101500",
                admit="20260302073000",
                discharge="20260304101500",
                disposition=disposition,
            )
        )
    return patient


# --- the feed ----------------------------------------------------------------------------------------------


def test_a_real_a03_opens_an_episode_of_five_tasks_once(feed: Feed, shared_data: Path) -> None:
    folder = shared_data / "hl7v2-adt"
    with frozen_at(datetime(2015, 2, 10, 15, tzinfo=UTC)):  # the day after the discharge of Feb 9 2015
        message = feed.receive_file(folder / "fhirconv_ADT-A03-02.hl7")
        patient = feed.resolve(message, create=True)
        assert message.status == MessageStatus.APPLIED
        (episode,) = _episodes(feed.session, patient)
        (encounter,) = feed.encounters(patient)
        assert episode.encounter_id == encounter.id
        assert episode.discharged_at == datetime(2015, 2, 9, 10, 24, 19, tzinfo=UTC)
        assert episode.discharged_on == date(2015, 2, 9)  # a Monday, New York time
        assert episode.facility == "HOMERTON UNIVER"
        # PV1-36 "Admitted as Inpatient" is no code of table 0112: opened, to be confirmed
        assert (episode.disposition_code, episode.disposition_known) == ("Admitted as Inpatient", False)
        assert (episode.status, episode.complexity) == ("open", "moderate")
        assert _due(episode) == {
            "tcm-interactive-contact": date(2015, 2, 11),
            "tcm-discharge-information": date(2015, 2, 23),
            "tcm-medication-reconciliation": date(2015, 2, 23),
            "tcm-follow-up-appointment": date(2015, 2, 23),
            "tcm-face-to-face": date(2015, 2, 23),
        }
        assert {t.status for t in episode.tasks} == {"open"}

        again = feed.receive_file(folder / "fhirconv_ADT-A03-02.hl7")
        assert again.id == message.id, "the same message is a duplicate"
        fuller = feed.receive_file(folder / "fhirconv_ADT-A03-01.hl7")  # the same discharge, more segments
        assert fuller.status == MessageStatus.APPLIED
        assert _episodes(feed.session, patient) == [episode]
        count = feed.session.scalar(
            select(func.count()).select_from(TransitionTask).where(TransitionTask.patient_id == patient.id)
        )
        assert count == 5
        opened = feed.session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "transition-open", AuditEvent.patient_uuid == patient.uuid
            )
        ).all()
        assert len(opened) == 1
        assert "contact due 2015-02-11" in (opened[0].detail or "")


def test_a_discharge_home_under_home_health_opens_one_with_its_deadlines(feed: Feed) -> None:
    patient = _discharged_home(feed, disposition="06")
    (episode,) = _episodes(feed.session, patient)
    assert episode.disposition_known
    assert episode.disposition_display == "Home under a home health organization"
    assert _due(episode)["tcm-interactive-contact"] == date(2026, 3, 6)  # Friday
    assert _due(episode)["tcm-face-to-face"] == date(2026, 3, 18)


def test_a_discharge_to_a_skilled_nursing_facility_opens_none(feed: Feed) -> None:
    patient = _discharged_home(feed, disposition="03")
    assert _episodes(feed.session, patient) == []
    (encounter,) = feed.encounters(patient)
    assert encounter.status == "finished", "the encounter itself is applied as ever"


def test_a_discharge_older_than_30_days_when_it_arrives_opens_none(feed: Feed) -> None:
    with frozen_at(datetime(2026, 4, 3, 12, tzinfo=UTC)):  # the discharge day and 29 more: up to April 2
        message = feed.receive(
            adt("A03", control="late", admit="20260302073000", discharge="20260304101500", disposition="01")
        )
        patient = feed.resolve(message, create=True)
    assert _episodes(feed.session, patient) == []
    with frozen_at(datetime(2026, 4, 2, 12, tzinfo=UTC)):
        message = feed.receive(
            adt(
                "A03",
                control="last",
                mrn="M2",
                family="Last",
                visit="V9",
                admit="20260302073000",
                discharge="20260304101500",
                disposition="01",
            )
        )
        other = feed.resolve(message, create=True)
    assert len(_episodes(feed.session, other)) == 1, "the last day of the window still opens one"


def test_an_emergency_visit_opens_none(feed: Feed) -> None:
    with frozen_at(DAY_AFTER):
        message = feed.receive(
            adt("A03", control="ed", patient_class="E", admit="20260304010000", discharge="20260304101500")
        )
        patient = feed.resolve(message, create=True)
    assert _episodes(feed.session, patient) == []


def test_a_readmission_within_30_days_is_linked_and_closes_the_episode(feed: Feed) -> None:
    patient = _discharged_home(feed)
    (episode,) = _episodes(feed.session, patient)
    with frozen_at(datetime(2026, 3, 14, 14, tzinfo=UTC)):
        feed.receive(
            adt("A01", control="re-1", recorded="20260314090000", visit="V2", admit="20260314090000")
        )
    feed.session.refresh(episode)
    readmission = next(e for e in feed.encounters(patient) if e.visit_number == "V2")
    assert episode.readmission_encounter_id == readmission.id
    assert (episode.status, episode.closed_reason) == ("closed", "readmitted")
    statuses = {t.kind: t.status for t in episode.tasks}
    assert statuses["tcm-interactive-contact"] == "missed", "its deadline (March 6) had passed"
    assert statuses["tcm-face-to-face"] == "cancelled"
    with frozen_at(datetime(2026, 3, 14, 15, tzinfo=UTC)):
        shown = transition_for_patient(session=feed.session, actor=feed.actor, patient_uuid=patient.uuid)
    assert shown.current is None
    assert shown.recent[0].readmission is not None
    assert shown.recent[0].readmission.id == readmission.id

    # discharged home again: a new episode; a stay 40 days later is no readmission of it
    with frozen_at(datetime(2026, 3, 17, 14, tzinfo=UTC)):
        feed.receive(
            adt(
                "A03",
                control="re-3",
                recorded="20260317100000",
                visit="V2",
                admit="20260314090000",
                discharge="20260317100000",
                disposition="01",
            )
        )
    second = _episodes(feed.session, patient)[1]
    assert second.discharged_on == date(2026, 3, 17)
    assert second.status == "open"
    with frozen_at(datetime(2026, 4, 27, 14, tzinfo=UTC)):
        feed.receive(adt("A01", control="far", recorded="20260427090000", visit="V3", admit="20260427090000"))
    feed.session.refresh(second)
    assert second.readmission_encounter_id is None


def test_a_cancelled_discharge_closes_the_episode_and_a_new_discharge_reopens_it(feed: Feed) -> None:
    patient = _discharged_home(feed)
    (episode,) = _episodes(feed.session, patient)
    with frozen_at(DAY_AFTER):
        feed.receive(adt("A13", control="cancel", recorded="20260305090000", admit="20260302073000"))
    feed.session.refresh(episode)
    assert (episode.status, episode.closed_reason) == ("closed", "discharge-cancelled")
    with frozen_at(datetime(2026, 3, 6, 14, tzinfo=UTC)):
        feed.receive(
            adt(
                "A03",
                control="again",
                recorded="20260306100000",
                admit="20260302073000",
                discharge="20260306100000",
                disposition="01",
            )
        )
    assert _episodes(feed.session, patient) == [episode]
    feed.session.refresh(episode)
    assert (episode.status, episode.discharged_on) == ("open", date(2026, 3, 6))
    assert _due(episode)["tcm-interactive-contact"] == date(2026, 3, 10)


# --- the FHIR import ---------------------------------------------------------------------------------------


def test_a_synthea_stay_imported_soon_after_its_discharge_opens_one_older_stays_none(
    session: Session, shared_data: Path
) -> None:
    org = make_org(session)
    actor = Actor.operator(org.id, "tests")
    path = next((shared_data / "synthea-r4").glob("Frances_Mann_*.json"))
    limits = ImportLimits(max_file_bytes=64 * 1024 * 1024, max_line_bytes=16 * 1024 * 1024)
    # four inpatient stays: 1999, 2013, March 2015 and the last, discharged August 13 2015
    with frozen_at(datetime(2015, 8, 20, 12, tzinfo=UTC)):
        summary = fhir_import(session=session, actor=actor, paths=[path], limits=limits)
        assert not summary.problems
    (episode,) = session.scalars(select(TransitionEpisode).where(TransitionEpisode.org_id == org.id)).all()
    encounter = session.get_one(Encounter, episode.encounter_id)
    assert (encounter.encounter_class, encounter.period_end) == ("IMP", episode.discharged_at)
    assert episode.discharged_on == date(2015, 8, 13)
    assert episode.disposition_known is False, "Synthea sends no disposition for this stay"
    assert len(episode.tasks) == 5
    assert _due(episode)["tcm-interactive-contact"] == date(2015, 8, 17)  # Thursday -> Monday
    with frozen_at(datetime(2015, 8, 21, 12, tzinfo=UTC)):
        fhir_import(session=session, actor=actor, paths=[path], limits=limits)
    assert (
        session.scalar(
            select(func.count()).select_from(TransitionEpisode).where(TransitionEpisode.org_id == org.id)
        )
        == 1
    )

    other = make_org(session)
    fhir_import(session=session, actor=Actor.operator(other.id, "tests"), paths=[path], limits=limits)
    assert (
        session.scalar(
            select(func.count()).select_from(TransitionEpisode).where(TransitionEpisode.org_id == other.id)
        )
        == 0
    ), "under today's clock every stay of the file is years old"


# --- tasks: done, late, missed, the period's end -----------------------------------------------------------


def test_attempts_done_late_missed_and_the_end_with_the_enrolment_prompt(feed: Feed) -> None:
    patient = _discharged_home(feed)
    (episode,) = _episodes(feed.session, patient)
    contact = _task(episode, TaskKind.INTERACTIVE_CONTACT)
    with frozen_at(datetime(2026, 3, 5, 15, tzinfo=UTC)):
        transition_attempt_log(
            session=feed.session, actor=feed.actor, task_uuid=contact.uuid, outcome=AttemptOutcome.NO_ANSWER
        )
        assert contact.status == "open"
    with frozen_at(datetime(2026, 3, 6, 15, tzinfo=UTC)):
        transition_attempt_log(
            session=feed.session,
            actor=feed.actor,
            task_uuid=contact.uuid,
            outcome=AttemptOutcome.REACHED,
            note="spoke with her daughter",
        )
    assert (contact.status, len(contact.attempts)) == ("done", 2), "reached on the deadline: on time"

    medication = _task(episode, TaskKind.MEDICATION_RECONCILIATION)
    visit = _task(episode, TaskKind.FACE_TO_FACE)
    with frozen_at(datetime(2026, 3, 19, 15, tzinfo=UTC)):  # the day after the face-to-face deadline
        summary = transitions_refresh(session=feed.session, actor=feed.actor)
        assert summary.missed == 4
        assert summary.closed == 0
        assert visit.status == "missed"
        transition_task_done(session=feed.session, actor=feed.actor, task_uuid=medication.uuid)
        assert medication.status == "late-done"
        with pytest.raises(RuleViolation):
            transition_task_done(session=feed.session, actor=feed.actor, task_uuid=medication.uuid)
        shown = transition_for_patient(session=feed.session, actor=feed.actor, patient_uuid=patient.uuid)
        assert shown.current is not None
        by_kind = {v.task.kind: v.timeliness for v in shown.current.tasks}
        assert by_kind["tcm-interactive-contact"] is Timeliness.ON_TIME
        assert by_kind["tcm-medication-reconciliation"] is Timeliness.LATE
        assert by_kind["tcm-face-to-face"] is Timeliness.MISSED

    run = StratificationRun(
        org_id=feed.org.id,
        as_of=date(2026, 3, 1),
        engine="duckdb",
        rules_version="test",
        started_at=datetime(2026, 3, 1, tzinfo=UTC),
        finished_at=datetime(2026, 3, 1, 0, 5, tzinfo=UTC),
        patient_count=1,
    )
    feed.session.add(run)
    feed.session.flush()
    feed.session.add(
        StratificationResult(
            run_id=run.id,
            patient_id=patient.id,
            scores={"programs": "ccm;tcm", "chronic_condition_count": 3},
            tier=2,
        )
    )
    feed.session.flush()
    with frozen_at(datetime(2026, 4, 3, 14, tzinfo=UTC)):  # the discharge day and 29 more ended April 2
        summary = transitions_refresh(session=feed.session, actor=feed.actor)
    assert (summary.closed, summary.prompted) == (1, 1)
    feed.session.refresh(episode)
    assert (episode.status, episode.closed_reason, episode.enrol_prompt) == ("closed", "period-ended", "ccm")
    enrolment = feed.session.scalars(
        select(ProgramEnrolment).where(ProgramEnrolment.patient_id == patient.id)
    ).one()
    assert (enrolment.program_code, enrolment.state) == ("ccm", "identified")
    prompt = feed.session.scalars(select(Task).where(Task.patient_id == patient.id)).one()
    assert prompt.title == "Offer enrolment: Chronic Care Management"
    assert (prompt.source_type, prompt.source_id) == ("TransitionEpisode", episode.uuid)
    with pytest.raises(RuleViolation):
        transition_task_done(session=feed.session, actor=feed.actor, task_uuid=visit.uuid)


def test_complexity_moves_the_deadlines_and_a_person_closes_an_episode(feed: Feed) -> None:
    patient = _discharged_home(feed)
    (episode,) = _episodes(feed.session, patient)
    with frozen_at(DAY_AFTER):
        transition_set_complexity(
            session=feed.session, actor=feed.actor, episode_uuid=episode.uuid, complexity=Complexity.HIGH
        )
        assert _due(episode)["tcm-face-to-face"] == date(2026, 3, 11)
        assert _due(episode)["tcm-interactive-contact"] == date(2026, 3, 6)
        with pytest.raises(RuleViolation):
            transition_close(
                session=feed.session,
                actor=feed.actor,
                episode_uuid=episode.uuid,
                reason=CloseReason.COMPLETED,
            )
        with pytest.raises(InvalidInput):
            transition_close(
                session=feed.session,
                actor=feed.actor,
                episode_uuid=episode.uuid,
                reason=CloseReason.NOT_A_TRANSITION,
            )
        with pytest.raises(RuleViolation):
            transition_close(
                session=feed.session,
                actor=feed.actor,
                episode_uuid=episode.uuid,
                reason=CloseReason.READMITTED,
            )
        transition_close(
            session=feed.session,
            actor=feed.actor,
            episode_uuid=episode.uuid,
            reason=CloseReason.NOT_A_TRANSITION,
            note="went to her sister's assisted living in Ohio",
        )
    assert {t.status for t in episode.tasks} == {TaskStatus.CANCELLED.value}
    assert episode.enrol_prompt is None


# --- reach -------------------------------------------------------------------------------------------------


def test_care_managers_reach_their_own_patients_transitions_only(feed: Feed, cheap_passwords: object) -> None:
    mine = _discharged_home(feed, mrn="A1", visit="VA")
    theirs = _discharged_home(feed, mrn="B2", visit="VB")
    org = feed.session.get_one(Organization, feed.org.id)
    casey, robin = make_user(feed.session, org, "casey.cm"), make_user(feed.session, org, "robin.cm")
    assign(feed.session, org, casey, mine)
    assign(feed.session, org, robin, theirs)
    as_casey = Actor(org_id=org.id, label="user:casey.cm", user_id=casey.id, role="care_manager")
    with frozen_at(DAY_AFTER):
        due = transitions_due(session=feed.session, actor=as_casey)
        assert {d.task.patient_id for d in due} == {mine.id}
        assert [d.task.kind for d in due][:1] == ["tcm-interactive-contact"], "the soonest deadline first"
        assert due[0].business_days_left == 1
        assert due[0].timeliness is Timeliness.DUE
        (their_episode,) = _episodes(feed.session, theirs)
        with pytest.raises(NotFound):
            transition_task_done(session=feed.session, actor=as_casey, task_uuid=their_episode.tasks[0].uuid)
        with pytest.raises(NotFound):
            transition_for_patient(session=feed.session, actor=as_casey, patient_uuid=theirs.uuid)
    every = transitions_due(session=feed.session, actor=feed.actor)
    assert {d.task.patient_id for d in every} == {mine.id, theirs.id}
