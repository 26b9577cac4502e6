"""The programs definition through the DuckDB engine, after the definitions it reads (registry order)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from carenav.analytics.definitions import REGISTERED
from carenav.analytics.definitions.programs import programs_definition
from carenav.programs.rules import DEFAULT_RULES_PATH, rules_load
from tests.analytics.snapshots import AS_OF, Population, by_patient, evidence_of


def test_the_default_rules_flag_and_tier_a_small_population(tmp_path: Path) -> None:
    pop = Population()
    pop.patient("ccm", birth=date(1950, 1, 1))
    pop.dx("ccm", "E119")  # type 2 diabetes: chronic, Charlson 1
    pop.dx("ccm", "I10")  # hypertension: chronic
    pop.patient("tcm", birth=date(1960, 1, 1))
    discharged = datetime.combine(AS_OF - timedelta(days=5), datetime.min.time())
    pop.encounter("tcm", "IMP", discharged - timedelta(days=3), discharged, discharge_disposition="01")
    pop.patient("dead", birth=date(1940, 1, 1), deceased=True, deceased_date=AS_OF - timedelta(days=40))
    pop.dx("dead", "E119")
    pop.dx("dead", "I10")
    pop.dx("dead", "F329")  # depression: behavioural health
    pop.patient("none", birth=date(1990, 1, 1))
    others = [entry() if callable(entry) else entry for entry in REGISTERED]
    definitions = [d for d in others if d.name != "programs"]
    result = pop.score(
        tmp_path, definitions=[*definitions, programs_definition(rules_load(DEFAULT_RULES_PATH))]
    )
    scores = by_patient(result)
    assert (scores["ccm"]["programs"], scores["ccm"]["tier"]) == ("ccm", 2)
    assert scores["tcm"]["programs"] == "tcm"
    assert scores["tcm"]["tier"] == 3  # an admission in the last 12 months
    assert scores["dead"]["programs"] == ""  # excluded from every program, still tiered
    assert scores["dead"]["tier"] == 2
    assert (scores["none"]["programs"], scores["none"]["tier"]) == ("", 1)
    evidence = {r["component"]: r["evidence"] for r in evidence_of(result, "tcm", "programs")}
    assert evidence["program:tcm"] == (
        "program tcm: discharged_to_community == true [discharged_to_community=true]; "
        "days_since_discharge >= 0 [days_since_discharge=5]; "
        "days_since_discharge <= 29 [days_since_discharge=5]"
    )
    assert evidence["tier"] == "tier 3: ip_admits_12m >= 1 [ip_admits_12m=1]"


def test_the_registry_builds_the_default_rules_definition() -> None:
    built = [entry() if callable(entry) else entry for entry in REGISTERED]
    (programs,) = [d for d in built if d.name == "programs"]
    assert programs == programs_definition(rules_load(DEFAULT_RULES_PATH))
    assert set(programs.depends_on) <= {d.name for d in built}
