"""Acceptance: HL7 examples, NDJSON, and every kind of bad input, with its error text and no damage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from carenav.patients import models
from tests.ingest.fhir_helpers import errors_text, row_count, run_import, snapshot

SMALL_BUNDLE = "Liz_Conn_27c911c6-f045-4ffa-af5d-6eba57ac94b2.json"
OTHER_BUNDLE = "Edward_Gulgowski_43481611-2459-44f5-ab20-4b142dac160f.json"


def load(shared_data: Path, name: str = SMALL_BUNDLE) -> dict[str, Any]:
    bundle: dict[str, Any] = json.loads((shared_data / "synthea-r4" / name).read_text())
    return bundle


def first_entry(bundle: dict[str, Any], resource_type: str) -> tuple[int, dict[str, Any]]:
    return next(
        (n, e["resource"])
        for n, e in enumerate(bundle["entry"])
        if e["resource"]["resourceType"] == resource_type
    )


def write(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document))
    return path


def test_hl7_examples_import_or_fail_for_a_stated_reason(
    shared_data: Path, fresh_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    examples = shared_data / "fhir-examples"
    status, summary = run_import(monkeypatch, fresh_db_url, examples / "us-core", "--source", "us-core")
    assert status == 0, errors_text(summary)
    resources = summary["resources"]
    for stored in ("Patient", "Condition", "Coverage", "Encounter", "CareTeam", "CarePlan", "Goal"):
        assert resources[stored]["created"] >= 1, stored
    for skipped in ("Questionnaire", "QuestionnaireResponse", "ServiceRequest"):
        assert resources[skipped]["skipped"] >= 1
        assert skipped in summary["skipped_not_stored"]
    assert summary["skipped_not_stored"]["ServiceRequest"] == "this resource type is not stored by carenav"

    status, summary = run_import(monkeypatch, fresh_db_url, examples / "r4-core", "--source", "r4-core")
    assert status == 1
    # r4-core examples point at patients that are not in the folder: only that may fail.
    assert summary["error_count"] >= 1
    for error in summary["errors"]:
        assert error["reason"].startswith("references a patient that was not imported (Patient/"), error
    for planned in ("CarePlan", "Goal", "Task"):  # mapped without a fault; only their patients are missing
        assert summary["resources"][planned]["failed"] >= 1, planned
        assert planned not in summary["skipped_not_stored"]
    # Amy Shaw's US Core coverage: PPO, Source of Payment 3712, member id from subscriberId.
    assert row_count(fresh_db_url, models.Coverage, member_id="888009335", source_system="us-core") == 1


def test_ndjson_imports_like_the_bundle_and_reports_lines(
    shared_data: Path, fresh_db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bundle = load(shared_data)
    by_type: dict[str, list[str]] = {}
    for entry in bundle["entry"]:
        resource = dict(entry["resource"])
        text = json.dumps(resource).replace("urn:uuid:", "")
        # Bulk Data uses Type/id references: rewrite urn:uuid references to Type/id.
        by_type.setdefault(resource["resourceType"], []).append(text)
    ids = {e["resource"]["id"]: e["resource"]["resourceType"] for e in bundle["entry"]}
    folder = tmp_path / "bulk"
    folder.mkdir()
    for resource_type, lines in by_type.items():
        fixed = []
        for line in lines:
            for rid, rtype in ids.items():
                line = line.replace(f'"reference": "{rid}"', f'"reference": "{rtype}/{rid}"')
            fixed.append(line)
        (folder / f"{resource_type}.ndjson").write_text("\n".join(fixed) + "\n")
    # Observations come in a file sorted before Patient.ndjson by name; the import still reads Patients first.
    observations = (folder / "Observation.ndjson").read_text().splitlines()
    observations.append("{not json")
    observations.append(
        json.dumps(
            {
                "resourceType": "Observation",
                "id": "orphan",
                "status": "final",
                "code": {"text": "x"},
                "subject": {"reference": "Patient/nobody"},
            }
        )
    )
    (folder / "Observation.ndjson").write_text("\n".join(observations) + "\n")

    status, summary = run_import(monkeypatch, fresh_db_url, folder)
    assert status == 1
    text = errors_text(summary)
    bad_line = len(observations) - 1
    assert f"Observation.ndjson:{bad_line}: not valid JSON" in text
    assert (
        f"Observation.ndjson:{bad_line + 1} Observation/orphan: references a patient that was not imported "
        "(Patient/nobody)" in text
    )
    assert summary["error_count"] == 2
    for resource_type in ("Patient", "Encounter", "Observation", "Condition", "Procedure"):
        expected = len(by_type[resource_type])
        assert summary["resources"][resource_type]["created"] == expected, resource_type
    coverage_pairs = {
        inner["type"]["text"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "ExplanationOfBenefit"
        for inner in e["resource"]["contained"]
        if inner["resourceType"] == "Coverage"
    }
    assert row_count(fresh_db_url, models.Coverage) == len(coverage_pairs)


def test_malformed_json_and_oversized_files_are_refused_and_nothing_is_lost(
    shared_data: Path, fresh_db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    status, _ = run_import(monkeypatch, fresh_db_url, shared_data / "synthea-r4" / SMALL_BUNDLE)
    assert status == 0
    before = snapshot(fresh_db_url)
    truncated = tmp_path / "truncated.json"
    truncated.write_bytes((shared_data / "synthea-r4" / SMALL_BUNDLE).read_bytes()[:50_000])
    status, summary = run_import(monkeypatch, fresh_db_url, truncated)
    assert status == 1
    assert summary["errors"][0]["file"] == str(truncated)
    assert summary["errors"][0]["reason"].startswith("not valid JSON")

    big = shared_data / "synthea-r4" / OTHER_BUNDLE
    status, summary = run_import(
        monkeypatch, fresh_db_url, big, env={"CARENAV_IMPORT_MAX_FILE_BYTES": "100000"}
    )
    assert status == 1
    assert "over the import limit of 100000 (CARENAV_IMPORT_MAX_FILE_BYTES)" in summary["errors"][0]["reason"]

    lines = tmp_path / "Patient.ndjson"
    lines.write_text(json.dumps(first_entry(load(shared_data, OTHER_BUNDLE), "Patient")[1]) + "\n")
    status, summary = run_import(
        monkeypatch, fresh_db_url, lines, env={"CARENAV_IMPORT_MAX_LINE_BYTES": "1000"}
    )
    assert status == 1
    assert errors_text(summary) == (
        f"{lines}:1: line is longer than 1000 bytes (CARENAV_IMPORT_MAX_LINE_BYTES)"
    )
    assert snapshot(fresh_db_url) == before


def test_bad_resources_are_reported_with_place_and_reason_and_the_rest_goes_in(
    shared_data: Path, fresh_db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    source = shared_data / "synthea-r4" / SMALL_BUNDLE
    status, _ = run_import(monkeypatch, fresh_db_url, source)
    assert status == 0
    bundle = load(shared_data)
    observation_count = sum(1 for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation")
    obs_entry, observation = first_entry(bundle, "Observation")
    stored_value = observation["valueQuantity"]["value"]
    observation["effectiveDateTime"] = "2019-13-45T10:00:00Z"
    observation["valueQuantity"]["value"] = 1.0  # would be written if the date were not checked first
    cond_entry, condition = first_entry(bundle, "Condition")
    condition["code"]["coding"][0]["system"] = "http://example.org/my-codes"
    enc_entry, encounter = first_entry(bundle, "Encounter")
    del encounter["resourceType"]
    bundle["entry"].append({"request": {"method": "DELETE", "url": "Patient/x"}})
    status, summary = run_import(monkeypatch, fresh_db_url, write(tmp_path / "bad.json", bundle))
    assert status == 1
    text = errors_text(summary)
    where = str(tmp_path / "bad.json")
    assert (
        f"{where} entry {obs_entry} Observation/{observation['id']}: effective '2019-13-45T10:00:00Z' "
        "is not a valid FHIR date or dateTime" in text
    )
    assert (
        f"{where} entry {cond_entry} Condition/{condition['id']}: code has no coding in a known diagnosis "
        "system (SNOMED CT, ICD-10-CM, ICD-10); found: http://example.org/my-codes" in text
    )
    assert f"{where} entry {enc_entry}: resourceType is missing" in text
    assert f"{where} entry {len(bundle['entry']) - 1}: DELETE entries are not supported" in text
    assert summary["resources"]["Observation"]["unchanged"] == observation_count - 1
    with_old_value = row_count(
        fresh_db_url, models.Observation, source_id=observation["id"], value_quantity=stored_value
    )
    assert with_old_value == 1  # the stored observation was not touched


def test_a_patient_that_fails_takes_its_dependents_with_it(
    shared_data: Path, fresh_db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bundle = load(shared_data)
    _, patient = first_entry(bundle, "Patient")
    patient["gender"] = "robot"
    patient["birthDate"] = "1980-02-30"
    status, summary = run_import(
        monkeypatch,
        fresh_db_url,
        write(tmp_path / "p.json", bundle),
        shared_data / "synthea-r4" / OTHER_BUNDLE,
    )
    assert status == 1
    reasons = [e["reason"] for e in summary["errors"]]
    assert reasons[0] == "gender 'robot' is not one of male, female, other, unknown"
    dependents = summary["errors"][1:]
    assert dependents
    assert all(
        e["reason"] == f"references a patient that was not imported (Patient/{patient['id']})"
        for e in dependents
    )
    assert row_count(fresh_db_url, models.Patient) == 1  # the other bundle's patient
    assert row_count(fresh_db_url, models.Patient, source_id=patient["id"]) == 0
    for model in (models.Encounter, models.Observation, models.Condition, models.Coverage):
        assert row_count(fresh_db_url, model) > 0  # from the other bundle only
    assert summary["resources"]["Patient"] == {
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "skipped": 0,
        "failed": 1,
        "stored": 1,
    }


def test_hl7_files_go_to_the_hl7_intake_and_unsupported_bundles_are_refused_with_a_reason(
    shared_data: Path, fresh_db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    hl7 = shared_data / "hl7v2-adt" / "fhirconv_ADT-A01-01.hl7"
    document = write(tmp_path / "doc.json", {"resourceType": "Bundle", "type": "document", "entry": []})
    missing = tmp_path / "nowhere.json"
    status, summary = run_import(monkeypatch, fresh_db_url, hl7, document, missing)
    assert status == 1
    assert [e["reason"] for e in summary["errors"]] == [
        "no such file or directory",
        "Bundle type 'document' is not imported (only batch, collection, searchset, transaction)",
    ]
    # The ADT message was stored and, matching no patient, waits in the unmatched queue.
    assert summary["hl7v2"]["counts"]["messages"] == 1
    assert summary["hl7v2"]["counts"]["unmatched"] == 1


def test_one_command_takes_fhir_and_hl7_v2_together(
    shared_data: Path, fresh_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = shared_data / "synthea-r4" / SMALL_BUNDLE
    adt = shared_data / "hl7v2-adt"
    status, summary = run_import(monkeypatch, fresh_db_url, bundle, adt)
    assert status == 0, summary
    assert summary["resources"]["Patient"]["created"] == 1
    assert summary["hl7v2"]["ok"] is True
    assert summary["hl7v2"]["counts"]["messages"] == len(list(adt.glob("*.hl7")))
