"""Care plans on a real Synthea patient with heart failure (SQLite and PostgreSQL): one plan per program
enrolment; the heart-failure template applied once, linked to the patient's condition and care team;
goals edited, moved and progressed; an intervention given to a family caregiver; every change a version
with a readable diff; the patient's agreement; assessment suggestions taken into the plan; nobody outside
the caseload reaches any of it; a closed plan no longer changes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.accounts.models import Organization
from carenav.assessments.models import Assessment, AssessmentSuggestion
from carenav.careplans.models import CarePlanAgreement, CarePlanVersion
from carenav.careplans.queries import latest_measured, plan_history
from carenav.careplans.rules import (
    Achievement,
    BarrierKind,
    GoalLifecycle,
    InterventionKind,
    InterventionStatus,
    PlanStatus,
    target_make,
)
from carenav.careplans.services import (
    barrier_add,
    goal_add,
    goal_edit,
    goal_progress,
    goal_status_change,
    intervention_add,
    intervention_edit,
    intervention_status_change,
    plan_agreement_record,
    plan_create,
    plan_status_change,
    plan_suggestion_take,
    plan_template_apply,
)
from carenav.careplans.team import care_team_member_add, care_team_member_end
from carenav.careplans.templates import plan_template_get
from carenav.careplans.versions import plan_diff
from carenav.clock import frozen_at
from carenav.errors import InvalidInput, NotFound, RuleViolation
from carenav.ingest.fhir.driver import ImportLimits, fhir_import
from carenav.patients.models import Condition, Observation, ObservationComponent, Patient
from carenav.patients.rules import CareTeamRole
from carenav.programs.models import ProgramEnrolment
from carenav.programs.services import enrolment_identify
from tests.builders import make_org
from tests.web.users import actor_of, assign, cheap_passwords, make_user

__all__ = ["cheap_passwords"]
HEART_FAILURE = "Dennis_Durgan_78f005f3-7b33-4a5b-84d9-28417b36dbab.json"
MORNING = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def _patient(session: Session, org: Organization, shared_data: Path) -> Patient:
    fhir_import(
        session=session,
        actor=Actor.operator(org.id, "tests"),
        paths=[shared_data / "synthea-r4" / HEART_FAILURE],
        limits=ImportLimits(max_file_bytes=64 * 1024 * 1024, max_line_bytes=16 * 1024 * 1024),
    )
    return session.scalars(select(Patient).where(Patient.org_id == org.id)).one()


@pytest.fixture
def world(session: Session, shared_data: Path, cheap_passwords: object) -> tuple[Actor, Actor, Patient]:
    org = make_org(session)
    patient = _patient(session, org, shared_data)
    casey, other = make_user(session, org, "casey.cm"), make_user(session, org, "drew.cm")
    assign(session, org, casey, patient)
    return actor_of(casey), actor_of(other), patient


def test_the_heart_failure_template_applied_once_to_a_synthea_patient(
    session: Session, world: tuple[Actor, Actor, Patient]
) -> None:
    casey, _other, patient = world
    with frozen_at(MORNING):
        plan = plan_create(
            session=session, actor=casey, patient_uuid=patient.uuid, title="Heart failure care"
        )
        first = plan_template_apply(
            session=session, actor=casey, plan_uuid=plan.uuid, template_id="heart-failure"
        )
        again = plan_template_apply(
            session=session, actor=casey, plan_uuid=plan.uuid, template_id="heart-failure"
        )
    template = plan_template_get("heart-failure")
    assert (first.problems, first.goals, first.interventions) == (
        1,
        len(template.goals),
        len(template.interventions),
    )
    assert (again.problems, again.goals, again.interventions) == (0, 0, 0), "nothing twice"
    session.refresh(plan)
    assert plan.version == 2, "started, template applied; the empty second application makes no version"
    problem = plan.problems[0]
    condition = session.get_one(Condition, problem.condition_id)
    assert condition.code == "88805009", "linked to the patient's chronic congestive heart failure"
    assert problem.text == condition.display
    weights = next(g for g in plan.goals if g.template_ref == "heart-failure:hf-weight")
    assert (weights.lifecycle, weights.measure_code, weights.due_on) == (
        "proposed",
        "29463-7",
        date(2026, 5, 31),
    )
    daily = next(i for i in plan.interventions if i.template_ref == "heart-failure:hf-daily-weights")
    assert daily.owner_role == "patient"
    assert daily.owner_name is not None
    assert daily.owner_name.startswith("Dennis")
    assert [g.uuid for g in daily.goals] == [weights.uuid]
    zones = next(i for i in plan.interventions if i.template_ref == "heart-failure:hf-zones")
    assert zones.owner_role == "care_manager"
    assert zones.owner_member_id is not None, "the patient's care manager, from the care team"
    pharmacist = next(i for i in plan.interventions if i.owner_role == "pharmacist")
    assert pharmacist.owner_member_id is None, "no pharmacist on the team yet: a role to fill"


def test_edits_make_versions_with_a_readable_diff(
    session: Session, world: tuple[Actor, Actor, Patient]
) -> None:
    casey, _other, patient = world
    plan = plan_create(session=session, actor=casey, patient_uuid=patient.uuid, title="Heart failure care")
    plan_template_apply(session=session, actor=casey, plan_uuid=plan.uuid, template_id="heart-failure")
    bp = next(g for g in plan.goals if g.template_ref == "heart-failure:hf-bp")
    goal_edit(
        session=session,
        actor=casey,
        goal_uuid=bp.uuid,
        target=target_make("quantity", value="140", comparator="<", unit="mm[Hg]"),
    )
    goal_status_change(session=session, actor=casey, goal_uuid=bp.uuid, to=GoalLifecycle.ACCEPTED)
    goal_status_change(session=session, actor=casey, goal_uuid=bp.uuid, to=GoalLifecycle.ACTIVE)
    goal_progress(
        session=session,
        actor=casey,
        goal_uuid=bp.uuid,
        note="132/78 at home",
        achievement=Achievement.IMPROVING,
    )
    versions = session.scalars(
        select(CarePlanVersion).where(CarePlanVersion.plan_id == plan.id).order_by(CarePlanVersion.version)
    ).all()
    assert [v.version for v in versions] == [1, 2, 3, 4, 5, 6]
    target_change = plan_diff(versions[1].snapshot, versions[2].snapshot)
    assert target_change == ['Goal "Blood pressure under 130/80": target "< 130 mm[Hg]" → "< 140 mm[Hg]"']
    assert plan_diff(versions[4].snapshot, versions[5].snapshot) == [
        'Goal "Blood pressure under 130/80": achievement "in-progress" → "improving"'
    ]
    assert versions[2].actor == "user:casey.cm"
    assert "template Heart failure applied" in versions[1].summary
    added = plan_diff(versions[0].snapshot, versions[1].snapshot)
    assert "Goal added: Blood pressure under 130/80" in added
    assert len(added) == 1 + 4 + 8
    assert bp.notes[0].text == "132/78 at home"
    with pytest.raises(RuleViolation, match="a active goal cannot become proposed"):
        goal_status_change(session=session, actor=casey, goal_uuid=bp.uuid, to=GoalLifecycle.PROPOSED)


def test_a_family_caregiver_owns_an_intervention_and_the_patient_agrees(
    session: Session, world: tuple[Actor, Actor, Patient]
) -> None:
    casey, _other, patient = world
    plan = plan_create(session=session, actor=casey, patient_uuid=patient.uuid, title="Heart failure care")
    plan_template_apply(session=session, actor=casey, plan_uuid=plan.uuid, template_id="heart-failure")
    daughter = care_team_member_add(
        session=session,
        actor=casey,
        patient_uuid=patient.uuid,
        role=CareTeamRole.CAREGIVER,
        name="Maria Durgan",
        role_display="daughter",
        phone="555-0134",
    )
    salt = next(i for i in plan.interventions if i.template_ref == "heart-failure:hf-low-salt")
    intervention_edit(
        session=session, actor=casey, intervention_uuid=salt.uuid, owner_member_uuid=daughter.uuid
    )
    assert (salt.owner_name, salt.owner_role) == ("Maria Durgan", "caregiver")
    intervention_status_change(
        session=session, actor=casey, intervention_uuid=salt.uuid, to=InterventionStatus.READY
    )
    with pytest.raises(RuleViolation, match="say why the intervention is cancelled"):
        intervention_status_change(
            session=session, actor=casey, intervention_uuid=salt.uuid, to=InterventionStatus.CANCELLED
        )
    barrier_add(
        session=session,
        actor=casey,
        plan_uuid=plan.uuid,
        kind=BarrierKind.TRANSPORTATION,
        text="No car since his license was suspended",
        mitigation="Plan's ride benefit booked for cardiology",
    )
    empty = plan_create(session=session, actor=casey, patient_uuid=patient.uuid, title="Empty")
    with pytest.raises(RuleViolation, match="at least one goal"):
        plan_status_change(session=session, actor=casey, plan_uuid=empty.uuid, to=PlanStatus.ACTIVE)
    plan_status_change(session=session, actor=casey, plan_uuid=plan.uuid, to=PlanStatus.ACTIVE)
    with frozen_at(MORNING):
        agreed = plan_agreement_record(
            session=session,
            actor=casey,
            plan_uuid=plan.uuid,
            agreed_on=date(2026, 3, 2),
            method="in-person",
            agreed_by="caregiver",
            name="Maria Durgan",
            relationship="daughter",
        )
        with pytest.raises(InvalidInput, match="in the future"):
            plan_agreement_record(
                session=session, actor=casey, plan_uuid=plan.uuid, agreed_on=date(2026, 3, 3), method="phone"
            )
        with pytest.raises(InvalidInput, match="name and relationship"):
            plan_agreement_record(
                session=session,
                actor=casey,
                plan_uuid=plan.uuid,
                agreed_on=date(2026, 3, 2),
                method="phone",
                agreed_by="caregiver",
            )
    assert agreed.version == plan.version
    assert (
        session.scalars(select(CarePlanAgreement).where(CarePlanAgreement.plan_id == plan.id)).one() is agreed
    )
    care_team_member_end(session=session, actor=casey, member_uuid=daughter.uuid, note="moved away")
    with pytest.raises(NotFound, match="no active member"):
        intervention_edit(
            session=session, actor=casey, intervention_uuid=salt.uuid, owner_member_uuid=daughter.uuid
        )


def test_one_plan_per_enrolment_and_a_closed_plan_no_longer_changes(
    session: Session, world: tuple[Actor, Actor, Patient]
) -> None:
    casey, _other, patient = world
    operator = Actor.operator(patient.org_id, "tests")
    enrolment_identify(session=session, actor=operator, patient_uuid=patient.uuid, program_code="ccm")
    enrolment_uuid = session.scalars(
        select(ProgramEnrolment.uuid).where(ProgramEnrolment.patient_id == patient.id)
    ).one()
    plan = plan_create(
        session=session,
        actor=casey,
        patient_uuid=patient.uuid,
        title="CCM plan",
        enrolment_uuid=enrolment_uuid,
    )
    with pytest.raises(RuleViolation, match="has its care plan already"):
        plan_create(
            session=session,
            actor=casey,
            patient_uuid=patient.uuid,
            title="again",
            enrolment_uuid=enrolment_uuid,
        )
    goal = goal_add(
        session=session,
        actor=casey,
        plan_uuid=plan.uuid,
        description="Dance at my granddaughter's wedding in June",
        patient_stated=True,
    )
    assert goal.patient_stated
    plan_status_change(session=session, actor=casey, plan_uuid=plan.uuid, to=PlanStatus.ACTIVE)
    with pytest.raises(RuleViolation, match="say why"):
        plan_status_change(session=session, actor=casey, plan_uuid=plan.uuid, to=PlanStatus.REVOKED)
    plan_status_change(
        session=session, actor=casey, plan_uuid=plan.uuid, to=PlanStatus.REVOKED, reason="moved out of state"
    )
    assert plan.period_end is not None
    with pytest.raises(RuleViolation, match="no longer changes"):
        goal_add(session=session, actor=casey, plan_uuid=plan.uuid, description="more")
    with pytest.raises(RuleViolation, match="no longer changes"):
        goal_edit(session=session, actor=casey, goal_uuid=goal.uuid, description="changed")


def test_assessment_suggestions_become_proposed_plan_items(
    session: Session, world: tuple[Actor, Actor, Patient]
) -> None:
    casey, _other, patient = world
    plan = plan_create(session=session, actor=casey, patient_uuid=patient.uuid, title="Plan")

    assessment = Assessment(
        org_id=patient.org_id,
        patient_id=patient.id,
        instrument_id="ahc-hrsn",
        instrument_version="1.0.0",
        status="completed",
        channel="phone",
        respondent="patient",
        started_by="tests",
        response={},
    )
    session.add(assessment)
    session.flush()
    goal_suggestion, referral_suggestion = (
        AssessmentSuggestion(
            org_id=patient.org_id,
            patient_id=patient.id,
            assessment_id=assessment.id,
            trigger="food-insecurity",
            kind=kind,
            text=text,
            service="food" if kind == "referral" else None,
        )
        for kind, text in (("goal", "Has enough food every day"), ("referral", "Refer to a food pantry"))
    )
    session.add_all([goal_suggestion, referral_suggestion])
    session.flush()
    goal = plan_suggestion_take(
        session=session,
        actor=casey,
        plan_uuid=plan.uuid,
        suggestion_uuid=goal_suggestion.uuid,
        text="Three meals a day, every day",
    )
    referral = plan_suggestion_take(
        session=session, actor=casey, plan_uuid=plan.uuid, suggestion_uuid=referral_suggestion.uuid
    )
    assert (goal.description, goal.lifecycle, goal.suggestion_id) == (
        "Three meals a day, every day",
        "proposed",
        goal_suggestion.id,
    )
    assert (referral.kind, referral.text) == (InterventionKind.REFERRAL.value, "Refer to a food pantry")
    assert goal_suggestion.status == referral_suggestion.status == "accepted"
    with pytest.raises(RuleViolation, match="already accepted"):
        plan_suggestion_take(
            session=session, actor=casey, plan_uuid=plan.uuid, suggestion_uuid=goal_suggestion.uuid
        )


def test_nobody_outside_the_caseload_reaches_the_plan(
    session: Session, world: tuple[Actor, Actor, Patient]
) -> None:
    casey, other, patient = world
    plan = plan_create(session=session, actor=casey, patient_uuid=patient.uuid, title="Plan")
    goal = goal_add(session=session, actor=casey, plan_uuid=plan.uuid, description="Walk daily")
    with pytest.raises(NotFound):
        plan_create(session=session, actor=other, patient_uuid=patient.uuid, title="mine")
    with pytest.raises(NotFound):
        plan_template_apply(session=session, actor=other, plan_uuid=plan.uuid, template_id="heart-failure")
    with pytest.raises(NotFound, match=f"no Goal {goal.uuid}"):
        goal_edit(session=session, actor=other, goal_uuid=goal.uuid, description="x")
    with pytest.raises(NotFound):
        intervention_add(
            session=session, actor=other, plan_uuid=plan.uuid, kind=InterventionKind.EDUCATION, text="x"
        )


def test_the_latest_measured_value_stands_beside_the_target_and_the_history_reads_newest_first(
    session: Session, world: tuple[Actor, Actor, Patient]
) -> None:
    casey, _other, patient = world
    plan = plan_create(session=session, actor=casey, patient_uuid=patient.uuid, title="Heart failure care")
    plan_template_apply(session=session, actor=casey, plan_uuid=plan.uuid, template_id="heart-failure")
    session.refresh(plan)
    measured = latest_measured(session=session, plan=plan)
    bp = next(g for g in plan.goals if g.template_ref == "heart-failure:hf-bp")
    weight = next(g for g in plan.goals if g.template_ref == "heart-failure:hf-weight")
    systolic = session.execute(
        select(ObservationComponent.value_quantity, Observation.effective_at)
        .join(Observation, Observation.id == ObservationComponent.observation_id)
        .where(Observation.patient_id == patient.id, ObservationComponent.code == "8480-6")
        .order_by(Observation.effective_at.desc())
        .limit(1)
    ).one()
    assert (measured[bp.id].value, measured[bp.id].at) == (systolic[0], systolic[1]), "a panel's component"
    assert measured[weight.id].unit == "kg"
    assert not any(g.id in measured for g in plan.goals if g.measure_code is None)
    history = plan_history(session=session, plan=plan)
    assert [h.version for h in history] == [2, 1]
    assert 'Plan title: (none) → "Heart failure care"' in history[1].changes, (
        "the first version against nothing"
    )
    assert any(line.startswith("Goal added: ") for line in history[0].changes)


def test_a_goal_finds_its_measure_under_an_equivalent_code(
    session: Session, world: tuple[Actor, Actor, Patient]
) -> None:
    casey, _other, patient = world
    plan = plan_create(session=session, actor=casey, patient_uuid=patient.uuid, title="Kidneys")
    plan_template_apply(session=session, actor=casey, plan_uuid=plan.uuid, template_id="ckd")
    session.refresh(plan)
    egfr = next(g for g in plan.goals if g.measure_code == "98979-8")
    mdrd = session.execute(
        select(Observation.value_quantity)
        .where(Observation.patient_id == patient.id, Observation.code == "33914-3")
        .order_by(Observation.effective_at.desc())
        .limit(1)
    ).scalar_one()
    assert latest_measured(session=session, plan=plan)[egfr.id].value == mdrd, "Synthea's MDRD eGFR counts"
    assert len(plan.problems) == 1
