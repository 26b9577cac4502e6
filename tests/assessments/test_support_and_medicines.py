"""The support-system and medication-review sections: the helpers as a repeating group (with proxy consent),
caregiver strain, isolation, missed doses within their bounds, cost-related non-adherence."""

from __future__ import annotations

from typing import Any

import pytest

from carenav.assessments.instruments import instrument_get
from carenav.assessments.responses import ResponseInvalid

SUPPORT = "https://carenav.org/fhir/CodeSystem/support-system"
MEDS = "https://carenav.org/fhir/CodeSystem/medication-review"


def coded(system: str, code: str) -> dict[str, Any]:
    return {"valueCoding": {"system": system, "code": code}}


def qr(*items: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "QuestionnaireResponse", "status": "completed", "item": list(items)}


def answer(link_id: str, *values: dict[str, Any]) -> dict[str, Any]:
    return {"linkId": link_id, "answer": list(values)}


def helper(name: str, relationship: str, proxy: bool) -> dict[str, Any]:
    return {
        "linkId": "support-helper",
        "item": [
            answer("support-helper-name", {"valueString": name}),
            answer("support-helper-relationship", coded(SUPPORT, relationship)),
            answer("support-helper-proxy", {"valueBoolean": proxy}),
        ],
    }


def test_two_helpers_strain_and_isolation() -> None:
    support = instrument_get("support-system")
    result = support.score_response(
        qr(
            answer("support-lives-alone", coded(SUPPORT, "alone-yes")),
            answer("support-has-helper", coded(SUPPORT, "helper-yes")),
            helper("Maria", "rel-child", True),
            helper("Home Care Co.", "rel-paid", False),
            answer("support-helper-strain", coded(SUPPORT, "strain-yes")),
            answer("support-emergency", coded(SUPPORT, "emergency-yes")),
            answer("support-lonely", coded(SUPPORT, "lonely-often")),
        )
    )
    assert result.flags == ("caregiver-strain", "lives-alone")
    assert result.positive_domains == ("social-connection",)


def test_helpers_are_required_once_someone_helps_and_refused_otherwise() -> None:
    support = instrument_get("support-system")
    base = [
        answer("support-lives-alone", coded(SUPPORT, "alone-no")),
        answer("support-emergency", coded(SUPPORT, "emergency-yes")),
        answer("support-lonely", coded(SUPPORT, "lonely-never")),
    ]
    with pytest.raises(ResponseInvalid) as caught:
        support.score_response(qr(*base, answer("support-has-helper", coded(SUPPORT, "helper-yes"))))
    assert {e.link_id for e in caught.value.errors} == {"support-helper", "support-helper-strain"}
    with pytest.raises(ResponseInvalid) as caught:
        support.score_response(
            qr(
                *base,
                answer("support-has-helper", coded(SUPPORT, "helper-no")),
                helper("X", "rel-friend", False),
            )
        )
    assert "support-helper" in {e.link_id for e in caught.value.errors}
    alone = support.score_response(qr(*base, answer("support-has-helper", coded(SUPPORT, "helper-no"))))
    assert (alone.flags, alone.positive_domains) == ((), ())


def test_medication_review_flags_and_bounds() -> None:
    review = instrument_get("medication-review")
    result = review.score_response(
        qr(
            answer("med-missed-days", {"valueInteger": 3}),
            answer("med-missed-reasons", coded(MEDS, "reason-cost"), coded(MEDS, "reason-forgot")),
            answer("med-cost", coded(MEDS, "cost-no")),
            answer("med-side-effects", coded(MEDS, "effects-yes")),
            answer("med-side-effects-detail", {"valueString": "metformin upsets my stomach"}),
            answer("med-reconciled", {"valueBoolean": False}),
        )
    )
    assert result.flags == ("adherence-concern", "side-effects", "medication-not-reconciled")
    assert result.positive_domains == ("medical-cost-burden",)
    one_day = review.score_response(
        qr(
            answer("med-missed-days", {"valueInteger": 1}),
            answer("med-cost", coded(MEDS, "cost-no")),
            answer("med-side-effects", coded(MEDS, "effects-no")),
            answer("med-reconciled", {"valueBoolean": True}),
        )
    )
    assert (one_day.flags, one_day.positive_domains) == ((), ())
    with pytest.raises(ResponseInvalid) as caught:
        review.score_response(
            qr(
                answer("med-missed-days", {"valueInteger": 9}),
                answer("med-cost", coded(MEDS, "cost-no")),
                answer("med-side-effects", coded(MEDS, "effects-no")),
                answer("med-reconciled", {"valueBoolean": True}),
            )
        )
    assert [e.as_dict() for e in caught.value.errors] == [
        {"linkId": "med-missed-days", "message": "9 is above the maximum, 7"}
    ]
