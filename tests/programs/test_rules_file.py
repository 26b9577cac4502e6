"""Rules files: the shipped default is valid; a fault is refused naming the file, the rule and the field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carenav.errors import InvalidInput, NotFound
from carenav.programs.rules import (
    DEFAULT_RULES_PATH,
    AllOf,
    AnyOf,
    Compare,
    Condition,
    Not,
    Op,
    ProgramKind,
    condition_describe,
    rules_for_org,
    rules_load,
    rules_parse,
    rules_path_for_org,
)
from tests.programs.test_compiler import ANY_DOUBLES, conditions

TIERS = """
[[tier]]
level = 4
name = "four"
when = { feature = "charlson", op = ">=", value = 5 }
[[tier]]
level = 3
name = "three"
when = { feature = "charlson", op = ">=", value = 3 }
[[tier]]
level = 2
name = "two"
when = { feature = "charlson", op = ">=", value = 1 }
"""


def program(**fields: str) -> str:
    values = {
        "code": '"ccm"',
        "name": '"Chronic Care Management"',
        "kind": '"care_management"',
        "consent_required": "true",
        "when": '{ feature = "chronic_condition_count", op = ">=", value = 2 }',
    }
    values.update(fields)
    body = "\n".join(f"{k} = {v}" for k, v in values.items() if v != "")
    return f"[[program]]\n{body}\n"


def test_the_default_rules_are_valid() -> None:
    rules = rules_load(DEFAULT_RULES_PATH)
    assert [p.code for p in rules.programs] == ["bhi", "case_mgmt", "ccm", "ccm_complex", "pcm", "tcm"]
    assert [t.level for t in rules.tiers] == [4, 3, 2, 1]
    consent = {p.code for p in rules.programs if p.consent_required}
    assert consent == {"ccm", "ccm_complex", "pcm", "bhi"}
    kinds = {p.code: p.kind for p in rules.programs}
    assert kinds["case_mgmt"] is kinds["tcm"] is ProgramKind.CASE_MANAGEMENT
    assert kinds["ccm"] is ProgramKind.CARE_MANAGEMENT
    assert re.fullmatch(r"[0-9a-f]{16}", rules.version)


def test_a_minimal_file_parses_and_gets_a_tier_1() -> None:
    rules = rules_parse(program() + TIERS, source="mini.toml")
    assert [t.level for t in rules.tiers] == [4, 3, 2, 1]
    assert rules.program("ccm").when == Compare("chronic_condition_count", Op.GE, 2)
    with pytest.raises(NotFound, match="no program 'pcm'"):
        rules.program("pcm")


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        (
            program(when='{ feature = "charlsn", op = ">=", value = 2 }') + TIERS,
            "r.toml, program 'ccm', field 'when.feature'",
            "unknown feature 'charlsn'; did you mean 'charlson'?",
        ),
        (
            program(when='{ feature = "charlson", op = "=>", value = 2 }') + TIERS,
            "r.toml, program 'ccm', field 'when.op'",
            "unknown operator '=>'",
        ),
        (
            program(when='{ feature = "charlson", op = ">=", value = "five" }') + TIERS,
            "r.toml, program 'ccm', field 'when.value'",
            "feature 'charlson' is a number: the value must be a number, not 'five'",
        ),
        (
            program(when='{ feature = "charlson", op = ">=", value = true }') + TIERS,
            "r.toml, program 'ccm', field 'when.value'",
            "must be a number, not True",
        ),
        (
            program(when='{ feature = "polypharmacy", op = ">=", value = 1 }') + TIERS,
            "r.toml, program 'ccm', field 'when.op'",
            "feature 'polypharmacy' is boolean: use == or !=",
        ),
        (
            program(when='{ feature = "polypharmacy", op = "==", value = 1 }') + TIERS,
            "r.toml, program 'ccm', field 'when.value'",
            "feature 'polypharmacy' is boolean: compare it with true or false",
        ),
        (
            program(when='{ all = [ { feature = "age", op = ">=", value = 65 }, { any = [] } ] }') + TIERS,
            "r.toml, program 'ccm', field 'when.all[1].any'",
            "'any' needs a non-empty array",
        ),
        (
            program(when='{ not = { feature = "age", op = "in", value = 65 } }') + TIERS,
            "r.toml, program 'ccm', field 'when.not.value'",
            "'in' needs a non-empty array",
        ),
        (
            program(when='{ feature = "age", op = ">=" }') + TIERS,
            "r.toml, program 'ccm', field 'when.value'",
            "missing field 'value'",
        ),
        (
            program(when='{ feature = "age", op = ">=", value = 1, all = [] }') + TIERS,
            "r.toml, program 'ccm', field 'when'",
            "exactly one of 'feature', 'all', 'any' or 'not'",
        ),
        (
            program(when='{ feature = "age", op = ">=", value = 65, vaule = 3 }') + TIERS,
            "r.toml, program 'ccm', field 'when.vaule'",
            "unknown field 'vaule'; did you mean 'value'?",
        ),
        (
            program() + program() + TIERS,
            "r.toml, program 'ccm', field 'code'",
            "duplicate program code 'ccm'",
        ),
        (program(kind="") + TIERS, "r.toml, program 'ccm', field 'kind'", "missing field 'kind'"),
        (program(when="") + TIERS, "r.toml, program 'ccm', field 'when'", "missing field 'when'"),
        (program(code="") + TIERS, "r.toml, program #1, field 'code'", "missing field 'code'"),
        (program(code='"CCM!"') + TIERS, "r.toml, program #1, field 'code'", "must be lower-case"),
        (
            program(kind='"long_term"') + TIERS,
            "r.toml, program 'ccm', field 'kind'",
            "unknown kind 'long_term'",
        ),
        (
            program(consent_required='"yes"') + TIERS,
            "r.toml, program 'ccm', field 'consent_required'",
            "'consent_required' must be a boolean",
        ),
        (program(), "r.toml, field 'tier'", "missing field 'tier'"),
        (TIERS, "r.toml, field 'program'", "missing field 'program'"),
        (
            program() + TIERS.replace("level = 3", "level = 4"),
            "r.toml, tier 4, field 'level'",
            "duplicate tier level 4",
        ),
        (
            program() + TIERS.replace("level = 2", "level = 5"),
            "r.toml, tier #3, field 'level'",
            "a tier level is 1, 2, 3 or 4",
        ),
        (
            program()
            + TIERS
            + '[[tier]]\nlevel = 1\nname = "one"\nwhen = { feature = "age", op = ">", value = 0 }\n',
            "r.toml, tier 1, field 'when'",
            "tier 1 is everyone no higher tier takes",
        ),
        (
            program() + TIERS.replace('level = 2\nname = "two"\nwhen', 'level = 2\nname = "two"\nwhenn'),
            "r.toml, tier 2, field 'whenn'",
            "unknown field 'whenn'",
        ),
        (
            program(when='{ feature = "hcc_v28", op = ">=", value = nan }') + TIERS,
            "r.toml, program 'ccm', field 'when.value'",
            "finite number",
        ),
        ("program = [", "r.toml", "not valid TOML"),
        ('colour = "blue"\n' + program() + TIERS, "r.toml, field 'colour'", "unknown field 'colour'"),
        (
            "reidentify_after_days = -1\n" + program() + TIERS,
            "r.toml, field 'reidentify_after_days'",
            "whole number of days",
        ),
        (
            'exclude = { feature = "dead", op = "==", value = true }\n' + program() + TIERS,
            "r.toml, exclude, field 'exclude.feature'",
            "unknown feature 'dead'",
        ),
    ],
)
def test_faults_name_the_file_rule_and_field(text: str, where: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        rules_parse(text, source="r.toml")
    assert caught.value.where == where
    assert message in caught.value.message


def test_bytes_that_are_not_utf8_are_refused() -> None:
    with pytest.raises(InvalidInput, match="not UTF-8"):
        rules_parse(b"title = '\xff'", source="r.toml")


def test_a_missing_file_says_which(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        rules_load(tmp_path / "nope.toml")
    assert caught.value.where == str(tmp_path / "nope.toml")


def test_an_organization_file_replaces_the_default(tmp_path: Path) -> None:
    assert rules_path_for_org("clinic", tmp_path) == DEFAULT_RULES_PATH
    own = tmp_path / "clinic.toml"
    own.write_text(program(code='"only"') + TIERS)
    assert rules_path_for_org("clinic", tmp_path) == own
    assert [p.code for p in rules_for_org("clinic", tmp_path).programs] == ["only"]
    assert rules_path_for_org("other", tmp_path) == DEFAULT_RULES_PATH


def test_a_changed_file_is_read_again_and_an_unchanged_one_is_not(tmp_path: Path) -> None:
    own = tmp_path / "clinic.toml"
    own.write_text(program(code='"first"') + TIERS)
    first = rules_for_org("clinic", tmp_path)
    assert rules_for_org("clinic", tmp_path) is first, "unchanged: parsed once"
    own.write_text(program(code='"second_one"') + TIERS)
    assert [p.code for p in rules_for_org("clinic", tmp_path).programs] == ["second_one"]
    own.write_text("not toml [")
    with pytest.raises(InvalidInput):
        rules_for_org("clinic", tmp_path)


def to_toml(condition: Condition) -> str:
    """A condition written as a TOML inline table, as a person would write it."""
    if isinstance(condition, Compare):
        value = condition.value
        if isinstance(value, tuple):
            shown = "[" + ", ".join(_toml_scalar(v) for v in value) + "]"
        else:
            shown = _toml_scalar(value)
        return f'{{ feature = "{condition.feature}", op = "{condition.op.value}", value = {shown} }}'
    if isinstance(condition, Not):
        return f"{{ not = {to_toml(condition.item)} }}"
    word = "all" if isinstance(condition, AllOf) else "any"
    assert isinstance(condition, AllOf | AnyOf)
    return f"{{ {word} = [\n  " + ",\n  ".join(to_toml(c) for c in condition.items) + ",\n] }"


def _toml_scalar(value: bool | int | float) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


@settings(max_examples=100, deadline=None)
@given(condition=conditions(ANY_DOUBLES))
def test_any_condition_written_as_toml_reads_back_the_same(condition: Condition) -> None:
    rules = rules_parse(program(when=to_toml(condition)) + TIERS, source="g.toml")
    parsed = rules.program("ccm").when
    assert parsed == condition
    assert condition_describe(parsed) == condition_describe(condition)


@given(st.sampled_from(["feature", "op", "value"]))
def test_each_part_of_a_comparison_is_required(missing: str) -> None:
    parts = {"feature": '"age"', "op": '">="', "value": "65"}
    del parts[missing]
    inline = "{ " + ", ".join(f"{k} = {v}" for k, v in parts.items()) + " }"
    with pytest.raises(InvalidInput) as caught:
        rules_parse(program(when=inline) + TIERS, source="r.toml")
    assert caught.value.where is not None
    assert caught.value.where.startswith("r.toml, program 'ccm', field 'when")
