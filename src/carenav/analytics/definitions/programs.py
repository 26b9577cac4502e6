"""Program eligibility and risk tiers: an organization's validated rules compiled into a ``Definition``.

The rules live as data (``carenav.programs`` rules files); ``carenav.programs.rules`` validates them and is
the one place that turns them into SQL. This module only wraps that SQL in the analytics contract:
columns ``tier`` (1-4) and ``programs`` (eligible codes, sorted, ';'-separated, '' when none), evidence
rows naming each rule and the feature values that met it, ``depends_on`` the definitions whose outputs
hold the features the rules read, and ``version`` = the rules file's hash (saved with every run).
"""

from __future__ import annotations

from collections.abc import Mapping

from carenav.analytics.definition import Definition
from carenav.programs.rules import (
    DEFAULT_RULES_PATH,
    FEATURES,
    RuleSet,
    evidence_sql,
    rules_load,
    scores_sql,
)

NAME = "programs"
COLUMNS = ("tier", "programs")


def programs_definition(rules: RuleSet, *, sources: Mapping[str, str] | None = None) -> Definition:
    """The definition for one organization's rules. ``sources`` overrides which definition's output
    holds a feature (feature name -> definition name); by default ``FEATURES[name].source``."""
    depends = sorted({(sources or {}).get(name, FEATURES[name].source) for name in rules.features_used()})
    return Definition(
        name=NAME,
        columns=COLUMNS,
        scores_sql=scores_sql(rules, sources=sources),
        evidence_sql=evidence_sql(rules, model=NAME, sources=sources),
        depends_on=tuple(depends),
        version=rules.version,
    )


def default_programs_definition() -> Definition:
    """The definition for the shipped default rules (``carenav/programs/default_rules.toml``)."""
    return programs_definition(rules_load(DEFAULT_RULES_PATH))
