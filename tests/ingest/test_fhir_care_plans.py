"""Importing CarePlan, Goal and Task (SQLite and PostgreSQL): every reference resolved whichever comes
first, idempotent re-import, a changed plan keeping the problems its goals point at, statuses outside our
sets mapped or refused with the reason, never half-written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.careplans.models import CarePlan, Goal, GoalNote, Intervention, PlanProblem
from carenav.ingest.fhir.driver import ImportLimits, fhir_import
from carenav.ingest.fhir.summary import ImportSummary
from carenav.patients.models import CareTeamMember, Condition, Patient
from tests.builders import make_org

LIMITS = ImportLimits(max_file_bytes=1 << 24, max_line_bytes=1 << 24)
SNOMED = "http://snomed.info/sct"


def patient(pid: str = "p1") -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "name": [{"family": "Shaw", "given": ["Amy"]}]}


def condition(cid: str, code: str, pid: str = "p1") -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": cid,
        "subject": {"reference": f"Patient/{pid}"},
        "code": {"coding": [{"system": SNOMED, "code": code, "display": f"Condition {code}"}]},
    }


def goal(gid: str, pid: str = "p1", **more: Any) -> dict[str, Any]:
    return {
        "resourceType": "Goal",
        "id": gid,
        "lifecycleStatus": "active",
        "description": {"text": f"Goal {gid}"},
        "subject": {"reference": f"Patient/{pid}"},
        **more,
    }


def care_plan(pid: str = "p1", **more: Any) -> dict[str, Any]:
    return {
        "resourceType": "CarePlan",
        "id": "plan",
        "status": "active",
        "intent": "order",
        "category": [
            {"coding": [{"system": SNOMED, "code": "698360004"}], "text": "Diabetes self management plan"}
        ],
        "subject": {"reference": f"Patient/{pid}"},
        "period": {"start": "2024-01-05T10:00:00+00:00"},
        "author": {"reference": "Practitioner/doc"},
        "addresses": [
            {"reference": "Condition/c1"},
            {"reference": "Condition/c2", "display": "High blood pressure"},
        ],
        "goal": [{"reference": "Goal/g1"}, {"reference": "Goal/g2"}],
        "activity": [
            {"reference": {"reference": "Task/t1"}},
            {
                "detail": {
                    "code": {"coding": [{"system": SNOMED, "code": "160670007", "display": "Diabetic diet"}]},
                    "status": "not-started",
                    "goal": [{"reference": "Goal/g1"}],
                    "performer": [{"reference": "Patient/p1"}],
                    "scheduledPeriod": {"start": "2024-01-05", "end": "2024-03-01"},
                }
            },
        ],
        **more,
    }


def record(extra: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """A patient with two conditions, a doctor and a daughter on the care team, a plan listing two goals
    and a task, a second task naming the plan itself. Goals and tasks come before the plan."""
    return [
        patient(),
        {"resourceType": "Practitioner", "id": "doc", "name": [{"text": "Dr Ann Adams"}]},
        {
            "resourceType": "RelatedPerson",
            "id": "beth",
            "patient": {"reference": "Patient/p1"},
            "name": [{"text": "Beth Shaw"}],
        },
        condition("c1", "44054006"),
        condition("c2", "38341003"),
        {
            "resourceType": "CareTeam",
            "id": "team",
            "subject": {"reference": "Patient/p1"},
            "participant": [
                {"role": [{"text": "primary care"}], "member": {"reference": "Practitioner/doc"}},
                {"role": [{"text": "caregiver"}], "member": {"reference": "RelatedPerson/beth"}},
                {"role": [{"text": "patient"}], "member": {"reference": "Patient/p1"}},
            ],
        },
        goal(
            "g1",
            addresses=[{"reference": "Condition/c1"}],
            achievementStatus={
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/goal-achievement", "code": "improving"}
                ]
            },
            target=[
                {
                    "measure": {
                        "coding": [{"system": "http://loinc.org", "code": "4548-4", "display": "HbA1c"}]
                    },
                    "detailQuantity": {
                        "value": 7.0,
                        "comparator": "<",
                        "unit": "%",
                        "system": "http://unitsofmeasure.org",
                        "code": "%",
                    },
                    "dueDate": "2024-06-30",
                }
            ],
            note=[{"text": "Started metformin", "time": "2024-01-05T10:00:00Z", "authorString": "Dr Adams"}],
            expressedBy={"reference": "Patient/p1"},
        ),
        goal("g2", lifecycleStatus="entered-in-error"),
        {
            "resourceType": "Task",
            "id": "t1",
            "status": "in-progress",
            "intent": "plan",
            "description": "Check HbA1c every 3 months",
            "for": {"reference": "Patient/p1"},
            "owner": {"reference": "Practitioner/doc"},
            "input": [{"type": {"text": "Goal"}, "valueReference": {"reference": "Goal/g2"}}],
            "restriction": {"period": {"end": "2024-04-01T09:00:00+10:00"}},
        },
        {
            "resourceType": "Task",
            "id": "t2",
            "status": "requested",
            "intent": "order",
            "code": {"text": "Refer to the food bank"},
            "for": {"reference": "Patient/p1"},
            "focus": {"reference": "CarePlan/plan"},
            "owner": {"reference": "Organization/acme", "display": "Acme Food Bank"},
            "reasonReference": {"reference": "Goal/g1"},
        },
        *(extra or []),
        care_plan(),
    ]


def bundle(tmp_path: Path, name: str, resources: list[dict[str, Any]]) -> Path:
    path = tmp_path / name
    path.write_text(
        json.dumps(
            {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}
        )
    )
    return path


@pytest.fixture
def actor(session: Session) -> Actor:
    return Actor.operator(make_org(session).id, "tests")


def run(session: Session, actor: Actor, *paths: Path) -> ImportSummary:
    summary = fhir_import(session=session, actor=actor, paths=list(paths), limits=LIMITS)
    session.flush()
    session.expire_all()
    return summary


def counts(summary: ImportSummary, status: str) -> dict[str, int]:
    return {
        t: c[status] for t, c in summary.counts.items() if t in ("CarePlan", "Goal", "Task") and c[status]
    }


def one(session: Session, actor: Actor, model: Any, source_id: str) -> Any:
    return session.scalars(
        select(model).where(model.org_id == actor.org_id, model.source_id == source_id)
    ).one()


def test_a_bundle_links_plan_goals_steps_problems_and_owners(
    session: Session, actor: Actor, tmp_path: Path
) -> None:
    summary = run(session, actor, bundle(tmp_path, "record.json", record()))
    assert summary.problems == []
    assert counts(summary, "created") == {"CarePlan": 1, "Goal": 2, "Task": 2}
    plan = one(session, actor, CarePlan, "plan")
    assert (plan.title, plan.status, plan.intent, plan.author) == (
        "Diabetes self management plan",
        "active",
        "order",
        "Dr Ann Adams",  # the practitioner's name, the reference giving no display
    )
    assert plan.author_practitioner_id is not None
    assert str(plan.period_start) == "2024-01-05"
    c1, c2 = (one(session, actor, Condition, c) for c in ("c1", "c2"))
    assert [(p.text, p.condition_id) for p in plan.problems] == [
        ("Condition 44054006", c1.id),
        ("High blood pressure", c2.id),
    ]
    g1, g2 = one(session, actor, Goal, "g1"), one(session, actor, Goal, "g2")
    assert g1.plan_id == g2.plan_id == plan.id  # claimed: the goals came before the plan
    assert g1.problem_id == plan.problems[0].id  # the problem that is its condition
    assert (g1.lifecycle, g1.achievement, g1.patient_stated, g2.lifecycle) == (
        "active",
        "improving",
        True,
        "entered-in-error",
    )
    assert (g1.measure_code, g1.target_kind, g1.target_comparator, g1.target_value, g1.target_unit) == (
        "4548-4",
        "quantity",
        "<",
        "7.0",
        "%",
    )
    assert str(g1.due_on) == "2024-06-30"
    assert [(n.text, n.author) for n in g1.notes] == [("Started metformin", "Dr Adams")]
    team = {
        m.name: m
        for m in session.scalars(select(CareTeamMember).where(CareTeamMember.org_id == actor.org_id))
    }
    assert team["Amy Shaw"].is_patient
    t1, t2 = one(session, actor, Intervention, "t1"), one(session, actor, Intervention, "t2")
    assert (t1.plan_id, t1.owner_member_id, t1.owner_name) == (
        plan.id,
        team["Dr Ann Adams"].id,
        "Dr Ann Adams",
    )
    assert [g.id for g in t1.goals] == [g2.id]
    assert str(t1.due_on) == "2024-04-01"  # the date as written
    assert (t1.status, t1.kind) == ("in-progress", "monitoring")
    assert (t2.plan_id, t2.owner_member_id, t2.owner_name, t2.intent) == (
        plan.id,
        None,
        "Acme Food Bank",
        "order",
    )
    assert (t2.text, t2.kind, [g.id for g in t2.goals]) == ("Refer to the food bank", "referral", [g1.id])
    inline = one(session, actor, Intervention, "plan/activity/1")
    assert (inline.plan_id, inline.status, inline.kind, inline.text) == (
        plan.id,
        "ready",
        "self-management",
        "Diabetic diet",
    )
    assert (inline.owner_role, str(inline.due_on), [g.id for g in inline.goals]) == (
        "patient",
        "2024-03-01",
        [g1.id],
    )


def test_reimport_changes_nothing_and_a_changed_plan_keeps_the_problems_goals_point_at(
    session: Session, actor: Actor, tmp_path: Path
) -> None:
    path = bundle(tmp_path, "record.json", record())
    run(session, actor, path)
    plan = one(session, actor, CarePlan, "plan")
    problems = [(p.id, p.uuid) for p in plan.problems]
    again = run(session, actor, path)
    assert counts(again, "unchanged") == {"CarePlan": 1, "Goal": 2, "Task": 2}
    assert counts(again, "created") == counts(again, "updated") == {}

    changed = record()
    changed[-1] = care_plan(status="completed", addresses=[{"reference": "Condition/c1"}])
    third = run(session, actor, bundle(tmp_path, "changed.json", changed))
    assert counts(third, "updated") == {"CarePlan": 1}
    plan = one(session, actor, CarePlan, "plan")
    assert plan.status == "completed"
    assert [(p.id, p.uuid) for p in plan.problems] == problems[:1]  # kept as it was; the other one gone
    assert one(session, actor, Goal, "g1").problem_id == problems[0][0]
    assert session.scalar(select(PlanProblem).where(PlanProblem.id == problems[1][0])) is None


def test_ndjson_reads_plans_first_so_goals_and_tasks_know_their_plan(
    session: Session, actor: Actor, tmp_path: Path
) -> None:
    folder = tmp_path / "bulk"
    folder.mkdir()
    by_type: dict[str, list[dict[str, Any]]] = {}
    for resource in record():
        by_type.setdefault(resource["resourceType"], []).append(resource)
    for resource_type, resources in by_type.items():
        (folder / f"{resource_type}.ndjson").write_text("\n".join(json.dumps(r) for r in resources) + "\n")
    summary = run(session, actor, folder)
    assert summary.problems == []
    plan = one(session, actor, CarePlan, "plan")
    g1 = one(session, actor, Goal, "g1")
    assert (g1.plan_id, g1.problem_id) == (plan.id, plan.problems[0].id)
    assert one(session, actor, Intervention, "t1").plan_id == plan.id


def test_a_goal_imported_before_its_plan_is_claimed_and_keeps_its_plan_when_reimported_alone(
    session: Session, actor: Actor, tmp_path: Path
) -> None:
    first = run(session, actor, bundle(tmp_path, "goal.json", [patient(), goal("g9")]))
    assert first.problems == []
    assert one(session, actor, Goal, "g9").plan_id is None
    run(
        session,
        actor,
        bundle(
            tmp_path, "plan.json", [care_plan(goal=[{"reference": "Goal/g9"}], activity=[], addresses=[])]
        ),
    )
    plan = one(session, actor, CarePlan, "plan")
    assert one(session, actor, Goal, "g9").plan_id == plan.id
    changed = run(session, actor, bundle(tmp_path, "goal2.json", [goal("g9", lifecycleStatus="completed")]))
    assert counts(changed, "updated") == {"Goal": 1}
    reread = one(session, actor, Goal, "g9")
    assert (reread.lifecycle, reread.plan_id) == ("completed", plan.id)


def test_no_goal_or_task_joins_a_plan_of_another_patient(
    session: Session, actor: Actor, tmp_path: Path
) -> None:
    """The plan lists p2's goal and task; p2's other task names the plan itself; a Goal read after the plan
    in the run: none of them joins p1's plan. p1's own goal, read after it, does."""

    def task(tid: str, **more: Any) -> dict[str, Any]:
        return {
            "resourceType": "Task",
            "id": tid,
            "status": "ready",
            "intent": "plan",
            "description": "x",
            "for": {"reference": "Patient/p2"},
            **more,
        }

    listing = care_plan(
        addresses=[],
        goal=[{"reference": "Goal/g1"}, {"reference": "Goal/g3"}, {"reference": "Goal/g4"}],
        activity=[{"reference": {"reference": "Task/t1"}}, {"reference": {"reference": "Task/t3"}}],
    )
    summary = run(
        session,
        actor,
        bundle(tmp_path, "a-other.json", [patient("p2"), goal("g1", pid="p2"), task("t1")]),
        bundle(tmp_path, "b-plan.json", [patient(), listing]),
        bundle(
            tmp_path,
            "c-later.json",
            [
                goal("g3", pid="p2"),
                goal("g4"),
                task("t2", basedOn=[{"reference": "CarePlan/plan"}]),
                task("t3"),
            ],
        ),
    )
    assert summary.problems == []
    plan = one(session, actor, CarePlan, "plan")
    for model, source_id in (
        (Goal, "g1"),
        (Intervention, "t1"),
        (Intervention, "t2"),
        (Goal, "g3"),
        (Intervention, "t3"),
    ):
        assert one(session, actor, model, source_id).plan_id is None, source_id
    assert one(session, actor, Goal, "g4").plan_id == plan.id


def test_contained_goals_and_conditions_become_the_plans_goals_and_problems_in_words(
    session: Session, actor: Actor, tmp_path: Path
) -> None:
    plan = care_plan(
        contained=[
            {
                "resourceType": "Condition",
                "id": "p1",
                "code": {"text": "Obesity"},
                "subject": {"reference": "Patient/p1"},
            },
            goal("g", description={"text": "Lose 5 kg"}),
        ],
        addresses=[{"reference": "#p1"}],
        goal=[{"reference": "#g"}],
        activity=[
            {
                "detail": {
                    "description": "Weigh weekly",
                    "status": "in-progress",
                    "goal": [{"reference": "#g"}],
                }
            }
        ],
    )
    summary = run(session, actor, bundle(tmp_path, "plan.json", [patient(), plan]))
    assert summary.problems == []
    row = one(session, actor, CarePlan, "plan")
    assert [(p.text, p.condition_id) for p in row.problems] == [("Obesity", None)]
    contained = one(session, actor, Goal, "plan#g")
    assert (contained.plan_id, contained.description) == (row.id, "Lose 5 kg")
    step = one(session, actor, Intervention, "plan/activity/0")
    assert (step.text, step.kind, [g.id for g in step.goals]) == (
        "Weigh weekly",
        "monitoring",
        [contained.id],
    )


@pytest.mark.parametrize(
    ("resource", "reason"),
    [
        (
            care_plan(status="unknown"),
            "status 'unknown' is not imported: a care plan's status must be one of",
        ),
        (care_plan(status="cancelled"), "status 'cancelled' is not a CarePlan status"),
        (care_plan(intent="directive"), "intent 'directive' is not one of"),
        (
            care_plan(activity=[{"detail": {"status": "unknown", "description": "x"}}]),
            "activity[0].detail.status 'unknown' cannot be kept",
        ),
        (
            care_plan(activity=[{"detail": {"status": "completed"}}]),
            "activity[0].detail has neither a code with words",
        ),
        (
            care_plan(contained=[goal("g", lifecycleStatus="done")], goal=[{"reference": "#g"}]),
            "contained Goal #g: lifecycleStatus 'done' is not one of",
        ),
        (
            care_plan(addresses=[{"reference": "Observation/o1"}]),
            "addresses[0] references a Observation, not a Condition",
        ),
        (
            care_plan(period={"start": "2024-02-01", "end": "2024-01-01"}),
            "period ends (2024-01-01) before it starts",
        ),
        (goal("g", lifecycleStatus="done"), "lifecycleStatus 'done' is not one of"),
        (goal("g", description={}), "description has neither text nor a coding with a display"),
        (
            goal(
                "g",
                achievementStatus={
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/goal-achievement", "code": "great"}
                    ]
                },
            ),
            "achievementStatus.coding[0].code 'great' is not one of",
        ),
        (
            goal(
                "g",
                target=[
                    {
                        "measure": {"text": "weight"},
                        "detailRange": {"low": {"value": 9}, "high": {"value": 3}},
                    }
                ],
            ),
            "target[0].detailRange: the range's low 9 is above its high 3",
        ),
        (
            goal(
                "g",
                target=[{"measure": {"text": "weight"}, "detailQuantity": {"value": 3, "comparator": "ad"}}],
            ),
            "target[0].detailQuantity: comparator 'ad' is not one of",
        ),
        (
            goal("g", note=[{"text": "no date anywhere"}]),
            "note[0] has no time, and the goal no statusDate or startDate",
        ),
        (
            {"resourceType": "Task", "id": "t", "status": "ready", "intent": "plan", "description": "x"},
            "for is missing: it must reference the Patient",
        ),
        (
            {
                "resourceType": "Task",
                "id": "t",
                "status": "done",
                "description": "x",
                "for": {"reference": "Patient/p1"},
            },
            "status 'done' is not a Task status",
        ),
        (
            {"resourceType": "Task", "id": "t", "status": "ready", "for": {"reference": "Patient/p1"}},
            "has neither a description nor a code with text",
        ),
    ],
)
def test_what_cannot_be_kept_is_refused_with_its_reason_and_nothing_of_it_is_written(
    session: Session, actor: Actor, tmp_path: Path, resource: dict[str, Any], reason: str
) -> None:
    summary = run(
        session, actor, bundle(tmp_path, "bad.json", [patient(), condition("c1", "44054006"), resource])
    )
    (problem,) = summary.problems
    assert problem.resource_type == resource["resourceType"]
    assert problem.entry == 2
    assert problem.reason.startswith(reason), problem.reason
    assert (
        session.scalar(select(Patient.id).where(Patient.org_id == actor.org_id)) is not None
    )  # the rest went in
    for model in (CarePlan, Goal, Intervention):
        assert session.scalars(select(model).where(model.org_id == actor.org_id)).all() == []
    assert session.scalars(select(GoalNote)).all() == []


def test_entered_in_error_plans_are_revoked_goals_keep_it_and_stopped_activities_are_cancelled(
    session: Session, actor: Actor, tmp_path: Path
) -> None:
    plan = care_plan(
        status="entered-in-error",
        goal=[],
        addresses=[],
        activity=[{"detail": {"description": "Swim", "status": "stopped"}}],
    )
    summary = run(
        session,
        actor,
        bundle(tmp_path, "plan.json", [patient(), plan, goal("g", lifecycleStatus="entered-in-error")]),
    )
    assert summary.problems == []
    row = one(session, actor, CarePlan, "plan")
    assert (row.status, row.status_reason) == ("revoked", "entered in error at the source")
    assert one(session, actor, Goal, "g").lifecycle == "entered-in-error"
    step = one(session, actor, Intervention, "plan/activity/0")
    assert (step.status, step.status_reason) == (
        "cancelled",
        "stopped before it was done (CarePlan activity status 'stopped')",
    )
