"""Every reference table: well-formed, complete, and equal to the published values it cites."""

from __future__ import annotations

import itertools
import json
import re
from collections import defaultdict
from pathlib import Path

import pytest

from carenav.analytics.definition import TABLES_DIR, read_reference_table

ICD10CM = re.compile(r"^[A-Z][0-9][0-9A-Z]{1,5}$")


def table(name: str) -> list[dict[str, str | None]]:
    header, rows = read_reference_table(TABLES_DIR / name)
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_every_table_cites_its_source() -> None:
    for name in (
        "snomed_icd10.csv",
        "snomed_not_mapped.csv",
        "charlson_quan2005.csv",
        "charlson_weights.csv",
        "chronic_conditions.csv",
        "lace_points.csv",
    ):
        first = (TABLES_DIR / name).read_text().splitlines()[0]
        assert first.startswith("#"), name


# The Quan 2005 table as the reference (care-management-standards.md 4.2) prints it, ranges written out.
QUAN_SAMPLES = {
    "ami": {"I21", "I22", "I252"},
    "chf": {"I099", "I110", "I130", "I132", "I255", "I420", "I425", "I429", "I43", "I50", "P290"},
    "dementia": {"F00", "F01", "F02", "F03", "F051", "G30", "G311"},
    "diab": {"E100", "E101", "E106", "E108", "E109", "E149"},
    "diabwc": {"E102", "E103", "E104", "E105", "E107", "E147"},
    "msld": {"I850", "I859", "I864", "I982", "K704", "K711", "K721", "K729", "K765", "K766", "K767"},
    "metacanc": {"C77", "C78", "C79", "C80"},
    "aids": {"B20", "B21", "B22", "B24"},
}
QUAN_COUNTS = {
    "canc": 83,
    "cevd": 13,
    "copd": 21,
    "rend": 22,
    "pud": 4,
    "mld": 19,
    "pvd": 13,
    "hp": 12,
    "rheumd": 9,
    "ami": 3,
    "chf": 14,
    "dementia": 7,
    "diab": 25,
    "diabwc": 25,
    "msld": 11,
    "metacanc": 4,
    "aids": 4,
}


def test_quan_2005_prefixes() -> None:
    prefixes: dict[str, set[str]] = defaultdict(set)
    for row in table("charlson_quan2005.csv"):
        assert 3 <= len(str(row["prefix"])) <= 5, row
        assert ICD10CM.match(str(row["prefix"]) + "0"), row
        prefixes[str(row["category"])].add(str(row["prefix"]))
    assert {c: len(p) for c, p in prefixes.items()} == QUAN_COUNTS
    for category, expected in QUAN_SAMPLES.items():
        assert expected <= prefixes[category], category
    everything = [p for ps in prefixes.values() for p in ps]
    assert len(everything) == len(set(everything)), "a prefix is in two categories"


WEIGHTS_1987 = {
    "ami": 1,
    "chf": 1,
    "pvd": 1,
    "cevd": 1,
    "dementia": 1,
    "copd": 1,
    "rheumd": 1,
    "pud": 1,
    "mld": 1,
    "diab": 1,
    "diabwc": 2,
    "hp": 2,
    "rend": 2,
    "canc": 2,
    "msld": 3,
    "metacanc": 6,
    "aids": 6,
}
WEIGHTS_2011 = {
    "ami": 0,
    "chf": 2,
    "pvd": 0,
    "cevd": 0,
    "dementia": 2,
    "copd": 1,
    "rheumd": 1,
    "pud": 0,
    "mld": 2,
    "diab": 0,
    "diabwc": 1,
    "hp": 2,
    "rend": 1,
    "canc": 2,
    "msld": 4,
    "metacanc": 6,
    "aids": 4,
}
WEIGHTS_LACE = {
    "ami": 1,
    "chf": 2,
    "pvd": 1,
    "cevd": 1,
    "dementia": 3,
    "copd": 2,
    "rheumd": 3,
    "pud": 1,
    "mld": 2,
    "diab": 1,
    "diabwc": 2,
    "hp": 0,
    "rend": 2,
    "canc": 2,
    "msld": 4,
    "metacanc": 6,
    "aids": 4,
}


def test_charlson_weights_match_the_reference() -> None:
    rows = {str(r["category"]): r for r in table("charlson_weights.csv")}
    assert {c: int(str(r["charlson1987"])) for c, r in rows.items()} == WEIGHTS_1987
    assert {c: int(str(r["quan2011"])) for c, r in rows.items()} == WEIGHTS_2011
    assert {c: int(str(r["lace"])) for c, r in rows.items()} == WEIGHTS_LACE
    assert {c: r["zeroed_by"] for c, r in rows.items() if r["zeroed_by"]} == {
        "mld": "msld",
        "diab": "diabwc",
        "canc": "metacanc",
    }


def test_lace_bands_cover_every_value_once() -> None:
    bands: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for row in table("lace_points.csv"):
        bands[str(row["component"])].append(
            (int(str(row["lo"])), int(str(row["hi"])), int(str(row["points"])))
        )
    for component, rows in bands.items():
        rows.sort()
        assert rows[0][0] == 0, component
        for (_, hi, _), (lo, _, _) in itertools.pairwise(rows):
            assert lo == hi + 1, component
    points = {
        c: {v: p for lo, hi, p in rows for v in range(lo, min(hi, 30) + 1)} for c, rows in bands.items()
    }
    assert [points["L"][d] for d in (0, 1, 2, 3, 4, 6, 7, 13, 14, 30)] == [0, 1, 2, 3, 4, 4, 5, 5, 7, 7]
    assert [points["C"][c] for c in (0, 1, 2, 3, 4, 9)] == [0, 1, 2, 3, 5, 5]
    assert [points["E"][e] for e in (0, 1, 2, 3, 4, 9)] == [0, 1, 2, 3, 4, 4]
    assert max(points["L"].values()) + 3 + max(points["C"].values()) + max(points["E"].values()) == 19


def test_crosswalk_rows_are_well_formed() -> None:
    rows = table("snomed_icd10.csv")
    codes = [r["snomed_code"] for r in rows]
    assert len(codes) == len(set(codes))
    for row in rows:
        assert re.fullmatch(r"[0-9]{6,18}", str(row["snomed_code"])), row
        assert ICD10CM.match(str(row["icd10_code"])), row
        assert row["source"] in ("nlm", "judgement"), row
        if row["source"] == "judgement":
            assert row["note"], f"{row['snomed_code']}: a judgement needs its reason"
    not_mapped = {str(r["snomed_code"]) for r in table("snomed_not_mapped.csv")}
    assert not not_mapped & set(map(str, codes))
    assert {r["reason"] for r in table("snomed_not_mapped.csv")} <= {
        "acute",
        "injury",
        "finding",
        "history",
        "benign",
        "pregnancy",
    }


def test_chronic_conditions_table() -> None:
    rows = table("chronic_conditions.csv")
    categories = {str(r["category"]) for r in rows}
    assert len({r["category"] for r in rows if r["grp"] == "ccw"}) == 26  # CCW's 27, Alzheimer's merged
    assert {r["flag"] for r in rows} <= {None, "behavioral", "substance"}
    for row in rows:
        assert ICD10CM.match(str(row["prefix"]) + "0"), row
        assert 3 <= len(str(row["prefix"])) <= 5, row  # what prefix_match assumes
    labels = defaultdict(set)
    for row in rows:
        labels[row["category"]].add(row["label"])
    assert all(len(v) == 1 for v in labels.values())
    assert {"diabetes", "heart_failure", "copd", "ckd", "hypertension", "depression"} <= categories


# Chronic SNOMED CT codes in the shared Synthea set (data README's categories plus the other chronic
# disorders found there): each must be mapped.
SYNTHEA_CHRONIC = {
    "38341003",
    "59621000",
    "44054006",
    "368581000119106",
    "422034002",
    "1551000119108",
    "1501000119109",
    "90781000119102",
    "127013003",
    "88805009",
    "84114007",
    "42343007",
    "185086009",
    "87433001",
    "13645005",
    "431855005",
    "431856006",
    "433144002",
    "431857002",
    "46177005",
    "53741008",
    "22298006",
    "399211009",
    "49436004",
    "230690007",
    "128613002",
    "84757009",
    "239872002",
    "239873007",
    "201834006",
    "64859006",
    "26929004",
    "83664006",
    "69896004",
    "271737000",
    "302870006",
    "237602007",
    "15777000",
    "40055000",
    "446096008",
    "232353008",
    "124171000119105",
    "109838007",
    "449868002",
}


def synthea_condition_codes(folder: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for path in sorted(folder.glob("*.json")):
        bundle = json.loads(path.read_text())
        for entry in bundle["entry"]:
            resource = entry["resource"]
            if resource["resourceType"] == "Condition":
                for coding in resource["code"]["coding"]:
                    found[coding["code"]] = coding.get("display", "")
    return found


def test_every_synthea_condition_is_mapped_or_deliberately_not(shared_data: Path) -> None:
    found = synthea_condition_codes(shared_data / "synthea-r4")
    assert len(found) > 50
    mapped = {str(r["snomed_code"]) for r in table("snomed_icd10.csv")}
    not_mapped = {str(r["snomed_code"]) for r in table("snomed_not_mapped.csv")}
    unclassified = {code: name for code, name in found.items() if code not in mapped | not_mapped}
    assert not unclassified, f"SNOMED CT codes neither mapped nor listed as not mapped: {unclassified}"
    chronic_unmapped = sorted(SYNTHEA_CHRONIC - mapped)
    assert not chronic_unmapped


@pytest.mark.parametrize("code", sorted(SYNTHEA_CHRONIC))
def test_chronic_synthea_code_is_not_in_the_not_mapped_list(code: str) -> None:
    assert code not in {str(r["snomed_code"]) for r in table("snomed_not_mapped.csv")}
