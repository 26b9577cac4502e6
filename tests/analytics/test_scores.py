"""Charlson, LACE and utilisation on small hand-made snapshots, with results worked out by hand."""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path

import pytest

from carenav.analytics.definition import TABLES_DIR
from tests.analytics.snapshots import AS_OF, Population, by_patient, evidence_of


def day(text: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(text).replace(hour=hour)


def test_charlson_worked_example(tmp_path: Path) -> None:
    population = Population()
    # Born 1950-07-01: 74 on 2025-06-30 -> 3 age points.
    population.patient("a", birth=date(1950, 7, 1))
    population.dx("a", "I509")  # chf: 1987 = 1, 2011 = 2
    population.dx("a", "E1122")  # diabwc (4th char 2): 2 / 1
    population.dx("a", "E119")  # diab: zeroed by diabwc
    population.dx("a", "K703")  # mld: 1 / 2
    population.dx("a", "K766")  # msld: 3 / 4, zeroes mld
    population.dx("a", "C787")  # metacanc: 6 / 6
    population.dx("a", "C509")  # canc: zeroed by metacanc
    population.dx("a", "B20", onset=date(2026, 1, 1))  # after as-of: not counted
    population.dx("a", "I252", active=False, abatement_date=date(2010, 1, 1))  # ami (resolved): 1 / 0
    population.patient("b", birth=date(1990, 1, 1))
    population.dx("b", "B24")  # aids: 6 / 4 (Quan 2011: 4, not comorbidipy's 2)
    population.dx("b", "J449", system="icd10cm")  # copd: 1 / 1
    result = population.score(tmp_path)
    rows = by_patient(result)
    assert rows["a"]["charlson"] == 1 + 2 + 3 + 6 + 1
    assert rows["a"]["charlson_quan2011"] == 2 + 1 + 4 + 6 + 0
    assert rows["a"]["charlson_age_adjusted"] == 13 + 3
    assert rows["a"]["charlson_categories"] == "ami;chf;diabwc;metacanc;msld"
    assert rows["b"]["charlson"] == 7
    assert rows["b"]["charlson_quan2011"] == 5
    assert rows["b"]["charlson_age_adjusted"] == 7  # 35 years old: no age points
    rows_a = evidence_of(result, "a", "charlson")
    assert sum(r["points"] for r in rows_a) == 13
    zeroed = {r["component"]: r["evidence"] for r in rows_a if r["points"] == 0}
    assert set(zeroed) == {"diab", "mld", "canc"}
    assert "diabwc counts instead" in zeroed["diab"]
    age = evidence_of(result, "a", "charlson_age_adjusted")
    assert [(r["component"], r["points"]) for r in age] == [("age", 3.0)]


@pytest.mark.parametrize(
    ("birth", "points"),
    [
        (date(1985, 7, 1), 0),
        (date(1975, 7, 1), 0),
        (date(1975, 6, 30), 1),
        (date(1965, 6, 30), 2),
        (date(1955, 6, 30), 3),
        (date(1945, 6, 30), 4),
        (date(1915, 1, 1), 4),
    ],
)
def test_charlson_age_points(tmp_path: Path, birth: date, points: int) -> None:
    population = Population()
    population.patient("a", birth=birth)
    assert by_patient(population.score(tmp_path))["a"]["charlson_age_adjusted"] == points


def test_lace_worked_example(tmp_path: Path) -> None:
    population = Population()
    population.patient("a")
    population.dx("a", "I509", onset=date(2019, 1, 1))  # LACE weight 2
    population.dx("a", "F03", onset=date(2019, 1, 1))  # dementia: 3
    population.dx("a", "C787", onset=date(2025, 6, 1))  # metastatic after the first discharge
    # Earlier ED visits: 2024-11-01 (in the 6 months before 2025-03-10), 2024-08-01 (not), one the
    # day before admission that ran into it (the visit that led to the admission: not counted).
    population.encounter("a", "EMER", day("2024-11-01"), day("2024-11-01", 14))
    population.encounter("a", "EMER", day("2024-08-01"), day("2024-08-01", 14))
    population.encounter("a", "EMER", day("2025-03-09", 22), day("2025-03-10", 2))
    population.encounter(
        "a", "IMP", day("2025-03-10", 3), day("2025-03-14"), discharge_disposition="01", encounter_id="stay-1"
    )
    # Second stay: elective, same day, 2025-06-20; C now 2+3+6 = 11 -> 5 points.
    population.encounter(
        "a",
        "IMP",
        day("2025-06-20", 8),
        day("2025-06-20", 17),
        admission_type="elective",
        discharge_disposition="06",
        encounter_id="stay-2",
    )
    # A stay after as-of and one ending in death are not discharges.
    population.encounter("a", "IMP", day("2025-07-01"), day("2025-07-03"))
    population.patient("b")
    population.encounter("b", "IMP", day("2025-01-01"), day("2025-01-02"), discharge_disposition="20")
    result = population.score(tmp_path)
    rows = by_patient(result)
    # stay-2: L 1 day -> 1; A elective -> 0; C 11 -> 5; E: 2024-11-01 counts? window 2024-12-20..: no;
    # 2025-03-09 ED visit: yes -> 1. Total 7.
    assert rows["a"]["lace_last_discharge"] == 1 + 0 + 5 + 1
    assert rows["a"]["lace_encounter_id"] == "stay-2"
    lace = {r["component"]: r["points"] for r in evidence_of(result, "a", "lace")}
    assert lace == {"L": 1, "A": 0, "C": 5, "E": 1}
    history = {r["component"]: r["points"] for r in evidence_of(result, "a", "lace_history")}
    # stay-1: L 5 days -> 4; A (ED visit ran into the admission) -> 3; C 2+3 = 5 -> 5; E 1 -> 1 = 13.
    assert history == {"discharge 2025-03-14": 13, "discharge 2025-06-20": 7}
    assert rows["b"]["lace_last_discharge"] is None
    assert rows["a"]["last_discharge_date"] == date(2025, 6, 20)
    assert rows["a"]["last_discharge_disposition"] == "06"
    assert rows["a"]["discharged_to_community"] is True
    assert rows["a"]["days_since_discharge"] == 10
    assert rows["b"]["last_discharge_date"] is None
    assert rows["b"]["discharged_to_community"] is False


@pytest.mark.parametrize(
    ("values", "acute"),
    [
        ({"admission_type": "emergency"}, True),
        ({"admission_type": "urgent"}, True),
        ({"admitted_via_ed": True}, True),
        ({"admission_type": "elective"}, False),
        ({}, False),
    ],
)
def test_lace_acute_admission(tmp_path: Path, values: dict[str, object], acute: bool) -> None:
    population = Population()
    population.patient("a")
    population.encounter("a", "IMP", day("2025-05-01"), day("2025-05-01"), **values)
    assert by_patient(population.score(tmp_path))["a"]["lace_last_discharge"] == 1 + (3 if acute else 0)


def test_utilisation_windows_and_flags(tmp_path: Path) -> None:
    population = Population()
    population.patient("a", birth=date(1950, 1, 1))
    for start in ("2025-06-30", "2025-01-01", "2024-12-30", "2024-07-01", "2024-06-30", "2025-07-01"):
        population.encounter("a", "EMER", day(start))
    for start in ("2025-02-01", "2024-09-01"):
        population.encounter("a", "IMP", day(start), day(start))
    population.encounter("a", "AMB", day("2025-06-01"))
    population.dx("a", "E119")
    population.dx("a", "E1122")  # diabetes again (same category) and ckd
    population.dx("a", "I10")
    population.dx("a", "F329")  # depression: behavioral
    population.dx("a", "F1020")  # alcohol: substance
    population.dx("a", "J449", active=False, abatement_date=date(2024, 1, 1))  # resolved: not counted
    population.dx("a", "I509", onset=date(2025, 7, 1))  # after as-of: not counted
    population.dx("a", "I4891", active=False, abatement_date=date(2025, 8, 1))  # resolved after as-of: counts
    for number in range(11):
        population.rows["medications"].append(
            {
                "patient_id": "a",
                "code": f"rx{number % 10}",
                "status": "active",
                "authored_date": date(2024, 1, 1),
            }
        )
    population.rows["medications"].append({"patient_id": "a", "code": "x", "status": "stopped"})
    population.rows["functional_status"].append(
        {"patient_id": "a", "assessed_date": date(2025, 1, 1), "adl_dependent": True}
    )
    population.patient("b", birth=None)
    rows = by_patient(population.score(tmp_path))
    a = rows["a"]
    # 6 months back from 2025-06-30: after 2024-12-30. 12 months: after 2024-06-30.
    assert (a["ed_visits_6m"], a["ed_visits_12m"]) == (2, 4)
    assert (a["ip_admits_6m"], a["ip_admits_12m"]) == (1, 2)
    assert a["chronic_conditions"] == "afib;alcohol_use;ckd;depression;diabetes;hypertension"
    assert a["chronic_condition_count"] == 6
    assert a["chronic_condition_codes"] == "E1122;E119;F1020;F329;I10;I4891"
    assert a["behavioral_health"] is True
    assert a["substance_use"] is True
    assert a["active_medications"] == 10
    assert a["polypharmacy"] is True
    assert a["age"] == 75
    assert a["frail_elder"] is True
    b = rows["b"]
    assert b["age"] is None
    assert (b["chronic_condition_count"], b["ed_visits_6m"], b["polypharmacy"], b["frail_elder"]) == (
        0,
        0,
        False,
        False,
    )


def crosswalk_rows() -> list[tuple[str, str]]:
    with (TABLES_DIR / "snomed_icd10.csv").open() as handle:
        lines = [line for line in handle if not line.startswith("#")]
    return [(row["snomed_code"], row["icd10_code"]) for row in csv.DictReader(lines)]


def test_snomed_only_record_scores_as_its_icd10_twin(tmp_path: Path) -> None:
    """Every crosswalk row: a patient with the SNOMED CT code scores as one with the ICD-10-CM code."""
    population = Population()
    pairs = crosswalk_rows()
    for number, (snomed, icd10) in enumerate(pairs):
        population.patient(f"s{number}", birth=date(1940, 1, 1))
        population.dx(f"s{number}", snomed, system="snomed")
        population.patient(f"i{number}", birth=date(1940, 1, 1))
        population.dx(f"i{number}", icd10)
    rows = by_patient(population.score(tmp_path))
    for number, (snomed, _) in enumerate(pairs):
        twin = {k: v for k, v in rows[f"s{number}"].items() if k != "patient_id"}
        original = {k: v for k, v in rows[f"i{number}"].items() if k != "patient_id"}
        assert twin == original, snomed
    assert any(rows[f"s{n}"]["charlson"] > 0 for n in range(len(pairs)))
    assert AS_OF.year == 2025
