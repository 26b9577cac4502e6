"""Caseload balancing rules (pure): discipline fit, language, capacity; properties under hypothesis."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from carenav.caseloads.rules import (
    Candidate,
    Discipline,
    PatientNeeds,
    default_capacity_rules,
    score,
    suggest,
)

LANGS = st.sampled_from(["en", "es", "ht", "pt", "zh"])
needs_st = st.builds(
    PatientNeeds,
    social=st.booleans(),
    clinical=st.booleans(),
    language=st.none() | LANGS,
    programs=st.frozensets(st.sampled_from(["ccm", "pcm", "bhi"])),
    tier=st.none() | st.integers(1, 4),
)


@st.composite
def candidates(draw: st.DrawFn) -> Candidate:
    capacity = draw(st.integers(1, 80))
    return Candidate(
        username=draw(st.text("abcdefgh", min_size=1, max_size=6)),
        discipline=draw(st.none() | st.sampled_from([d.value for d in Discipline])),
        languages=draw(st.frozensets(LANGS)),
        capacity=capacity,
        load=draw(st.integers(0, 100)),
        weighted_load=draw(st.floats(0, 200)),
        programs=draw(st.frozensets(st.sampled_from(["ccm", "pcm", "bhi"]))),
    )


@given(needs_st, st.lists(candidates(), min_size=1, max_size=8))
def test_never_someone_at_capacity_while_someone_under_exists(
    needs: PatientNeeds, pool: list[Candidate]
) -> None:
    ranked = suggest(needs, pool)
    if any(not c.at_capacity for c in pool):
        assert not ranked[0].at_capacity
    seen_full = False
    for item in ranked:
        seen_full = seen_full or item.at_capacity
        assert not (seen_full and not item.at_capacity), "under-capacity candidates come first"


@given(needs_st, candidates())
def test_a_language_match_never_lowers_the_score(needs: PatientNeeds, candidate: Candidate) -> None:
    if needs.language is None:
        return
    speaking = Candidate(**{**candidate.__dict__, "languages": candidate.languages | {needs.language}})
    silent = Candidate(**{**candidate.__dict__, "languages": candidate.languages - {needs.language}})
    assert score(needs, speaking).score >= score(needs, silent).score
    assert score(needs, speaking).score > score(needs, silent).score


def _cm(
    name: str, discipline: Discipline, load: int = 10, capacity: int = 50, langs: str = "en"
) -> Candidate:
    return Candidate(name, discipline.value, frozenset(langs.split(",")), capacity, load, float(load))


def test_social_needs_go_to_social_workers_and_clinical_to_nurses() -> None:
    pool = [_cm("nina", Discipline.NURSE), _cm("sol", Discipline.SOCIAL_WORKER)]
    social = suggest(PatientNeeds(social=True), pool)
    assert social[0].candidate.username == "sol"
    assert "social needs: a social worker" in social[0].reasons
    clinical = suggest(PatientNeeds(clinical=True, tier=4), pool)
    assert clinical[0].candidate.username == "nina"
    assert "clinical follow-up: a nurse" in clinical[0].reasons


def test_capacity_and_language_weigh_in() -> None:
    full_nurse = _cm("nina", Discipline.NURSE, load=50)
    other_nurse = _cm("ned", Discipline.NURSE, load=45)
    assert suggest(PatientNeeds(clinical=True), [full_nurse, other_nurse])[0].candidate.username == "ned"
    english = _cm("ann", Discipline.NURSE)
    spanish = _cm("ana", Discipline.NURSE, langs="en,es")
    ranked = suggest(PatientNeeds(clinical=True, language="es-MX"), [english, spanish])
    assert ranked[0].candidate.username == "ana"
    assert "speaks es" in ranked[0].reasons


def test_capacity_defaults_come_from_data() -> None:
    rules = default_capacity_rules()
    assert rules.capacity_of("nurse", None) == 60
    assert rules.capacity_of("nurse", 12) == 12
    assert rules.capacity_of(None, None) == 50
    assert rules.weight(4) == 3.0
    assert rules.weight(None) == 1.0
