"""The CarePlan, Goal and Task mappers on fully populated rows, without a database: every element we
write, and everything valid R4 (checked with the R4B models, docs/fhir.md)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from carenav.careplans.models import Barrier, CarePlan, Goal, GoalNote, Intervention, PlanProblem
from carenav.fhir.mappers.care_plan import care_plan_resource
from carenav.fhir.mappers.common import ProblemRef, Refs
from carenav.fhir.mappers.goal import goal_resource, json_number
from carenav.fhir.mappers.task import task_resource
from tests.fhir.validation import assert_valid

MADE = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
CHANGED = datetime(2026, 3, 9, 9, 30, tzinfo=UTC)
REFS = Refs(
    patients={1: "pat-1"},
    conditions={30: "cond-30"},
    practitioners={40: "prac-40"},
    related_persons={41: "rel-41"},
    plans={10: "plan-10"},
    problems={20: ProblemRef("Type 2 diabetes", "cond-30"), 21: ProblemRef("Lives alone")},
    members={50: ("RelatedPerson", "rel-41"), 51: ("Practitioner", "prac-40")},
    care_teams={1},
)


def goal(**values: Any) -> Goal:
    base: dict[str, Any] = {
        "id": 11,
        "uuid": "goal-11",
        "patient_id": 1,
        "plan_id": 10,
        "problem_id": 20,
        "description": "HbA1c under 7%",
        "patient_stated": False,
        "priority": "high-priority",
        "lifecycle": "active",
        "achievement": "improving",
        "status_reason": "agreed at the visit",
        "status_date": date(2026, 3, 9),
        "measure_system": "http://loinc.org",
        "measure_code": "4548-4",
        "measure_display": "Hemoglobin A1c",
        "target_kind": "quantity",
        "target_comparator": "<",
        "target_value": "7.0",
        "target_unit": "%",
        "start_on": date(2026, 3, 2),
        "due_on": date(2026, 9, 2),
        "created_at": MADE,
        "updated_at": CHANGED,
        "notes": [GoalNote(at=CHANGED, author="Casey Cm", text="Down from 7.9", achievement="improving")],
    }
    return Goal(**(base | values))


def intervention(**values: Any) -> Intervention:
    base: dict[str, Any] = {
        "id": 12,
        "uuid": "task-12",
        "patient_id": 1,
        "plan_id": 10,
        "kind": "education",
        "text": "Teach-back on insulin with Beth",
        "owner_role": "caregiver",
        "owner_member_id": 50,
        "owner_name": "Beth Shaw",
        "due_on": date(2026, 4, 1),
        "status": "on-hold",
        "intent": "plan",
        "status_reason": "Beth is away until April",
        "status_at": CHANGED,
        "created_at": MADE,
        "updated_at": CHANGED,
        "goals": [goal(), goal(id=13, uuid="goal-13", description="Dance at the wedding")],
    }
    return Intervention(**(base | values))


def plan() -> CarePlan:
    return CarePlan(
        id=10,
        uuid="plan-10",
        patient_id=1,
        title="Diabetes & <home> plan",
        status="active",
        intent="plan",
        status_reason=None,
        description="What we agreed on",
        period_start=date(2026, 3, 2),
        period_end=date(2027, 3, 2),
        author="Casey Cm",
        author_practitioner_id=None,
        author_related_person_id=None,
        created_at=MADE,
        updated_at=CHANGED,
        problems=[
            PlanProblem(id=20, text="Type 2 diabetes", condition_id=30, status="active"),
            PlanProblem(id=21, text="Lives alone", status="resolved"),
        ],
        goals=[goal(), goal(id=13, uuid="goal-13", description="Dance at the wedding", problem_id=None)],
        interventions=[intervention()],
        barriers=[Barrier(kind="transportation", text="No car", mitigation="Ride service")],
    )


def test_care_plan_says_everything_about_the_plan() -> None:
    resource = care_plan_resource(plan(), REFS)
    assert_valid(resource)
    assert resource["status"] == "active"
    assert resource["intent"] == "plan"
    assert resource["category"][0]["coding"] == [
        {
            "system": "http://hl7.org/fhir/us/core/CodeSystem/careplan-category",
            "code": "assess-plan",
            "display": "Assessment and Plan of Treatment",
        }
    ]
    assert resource["title"] == "Diabetes & <home> plan"
    assert resource["description"] == "What we agreed on"
    assert resource["subject"] == {"reference": "Patient/pat-1"}
    assert resource["period"] == {"start": "2026-03-02", "end": "2027-03-02"}
    assert resource["author"] == {"display": "Casey Cm"}
    assert resource["careTeam"] == [{"reference": "CareTeam/pat-1"}]
    assert resource["addresses"] == [
        {"reference": "Condition/cond-30", "display": "Type 2 diabetes"},
        {"display": "Lives alone"},
    ]
    assert [g["reference"] for g in resource["goal"]] == ["Goal/goal-11", "Goal/goal-13"]
    assert resource["activity"] == [
        {"reference": {"reference": "Task/task-12", "display": "Teach-back on insulin with Beth"}}
    ]
    assert resource["meta"] == {"lastUpdated": "2026-03-09T09:30:00Z"}
    text = resource["text"]
    assert text["status"] == "generated"
    assert text["div"].startswith('<div xmlns="http://www.w3.org/1999/xhtml">')
    for shown in ("Diabetes &amp; &lt;home&gt; plan", "Lives alone (resolved)", "HbA1c under 7% (active)"):
        assert shown in text["div"]
    assert "No car (mitigation: Ride service)" in text["div"]


def test_an_imported_plans_author_is_its_practitioner_and_a_patient_without_a_team_has_none() -> None:
    row = plan()
    row.author, row.author_practitioner_id = "Dr Adam Careful", 40
    resource = care_plan_resource(row, Refs(patients={1: "pat-1"}, practitioners={40: "prac-40"}))
    assert_valid(resource)
    assert resource["author"] == {"reference": "Practitioner/prac-40", "display": "Dr Adam Careful"}
    assert "careTeam" not in resource
    row.author_practitioner_id, row.author_related_person_id = None, 41
    assert care_plan_resource(row, REFS)["author"] == {
        "reference": "RelatedPerson/rel-41",
        "display": "Dr Adam Careful",
    }


def test_goal_keeps_lifecycle_and_achievement_apart_with_target_and_notes() -> None:
    resource = goal_resource(goal(patient_stated=True), REFS)
    assert_valid(resource)
    assert resource["lifecycleStatus"] == "active"
    assert resource["achievementStatus"] == {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/goal-achievement",
                "code": "improving",
                "display": "Improving",
            }
        ],
        "text": "Improving",
    }
    assert resource["priority"]["coding"][0] == {
        "system": "http://terminology.hl7.org/CodeSystem/goal-priority",
        "code": "high-priority",
        "display": "High Priority",
    }
    assert resource["description"] == {"text": "HbA1c under 7%"}
    assert resource["subject"] == resource["expressedBy"] == {"reference": "Patient/pat-1"}
    assert resource["startDate"] == "2026-03-02"
    assert resource["target"] == [
        {
            "measure": {
                "coding": [{"system": "http://loinc.org", "code": "4548-4", "display": "Hemoglobin A1c"}],
                "text": "Hemoglobin A1c",
            },
            "detailQuantity": {
                "value": 7.0,
                "comparator": "<",
                "unit": "%",
                "system": "http://unitsofmeasure.org",
                "code": "%",
            },
            "dueDate": "2026-09-02",
        }
    ]
    assert resource["statusDate"] == "2026-03-09"
    assert resource["statusReason"] == "agreed at the visit"
    assert resource["addresses"] == [{"reference": "Condition/cond-30", "display": "Type 2 diabetes"}]
    assert resource["note"] == [
        {"authorString": "Casey Cm", "time": "2026-03-09T09:30:00Z", "text": "Down from 7.9"}
    ]


@pytest.mark.parametrize(
    ("values", "target"),
    [
        (
            {"target_kind": "range", "target_low": "7", "target_high": "8.5", "target_comparator": None},
            {
                "detailRange": {
                    "low": {"value": 7, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"},
                    "high": {"value": 8.5, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"},
                }
            },
        ),
        (
            {"target_kind": "quantity", "target_comparator": "=", "target_value": "150", "target_unit": None},
            {"detailQuantity": {"value": 150}},
        ),
        (
            {"target_kind": "text", "target_text": "Walks to the mailbox", "target_unit": None},
            {"detailString": "Walks to the mailbox"},
        ),
    ],
)
def test_goal_targets_range_plain_quantity_and_words(values: dict[str, Any], target: dict[str, Any]) -> None:
    resource = goal_resource(goal(**values), REFS)
    assert_valid(resource)
    (made,) = resource["target"]
    assert {k: v for k, v in made.items() if k.startswith("detail")} == target


def test_a_target_without_a_measure_takes_the_goals_words_as_its_measure() -> None:
    """FHIR's invariant gol-1 wants a measure beside any detail; the import reads this back as none."""
    row = goal(
        measure_system=None,
        measure_code=None,
        measure_display=None,
        target_kind="text",
        target_text="No admission in 90 days",
        due_on=None,
        problem_id=21,
        achievement=None,
        priority=None,
        notes=[],
    )
    resource = goal_resource(row, REFS)
    assert_valid(resource)
    assert resource["target"] == [
        {"measure": {"text": "HbA1c under 7%"}, "detailString": "No admission in 90 days"}
    ]
    assert resource["addresses"] == [{"display": "Lives alone"}]  # a problem in words
    for absent in ("achievementStatus", "priority", "note", "expressedBy"):
        assert absent not in resource
    bare = goal_resource(
        goal(target_kind=None, measure_code=None, measure_display=None, measure_system=None, due_on=None),
        REFS,
    )
    assert "target" not in bare


def test_task_is_the_step_with_its_owner_due_date_and_goals() -> None:
    resource = task_resource(intervention(), REFS)
    assert_valid(resource)
    assert resource["status"] == "on-hold"
    assert resource["statusReason"] == {"text": "Beth is away until April"}
    assert resource["intent"] == "plan"
    assert resource["code"]["coding"] == [
        {
            "system": "https://carenav.org/fhir/CodeSystem/intervention-kind",
            "code": "education",
            "display": "Education",
        }
    ]
    assert resource["description"] == "Teach-back on insulin with Beth"
    assert resource["for"] == {"reference": "Patient/pat-1"}
    assert resource["basedOn"] == [{"reference": "CarePlan/plan-10"}]
    assert resource["owner"] == {"reference": "RelatedPerson/rel-41", "display": "Beth Shaw"}
    assert resource["performerType"][0]["coding"][0]["code"] == "caregiver"
    assert resource["restriction"] == {"period": {"end": "2026-04-01"}}
    assert resource["authoredOn"] == "2026-03-02T14:00:00Z"
    assert resource["lastModified"] == "2026-03-09T09:30:00Z"
    assert [i["valueReference"]["reference"] for i in resource["input"]] == ["Goal/goal-11", "Goal/goal-13"]
    assert {i["type"]["coding"][0]["code"] for i in resource["input"]} == {"goal"}


@pytest.mark.parametrize(
    ("values", "owner", "performer"),
    [
        (
            {"owner_member_id": 51, "owner_role": "primary_care", "owner_name": "Dr. Ann Adams"},
            {"reference": "Practitioner/prac-40", "display": "Dr. Ann Adams"},
            "primary_care",
        ),
        (
            {"owner_member_id": None, "owner_role": "patient", "owner_name": "Amy Shaw"},
            {"reference": "Patient/pat-1", "display": "Amy Shaw"},
            None,
        ),
        ({"owner_member_id": None, "owner_role": "social_worker", "owner_name": None}, None, "social_worker"),
        (
            {"owner_member_id": None, "owner_role": None, "owner_name": "Acme Lab"},
            {"display": "Acme Lab"},
            None,
        ),
    ],
)
def test_task_owner_is_a_reference_when_carenav_knows_who(
    values: dict[str, Any], owner: dict[str, Any] | None, performer: str | None
) -> None:
    resource = task_resource(intervention(**values, goals=[], due_on=None, status_reason=None), REFS)
    assert_valid(resource)
    assert resource.get("owner") == owner
    assert [c["coding"][0]["code"] for c in resource.get("performerType", [])] == (
        [performer] if performer else []
    )
    for absent in ("input", "restriction", "statusReason"):
        assert absent not in resource


def test_a_task_outside_a_plan_is_based_on_nothing_and_last_modified_is_never_before_authored() -> None:
    resource = task_resource(intervention(plan_id=None, updated_at=datetime(2026, 1, 1, tzinfo=UTC)), REFS)
    assert_valid(resource)
    assert "basedOn" not in resource
    assert resource["lastModified"] == resource["authoredOn"] == "2026-03-02T14:00:00Z"


def test_decimals_come_out_as_written() -> None:
    assert [json_number(t) for t in ("7", "7.0", "0.5", "1e2")] == [7, 7.0, 0.5, 100.0]
    assert isinstance(json_number("7"), int)
    assert isinstance(json_number("7.0"), float)
