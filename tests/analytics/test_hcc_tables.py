"""CMS-HCC reference tables: reproducible from the CMS files, complete and consistent with each other."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import pytest

from carenav.analytics.definition import TABLES_DIR
from carenav.analytics.definitions.hcc import DEFINITIONS
from carenav.analytics.hcc_reference import COMMUNITY_SEGMENTS, SEGMENTS, VERSIONS, load_model

ROOT = Path(__file__).resolve().parents[2]
# Sizes of the published models: V24 has 86 payment HCCs, V28 115.
PAYMENT_HCCS = {"v24": 86, "v28": 115}


def test_the_committed_tables_are_what_the_build_script_makes_from_the_cms_files() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_hcc_tables.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("definition", DEFINITIONS, ids=lambda d: d.name)
def test_every_table_cites_its_cms_source(definition: object) -> None:
    for path in definition.table_paths().values():  # type: ignore[attr-defined]
        head = [line for line in path.read_text().splitlines() if line.startswith("#")]
        assert any("Source: " in line and "CMS" in line for line in head), path.name
        assert any("public domain" in line for line in head), path.name


@pytest.mark.parametrize("version", VERSIONS)
def test_every_mapped_hcc_has_a_relative_factor_in_every_segment(version: str) -> None:
    model = load_model(version)
    mapped = {cc for ccs in model.dx_map.values() for cc in ccs}
    edited = {e.cc for edits in model.edits.values() for e in edits if e.cc is not None}
    assert len(model.payment_hccs) == PAYMENT_HCCS[version]
    assert mapped | edited == set(model.payment_hccs)
    for segment in SEGMENTS:
        missing = {cc for cc in mapped | edited if f"HCC{cc}" not in model.coefficients[segment]}
        assert missing == set(), segment
        assert all(v >= 0 for v in model.coefficients[segment].values()), "a negative relative factor"
    for cc in model.payment_hccs:
        assert model.labels[cc]


@pytest.mark.parametrize("version", VERSIONS)
def test_every_variable_the_model_builds_has_a_relative_factor(version: str) -> None:
    model = load_model(version)
    aged = [f"{s}{b}" for s in "FM" for b in ("65_69", "70_74", "75_79", "80_84", "85_89", "90_94", "95_GT")]
    disabled = [f"{s}{b}" for s in "FM" for b in ("0_34", "35_44", "45_54", "55_59", "60_64")]
    counts = ["D1", "D2", "D3", "D4", "D5", "D6", "D7", "D8", "D9", "D10P"]
    for segment in COMMUNITY_SEGMENTS:
        cells = aged if segment.endswith("A") else disabled
        assert set(cells + counts) <= set(model.coefficients[segment]), segment
        factors = [model.coefficients[segment][d] for d in counts]
        assert factors == sorted(factors), f"{segment}: count factors are not monotone"
    assert set(aged + disabled + ["LTIMCAID"]) <= set(model.coefficients["INS"])
    interactions = {variable for variable, _, _ in model.interactions}
    for variable in interactions:
        assert any(variable in model.coefficients[s] for s in SEGMENTS), variable
    for _, term1, term2 in model.interactions:
        for term in (term1, term2):
            assert term == "DISABLED" or model.groups[term] <= model.payment_hccs


@pytest.mark.parametrize("version", VERSIONS)
def test_hierarchies_name_payment_hccs_and_the_sql_shortcut_equals_the_cms_rule_order(version: str) -> None:
    """The SQL drops a child when a present parent's rule fires, and a parent's rule fires unless an
    earlier rule's present parent drops it. That equals applying the CMS rules one by one, in order,
    provided no rule is blocked only through a chain; checked here on every subset of every family."""
    model = load_model(version)
    parents = [p for p, _ in model.hierarchy]
    assert len(parents) == len(set(parents)), "one rule per parent"
    order = {parent: index for index, (parent, _) in enumerate(model.hierarchy)}
    children = dict(model.hierarchy)
    nodes = set(parents) | {c for cs in children.values() for c in cs}
    assert nodes <= set(model.payment_hccs)
    for cc, needed in model.requires.items():
        assert {cc} | needed <= set(model.payment_hccs)
    families: list[set[int]] = []
    for parent, kids in model.hierarchy:
        family = {parent, *kids}
        joined = [f for f in families if f & family]
        for f in joined:
            families.remove(f)
            family |= f
        families.append(family)
    for family in families:
        assert len(family) <= 12
        for size in range(len(family) + 1):
            for subset in itertools.combinations(sorted(family), size):
                present = set(subset)
                firing = {
                    p
                    for p in present & set(parents)
                    if not any(q in present and p in children[q] and order[q] < order[p] for q in parents)
                }
                shortcut = present - {c for p in firing for c in children[p]}
                expected = set(present)
                for parent, kids in model.hierarchy:
                    if parent in expected:
                        expected -= set(kids)
                assert shortcut == expected, (version, subset)


def test_only_the_two_versions_have_tables() -> None:
    names = {p.name.split("_")[1] for p in TABLES_DIR.glob("hcc_*.csv")}
    assert names == set(VERSIONS)
