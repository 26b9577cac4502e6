"""The form of a Questionnaire and back (``carenav.web.questionnaire_form``), no database: any answers to
any shipped instrument survive response -> fields -> response; repeating groups keep their instances;
text that is not a value of its item's type is named; hidden items' answers are dropped; a required
group left empty is named through its required items."""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from carenav.assessments.instruments import Instrument, instrument_get, instruments
from carenav.assessments.questionnaire import Item, Value
from carenav.assessments.responses import ItemError, response_build, response_check
from carenav.web.questionnaire_form import (
    REQUIRED_MISSING,
    answer_rows,
    errors_by_item,
    form_fields,
    form_nodes,
    form_parse,
)

EVERY_ID = [i.id for i in instruments()]


def _value(item: Item) -> st.SearchStrategy[Value]:
    if item.type == "choice":
        return st.sampled_from([o.code for o in item.options])
    if item.type == "boolean":
        return st.booleans()
    if item.type == "integer":
        low = int(item.min_value) if item.min_value is not None else -1000
        high = int(item.max_value) if item.max_value is not None else 1000
        return st.integers(low, high)
    if item.type == "date":
        return st.dates(date(1900, 1, 1), date(2100, 12, 31)).map(date.isoformat)
    text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1)
    return text.map(str.strip).filter(bool)


@st.composite
def answered(draw: st.DrawFn) -> tuple[Instrument, dict[str, tuple[Value, ...]]]:
    instrument = instrument_get(draw(st.sampled_from(EVERY_ID)))
    values: dict[str, tuple[Value, ...]] = {}
    for item in instrument.questionnaire.walk():
        if not item.takes_answers or item.derived or (item.type == "choice" and not item.options):
            continue
        if not draw(st.booleans()):
            continue
        if item.repeats:
            values[item.link_id] = tuple(draw(st.lists(_value(item), min_size=1, max_size=3, unique=True)))
        else:
            values[item.link_id] = (draw(_value(item)),)
    return instrument, values


def _every_link_id(instrument: Instrument) -> frozenset[str]:
    return frozenset(i.link_id for i in instrument.questionnaire.walk())


@settings(max_examples=150, deadline=None)
@given(answered())
def test_any_answers_survive_the_form_both_ways(
    case: tuple[Instrument, dict[str, tuple[Value, ...]]],
) -> None:
    instrument, values = case
    q = instrument.questionnaire
    built = response_build(q, values, status="in-progress")
    fields = form_fields(q, built)
    parsed = form_parse(q, fields)
    assert parsed.errors == ()
    assert parsed.values == {k: v for k, v in values.items() if v}
    again = {
        "resourceType": "QuestionnaireResponse",
        "status": "in-progress",
        "item": parsed.items(_every_link_id(instrument)),
    }
    assert response_check(q, again).values == response_check(q, built).values
    # and the form shows each of them checked or filled
    nodes = form_nodes(q, fields, errors={}, enabled=_every_link_id(instrument))
    shown = {n.item.link_id: n for n in _flatten(nodes)}
    for link_id, answers in values.items():
        node = shown[link_id]
        assert node.values == tuple(fields[node.name])
        assert len(node.values) == len(answers)


def _flatten(nodes: Any) -> list[Any]:
    out = []
    for node in nodes:
        out.append(node)
        out.extend(_flatten(node.children))
        for instance in node.instances:
            out.extend(_flatten(instance))
    return out


def test_a_repeating_group_keeps_each_instance() -> None:
    instrument = instrument_get("support-system")
    q = instrument.questionnaire
    fields = {
        "a:support-has-helper": ["helper-yes"],
        "a:support-helper[0].support-helper-name": ["Rosa Diaz"],
        "a:support-helper[0].support-helper-relationship": ["rel-child"],
        "a:support-helper[3].support-helper-name": ["  Tom Lee "],
        "a:support-helper[3].support-helper-relationship": ["rel-friend"],
        "a:support-helper[3].support-helper-proxy": ["true"],
        "a:support-helper[5].support-helper-name": [""],  # an instance left blank is no instance
        "csrf_token": ["x"],
    }
    parsed = form_parse(q, fields)
    enabled = instrument.enabled(parsed.values)
    items = parsed.items(enabled)
    groups = [i for i in items if i["linkId"] == "support-helper"]
    assert [g["item"][0]["answer"][0] for g in groups] == [
        {"valueString": "Rosa Diaz"},
        {"valueString": "Tom Lee"},
    ]
    assert groups[1]["item"][2] == {
        "linkId": "support-helper-proxy",
        "text": q.by_link_id["support-helper-proxy"].text,
        "answer": [{"valueBoolean": True}],
    }
    stored = {"resourceType": "QuestionnaireResponse", "status": "in-progress", "item": items}
    back = form_fields(q, stored)
    assert back["a:support-helper[1].support-helper-name"] == ["Tom Lee"]
    nodes = {n.item.link_id: n for n in form_nodes(q, back, errors={}, enabled=enabled)}
    helper = nodes["support-helper"]
    assert len(helper.instances) == 2
    assert helper.template[0].name == "a:support-helper[__i__].support-helper-name"
    rows = answer_rows(q, stored)
    assert [r.text for r in rows if r.is_group] == ["The person who helps", "The person who helps"]
    assert ("Relationship to the patient", ("Friend or neighbour",)) in [(r.text, r.answers) for r in rows]


def test_text_that_is_not_a_value_of_its_type_is_named() -> None:
    history = instrument_get("history-review").questionnaire
    parsed = form_parse(
        history,
        {
            "a:history-admissions-6m": ["two"],
            "a:history-ed-6m": ["1", "2"],
            "a:history-last-discharge": ["2026-02-30"],
            "a:history-conditions-reviewed": ["maybe"],
            "a:history-self-rated": ["LA0000-0"],
        },
    )
    assert {(e.link_id, e.message) for e in parsed.errors} == {
        ("history-admissions-6m", "'two' is not a whole number"),
        ("history-ed-6m", "give one answer"),
        ("history-last-discharge", "'2026-02-30' is not a date like 2026-03-14"),
        ("history-conditions-reviewed", "'maybe' is not yes or no"),
        ("history-self-rated", "'LA0000-0' is not one of its options"),
    }


def test_answers_to_items_the_answers_hide_are_dropped() -> None:
    instrument = instrument_get("comprehensive-assessment")
    q = instrument.questionnaire
    low_phq2 = {"a:/44250-9": ["LA6568-5"], "a:/44255-8": ["LA6569-3"], "a:/44259-0": ["LA6571-9"]}
    parsed = form_parse(q, low_phq2)
    enabled = instrument.enabled(parsed.values)
    assert "/44259-0" not in enabled
    kept = str(parsed.items(enabled))
    assert "/44255-8" in kept
    assert "/44259-0" not in kept
    high_phq2 = {**low_phq2, "a:/44255-8": ["LA6571-9"]}
    assert "/44259-0" in str(
        form_parse(q, high_phq2).items(instrument.enabled(form_parse(q, high_phq2).values))
    )


def test_a_required_group_left_empty_is_named_through_its_required_items() -> None:
    instrument = instrument_get("comprehensive-assessment")
    q = instrument.questionnaire
    enabled = instrument.enabled({})
    errors = errors_by_item(q, [ItemError("section-history", REQUIRED_MISSING)], enabled)
    assert errors["section-history"] == REQUIRED_MISSING
    assert errors["history-concerns"] == REQUIRED_MISSING
    assert "history-changes" not in errors, "optional"
    assert "history-last-discharge" not in errors, "not enabled"
    other = errors_by_item(q, [ItemError("section-history", "something else")], enabled)
    assert other == {"section-history": "something else"}
