"""Scoring of the shipped instruments over their answer spaces (care-management-standards.md, section 3):
PHQ-9 and PHQ-2 totals, bands, the item-9 flag and the cascade; GAD-7 over every answer combination; the
AHC HRSN domains, with the safety threshold over every combination of its four items; the Hunger Vital Sign,
including the US Core example made elsewhere (LOINC /CODE linkIds)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from carenav.assessments.instruments import instrument_get
from tests.assessments.answers import CALM_SOCIAL as CALM
from tests.assessments.answers import FREQ, SAFETY, SAFETY_ITEMS
from tests.assessments.answers import GAD7 as GAD7_ITEMS
from tests.assessments.answers import PHQ9 as PHQ9_ITEMS
from tests.assessments.responses import response

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "fhir-examples"
PHQ9_BANDS = [
    (0, 4, "minimal"),
    (5, 9, "mild"),
    (10, 14, "moderate"),
    (15, 19, "moderately severe"),
    (20, 27, "severe"),
]
GAD7_BANDS = [(0, 4, "minimal"), (5, 9, "mild"), (10, 14, "moderate"), (15, 21, "severe")]


def band(total: int, bands: list[tuple[int, int, str]]) -> str:
    return next(label for low, high, label in bands if low <= total <= high)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=9, max_size=9))
def test_phq9_total_band_and_item_9_flag(points: list[int]) -> None:
    phq9 = instrument_get("phq9")
    result = phq9.score_response(
        response(phq9, {i: FREQ[p] for i, p in zip(PHQ9_ITEMS, points, strict=True)})
    )
    total = sum(points)
    assert result.total == total
    assert result.band == band(total, PHQ9_BANDS)
    assert result.positive is (total >= 10)
    # item 9 above "not at all" flags suicide risk whatever the total
    assert result.flags == (("suicide-risk",) if points[8] > 0 else ())
    assert result.urgent_flags == result.flags


def test_phq9_every_total_has_its_band_and_a_missing_item_gives_no_total() -> None:
    phq9 = instrument_get("phq9")
    for total in range(28):
        points = [min(3, max(0, total - 3 * i)) for i in range(9)]
        assert sum(points) == total
        answers = {i: FREQ[p] for i, p in zip(PHQ9_ITEMS, points, strict=True)}
        assert phq9.score_response(response(phq9, answers)).band == band(total, PHQ9_BANDS)
    draft = dict.fromkeys(PHQ9_ITEMS[:8], "LA6571-9")
    result = phq9.score_response(response(phq9, draft, status="in-progress"))
    assert (result.total, result.band, result.missing) == (None, None, ("/44260-8",))


def test_phq2_cascades_to_phq9_at_3() -> None:
    phq2 = instrument_get("phq2")
    for a, b in itertools.product(range(4), repeat=2):
        result = phq2.score_response(response(phq2, {"/44250-9": FREQ[a], "/44255-8": FREQ[b]}))
        assert result.total == a + b
        assert result.cascade == ("phq9" if a + b >= 3 else None)
        assert result.positive is (a + b >= 3)


def test_gad7_over_every_answer_combination() -> None:
    gad7 = instrument_get("gad7")
    for points in itertools.product(range(4), repeat=7):
        total = sum(points)
        result = gad7.score_response(
            response(gad7, {i: FREQ[p] for i, p in zip(GAD7_ITEMS, points, strict=True)})
        )
        assert (result.total, result.band, result.positive) == (total, band(total, GAD7_BANDS), total >= 10)


def test_ahc_safety_is_positive_from_a_total_of_11_over_every_combination() -> None:
    ahc = instrument_get("ahc-hrsn")
    for points in itertools.product(range(5), repeat=4):
        answers = {**CALM, **{i: SAFETY[p] for i, p in zip(SAFETY_ITEMS, points, strict=True)}}
        result = ahc.score_response(response(ahc, answers))
        total = sum(points) + 4
        assert result.subscales["safety"] == total
        unsafe = total >= 11
        assert result.positive_domains == (("intimate-partner-violence",) if unsafe else ())
        assert result.urgent_flags == (("intimate-partner-violence",) if unsafe else ())
        assert result.positive is unsafe


def test_ahc_each_core_item_makes_its_domain_positive() -> None:
    ahc = instrument_get("ahc-hrsn")
    never = dict.fromkeys(SAFETY_ITEMS, SAFETY[0])
    cases = {
        ("/71802-3", "LA31994-9"): "housing-instability",
        ("/71802-3", "LA31995-6"): "homelessness",
        ("/96778-6", ("LA28580-1", "LA32001-2")): "inadequate-housing",
        ("/88122-7", "LA6729-3"): "food-insecurity",
        ("/88123-5", "LA28397-0"): "food-insecurity",
        ("/93030-5", "LA33-6"): "transportation-insecurity",
        ("/96779-4", "LA32002-0"): "utility-insecurity",
        ("/96779-4", "LA33-6"): "utility-insecurity",
    }
    assert ahc.score_response(response(ahc, {**CALM, **never})).positive_domains == ()
    for (link_id, answer), domain in cases.items():
        answers = {**CALM, **never, link_id: list(answer) if isinstance(answer, tuple) else answer}
        result = ahc.score_response(response(ahc, answers, nested=False))
        assert result.positive_domains == (domain,), (link_id, answer)
        assert result.positive is True


def test_a_food_and_transportation_positive_screen() -> None:
    ahc = instrument_get("ahc-hrsn")
    answers = {**CALM, "/88122-7": "LA6729-3", "/93030-5": "LA33-6", **dict.fromkeys(SAFETY_ITEMS, SAFETY[0])}
    assert ahc.score_response(response(ahc, answers)).positive_domains == (
        "food-insecurity",
        "transportation-insecurity",
    )


def test_the_us_core_hunger_vital_sign_example_scores_as_the_shipped_form() -> None:
    hvs = instrument_get("hunger-vital-sign")
    example = json.loads(
        (SHARED / "us-core" / "QuestionnaireResponse-hunger-vital-sign-example.json").read_text()
    )
    theirs = hvs.score_response(example)
    ours = hvs.score_response(response(hvs, {"/88122-7": "LA28397-0", "/88123-5": "LA28397-0"}))
    assert theirs == ours
    assert theirs.positive_domains == ("food-insecurity",)
    # the same answers under bare LOINC linkIds (no slash), as some systems send them
    bare = json.loads(json.dumps(example).replace('"/88', '"88'))
    assert hvs.score_response(bare) == ours
    for a, b in itertools.product(["LA28397-0", "LA6729-3", "LA28398-8", "LA15775-2"], repeat=2):
        at_risk = a in ("LA28397-0", "LA6729-3") or b in ("LA28397-0", "LA6729-3")
        result = hvs.score_response(response(hvs, {"/88122-7": a, "/88123-5": b}))
        assert result.positive is at_risk
