"""CMS-HCC through the DuckDB engine: the crosswalk's ``dx_icd10`` feeds it, a SNOMED CT record scores
as its ICD-10-CM twin, and the evidence names the SNOMED code it was mapped from."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from carenav.analytics.definitions.crosswalk import CROSSWALK
from carenav.analytics.definitions.hcc import hcc_v24, hcc_v28
from tests.analytics.snapshots import Population, by_patient, evidence_of


def test_the_hand_worked_patient_and_its_snomed_twin_through_the_engine(tmp_path: Path) -> None:
    pop = Population()
    for pid, system, diabetes in (("icd", "icd10cm", "E119"), ("snomed", "snomed", "44054006")):
        pop.patient(pid, birth=date(1953, 3, 1), sex="female")
        pop.rows["coverages"].append(
            {"patient_id": pid, "plan_type": "medicare_ffs", "start_date": date(2018, 1, 1)}
        )
        pop.dx(pid, diabetes, system=system, onset=date(2019, 5, 2))
        pop.dx(pid, "I5022", onset=date(2025, 1, 10), active=False)
    pop.patient("ins", birth=date(1990, 6, 30), sex="male")
    pop.rows["residence"].append({"patient_id": "ins", "institutional": True, "start_date": date(2024, 1, 1)})
    result = pop.score(tmp_path, definitions=[CROSSWALK, hcc_v24, hcc_v28])
    scores = by_patient(result)
    for pid in ("icd", "snomed"):
        row = scores[pid]
        assert (row["hcc_v24"], row["hccs_v24"], row["hcc_segment"]) == (0.943, "HCC19;HCC85", "CNA")
        assert (row["hcc_v28"], row["hccs_v28"]) == (1.033, "HCC38;HCC226")
    assert scores["ins"]["hcc_segment"] == "INS"
    assert scores["ins"]["hccs_v28"] == ""
    evidence = {r["component"]: r["evidence"] for r in evidence_of(result, "snomed", "hcc_v24")}
    assert (
        evidence["HCC19"] == "Diabetes without Complication: E119 (onset 2019-05-02, from SNOMED CT 44054006)"
    )
    assert round(sum(r["points"] for r in evidence_of(result, "icd", "hcc_v28")), 3) == 1.033
