"""CarePlan, Goal and Task over the facade (SQLite and PostgreSQL): a plan made through the care-plan
services read, searched, listed by $everything (paged across kinds) and exported, only within reach,
every read audited."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Select, false, select
from sqlalchemy.orm import Session

from carenav.access import Actor, patient_scope
from carenav.audit.models import AuditEvent
from carenav.careplans.models import CarePlan, Goal, Intervention
from carenav.careplans.rules import (
    Achievement,
    BarrierKind,
    GoalLifecycle,
    GoalPriority,
    InterventionKind,
    InterventionStatus,
    PlanStatus,
    Target,
    TargetKind,
)
from carenav.careplans.services import (
    barrier_add,
    goal_add,
    goal_progress,
    goal_status_change,
    intervention_add,
    intervention_status_change,
    plan_create,
    plan_status_change,
    problem_add,
)
from carenav.careplans.templates import Measure
from carenav.clock import frozen_at
from carenav.errors import NotFound
from carenav.fhir.export import export_bulk
from carenav.fhir.mappers.common import Refs
from carenav.fhir.tasks import TASK_SOURCES, TaskCriteria, TaskSource, register_task_source
from carenav.patients.models import CareTeamMember, Condition, Patient
from carenav.tasks.models import Task as WorkTask
from tests.fhir.conftest import Api
from tests.fhir.test_api import ids, ok, outcome
from tests.fhir.validation import assert_valid
from tests.fhir.world import World

KIND = "https://carenav.org/fhir/CodeSystem/intervention-kind"
MORNING = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


@dataclass
class Plans:
    amy: CarePlan
    hba1c: Goal
    wedding: Goal
    teach: Intervention
    check: Intervention
    walk: Intervention
    benefits: Intervention
    bob: CarePlan
    bob_goal: Goal
    bob_step: Intervention


@pytest.fixture
def plans(session: Session, world: World) -> Plans:
    """Amy's active diabetes plan (a problem from her condition, two goals, four steps owned by her
    daughter, her doctor, herself and a social worker still to find, a barrier), and Bob's draft."""
    actor = Actor.operator(world.org.id, "tests")
    diabetes = session.scalars(
        select(Condition).where(Condition.patient_id == world.amy.id, Condition.code == "44054006")
    ).one()
    team = {
        m.role: m.uuid
        for m in session.scalars(select(CareTeamMember).where(CareTeamMember.patient_id == world.amy.id))
    }
    with frozen_at(MORNING):
        plan = plan_create(session=session, actor=actor, patient_uuid=world.amy.uuid, title="Diabetes")
        problem = problem_add(session=session, actor=actor, plan_uuid=plan.uuid, condition_uuid=diabetes.uuid)
        hba1c = goal_add(
            session=session,
            actor=actor,
            plan_uuid=plan.uuid,
            description="HbA1c under 7%",
            problem_uuid=problem.uuid,
            target=Target(TargetKind.QUANTITY, value=Decimal("7.0"), comparator="<", unit="%"),
            measure=Measure("http://loinc.org", "4548-4", "Hemoglobin A1c"),
            due_on=date(2026, 9, 2),
            priority=GoalPriority.HIGH,
        )
        wedding = goal_add(
            session=session,
            actor=actor,
            plan_uuid=plan.uuid,
            description="Dance at my granddaughter's wedding",
            target=Target(TargetKind.TEXT, text="Dances two songs in June"),
            patient_stated=True,
        )
        for to in (GoalLifecycle.ACCEPTED, GoalLifecycle.ACTIVE):
            goal_status_change(session=session, actor=actor, goal_uuid=hba1c.uuid, to=to)
        goal_progress(
            session=session,
            actor=actor,
            goal_uuid=hba1c.uuid,
            note="Down to 7.4",
            achievement=Achievement.IMPROVING,
        )
        steps = {
            name: intervention_add(session=session, actor=actor, plan_uuid=plan.uuid, **values)
            for name, values in {
                "teach": {
                    "kind": InterventionKind.EDUCATION,
                    "text": "Teach-back on insulin with Beth",
                    "goal_uuids": [hba1c.uuid, wedding.uuid],
                    "owner_member_uuid": team["caregiver"],
                    "due_on": date(2026, 4, 1),
                },
                "check": {
                    "kind": InterventionKind.MONITORING,
                    "text": "HbA1c every 3 months",
                    "goal_uuids": [hba1c.uuid],
                    "owner_member_uuid": team["primary_care"],
                },
                "walk": {
                    "kind": InterventionKind.SELF_MANAGEMENT,
                    "text": "Walk daily",
                    "owner_role": "patient",
                },
                "benefits": {
                    "kind": InterventionKind.SOCIAL_SERVICE,
                    "text": "Apply for food benefits",
                    "owner_role": "social_worker",
                },
            }.items()
        }
        plan_status_change(session=session, actor=actor, plan_uuid=plan.uuid, to=PlanStatus.ACTIVE)
        barrier_add(
            session=session, actor=actor, plan_uuid=plan.uuid, kind=BarrierKind.TRANSPORTATION, text="No car"
        )
        bob = plan_create(session=session, actor=actor, patient_uuid=world.bob.uuid, title="Falls")
        bob_goal = goal_add(session=session, actor=actor, plan_uuid=bob.uuid, description="No falls")
        bob_step = intervention_add(
            session=session,
            actor=actor,
            plan_uuid=bob.uuid,
            kind=InterventionKind.REFERRAL,
            text="PT referral",
        )
    with frozen_at(datetime(2026, 3, 3, 9, 0, tzinfo=UTC)):
        intervention_status_change(
            session=session,
            actor=actor,
            intervention_uuid=steps["walk"].uuid,
            to=InterventionStatus.IN_PROGRESS,
        )
    session.commit()
    return Plans(
        plan,
        hba1c,
        wedding,
        steps["teach"],
        steps["check"],
        steps["walk"],
        steps["benefits"],
        bob,
        bob_goal,
        bob_step,
    )


def read(api: Api, world: World, path: str) -> dict[str, Any]:
    return ok(api, path, world.tokens["cara"])


def test_care_plan_read_references_its_problems_goals_steps_and_team(
    api: Api, world: World, plans: Plans, session: Session
) -> None:
    plan = read(api, world, f"CarePlan/{plans.amy.uuid}")
    diabetes = session.scalars(
        select(Condition.uuid).where(Condition.patient_id == world.amy.id, Condition.code == "44054006")
    ).one()
    assert plan["status"] == "active"
    assert plan["intent"] == "plan"
    assert plan["title"] == "Diabetes"
    assert plan["subject"] == {"reference": f"Patient/{world.amy.uuid}"}
    assert plan["author"] == {"display": "operator:tests"}
    assert plan["period"] == {"start": "2026-03-02"}
    assert plan["careTeam"] == [{"reference": f"CareTeam/{world.amy.uuid}"}]
    assert plan["addresses"] == [
        {"reference": f"Condition/{diabetes}", "display": "Diabetes mellitus type 2"}
    ]
    read(api, world, f"Condition/{diabetes}")
    assert [g["reference"] for g in plan["goal"]] == [
        f"Goal/{plans.hba1c.uuid}",
        f"Goal/{plans.wedding.uuid}",
    ]
    steps = [a["reference"]["reference"] for a in plan["activity"]]
    assert steps == [f"Task/{s.uuid}" for s in (plans.teach, plans.check, plans.walk, plans.benefits)]
    for path in [*steps, *(g["reference"] for g in plan["goal"]), plan["careTeam"][0]["reference"]]:
        read(api, world, path)  # every reference resolves over the facade
    assert "No car" in plan["text"]["div"]


def test_goal_read(api: Api, world: World, plans: Plans, session: Session) -> None:
    hba1c = read(api, world, f"Goal/{plans.hba1c.uuid}")
    plan = read(api, world, f"CarePlan/{plans.amy.uuid}")
    assert hba1c["lifecycleStatus"] == "active"
    assert hba1c["achievementStatus"]["coding"][0]["code"] == "improving"
    assert hba1c["priority"]["coding"][0]["code"] == "high-priority"
    assert hba1c["addresses"] == [plan["addresses"][0]]
    (target,) = hba1c["target"]
    assert target["measure"]["coding"][0]["code"] == "4548-4"
    assert target["detailQuantity"] == {
        "value": 7.0,
        "comparator": "<",
        "unit": "%",
        "system": "http://unitsofmeasure.org",
        "code": "%",
    }
    assert target["dueDate"] == "2026-09-02"
    assert [n["text"] for n in hba1c["note"]] == ["Down to 7.4"]
    assert "expressedBy" not in hba1c
    wedding = read(api, world, f"Goal/{plans.wedding.uuid}")
    assert wedding["expressedBy"] == {"reference": f"Patient/{world.amy.uuid}"}
    assert wedding["lifecycleStatus"] == "proposed"
    assert wedding["target"] == [
        {
            "measure": {"text": "Dance at my granddaughter's wedding"},
            "detailString": "Dances two songs in June",
        }
    ]


def test_task_read_owner_goals_and_plan(api: Api, world: World, plans: Plans) -> None:
    teach = read(api, world, f"Task/{plans.teach.uuid}")
    assert teach["status"] == "ready"
    assert teach["intent"] == "plan"
    assert teach["code"]["coding"][0] == {"system": KIND, "code": "education", "display": "Education"}
    assert teach["description"] == "Teach-back on insulin with Beth"
    assert teach["for"] == {"reference": f"Patient/{world.amy.uuid}"}
    assert teach["basedOn"] == [{"reference": f"CarePlan/{plans.amy.uuid}"}]
    assert teach["owner"] == {
        "reference": f"RelatedPerson/{world.rows['daughter'].uuid}",
        "display": "Beth Shaw",
    }
    assert teach["restriction"] == {"period": {"end": "2026-04-01"}}
    assert [i["valueReference"]["reference"] for i in teach["input"]] == [
        f"Goal/{plans.hba1c.uuid}",
        f"Goal/{plans.wedding.uuid}",
    ]
    check = read(api, world, f"Task/{plans.check.uuid}")
    assert check["owner"]["reference"] == f"Practitioner/{world.rows['practitioner'].uuid}"
    walk = read(api, world, f"Task/{plans.walk.uuid}")
    assert walk["owner"]["reference"] == f"Patient/{world.amy.uuid}"
    assert walk["status"] == "in-progress"
    assert walk["lastModified"] >= walk["authoredOn"]
    benefits = read(api, world, f"Task/{plans.benefits.uuid}")
    assert "owner" not in benefits
    assert benefits["performerType"][0]["coding"][0]["code"] == "social_worker"


def test_only_patients_within_reach(api: Api, world: World, plans: Plans) -> None:
    cara = world.tokens["cara"]
    for path in (
        f"CarePlan/{plans.bob.uuid}",
        f"Goal/{plans.bob_goal.uuid}",
        f"Task/{plans.bob_step.uuid}",
        f"CarePlan?patient={world.bob.uuid}",
        f"Goal?patient={world.bob.uuid}",
        f"Task?patient={world.bob.uuid}",
        f"CarePlan?patient={world.bob.uuid}&status=revoked",  # no match possible: still the gate
        f"Task?patient={world.bob.uuid}&code=http://example.org|x",
        "Task/no-such-task",
    ):
        outcome(api.get(path, cara), 404)
    for who in ("outsider", "auditor"):
        outcome(api.get(f"CarePlan/{plans.amy.uuid}", world.tokens[who]), 404)
        outcome(api.get(f"Task/{plans.teach.uuid}", world.tokens[who]), 404)
    assert ok(api, f"Task/{plans.bob_step.uuid}", world.tokens["admin"])["description"] == "PT referral"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("CarePlan?patient={amy}", ["amy"]),
        ("CarePlan?patient=Patient/{amy}&status=active", ["amy"]),
        ("CarePlan?patient={amy}&status=draft,revoked", []),
        ("CarePlan?patient={amy}&category=assess-plan", ["amy"]),
        (
            "CarePlan?patient={amy}&category=http://hl7.org/fhir/us/core/CodeSystem/careplan-category|assess-plan",
            ["amy"],
        ),
        ("CarePlan?patient={amy}&category=http://snomed.info/sct|734163000", []),
        ("Goal?patient={amy}", ["hba1c", "wedding"]),
        ("Goal?patient={amy}&lifecycle-status=active", ["hba1c"]),
        ("Goal?patient={amy}&lifecycle-status=proposed,active", ["hba1c", "wedding"]),
        ("Goal?patient={amy}&achievement-status=improving", ["hba1c"]),
        ("Goal?patient={amy}&achievement-status=achieved", []),
        ("Task?patient={amy}", ["benefits", "walk", "check", "teach"]),
        ("Task?patient={amy}&status=ready", ["benefits", "check", "teach"]),
        ("Task?patient={amy}&status=http://hl7.org/fhir/task-status|in-progress", ["walk"]),
        ("Task?patient={amy}&code=education,monitoring", ["check", "teach"]),
        (f"Task?patient={{amy}}&code={KIND}|referral", []),
        ("Task?patient={amy}&code=http://snomed.info/sct|409073007", []),
    ],
)
def test_searches(api: Api, world: World, plans: Plans, query: str, expected: list[str]) -> None:
    names = {
        plans.amy.uuid: "amy",
        plans.hba1c.uuid: "hba1c",
        plans.wedding.uuid: "wedding",
        plans.teach.uuid: "teach",
        plans.check.uuid: "check",
        plans.walk.uuid: "walk",
        plans.benefits.uuid: "benefits",
    }
    bundle = ok(api, query.format(amy=world.amy.uuid), world.tokens["cara"])
    found = [names[i] for i in ids(bundle)]
    assert sorted(found) == sorted(expected)
    assert bundle["total"] == len(expected)
    if query.startswith("Task"):
        assert found == expected  # newest first (made in this order, all at the same instant: by key)


@pytest.mark.parametrize(
    "query",
    [
        "CarePlan",
        "CarePlan?status=active",
        "Goal?lifecycle-status=active",
        "Task?code=education",
        "Task?patient={amy}&code=s|",
        "Task?patient={amy}&owner=x",
        "CarePlan?patient={amy}&status=active&status=draft",
    ],
)
def test_bad_searches_are_400(api: Api, world: World, plans: Plans, query: str) -> None:
    outcome(api.get(query.format(amy=world.amy.uuid), world.tokens["cara"]), 400)


def test_task_search_pages_with_a_total(api: Api, world: World, plans: Plans) -> None:
    seen: list[str] = []
    for offset in range(0, 4, 3):
        page = ok(api, f"Task?patient={world.amy.uuid}&_count=3&_offset={offset}", world.tokens["cara"])
        assert page["total"] == 4
        seen += ids(page)
    assert seen == [s.uuid for s in (plans.benefits, plans.walk, plans.check, plans.teach)]
    counted = ok(api, f"Goal?patient={world.amy.uuid}&_count=0", world.tokens["cara"])
    assert counted["total"] == 2
    assert "entry" not in counted


def test_reads_and_searches_are_audited(api: Api, world: World, plans: Plans, session: Session) -> None:
    cara = world.tokens["cara"]
    ok(api, f"CarePlan/{plans.amy.uuid}", cara)
    ok(api, f"Goal?patient={world.amy.uuid}&lifecycle-status=active", cara)
    ok(api, f"Task?patient={world.amy.uuid}&status=ready", cara)
    ok(api, f"Task/{plans.walk.uuid}", cara)
    events = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.patient_uuid == world.amy.uuid, AuditEvent.channel == "fhir")
        .order_by(AuditEvent.id)
    ).all()
    assert [(e.action, e.entity_type, e.entity_id) for e in events] == [
        ("read", "CarePlan", plans.amy.uuid),
        ("read", "Goal", None),
        ("read", "Intervention", None),
        ("read", "Intervention", plans.walk.uuid),
    ]
    assert "lifecycle in ['active']" in (events[1].detail or "")
    assert "status in ['ready']" in (events[2].detail or "")
    assert {e.user_id for e in events} == {world.users["cara"].id}


def test_everything_lists_the_plan_its_goals_and_steps_and_pages_across_kinds(
    api: Api, world: World, plans: Plans
) -> None:
    token = world.tokens["cara"]
    whole = ok(api, f"Patient/{world.amy.uuid}/$everything", token)
    resources = [e["resource"] for e in whole["entry"]]
    types = [r["resourceType"] for r in resources]
    assert whole["total"] == len(resources) == 18 + 1 + 2 + 4
    assert types[-8:] == ["CarePlan", "Goal", "Goal", "Task", "Task", "Task", "Task", "CareTeam"]
    assert [r["id"] for r in resources if r["resourceType"] == "Task"] == [
        s.uuid for s in (plans.benefits, plans.walk, plans.check, plans.teach)
    ]
    assert plans.bob.uuid not in {r["id"] for r in resources}
    for resource in resources:
        assert_valid(resource)
    for count in (1, 4, 6, 7):
        paged: list[str] = []
        for offset in range(0, whole["total"], count):
            page = ok(api, f"Patient/{world.amy.uuid}/$everything?_count={count}&_offset={offset}", token)
            assert page["total"] == whole["total"]
            paged += [f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in page["entry"]]
        assert paged == [f"{r['resourceType']}/{r['id']}" for r in resources]


def test_export_writes_plans_goals_and_tasks(
    world: World, plans: Plans, session: Session, tmp_path: Path
) -> None:
    result = export_bulk(
        session=session,
        actor=Actor.operator(world.org.id),
        directory=tmp_path / "bulk",
        types=["CarePlan", "Goal", "Task"],
    )
    assert result.counts == {"CarePlan": 2, "Goal": 3, "Task": 5}
    lines: dict[str, list[dict[str, Any]]] = {}
    for resource_type in result.counts:
        path = tmp_path / "bulk" / f"{resource_type}.ndjson"
        lines[resource_type] = [orjson.loads(line) for line in path.read_bytes().splitlines()]
        for resource in lines[resource_type]:
            assert resource["resourceType"] == resource_type
            assert_valid(resource)
    assert {r["id"] for r in lines["Task"]} == {
        s.uuid for s in (plans.teach, plans.check, plans.walk, plans.benefits, plans.bob_step)
    }
    bob_plan = next(r for r in lines["CarePlan"] if r["id"] == plans.bob.uuid)
    assert bob_plan["status"] == "draft"
    assert "careTeam" not in bob_plan  # Bob has no care team


# --- Tasks from another table ---------------------------------------------------------------------


@pytest.fixture
def work_tasks(session: Session, world: World, plans: Plans) -> Iterator[WorkTask]:
    """A care-team work task of Amy's (the table issue 7's transition-of-care tasks live in) served as a
    second source of Tasks, made a day after her plan's steps."""
    row = WorkTask(
        org_id=world.org.id,
        patient_id=world.amy.id,
        title="Call Amy after discharge",
        due_on=date(2026, 3, 4),
        created_by="tests",
        created_at=datetime(2026, 3, 3, 8, 0, tzinfo=UTC),
        updated_at=datetime(2026, 3, 3, 8, 0, tzinfo=UTC),
    )
    session.add(row)
    session.commit()

    def keys(patient_id: int, criteria: TaskCriteria) -> Select[datetime, int]:
        found = select(WorkTask.created_at.label("at"), WorkTask.id.label("id")).where(
            WorkTask.patient_id == patient_id
        )
        if criteria.statuses and "requested" not in criteria.statuses:
            found = found.where(false())
        return found.where(false()) if criteria.codes else found

    def load(session: Session, keys: Sequence[int]) -> list[WorkTask]:
        return list(session.scalars(select(WorkTask).where(WorkTask.id.in_(list(keys)))))

    def read_one(session: Session, actor: Actor, resource_id: str) -> WorkTask:
        found = session.scalar(
            select(WorkTask)
            .join(Patient, Patient.id == WorkTask.patient_id)
            .where(WorkTask.uuid == resource_id, patient_scope(actor))
        )
        if found is None:
            raise NotFound(f"no task {resource_id}")
        return found

    def to_fhir(row: WorkTask, refs: Refs) -> dict[str, Any]:
        return {
            "resourceType": "Task",
            "id": row.uuid,
            "status": "requested",
            "intent": "order",
            "description": row.title,
            "for": {"reference": f"Patient/{refs.patients[row.patient_id]}"},
        }

    source = TaskSource("Task", WorkTask, keys, load, read_one, to_fhir)
    register_task_source(source)
    with pytest.raises(ValueError, match="already a source of Tasks"):
        register_task_source(source)
    yield row
    TASK_SOURCES.remove(source)


def test_a_second_table_of_tasks_joins_search_read_everything_and_export(
    api: Api, world: World, plans: Plans, work_tasks: WorkTask, session: Session, tmp_path: Path
) -> None:
    cara = world.tokens["cara"]
    steps = [s.uuid for s in (plans.benefits, plans.walk, plans.check, plans.teach)]
    everything = ok(api, f"Task?patient={world.amy.uuid}", cara)
    assert ids(everything) == [work_tasks.uuid, *steps]  # newest first across both tables
    assert everything["total"] == 5
    paged = [ids(ok(api, f"Task?patient={world.amy.uuid}&_count=2&_offset={n}", cara)) for n in (0, 2, 4)]
    assert paged == [[work_tasks.uuid, steps[0]], steps[1:3], steps[3:]]
    requested = ok(api, f"Task?patient={world.amy.uuid}&status=requested,in-progress", cara)
    assert ids(requested) == [work_tasks.uuid, plans.walk.uuid]
    assert ok(api, f"Task?patient={world.amy.uuid}&code=education", cara)["total"] == 1
    assert ok(api, f"Task/{work_tasks.uuid}", cara)["description"] == "Call Amy after discharge"
    outcome(api.get(f"Task/{work_tasks.uuid}", world.tokens["outsider"]), 404)
    whole = ok(api, f"Patient/{world.amy.uuid}/$everything", cara)
    assert [e["resource"]["id"] for e in whole["entry"] if e["resource"]["resourceType"] == "Task"] == [
        work_tasks.uuid,
        *steps,
    ]
    result = export_bulk(
        session=session, actor=Actor.operator(world.org.id), directory=tmp_path / "bulk", types=["Task"]
    )
    assert result.counts == {"Task": 6}
