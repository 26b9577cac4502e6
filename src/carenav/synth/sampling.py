"""Small, fast sampling helpers over ``random.Random`` (weighted choice, Poisson) and the condition model."""

from __future__ import annotations

import math
import random
from bisect import bisect
from collections.abc import Sequence
from functools import cache
from itertools import accumulate
from statistics import NormalDist
from typing import Generic, TypeVar

from carenav.synth.epidemiology import CONDITION_INDEX, CONDITIONS

T = TypeVar("T")


class Weighted(Generic[T]):
    """A weighted choice with the cumulative weights computed once."""

    __slots__ = ("_cumulative", "_total", "_values")

    def __init__(self, pairs: Sequence[tuple[T, float]]) -> None:
        self._values = tuple(value for value, _ in pairs)
        self._cumulative = tuple(accumulate(weight for _, weight in pairs))
        self._total = self._cumulative[-1]

    def pick(self, rng: random.Random) -> T:
        return self._values[bisect(self._cumulative, rng.random() * self._total)]


def poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method; means here are small (< 15)."""
    if mean <= 0:
        return 0
    limit = math.exp(-mean)
    k = 0
    product = rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


@cache
def condition_thresholds() -> tuple[tuple[tuple[tuple[float, float], ...], ...], ...]:
    """z-thresholds per [age band][sex 0=female 1=male][condition] as (parent absent, parent present).

    A condition is present when ``frailty * F + sqrt(1 - frailty^2) * e < threshold`` with F the patient's
    latent burden and e independent noise, both standard normal, so each condition's probability given
    its parent state is Phi(threshold). The parent's effect is split so that the marginal stays at the
    table's prevalence: p = q*p1 + (1-q)*p0 with p1 = RR * p0 (capped), q the parent's prevalence.
    """
    normal = NormalDist()

    def z(p: float) -> float:
        return normal.inv_cdf(min(max(p, 1e-6), 1 - 1e-6))

    bands = []
    for band in range(5):
        sexes = []
        for sex in (0, 1):
            row = []
            for spec in CONDITIONS:
                p = (spec.female if sex == 0 else spec.male)[band]
                if spec.parent is None:
                    row.append((z(p), z(p)))
                    continue
                parent = CONDITIONS[CONDITION_INDEX[spec.parent]]
                q = (parent.female if sex == 0 else parent.male)[band]
                p0 = p / (1 + q * (spec.relative_risk - 1))
                p1 = min(0.95, p0 * spec.relative_risk)
                row.append((z(p0), z(p1)))
            sexes.append(tuple(row))
        bands.append(tuple(sexes))
    return tuple(bands)
