"""Care plan templates as data: every shipped one loads and is sound; those for a condition find it in real
Synthea records; a broken file names the file, the item and what is wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from carenav.careplans.templates import plan_template_get, plan_templates, template_load, templates_for
from carenav.errors import InvalidInput, NotFound
from carenav.patients.rules import ICD10CM, SNOMED

REQUIRED = {
    "heart-failure",
    "type-2-diabetes",
    "copd",
    "hypertension",
    "ckd",
    "depression",
    "dementia-caregiver",
    "post-discharge",
}


NOT_IN_SYNTHEA = {
    "post-discharge": "applied on a transition of care, for no condition",
    "depression": "none of the 40 shared Synthea patients has a depression Condition (only a screening)",
}


def _synthea_condition_codes(shared_data: Path) -> set[tuple[str, str]]:
    codes: set[tuple[str, str]] = set()
    for path in sorted((shared_data / "synthea-r4").glob("*.json")):
        for entry in json.loads(path.read_text(encoding="utf-8")).get("entry", []):
            resource = entry.get("resource", {})
            if resource.get("resourceType") == "Condition":
                codes.update((c.get("system"), c.get("code")) for c in resource["code"].get("coding", []))
    return codes


def test_the_issue_s_templates_ship_and_each_goal_and_step_is_linked() -> None:
    shipped = {t.id for t in plan_templates()}
    assert shipped >= REQUIRED
    for template in plan_templates():
        served = {g for i in template.interventions for g in i.goals}
        assert served <= {g.key for g in template.goals}, template.id
        assert template.interventions, template.id
        for goal in template.goals:
            assert goal.description[0].isupper(), (template.id, goal.key)
            if goal.measure is not None:
                assert goal.target is not None, (template.id, goal.key)


def test_templates_for_a_condition_find_it_in_synthea_records(shared_data: Path) -> None:
    codes = _synthea_condition_codes(shared_data)
    for template in plan_templates():
        if template.id in NOT_IN_SYNTHEA:
            continue
        found = [pair for pair in codes if template.applies_to(*pair)]
        assert found, f"{template.id} applies to no condition of the Synthea patients"
    assert [t.id for t in templates_for([(SNOMED, "88805009")])] == ["heart-failure"]
    assert "heart-failure" in [t.id for t in templates_for([(ICD10CM, "I50.22")])]
    assert templates_for([(SNOMED, "0000")]) == []


def test_an_unknown_template_names_the_shipped_ones() -> None:
    with pytest.raises(NotFound, match="heart-failure"):
        plan_template_get("gout")


GOOD = """
id = "{id}"
title = "Gout"
version = "1"
[applies_to]
snomed = ["90560007"]
[[problem]]
key = "gout"
text = "Gout"
[[goal]]
key = "no-flares"
problem = "gout"
description = "No flares"
{goal_extra}
[[intervention]]
key = "teach"
goals = ["no-flares"]
kind = "education"
text = "Teach"
owner = "care_manager"
{step_extra}
"""


SECOND_TEACH = """
[[intervention]]
key = "teach"
goals = ["no-flares"]
kind = "education"
text = "again"
owner = "care_manager"
"""


@pytest.mark.parametrize(
    ("goal_extra", "step_extra", "message"),
    [
        ('problem2 = "x"\npriority = "urgent"', "", "goal no-flares: priority 'urgent' is not one of"),
        (
            'measure = { system = "http://loinc.org", code = "1-8", display = "x" }',
            "",
            "a measure needs a target",
        ),
        ('target = { kind = "range", low = "9", high = "2" }', "", "the range's low 9 is above its high 2"),
        ("", "due_days = -1", "due_days -1 is not a number of days"),
        (
            "",
            SECOND_TEACH,
            "intervention key 'teach' is used twice",
        ),
    ],
)
def test_a_broken_template_names_the_file_item_and_fault(
    tmp_path: Path, goal_extra: str, step_extra: str, message: str
) -> None:
    path = tmp_path / "gout.toml"
    path.write_text(GOOD.format(id="gout", goal_extra=goal_extra, step_extra=step_extra), encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        template_load(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_a_template_must_be_named_as_its_file(tmp_path: Path) -> None:
    path = tmp_path / "other.toml"
    path.write_text(GOOD.format(id="gout", goal_extra="", step_extra=""), encoding="utf-8")
    with pytest.raises(InvalidInput, match="the template's id 'gout' is not its file name"):
        template_load(path)
    fine = tmp_path / "gout.toml"
    fine.write_text(GOOD.format(id="gout", goal_extra="", step_extra=""), encoding="utf-8")
    assert template_load(fine).goals[0].description == "No flares"
