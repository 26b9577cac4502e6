"""The HL7 Questionnaire and QuestionnaireResponse examples of ``shared/data/fhir-examples`` (FHIR R4 core
and US Core, written by HL7, not by us): every Questionnaire reads; every response fits its Questionnaire;
and a response rebuilt from the answers read (``response_build``) is valid FHIR and reads back to the same
answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from carenav.assessments.questionnaire import Questionnaire, questionnaire_parse
from carenav.assessments.responses import response_build, response_check, response_read
from tests.fhir.validation import assert_valid

EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "data" / "fhir-examples"
PAIRS = {
    "QuestionnaireResponse-hunger-vital-sign-example.json": "Questionnaire-hunger-vital-sign-example.json",
    "QuestionnaireResponse-PRAPARE-example.json": "Questionnaire-prapare-example.json",
}


def _load(name: str) -> dict[str, Any]:
    (path,) = EXAMPLES.glob(f"*/{name}")
    return dict(json.loads(path.read_text()))


def _questionnaire(name: str) -> Questionnaire:
    return questionnaire_parse(_load(name), where=name)


def test_every_example_questionnaire_reads() -> None:
    paths = sorted(EXAMPLES.glob("*/Questionnaire-*.json"))
    assert len(paths) >= 4
    for path in paths:
        questionnaire = questionnaire_parse(json.loads(path.read_text()), where=path.name)
        assert list(questionnaire.walk()), path.name
    phq9 = _questionnaire("Questionnaire-phq-9-questionnaire.json")
    # HL7's PHQ-9 example names its options by a LOINC answer list instead of listing them
    assert phq9.by_code["44250-9"].answer_value_set == "http://loinc.org/vs/LL358-3"


def test_the_core_f201_response_does_not_fit_the_core_f201_questionnaire_and_says_where() -> None:
    # The R4 core response f201 names no questionnaire; beside the core Questionnaire f201 (same id,
    # same topics) it answers an item 1.1 the form does not have and two yes/no items with text.
    checked = response_check(
        _questionnaire("Questionnaire-f201.json"), _load("QuestionnaireResponse-f201.json")
    )
    assert [e.as_dict() for e in checked.errors] == [
        {"linkId": "1.1", "message": "the questionnaire has no such item"},
        {"linkId": "3.1", "message": "a boolean item takes valueBoolean"},
        {"linkId": "3.2", "message": "a boolean item takes valueBoolean"},
    ]
    assert checked.first("2.2") == "1960-03-13"


@pytest.mark.parametrize("response_name", sorted(PAIRS))
def test_each_example_response_fits_and_round_trips(response_name: str) -> None:
    questionnaire = _questionnaire(PAIRS[response_name])
    example = _load(response_name)
    checked = response_check(questionnaire, example)
    assert checked.errors == ()
    assert checked.values, response_name
    rebuilt = response_build(questionnaire, checked.values, extra={"subject": example.get("subject")})
    assert_valid(rebuilt)
    assert response_read(questionnaire, rebuilt).values == checked.values
