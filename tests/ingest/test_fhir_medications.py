"""What the record keeps of a MedicationRequest (SQLite and PostgreSQL), on a real Synthea patient: the first
dosage instruction as received and the reason its ``reasonReference`` names in the bundle, so the
plain-language schedule says when (``1 tablet once a day``) and why (``heart failure``); re-import updates
in place; a malformed dosage is refused naming its element; the FHIR export gives the dosage back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.education.medication_schedule import ASK_WHEN, ASK_WHY
from carenav.education.services import medication_schedule_for
from carenav.fhir.mappers.common import Refs
from carenav.fhir.mappers.medication_request import medication_request_resource
from carenav.ingest.fhir.driver import ImportLimits, fhir_import
from carenav.ingest.fhir.summary import ImportSummary
from carenav.patients.models import Medication, Patient
from tests.builders import make_org
from tests.fhir.validation import assert_valid

LIMITS = ImportLimits(max_file_bytes=1 << 26, max_line_bytes=1 << 24)
BEATRICE = "Beatrice_Aufderhar_5451401c-ab1b-4adc-9df6-c02e856e492a.json"  # heart failure: metoprolol, Lasix
METOPROLOL = "d771a6e6-3b15-4ad8-acc8-d766e2d866f9"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


@pytest.fixture
def actor(session: Session) -> Actor:
    return Actor.operator(make_org(session).id, "tests")


def run(session: Session, actor: Actor, *paths: Path) -> ImportSummary:
    summary = fhir_import(session=session, actor=actor, paths=list(paths), limits=LIMITS)
    session.flush()
    session.expire_all()
    return summary


def medicines(session: Session, actor: Actor) -> dict[str, Medication]:
    rows = session.scalars(select(Medication).where(Medication.org_id == actor.org_id))
    return {str(row.source_id): row for row in rows}


def orders(bundle: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """The bundle's MedicationRequests, each with the Condition its first reasonReference names."""
    by_url = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
    return [
        (r, by_url[r["reasonReference"][0]["reference"]] if r.get("reasonReference") else None)
        for r in (e["resource"] for e in bundle["entry"])
        if r["resourceType"] == "MedicationRequest"
    ]


def test_a_synthea_order_keeps_its_dosage_and_reason_and_the_schedule_says_when_and_why(
    session: Session, actor: Actor, shared_data: Path
) -> None:
    source = shared_data / "synthea-r4" / BEATRICE
    bundle = json.loads(source.read_text())
    assert not run(session, actor, source).problems
    stored = medicines(session, actor)
    expected = orders(bundle)
    assert len(stored) == len(expected) > 0
    for resource, condition in expected:
        row = stored[resource["id"]]
        dosages = resource.get("dosageInstruction", [])
        assert row.dosage_instruction == (dosages[0] if dosages else None), resource["id"]
        if condition is None:
            assert (row.reason_code, row.reason_display) == (None, None), resource["id"]
        else:
            coding = condition["code"]["coding"][0]
            assert (row.reason_code, row.reason_display) == (coding["code"], coding["display"])

    metoprolol = stored[METOPROLOL]
    assert metoprolol.dosage_instruction is not None
    assert metoprolol.dosage_instruction["timing"] == {
        "repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}
    }
    assert (metoprolol.reason_code, metoprolol.reason_display) == (
        "88805009",
        "Chronic congestive heart failure (disorder)",
    )

    patient = session.get_one(Patient, metoprolol.patient_id)
    rows = {
        r.what: r for r in medication_schedule_for(session=session, actor=actor, patient_uuid=patient.uuid)
    }
    line = rows["Metoprolol succinate 100 mg extended-release tablet (Toprol)"]
    assert (line.when, line.why, line.when_known, line.why_known) == (
        "1 tablet once a day",
        "Heart failure",
        True,
        True,
    )
    assert any(r.when != ASK_WHEN for r in rows.values())
    assert any(r.why != ASK_WHY for r in rows.values())

    again = run(session, actor, source)
    assert not again.problems
    assert again.counts["MedicationRequest"]["unchanged"] == len(expected)
    count = session.scalar(
        select(func.count()).select_from(Medication).where(Medication.org_id == actor.org_id)
    )
    assert count == len(expected)


def test_a_changed_dosage_or_reason_updates_the_same_row(
    session: Session, actor: Actor, shared_data: Path, tmp_path: Path
) -> None:
    source = shared_data / "synthea-r4" / BEATRICE
    run(session, actor, source)
    before = medicines(session, actor)[METOPROLOL]
    key, count = before.id, len(medicines(session, actor))

    bundle = json.loads(source.read_text())
    for entry in bundle["entry"]:
        if entry["resource"]["id"] == METOPROLOL:
            dosage = entry["resource"]["dosageInstruction"][0]
            dosage["timing"]["repeat"]["frequency"] = 2
            entry["resource"]["reasonReference"] = [{"display": "Hypertension"}]
    changed = tmp_path / BEATRICE
    changed.write_text(json.dumps(bundle))
    summary = run(session, actor, changed)
    assert not summary.problems
    assert summary.counts["MedicationRequest"]["updated"] == 1

    after = medicines(session, actor)
    assert len(after) == count
    row = after[METOPROLOL]
    assert row.id == key
    assert row.dosage_instruction is not None
    assert row.dosage_instruction["timing"]["repeat"]["frequency"] == 2
    assert (row.reason_code, row.reason_display) == (None, "Hypertension")
    patient = session.get_one(Patient, row.patient_id)
    schedule = medication_schedule_for(session=session, actor=actor, patient_uuid=patient.uuid)
    (metoprolol,) = [r for r in schedule if r.what.startswith("Metoprolol")]
    assert (metoprolol.when, metoprolol.why) == ("1 tablet twice a day", "High blood pressure")


def small_bundle(tmp_path: Path, order: dict[str, Any]) -> Path:
    resources = [
        {"resourceType": "Patient", "id": "p1", "name": [{"family": "Shaw"}]},
        {
            "resourceType": "Condition",
            "id": "c1",
            "subject": {"reference": "Patient/p1"},
            "code": {
                "coding": [
                    {"system": "http://snomed.info/sct", "code": "44054006", "display": "Diabetes"},
                    {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "E11.9", "display": "Type 2 DM"},
                ]
            },
        },
        {
            "resourceType": "MedicationRequest",
            "id": "m1",
            "status": "active",
            "intent": "order",
            "subject": {"reference": "Patient/p1"},
            "medicationCodeableConcept": {
                "coding": [{"system": RXNORM, "code": "860975", "display": "metformin 500 MG Oral Tablet"}]
            },
            **order,
        },
    ]
    path = tmp_path / "bundle.json"
    path.write_text(
        json.dumps(
            {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}
        )
    )
    return path


def test_reason_reference_reads_the_condition_as_its_row_does_and_reason_code_comes_first(
    session: Session, actor: Actor, tmp_path: Path
) -> None:
    run(session, actor, small_bundle(tmp_path, {"reasonReference": [{"reference": "Condition/c1"}]}))
    row = medicines(session, actor)["m1"]
    assert (row.reason_code, row.reason_display) == ("E11.9", "Type 2 DM"), "ICD-10-CM preferred"
    assert row.dosage_instruction is None

    run(
        session,
        actor,
        small_bundle(
            tmp_path,
            {
                "reasonCode": [{"coding": [{"code": "38341003", "display": "Hypertension"}]}],
                "reasonReference": [{"reference": "Condition/c1"}],
            },
        ),
    )
    row = medicines(session, actor)["m1"]
    assert (row.reason_code, row.reason_display) == ("38341003", "Hypertension")


def test_a_malformed_dosage_is_refused_naming_its_element(
    session: Session, actor: Actor, tmp_path: Path
) -> None:
    dosage = {"timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "fortnight"}}}
    summary = run(session, actor, small_bundle(tmp_path, {"dosageInstruction": [dosage]}))
    (problem,) = summary.problems
    assert problem.resource_type == "MedicationRequest"
    assert "dosageInstruction[0].timing.repeat.periodUnit" in problem.reason
    assert "m1" not in medicines(session, actor)


def test_the_fhir_export_gives_the_stored_dosage_back(
    session: Session, actor: Actor, shared_data: Path
) -> None:
    source = shared_data / "synthea-r4" / BEATRICE
    run(session, actor, source)
    expected = {r["id"]: r for r, _ in orders(json.loads(source.read_text()))}
    rows = medicines(session, actor)
    patient = session.get_one(Patient, rows[METOPROLOL].patient_id)
    refs = Refs(patients={patient.id: patient.uuid})
    for source_id, row in rows.items():
        out = medication_request_resource(row, refs)
        assert_valid(out)
        assert out.get("dosageInstruction") == expected[source_id].get("dosageInstruction"), source_id
        if row.reason_display:
            assert out["reasonCode"][0]["text"] == row.reason_display

    row = rows[METOPROLOL]
    row.dosage_instruction = {"timing": {"repeat": {"period": "daily"}}}
    out = medication_request_resource(row, refs)
    assert_valid(out)
    assert out["dosageInstruction"] == [{"asNeededBoolean": False}], "an invalid stored dosage is not sent"
