"""The comprehensive initial assessment: sections made of the shipped instruments, each scored by its own
rules; the PHQ-2 -> PHQ-9 cascade; the positive food and transportation screen with a PHQ-9 of 15 and item 9
positive (the journey issue 4 asks the browser to walk, here at the engine)."""

from __future__ import annotations

from typing import Any

import pytest

from carenav.assessments.instruments import instrument_get
from carenav.assessments.responses import ResponseInvalid
from tests.assessments.answers import CALM_SOCIAL, FREQ, PHQ9, SAFETY_ITEMS
from tests.assessments.responses import response
from tests.fhir.validation import assert_valid

SAFE = dict.fromkeys(SAFETY_ITEMS, "LA6270-8")


def everything_else() -> dict[str, Any]:
    """Answers to every section but the emotional one: an independent patient who screens positive for
    food and transportation."""
    return {
        "history-concerns": "my sugar and my breathing",
        "history-conditions-reviewed": True,
        "history-admissions-6m": 1,
        "history-ed-6m": 2,
        **{
            f"katz-{k}": "independent"
            for k in ("bathing", "dressing", "toileting", "transferring", "continence", "feeding")
        },
        **{
            i.link_id: i.options[0].code
            for i in instrument_get("lawton-iadl").questionnaire.walk()
            if i.type == "choice"
        },
        "falls-fallen": "fallen-no",
        "falls-unsteady": "unsteady-no",
        "falls-worried": "worried-no",
        "/68518-0": "freq-never",
        "/68519-8": "typical-1-2",
        "/68520-6": "six-never",
        **CALM_SOCIAL,
        "/88122-7": "LA6729-3",
        "/93030-5": "LA33-6",
        **SAFE,
        "support-lives-alone": "alone-yes",
        "support-has-helper": "helper-no",
        "support-emergency": "emergency-yes",
        "support-lonely": "lonely-rarely",
        "med-missed-days": 0,
        "med-cost": "cost-no",
        "med-side-effects": "effects-no",
        "med-reconciled": True,
        "matters-most": "seeing my grandchildren graduate",
        "prefers-contact": ["phone"],
        "prefers-language": "Spanish",
        "prefers-interpreter": True,
    }


def test_the_form_is_valid_fhir_and_holds_every_section() -> None:
    comprehensive = instrument_get("comprehensive-assessment")
    assert_valid(dict(comprehensive.questionnaire.resource))
    assert [s for s, _ in comprehensive.sections] == [
        "section-history",
        "section-function",
        "section-emotional",
        "section-alcohol",
        "section-social",
        "section-support",
        "section-medicines",
        "section-what-matters",
    ]
    assert comprehensive.questionnaire.by_link_id["phq2-cascade"].derived == "phq2:cascade"


def test_phq2_positive_opens_the_phq9_and_item_9_is_urgent() -> None:
    comprehensive = instrument_get("comprehensive-assessment")
    points = [2, 2, 2, 2, 2, 2, 1, 1, 1]  # PHQ-2 = 4, PHQ-9 = 15, item 9 = 1
    answers = {**everything_else(), **{i: FREQ[p] for i, p in zip(PHQ9, points, strict=True)}}
    result = comprehensive.score_response(response(comprehensive, answers), sex="female")
    assert result.sections["phq2"].total == 4  # type: ignore[union-attr]
    phq9 = result.sections["phq9"]
    assert phq9 is not None
    assert (phq9.total, phq9.band, phq9.flags) == (15, "moderately severe", ("suicide-risk",))
    assert result.urgent_flags == ("suicide-risk",)
    assert result.positive_domains == ("food-insecurity", "transportation-insecurity")
    assert "lives-alone" in result.flags
    assert result.sections["katz-adl"].total == 6  # type: ignore[union-attr]
    json = result.as_json()
    assert json["sections"]["phq9"]["band"] == "moderately severe"


def test_phq2_negative_keeps_the_phq9_closed() -> None:
    comprehensive = instrument_get("comprehensive-assessment")
    low = {**everything_else(), "/44250-9": FREQ[1], "/44255-8": FREQ[1]}
    result = comprehensive.score_response(response(comprehensive, low))
    assert result.sections["phq2"].total == 2  # type: ignore[union-attr]
    assert result.sections["phq9"] is None
    with pytest.raises(ResponseInvalid) as caught:
        comprehensive.score_response(response(comprehensive, {**low, "/44259-0": FREQ[3]}))
    assert {e.link_id for e in caught.value.errors} == {"/44259-0", "phq9-cascade"}  # the group given too
    # a positive PHQ-2 without the rest of the PHQ-9: the cascade group is required
    high = {**everything_else(), "/44250-9": FREQ[3], "/44255-8": FREQ[1]}
    with pytest.raises(ResponseInvalid) as caught:
        comprehensive.score_response(response(comprehensive, high))
    assert {e.link_id for e in caught.value.errors} == {"phq9-cascade"}


def test_a_missing_section_is_named() -> None:
    comprehensive = instrument_get("comprehensive-assessment")
    answers = {k: v for k, v in everything_else().items() if not k.startswith(("med-", "support-"))}
    answers |= {"/44250-9": FREQ[0], "/44255-8": FREQ[0]}
    with pytest.raises(ResponseInvalid) as caught:
        comprehensive.score_response(response(comprehensive, answers))
    assert {e.link_id for e in caught.value.errors} == {"section-support", "section-medicines"}
