"""Checking a QuestionnaireResponse against its Questionnaire: every item at fault named with what is wrong;
skip logic (enableWhen, enableBehavior, nested groups), required items, repeating groups; properties over
generated answers."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carenav.assessments.questionnaire import questionnaire_parse
from carenav.assessments.responses import ResponseInvalid, item_enabled, response_check, response_read
from carenav.errors import InvalidInput

YES = {"valueCoding": {"system": "http://loinc.org", "code": "LA33-6", "display": "Yes"}}
NO = {"valueCoding": {"system": "http://loinc.org", "code": "LA32-8", "display": "No"}}
FORM: dict[str, Any] = {
    "resourceType": "Questionnaire",
    "id": "probe",
    "url": "https://carenav.org/fhir/Questionnaire/probe",
    "version": "1",
    "status": "active",
    "item": [
        {
            "linkId": "smokes",
            "type": "choice",
            "required": True,
            "text": "Smokes?",
            "answerOption": [YES, NO],
        },
        {
            "linkId": "packs",
            "type": "integer",
            "required": True,
            "text": "Packs a day",
            "enableWhen": [{"question": "smokes", "operator": "=", "answerCoding": YES["valueCoding"]}],
        },
        {
            "linkId": "quit",
            "type": "group",
            "required": True,
            "text": "Quitting",
            "enableWhen": [
                {"question": "packs", "operator": ">=", "answerInteger": 1},
                {"question": "age", "operator": ">", "answerInteger": 60},
            ],
            "enableBehavior": "any",
            "item": [{"linkId": "quit-date", "type": "date", "required": True, "text": "Quit date"}],
        },
        {"linkId": "age", "type": "integer", "text": "Age"},
        {
            "linkId": "contact",
            "type": "group",
            "repeats": True,
            "text": "Emergency contacts",
            "item": [
                {"linkId": "contact-name", "type": "string", "required": True, "text": "Name"},
                {"linkId": "contact-phone", "type": "string", "text": "Phone"},
            ],
        },
        {"linkId": "note", "type": "display", "text": "Thank you"},
    ],
}
PROBE = questionnaire_parse(FORM, where="probe")


def qr(*items: dict[str, Any], status: str = "completed") -> dict[str, Any]:
    return {"resourceType": "QuestionnaireResponse", "status": status, "item": list(items)}


def a(link_id: str, *answers: dict[str, Any], children: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"linkId": link_id}
    if answers:
        item["answer"] = list(answers)
    if children:
        item["item"] = children
    return item


def errors(resource: dict[str, Any]) -> dict[str, str]:
    """Each item at fault -> its messages, joined by '; '."""
    found: dict[str, list[str]] = {}
    for error in response_check(PROBE, resource).errors:
        found.setdefault(error.link_id, []).append(error.message)
    return {k: "; ".join(v) for k, v in found.items()}


def test_a_fitting_response_reads_into_answers() -> None:
    answers = response_read(
        PROBE,
        qr(
            a("smokes", YES),
            a("packs", {"valueInteger": 2}),
            a("quit", children=[a("quit-date", {"valueDate": "2024-05-01"})]),
            a("contact", children=[a("contact-name", {"valueString": "Ana"})]),
            a(
                "contact",
                children=[
                    a("contact-name", {"valueString": "Ben"}),
                    a("contact-phone", {"valueString": "555"}),
                ],
            ),
        ),
    )
    assert answers.first("smokes") == "LA33-6"
    assert answers.first("packs") == 2
    assert answers.get("contact-name") == ("Ana", "Ben")


def test_every_fault_is_named_with_its_item() -> None:
    found = errors(
        qr(
            a("smokes", {"valueCoding": {"system": "http://loinc.org", "code": "LA9999-9"}}),
            a("packs", {"valueString": "two"}),
            a("age", {"valueInteger": 1}, {"valueInteger": 2}),
            a("note", {"valueString": "x"}),
            a("nope", {"valueBoolean": True}),
            a("quit", children=[a("quit-date", {"valueDate": "May 2024"})]),
        )
    )
    assert found["smokes"].startswith("LA9999-9 is not one of its options: LA33-6 (Yes), LA32-8 (No)")
    # packs: a wrong type, and answered though smokes (invalid) does not enable it
    assert found["packs"] == "an integer item takes valueInteger; answered, but not enabled by its enableWhen"
    assert found["age"] == "several answers to an item that takes one"
    assert found["note"] == "a display item takes no answer"
    assert found["nope"] == "the questionnaire has no such item"
    assert "not a date" in found["quit-date"]


def test_skip_logic_and_required_items() -> None:
    # packs is required only once smokes = yes; answering it when not enabled is a fault
    assert errors(qr(a("smokes", NO))) == {}
    assert errors(qr(a("smokes", YES))) == {"packs": "required, and not answered"}
    assert errors(qr(a("smokes", NO), a("packs", {"valueInteger": 1}))) == {
        "packs": "answered, but not enabled by its enableWhen"
    }
    # the quitting group: enabled by packs >= 1 OR age > 60; its required date then required
    assert errors(qr(a("smokes", YES), a("packs", {"valueInteger": 1}))) == {
        "quit": "required, and not answered"
    }
    assert errors(qr(a("smokes", NO), a("age", {"valueInteger": 70}))) == {
        "quit": "required, and not answered"
    }
    given_empty = qr(a("smokes", NO), a("age", {"valueInteger": 70}), a("quit", children=[]))
    assert errors(given_empty) == {"quit-date": "required, and not answered"}
    # the repeating contacts group is optional: its required name only where a contact is given
    assert errors(qr(a("smokes", NO), a("contact", children=[a("contact-phone", {"valueString": "5"})]))) == {
        "contact-name": "required, and not answered"
    }
    # a draft may leave required items empty, but not answer disabled ones
    assert errors(qr(a("smokes", YES), status="in-progress")) == {}
    assert "quit-date" in errors(
        qr(a("smokes", NO), a("quit", children=[a("quit-date", {"valueDate": "2020"})]))
    )


def test_a_group_that_does_not_repeat_given_twice_and_bad_resources() -> None:
    quit = a("quit", children=[a("quit-date", {"valueDate": "2020"})])
    found = errors(qr(a("smokes", YES), a("packs", {"valueInteger": 3}), quit, quit))
    assert found == {"quit": "a group that does not repeat is given more than once"}
    with pytest.raises(InvalidInput, match="expected a QuestionnaireResponse"):
        response_check(PROBE, {"resourceType": "Patient"})
    with pytest.raises(InvalidInput, match="status 'done' is not one of"):
        response_check(PROBE, {"resourceType": "QuestionnaireResponse", "status": "done"})
    with pytest.raises(ResponseInvalid) as caught:
        response_read(PROBE, qr(a("smokes", YES)))
    assert [e.as_dict() for e in caught.value.errors] == [
        {"linkId": "packs", "message": "required, and not answered"}
    ]


def test_a_broken_questionnaire_names_the_item() -> None:
    broken = {**FORM, "item": [{"linkId": "x", "type": "choice", "text": "?"}]}
    with pytest.raises(InvalidInput, match="item 'x': a choice item needs answerOption"):
        questionnaire_parse(broken, where="f.json")
    dangling = {
        **FORM,
        "item": [
            {
                "linkId": "x",
                "type": "integer",
                "enableWhen": [{"question": "y", "operator": "exists", "answerBoolean": True}],
            }
        ],
    }
    with pytest.raises(InvalidInput, match="enableWhen names the unknown item 'y'"):
        questionnaire_parse(dangling, where="f.json")


answers_strategy = st.fixed_dictionaries(
    {},
    optional={
        "smokes": st.sampled_from([YES, NO]),
        "packs": st.integers(0, 5).map(lambda n: {"valueInteger": n}),
        "age": st.integers(18, 99).map(lambda n: {"valueInteger": n}),
        "quit-date": st.sampled_from([{"valueDate": "2020-01-01"}]),
        "contacts": st.integers(0, 3),
    },
)


def build(chosen: dict[str, Any]) -> dict[str, Any]:
    items = [a(k, v) for k, v in chosen.items() if k in ("smokes", "packs", "age")]
    if "quit-date" in chosen:
        items.append(a("quit", children=[a("quit-date", chosen["quit-date"])]))
    for n in range(chosen.get("contacts", 0)):
        items.append(a("contact", children=[a("contact-name", {"valueString": f"c{n}"})]))
    return qr(*items)


@settings(max_examples=300, deadline=None)
@given(answers_strategy)
def test_properties_of_skip_logic(chosen: dict[str, Any]) -> None:
    resource = build(chosen)
    checked = response_check(PROBE, resource)
    found = {e.link_id: e.message for e in checked.errors}
    smokes_yes = chosen.get("smokes") is YES
    packs = chosen.get("packs", {}).get("valueInteger")
    age = chosen.get("age", {}).get("valueInteger")
    quit_enabled = (smokes_yes and packs is not None and packs >= 1) or (age is not None and age > 60)
    # an item is in fault for skip logic exactly when it is answered and not enabled
    assert ("packs" in found and "not enabled" in found["packs"]) == ("packs" in chosen and not smokes_yes)
    assert (found.get("quit") == "answered, but not enabled by its enableWhen") == (
        "quit-date" in chosen and not quit_enabled
    )
    # required: smokes always; packs once enabled; the (required) quitting group once enabled
    assert (found.get("smokes") == "required, and not answered") == ("smokes" not in chosen)
    assert (found.get("packs") == "required, and not answered") == (smokes_yes and "packs" not in chosen)
    assert (found.get("quit") == "required, and not answered") == (quit_enabled and "quit-date" not in chosen)
    # repeating groups keep every instance's answers, in order
    assert checked.get("contact-name") == tuple(f"c{n}" for n in range(chosen.get("contacts", 0)))
    assert item_enabled(PROBE, PROBE.by_link_id["quit-date"], checked.values) == quit_enabled
