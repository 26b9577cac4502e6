"""CMS-HCC reference scorer: hand-worked examples from the CMS tables and properties of the models."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carenav.analytics.hcc_reference import (
    SEGMENTS,
    VERSIONS,
    Diagnosis,
    Period,
    add_months,
    age_on,
    apply_hierarchy,
    diagnosis_counts,
    load_model,
    score_codes,
    score_patient,
    segment_for,
)
from carenav.errors import InvalidInput

AS_OF = date(2025, 6, 30)


def test_a_72_year_old_community_nondual_woman_with_diabetes_and_heart_failure() -> None:
    # V24 relative factors (CNA): F70_74 0.386, HCC19 0.105, HCC85 0.331, DIABETES_CHF 0.121, D2 0.
    v24 = score_codes(load_model("v24"), codes=["E119", "I5022"], age=72, sex="F", segment="CNA")
    assert v24.hccs_text == "HCC19;HCC85"
    assert {c.component: c.points for c in v24.components} == {
        "CNA_F70_74": 0.386,
        "HCC19": 0.105,
        "HCC85": 0.331,
        "DIABETES_CHF": 0.121,
        "D2": 0.0,
    }
    assert v24.score == 0.943
    # V28 (CNA): F70_74 0.395, HCC38 0.166, HCC226 0.360, DIABETES_HF 0.112, D2 0.
    v28 = score_codes(load_model("v28"), codes=["E119", "I5022"], age=72, sex="F", segment="CNA")
    assert v28.hccs_text == "HCC38;HCC226"
    assert {c.component: c.points for c in v28.components} == {
        "CNA_F70_74": 0.395,
        "HCC38": 0.166,
        "HCC226": 0.36,
        "DIABETES_HF": 0.112,
        "D2": 0.0,
    }
    assert v28.score == 1.033


def test_hierarchy_interaction_and_count_by_hand() -> None:
    # V24 CND man of 50: E1122 (HCC18) drops E119's HCC19; J449 COPD (HCC111) and I5022 (HCC85) make
    # CHF_gCopdCF and DIABETES_CHF; 3 payment HCCs -> D3.
    model = load_model("v24")
    result = score_codes(model, codes=["E119", "E1122", "J449", "I5022"], age=50, sex="M", segment="CND")
    assert result.hccs == (18, 85, 111)
    cnd = model.coefficients["CND"]
    expected = ["M45_54", "HCC18", "HCC85", "HCC111", "DIABETES_CHF", "CHF_gCopdCF", "D3"]
    assert [c.variable for c in result.components] == expected
    assert result.score == round(sum(cnd[v] for v in expected), 3)
    assert result.components[-3].codes == ("HCC18", "HCC85")


def test_v28_heart_patch_and_the_rule_order_of_hierarchies() -> None:
    model = load_model("v28")
    # HCC223 (heart assist device) counts only with another heart-failure HCC (CMS "heart patch").
    assert apply_hierarchy(model, {223}) == set()
    assert apply_hierarchy(model, {223, 227}) == {227}
    assert apply_hierarchy(model, {223, 226, 227}) == {223}
    # 62 drops 63 first, so 63's rule (which would drop 202) never fires: 202 stays.
    assert apply_hierarchy(model, {62, 63, 202}) == {62, 202}
    assert apply_hierarchy(model, {63, 202}) == {63}
    # rules written over two lines in the SAS macro (191, 192, 221, 222) apply too
    assert apply_hierarchy(model, {191, 180}) == {191}
    assert apply_hierarchy(model, {221, 226}) == {221}


def test_age_and_sex_edits() -> None:
    v24, v28 = load_model("v24"), load_model("v28")
    assert score_codes(v24, codes=["D66"], age=70, sex="F", segment="CNA").hccs == (48,)
    assert score_codes(v24, codes=["D66"], age=70, sex="M", segment="CNA").hccs == (46,)
    assert score_codes(v24, codes=["J449"], age=12, sex="M", segment="CND").hccs == (112,)
    assert score_codes(v28, codes=["J449"], age=12, sex="M", segment="CND").hccs == ()
    assert score_codes(v28, codes=["J449"], age=18, sex="M", segment="CND").hccs == (280,)
    assert score_codes(v28, codes=["C50911"], age=45, sex="F", segment="CND").hccs == (22,)
    assert score_codes(v28, codes=["C50911"], age=50, sex="F", segment="CND").hccs == (23,)


def test_segments_and_demographics() -> None:
    assert segment_for(age=70, medicare=True, medicaid=False, institutional=False) == "CNA"
    assert segment_for(age=64, medicare=True, medicaid=False, institutional=False) == "CND"
    assert segment_for(age=70, medicare=True, medicaid=True, institutional=False) == "CFA"
    assert segment_for(age=40, medicare=True, medicaid=True, institutional=False) == "CFD"
    assert segment_for(age=40, medicare=False, medicaid=True, institutional=False) == "CND"
    assert segment_for(age=80, medicare=False, medicaid=False, institutional=True) == "INS"
    assert segment_for(age=None, medicare=False, medicaid=False, institutional=False) == "CNA"
    assert age_on(date(1960, 2, 29), date(2025, 2, 28)) == 64
    assert age_on(date(1960, 2, 29), date(2025, 3, 1)) == 65
    assert age_on(date(2026, 1, 1), AS_OF) == 0
    assert add_months(date(2024, 2, 29), -12) == date(2023, 2, 28)
    assert add_months(date(2025, 3, 31), -1) == date(2025, 2, 28)


def test_which_diagnoses_count() -> None:
    assert diagnosis_counts(onset_date=date(2010, 1, 1), active=True, as_of=AS_OF)
    assert diagnosis_counts(onset_date=None, active=True, as_of=AS_OF)
    assert not diagnosis_counts(onset_date=None, active=False, as_of=AS_OF)
    assert diagnosis_counts(onset_date=date(2024, 7, 1), active=False, as_of=AS_OF)
    assert not diagnosis_counts(onset_date=date(2024, 6, 30), active=False, as_of=AS_OF)
    assert not diagnosis_counts(onset_date=date(2025, 7, 1), active=True, as_of=AS_OF)


def test_one_patient_from_records() -> None:
    result = score_patient(
        "v24",
        as_of=AS_OF,
        birth_date=date(1953, 3, 1),
        sex="female",
        diagnoses=[Diagnosis("E119", date(2019, 5, 2)), Diagnosis("I5022", date(2025, 1, 10), active=False)],
        coverages=[
            Period("medicare_advantage", date(2018, 1, 1)),
            Period("medicaid", None, date(2020, 1, 1)),
        ],
    )
    assert (result.segment, result.score) == ("CNA", 0.943)
    institutional = score_patient(
        "v28",
        as_of=AS_OF,
        birth_date=date(1953, 3, 1),
        sex="female",
        coverages=[Period("dual", date(2018, 1, 1))],
        residence=[Period("institutional", date(2024, 1, 1))],
    )
    ins = load_model("v28").coefficients["INS"]
    assert institutional.segment == "INS"
    assert institutional.score == round(ins["F70_74"] + ins["LTIMCAID"], 3)


def test_unknown_version_or_segment_is_refused() -> None:
    with pytest.raises(InvalidInput):
        load_model("v22")
    with pytest.raises(InvalidInput):
        score_codes(load_model("v24"), codes=[], age=70, sex="F", segment="NE")


# --------------------------------------------------------------------------- properties


def _codes(version: str) -> list[str]:
    return sorted(load_model(version).dx_map)


patients = st.fixed_dictionaries(
    {
        "version": st.sampled_from(VERSIONS),
        "segment": st.sampled_from(SEGMENTS),
        "age_offset": st.integers(0, 35),
        "sex": st.sampled_from("MF"),
        "picks": st.lists(st.integers(0, 10**6), max_size=14),
        "extra": st.integers(0, 10**6),
    }
)


def _patient(draw: dict[str, object]) -> tuple[str, str, int, str, list[str], str]:
    version, segment = str(draw["version"]), str(draw["segment"])
    offset = int(draw["age_offset"])  # type: ignore[call-overload]
    age = 65 + offset if segment.endswith("A") else (64 - offset if segment != "INS" else 30 + 2 * offset)
    codes = _codes(version)
    picks = [codes[i % len(codes)] for i in draw["picks"]]  # type: ignore[attr-defined]
    extra = codes[int(draw["extra"]) % len(codes)]  # type: ignore[call-overload]
    return version, segment, max(age, 0), str(draw["sex"]), picks, extra


@settings(max_examples=400, deadline=None)
@given(patients)
def test_no_patient_ever_keeps_both_levels_of_a_hierarchy(draw: dict[str, object]) -> None:
    version, segment, age, sex, codes, _ = _patient(draw)
    model = load_model(version)
    hccs = set(score_codes(model, codes=codes, age=age, sex=sex, segment=segment).hccs)
    for parent, children in model.hierarchy:
        assert not (parent in hccs and hccs & set(children)), (parent, hccs)


@settings(max_examples=400, deadline=None)
@given(patients)
def test_adding_a_diagnosis_never_lowers_the_score_unless_a_hierarchy_drops_an_hcc(
    draw: dict[str, object],
) -> None:
    """No relative factor is negative (checked on the tables), count factors grow with the count, so a
    new diagnosis cannot lower the score while every HCC the patient had stays. When the new HCC is higher
    in a hierarchy, it replaces the lower ones and the score may fall (e.g. V24 INS: HCC106 drops 108,
    161 and 189; see docs/hcc.md): the models do not promise monotonicity there."""
    version, segment, age, sex, codes, extra = _patient(draw)
    model = load_model(version)
    before = score_codes(model, codes=codes, age=age, sex=sex, segment=segment)
    after = score_codes(model, codes=[*codes, extra], age=age, sex=sex, segment=segment)
    assert set(after.hccs) >= set(before.hccs) or set(before.hccs) - set(after.hccs) <= {
        c for p, cs in model.hierarchy if p in after.hccs for c in cs
    }
    if set(after.hccs) >= set(before.hccs):
        assert after.score >= before.score


def test_a_higher_hcc_can_lower_the_score_as_the_cms_hierarchy_says() -> None:
    # V24 INS, 50 years old: atherosclerosis of the aorta (HCC108), a chronic skin ulcer (HCC161, with
    # the DISABLED_HCC161 interaction) and phantom limb pain (HCC189), then gangrene (HCC106), which
    # is above all three in the "Vascular 1" hierarchy.
    model = load_model("v24")
    ins = model.coefficients["INS"]
    codes = ["I700", "L97101", "G546"]
    before = score_codes(model, codes=codes, age=50, sex="F", segment="INS")
    assert before.hccs == (108, 161, 189)
    after = score_codes(model, codes=[*codes, "I70261"], age=50, sex="F", segment="INS")
    assert after.hccs == (106,)
    assert ins["HCC106"] < ins["HCC108"] + ins["HCC161"] + ins["HCC189"] + ins["DISABLED_HCC161"]
    assert after.score < before.score
