"""Round trips of care plans (SQLite and PostgreSQL).

- The HL7 CarePlan, Goal, CareTeam and Task examples (R4 core and US Core) are imported, with the
  Patients, Practitioners, RelatedPerson and Conditions they reference, then exported. Each example's
  elements are compared with what the export says, references resolved to the exported ids and an inline
  activity read back from the Task it became: what differs must be exactly what docs/fhir.md lists for
  that example under "What the HL7 examples lose".
- carenav's own export of a care plan, imported into another organization and exported again, comes
  back the same (ids aside).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.fhir.export import export_bulk
from carenav.ingest.fhir.care_plan_vocabulary import ACTIVITY_STATUS
from carenav.ingest.fhir.driver import ImportLimits, fhir_import
from carenav.patients.identity import record_uuid
from tests.builders import make_org
from tests.fhir.test_care_plans import Plans, plans
from tests.fhir.validation import assert_valid
from tests.fhir.world import World

__all__ = ["plans"]

DOCS = Path(__file__).resolve().parents[2] / "docs" / "fhir.md"
LIMITS = ImportLimits(max_file_bytes=1 << 24, max_line_bytes=1 << 24)
SNOMED = "http://snomed.info/sct"
# the example files, by folder, and the patient each one's record belongs to
EXAMPLES = {
    "r4-core": {
        "CarePlan-example.json": "example",
        "CarePlan-f201.json": "f201",
        "CarePlan-integrate.json": "1",
        "CareTeam-example.json": "example",
        "Goal-example.json": "example",
        "Goal-stop-smoking.json": "example",
        "Task-example1.json": "example",
        "Task-example2.json": "example",
        "Task-example6.json": "example",
    },
    "us-core": {
        "careplan-ulcer-example.json": "example",
        "careteam-example.json": "example",
        "goal-1.json": "example",
        "goal-sdoh-2.json": "example",
    },
}
IGNORED = ("resourceType", "id", "meta", "text", "contained")  # ids, meta and narrative are carenav's own
STATUS_BACK = {ours.value: theirs for theirs, (ours, _) in reversed(ACTIVITY_STATUS.items())}


def patient(pid: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "name": [{"family": f"Patient {pid}"}]}


def condition(cid: str, pid: str) -> dict[str, Any]:
    code = {"coding": [{"system": SNOMED, "code": "90688005", "display": "Chronic renal failure"}]}
    return {"resourceType": "Condition", "id": cid, "subject": {"reference": f"Patient/{pid}"}, "code": code}


def practitioner(pid: str, name: str) -> dict[str, Any]:
    return {"resourceType": "Practitioner", "id": pid, "name": [{"text": name}]}


def referenced(folder: Path) -> dict[str, list[dict[str, Any]]]:
    """What the examples reference that their folders do not hold (us-core holds its Patient)."""
    return {
        "r4-core": [
            patient("example"),
            patient("f201"),
            patient("1"),
            practitioner("example", "Dr Adam Careful"),
            condition("f204", "f201"),
        ],
        "us-core": [
            json.loads((folder / "us-core" / "patient-example.json").read_text()),
            practitioner("practitioner-1", "Ronald Bone"),
            practitioner("practitioner-2", "Kathy Fielding"),
            {
                "resourceType": "RelatedPerson",
                "id": "shaw-niece",
                "patient": {"reference": "Patient/example"},
                "name": [{"text": "Sarah van Putten"}],
            },
            condition("condition-duodenal-ulcer", "example"),
        ],
    }


def documented_losses() -> dict[str, set[str]]:
    """The table "What the HL7 examples lose" of docs/fhir.md: example file -> element paths."""
    found: dict[str, set[str]] = {}
    for line in DOCS.read_text().splitlines():
        match = re.match(r"^\| `((?:r4-core|us-core)/[^`]+\.json)` \| (.*) \|$", line)
        if match:
            found[match[1]] = set(re.findall(r"`([^`]+)`", match[2]))
    return found


class Exported:
    """An export read back, and the ids the examples' resources got."""

    def __init__(self, directory: Path, org_uuid: str) -> None:
        self.org_uuid = org_uuid
        self.resources: dict[tuple[str, str], dict[str, Any]] = {}
        for path in directory.glob("*.ndjson"):
            for line in path.read_bytes().splitlines():
                resource = orjson.loads(line)
                assert_valid(resource)
                self.resources[(resource["resourceType"], resource["id"])] = resource

    def id_of(self, source: str, resource_type: str, source_id: str) -> str:
        return record_uuid(
            org_uuid=self.org_uuid, source_system=source, resource_type=resource_type, source_id=source_id
        )

    def get(self, resource_type: str, resource_id: str) -> dict[str, Any]:
        return self.resources[(resource_type, resource_id)]


def resolved(value: Any, exported: Exported, source: str, holder: dict[str, Any], team_of: str) -> Any:
    """The example with its references as the export writes them: ``Type/id`` of a resource carenav
    holds becomes ``Type/<its id>``, a contained Goal of a CarePlan the Goal it became, the CareTeam the
    team of its patient; anything else stays as written (and so differs unless carenav kept it)."""
    if isinstance(value, list):
        return [resolved(v, exported, source, holder, team_of) for v in value]
    if not isinstance(value, dict):
        return value
    if not isinstance(value.get("reference"), str):
        return {k: resolved(v, exported, source, holder, team_of) for k, v in value.items()}
    text = value["reference"]
    if text.startswith("#"):
        inner = next((c for c in holder.get("contained", []) if c.get("id") == text[1:]), None)
        if holder["resourceType"] == "CarePlan" and inner is not None and inner["resourceType"] == "Goal":
            return {"reference": f"Goal/{exported.id_of(source, 'Goal', holder['id'] + text)}"}
        return value
    resource_type, _, resource_id = text.partition("/")
    if resource_type == "CareTeam":
        return {"reference": f"CareTeam/{exported.id_of(source, 'Patient', team_of)}"}
    new_id = exported.id_of(source, resource_type, resource_id)
    return (
        {"reference": f"{resource_type}/{new_id}"} if (resource_type, new_id) in exported.resources else value
    )


def inline_activities(
    plan: dict[str, Any], exported: Exported, source: str, source_id: str
) -> dict[str, Any]:
    """The exported plan with each Task an inline activity became read back as that activity's detail."""
    inline = {
        exported.id_of(source, "Task", f"{source_id}/activity/{n}")
        for n in range(len(plan.get("activity", [])))
    }
    activities = []
    for activity in plan.get("activity", []):
        task_id = activity["reference"]["reference"].removeprefix("Task/")
        if task_id not in inline:
            activities.append(activity)
            continue
        task = exported.get("Task", task_id)
        detail: dict[str, Any] = {"status": STATUS_BACK[task["status"]], "description": task["description"]}
        if "statusReason" in task:
            detail["statusReason"] = task["statusReason"]
        if task.get("input"):
            detail["goal"] = [i["valueReference"] for i in task["input"]]
        if "owner" in task:
            detail["performer"] = [task["owner"]]
        if "restriction" in task:
            detail["scheduledPeriod"] = {"end": task["restriction"]["period"]["end"]}
        activities.append({"detail": detail})
    return {**plan, "activity": activities} if activities else plan


def leaves(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    """(element path without indexes, value) of every primitive; a reference is its ``reference`` (its
    display is not compared when the reference is kept)."""
    if isinstance(value, dict):
        if "reference" in value:
            yield f"{path}.reference", value["reference"]
            return
        for key, inner in value.items():
            yield from leaves(inner, f"{path}.{key}")
    elif isinstance(value, list):
        for inner in value:
            yield from leaves(inner, path)
    else:
        yield path, value


def lost(example: dict[str, Any], exported: dict[str, Any]) -> set[str]:
    """The element paths of the example with a value the export does not give back."""
    rtype = example["resourceType"]

    def pairs(resource: dict[str, Any]) -> Counter[tuple[str, Any]]:
        return Counter(
            pair
            for key, value in resource.items()
            if key not in IGNORED
            for pair in leaves(value, f"{rtype}.{key}")
        )

    missing = {path for path, _ in pairs(example) - pairs(exported)}
    contained = example.get("contained", [])
    kept = ("Goal",) if rtype == "CarePlan" else ()
    return missing | {
        f"{rtype}.contained.{c['resourceType']}" for c in contained if c["resourceType"] not in kept
    }


@pytest.fixture
def examples(session: Session, shared_data: Path, tmp_path: Path) -> Exported:
    org = make_org(session)
    actor = Actor.operator(org.id, "roundtrip")
    folder = shared_data / "fhir-examples"
    for source, needed in referenced(folder).items():
        fixtures = tmp_path / f"{source}-referenced.json"
        fixtures.write_text(
            json.dumps(
                {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in needed]}
            )
        )
        files = [fixtures, *(folder / source / name for name in EXAMPLES[source])]
        summary = fhir_import(session=session, actor=actor, paths=files, limits=LIMITS, source_system=source)
        assert summary.problems == [], summary.as_text()
    session.flush()
    export_bulk(session=session, actor=actor, directory=tmp_path / "export")
    return Exported(tmp_path / "export", org.uuid)


def test_the_hl7_examples_come_back_but_for_what_docs_fhir_md_lists(
    examples: Exported, shared_data: Path
) -> None:
    documented = documented_losses()
    assert set(documented) == {f"{source}/{name}" for source, names in EXAMPLES.items() for name in names}
    for source, names in EXAMPLES.items():
        for name, team_of in names.items():
            example = json.loads((shared_data / "fhir-examples" / source / name).read_text())
            rtype = example["resourceType"]
            if rtype == "CareTeam":
                exported = examples.get(rtype, examples.id_of(source, "Patient", team_of))
            else:
                exported = examples.get(rtype, examples.id_of(source, rtype, example["id"]))
            if rtype == "CarePlan":
                exported = inline_activities(exported, examples, source, example["id"])
            expected = resolved(example, examples, source, example, team_of)
            assert lost(expected, exported) == documented[f"{source}/{name}"], f"{source}/{name}"
            for inner in example.get("contained", []):
                if rtype == "CarePlan" and inner["resourceType"] == "Goal":  # came back whole
                    goal = examples.get(
                        "Goal", examples.id_of(source, "Goal", f"{example['id']}#{inner['id']}")
                    )
                    assert lost(resolved(inner, examples, source, example, team_of), goal) == set(), inner[
                        "id"
                    ]


def test_what_matters_of_the_examples_is_kept(examples: Exported) -> None:
    """The meaningful elements, spelt out (the comparison above covers them all)."""
    r4 = "r4-core"
    f201 = examples.get("CarePlan", examples.id_of(r4, "CarePlan", "f201"))
    assert (f201["status"], f201["intent"], f201["period"]) == (
        "draft",
        "proposal",
        {"start": "2013-03-11", "end": "2013-03-13"},
    )
    assert f201["subject"] == {"reference": f"Patient/{examples.id_of(r4, 'Patient', 'f201')}"}
    assert f201["addresses"] == [
        {
            "reference": f"Condition/{examples.id_of(r4, 'Condition', 'f204')}",
            "display": "Roel's renal insufficiency",
        }
    ]
    example = examples.get("CarePlan", examples.id_of(r4, "CarePlan", "example"))
    assert example["goal"][0]["reference"] == f"Goal/{examples.id_of(r4, 'Goal', 'example')}"
    assert example["author"]["reference"] == f"Practitioner/{examples.id_of(r4, 'Practitioner', 'example')}"
    assert (example["title"], example["description"]) == (
        "Weight management plan",
        "Manage obesity and weight loss",
    )
    goal = examples.get("Goal", examples.id_of(r4, "Goal", "example"))
    assert (goal["lifecycleStatus"], goal["statusReason"]) == (
        "on-hold",
        "Patient wants to defer weight loss until after honeymoon.",
    )
    assert goal["target"][0]["detailRange"]["low"]["value"] == 160
    assert goal["target"][0]["dueDate"] == "2016-04-05"
    task = examples.get("Task", examples.id_of(r4, "Task", "example1"))
    assert (task["status"], task["intent"], task["owner"]) == (
        "in-progress",
        "order",
        {"display": "Clinical Laboratory @ Acme Hospital"},
    )
    assert task["restriction"] == {"period": {"end": "2016-11-02"}}
    team = examples.get("CareTeam", examples.id_of("us-core", "Patient", "example"))
    members = [p["member"].get("reference", "").split("/")[0] for p in team["participant"]]
    assert members == ["Practitioner", "Practitioner", "Patient", "RelatedPerson"]


def test_carenavs_own_export_of_a_plan_comes_back(
    world: World, plans: Plans, session: Session, tmp_path: Path
) -> None:
    """Export Amy's and Bob's records, import them into another organization, export again: the care
    plans, goals, tasks and care team are the same, ids aside (and the narrative, which lists the
    barriers and a problem's resolved status that FHIR has no other place for; and Task.authoredOn and
    lastModified, the rows' own times)."""
    first = tmp_path / "first"
    export_bulk(session=session, actor=Actor.operator(world.org.id), directory=first)
    other = make_org(session)
    actor = Actor.operator(other.id, "roundtrip")
    summary = fhir_import(
        session=session, actor=actor, paths=[first], limits=LIMITS, source_system="carenav-a"
    )
    assert summary.problems == [], summary.as_text()
    session.flush()
    second = tmp_path / "second"
    export_bulk(session=session, actor=actor, directory=second)
    before, after = Exported(first, world.org.uuid), Exported(second, other.uuid)

    def renamed(value: Any) -> Any:
        """The first export with each id as the second import made it from the first."""
        text = orjson.dumps(value).decode()
        for (resource_type, resource_id), _ in before.resources.items():
            kind = "Patient" if resource_type == "CareTeam" else resource_type
            text = text.replace(
                resource_id,
                record_uuid(
                    org_uuid=other.uuid, source_system="carenav-a", resource_type=kind, source_id=resource_id
                ),
            )
        return json.loads(text)

    def comparable(resource: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in resource.items() if k not in ("meta", "text", "authoredOn", "lastModified")}

    for resource_type in ("CarePlan", "Goal", "Task", "CareTeam"):
        old = sorted(
            (comparable(renamed(r)) for (t, _), r in before.resources.items() if t == resource_type),
            key=lambda r: r["id"],
        )
        new = sorted(
            (comparable(r) for (t, _), r in after.resources.items() if t == resource_type),
            key=lambda r: r["id"],
        )
        assert old == new, resource_type
        assert len(new) >= 1
