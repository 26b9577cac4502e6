"""Caseload balancing. Pure: no SQL, no HTTP.

A patient to place has *needs* (``PatientNeeds``): social (an open SDOH condition), clinical (a chronic
condition or a transition of care), a preferred language, programs and a risk tier (its acuity). Each
candidate care manager (``Candidate``) has a discipline, languages, a capacity in patients and a current
load. ``score`` gives each candidate points with the reasons for them; ``suggest`` ranks the candidates.

The points (``WEIGHTS``):

- discipline fit: a social need and a social worker (or community health worker, half), a clinical need
  and a nurse (or pharmacist, half);
- language: the candidate speaks the patient's preferred language;
- program: the candidate already carries patients of one of the patient's programs;
- capacity left: up to ``WEIGHTS["capacity"]`` in proportion to the share of capacity still free.

A candidate at or over capacity is only ever ranked after every candidate under capacity.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

CAPACITY_PATH = Path(__file__).with_name("capacity.toml")


class Discipline(StrEnum):
    """A care manager's discipline, matched by balancing to a patient's needs."""

    NURSE = "nurse"
    SOCIAL_WORKER = "social-worker"
    COMMUNITY_HEALTH_WORKER = "community-health-worker"
    PHARMACIST = "pharmacist"
    OTHER = "other"


DISCIPLINE_LABELS = {
    Discipline.NURSE: "Nurse",
    Discipline.SOCIAL_WORKER: "Social worker",
    Discipline.COMMUNITY_HEALTH_WORKER: "Community health worker",
    Discipline.PHARMACIST: "Pharmacist",
    Discipline.OTHER: "Other",
}

WEIGHTS = {"discipline": 40.0, "discipline_partial": 20.0, "language": 25.0, "program": 5.0, "capacity": 30.0}


@dataclass(frozen=True)
class CapacityRules:
    """Default capacity by discipline and acuity weight by tier (``capacity.toml``)."""

    capacity: dict[str, int]
    acuity: dict[str, float]

    def capacity_of(self, discipline: str | None, own: int | None) -> int:
        if own is not None:
            return own
        return self.capacity.get(discipline or "default", self.capacity["default"])

    def weight(self, tier: int | None) -> float:
        return self.acuity.get(str(tier) if tier is not None else "none", self.acuity["none"])


def capacity_parse(text: str) -> CapacityRules:
    data = tomllib.loads(text)
    capacity = {str(k): int(v) for k, v in data["capacity"].items()}
    acuity = {str(k): float(v) for k, v in data["acuity"].items()}
    if "default" not in capacity or "none" not in acuity:
        raise ValueError("capacity.toml needs capacity.default and acuity.none")
    return CapacityRules(capacity=capacity, acuity=acuity)


@lru_cache(maxsize=1)
def default_capacity_rules() -> CapacityRules:
    return capacity_parse(CAPACITY_PATH.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class PatientNeeds:
    """What a patient to place needs. ``tier``: risk tier, 4 highest (None: not stratified)."""

    social: bool = False
    clinical: bool = False
    language: str | None = None
    programs: frozenset[str] = frozenset()
    tier: int | None = None


@dataclass(frozen=True)
class Candidate:
    """A care manager who could carry the patient. ``load``: patients carried now; ``weighted_load``: their
    acuity-weighted sum; ``programs``: programs of the patients they carry."""

    username: str
    discipline: str | None
    languages: frozenset[str]
    capacity: int
    load: int
    weighted_load: float = 0.0
    programs: frozenset[str] = frozenset()

    @property
    def at_capacity(self) -> bool:
        return self.load >= self.capacity


@dataclass(frozen=True)
class Scored:
    candidate: Candidate
    score: float
    reasons: tuple[str, ...] = field(default=())

    @property
    def at_capacity(self) -> bool:
        return self.candidate.at_capacity


def _language(code: str | None) -> str | None:
    """The primary language subtag, lower case: ``es-MX`` → ``es``."""
    if not code:
        return None
    return code.strip().lower().split("-")[0] or None


def score(needs: PatientNeeds, candidate: Candidate) -> Scored:
    """The candidate's points for this patient, with the reasons in words."""
    points = 0.0
    reasons: list[str] = []
    discipline = candidate.discipline
    if needs.social:
        if discipline == Discipline.SOCIAL_WORKER:
            points += WEIGHTS["discipline"]
            reasons.append("social needs: a social worker")
        elif discipline == Discipline.COMMUNITY_HEALTH_WORKER:
            points += WEIGHTS["discipline_partial"]
            reasons.append("social needs: a community health worker")
    if needs.clinical:
        if discipline == Discipline.NURSE:
            points += WEIGHTS["discipline"]
            reasons.append("clinical follow-up: a nurse")
        elif discipline == Discipline.PHARMACIST:
            points += WEIGHTS["discipline_partial"]
            reasons.append("clinical follow-up: a pharmacist")
    wanted = _language(needs.language)
    if wanted is not None and wanted in {_language(code) for code in candidate.languages}:
        points += WEIGHTS["language"]
        reasons.append(f"speaks {wanted}")
    shared = sorted(needs.programs & candidate.programs)
    if shared:
        points += WEIGHTS["program"]
        reasons.append(f"carries {', '.join(shared)} patients")
    free = max(0, candidate.capacity - candidate.load)
    if candidate.capacity > 0 and free > 0:
        points += WEIGHTS["capacity"] * free / candidate.capacity
        reasons.append(f"{free} of {candidate.capacity} places free")
    else:
        reasons.append(f"at capacity ({candidate.load} of {candidate.capacity})")
    return Scored(candidate=candidate, score=round(points, 2), reasons=tuple(reasons))


def suggest(needs: PatientNeeds, candidates: Iterable[Candidate]) -> list[Scored]:
    """The candidates best first: those under capacity before any at or over it, then by score, then by the
    lighter acuity-weighted load, then by username (so the order is stable)."""
    scored = [score(needs, c) for c in candidates]
    return sorted(
        scored,
        key=lambda s: (s.at_capacity, -s.score, s.candidate.weighted_load, s.candidate.username),
    )


def best(needs: PatientNeeds, candidates: Sequence[Candidate]) -> Scored | None:
    ranked = suggest(needs, candidates)
    return ranked[0] if ranked else None
