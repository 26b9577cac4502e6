"""Pure mappers and parameter parsing: no database. Everything emitted validates with R4B."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from carenav.errors import InvalidInput
from carenav.fhir.mappers.common import Refs, instant
from carenav.fhir.mappers.condition import condition_resource
from carenav.fhir.mappers.coverage import coverage_resource
from carenav.fhir.mappers.encounter import encounter_resource
from carenav.fhir.mappers.observation import observation_resource
from carenav.fhir.mappers.patient import patient_resource
from carenav.fhir.mappers.procedure import procedure_resource
from carenav.fhir.search import birth_date, date_range, date_window, patient_reference, token_matches
from carenav.patients.clinical_queries import CodeMatch
from carenav.patients.models import (
    Condition,
    Coverage,
    Encounter,
    EncounterDiagnosis,
    Observation,
    ObservationComponent,
    Patient,
    PatientName,
    Procedure,
)
from tests.fhir.validation import assert_valid

OUR_TYPES = {
    "Patient",
    "RelatedPerson",
    "Coverage",
    "Encounter",
    "Condition",
    "Observation",
    "MedicationRequest",
    "AllergyIntolerance",
    "Procedure",
    "CareTeam",
    "Organization",
    "Practitioner",
    "QuestionnaireResponse",
    "CarePlan",
    "Goal",
    "Task",
}
REFS = Refs(patients={1: "p-1"}, encounters={2: "e-2"}, conditions={3: "c-3"})


def test_r4_examples_of_our_types_validate_with_r4b(shared_data: Path) -> None:
    """The R4B models accept the official R4 (4.0.1) examples of every type we emit."""
    checked = set()
    for path in sorted((shared_data / "fhir-examples").glob("*/*.json")):
        resource = json.loads(path.read_text())
        if resource["resourceType"] in OUR_TYPES:
            assert_valid(resource)
            checked.add(resource["resourceType"])
    assert checked >= {
        "Patient",
        "Condition",
        "Coverage",
        "Encounter",
        "CareTeam",
        "QuestionnaireResponse",
        "CarePlan",
        "Goal",
        "Task",
    }


@pytest.mark.slow
def test_synthea_r4_resources_of_our_types_validate_with_r4b(shared_data: Path) -> None:
    """The R4 Synthea data of our types validates with R4B too (4,000+ Observations among them)."""
    counts: dict[str, int] = {}
    for path in sorted((shared_data / "synthea-r4").glob("*.json")):
        for entry in json.loads(path.read_text())["entry"]:
            resource = entry["resource"]
            if resource["resourceType"] in OUR_TYPES:
                assert_valid(resource)
                counts[resource["resourceType"]] = counts.get(resource["resourceType"], 0) + 1
    assert counts["Observation"] == 4362
    assert counts["Condition"] == 302


def test_patient_with_little_known_is_still_valid() -> None:
    patient = Patient(uuid="p-1", administrative_sex="unknown", deceased=True)
    resource = patient_resource(patient)
    assert_valid(resource)
    assert resource == {
        "resourceType": "Patient",
        "id": "p-1",
        "active": True,
        "gender": "unknown",
        "deceasedBoolean": True,
    }


def test_patient_names_split_given_and_skip_unknown_uses() -> None:
    patient = Patient(
        uuid="p-1",
        administrative_sex="male",
        birth_date=date(1950, 1, 2),
        deceased_at=datetime(2020, 5, 6, 7, 8, 9, tzinfo=UTC),
        marital_status="Z",
        names=[PatientName(rank=0, use="legal", family="Doe", given="John Q", prefix="Mr.")],
    )
    resource = patient_resource(patient)
    assert_valid(resource)
    assert resource["name"] == [{"family": "Doe", "given": ["John", "Q"], "prefix": ["Mr."]}]
    assert resource["deceasedDateTime"] == "2020-05-06T07:08:09Z"
    assert resource["maritalStatus"] == {"text": "Z"}


def test_condition_keeps_every_coding_once_and_links_encounter() -> None:
    row = Condition(
        uuid="c-9",
        patient_id=1,
        encounter_id=2,
        code_system="http://snomed.info/sct",
        code="44054006",
        display="Diabetes",
        codings=[
            {"system": "http://snomed.info/sct", "code": "44054006"},
            {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "E11.9", "display": "T2DM"},
        ],
        clinical_status="active",
        verification_status="confirmed",
        category="health-concern",
    )
    resource = condition_resource(row, REFS)
    assert_valid(resource)
    assert [c["code"] for c in resource["code"]["coding"]] == ["44054006", "E11.9"]
    assert resource["encounter"] == {"reference": "Encounter/e-2"}
    assert (
        resource["category"][0]["coding"][0]["system"]
        == "http://hl7.org/fhir/us/core/CodeSystem/condition-category"
    )


def test_encounter_diagnosis_without_a_condition_row_is_display_only() -> None:
    row = Encounter(
        uuid="e-2",
        patient_id=1,
        status="finished",
        encounter_class="EMER",
        period_start=datetime(2024, 1, 1, tzinfo=UTC),
        admission_type="Q",
        diagnoses=[
            EncounterDiagnosis(rank=0, use="AD", condition_id=3, code="I21.9", display="AMI"),
            EncounterDiagnosis(rank=1, use="DD", code="I50.9", display="Heart failure"),
        ],
    )
    resource = encounter_resource(row, REFS)
    assert_valid(resource)
    assert [d["condition"] for d in resource["diagnosis"]] == [
        {"reference": "Condition/c-3", "display": "AMI"},
        {"display": "Heart failure"},
    ]
    assert resource["priority"] == {"text": "Q"}
    assert resource["class"]["display"] == "emergency"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"value_quantity": 7.5, "value_unit": "%"}, "valueQuantity"),
        ({"value_code": "LA33-6", "value_display": "Yes"}, "valueCodeableConcept"),
        ({"value_string": "fine"}, "valueString"),
        ({"value_boolean": False}, "valueBoolean"),
        ({}, None),
    ],
)
def test_observation_value_types(values: dict[str, object], expected: str | None) -> None:
    row = Observation(uuid="o-1", patient_id=1, status="final", **values)
    resource = observation_resource(row, REFS)
    assert_valid(resource)
    assert resource["code"] == {"text": "unknown observation"}
    found = [k for k in resource if k.startswith("value")]
    assert found == ([expected] if expected else [])


def test_observation_components() -> None:
    row = Observation(
        uuid="o-2",
        patient_id=1,
        status="final",
        code="85354-9",
        code_system="http://loinc.org",
        components=[ObservationComponent(rank=0, code="8480-6", value_quantity=120.0, value_unit="mm[Hg]")],
    )
    resource = observation_resource(row, REFS)
    assert_valid(resource)
    assert resource["component"][0]["valueQuantity"]["value"] == 120.0


def test_procedure_instant_or_period_and_coverage_without_payer() -> None:
    at = datetime(2022, 1, 1, 10, tzinfo=UTC)
    one = procedure_resource(Procedure(uuid="x", patient_id=1, status="completed", performed_start=at), REFS)
    assert one["performedDateTime"] == "2022-01-01T10:00:00Z"
    coverage = coverage_resource(
        Coverage(uuid="v", patient_id=1, status="active", plan_type="medicaid"), REFS
    )
    for resource in (one, coverage):
        assert_valid(resource)
    assert coverage["payor"] == [{"display": "unknown payer"}]
    assert coverage["type"]["text"] == "Medicaid"


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        instant(datetime(2020, 1, 1))


# --- search parameters ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2024", datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)),
        ("2024-12", datetime(2024, 12, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)),
        ("2024-02-29", datetime(2024, 2, 29, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC)),
        ("2024-01-01T10:00", datetime(2024, 1, 1, 10, tzinfo=UTC), datetime(2024, 1, 1, 10, 1, tzinfo=UTC)),
        (
            "2024-01-01T10:00:00-05:00",
            datetime(2024, 1, 1, 15, tzinfo=UTC),
            datetime(2024, 1, 1, 15, 0, 1, tzinfo=UTC),
        ),
    ],
)
def test_date_precision(text: str, start: datetime, end: datetime) -> None:
    assert date_range(text, where="t") == ("eq", start, end)
    assert date_range(f"ge{text}", where="t")[0] == "ge"


def test_date_prefixes_make_half_open_windows() -> None:
    jan = datetime(2024, 1, 1, tzinfo=UTC)
    feb = datetime(2024, 2, 1, tzinfo=UTC)
    assert date_window(["2024-01"], where="t") == type(date_window([], where="t"))(since=jan, before=feb)
    assert date_window(["gt2024-01"], where="t").since == feb
    assert date_window(["le2024-01"], where="t").before == feb
    assert date_window(["lt2024-01"], where="t").before == jan
    both = date_window(["ge2024-01", "lt2024-01-15"], where="t")
    assert (both.since, both.before) == (jan, datetime(2024, 1, 15, tzinfo=UTC))
    assert date_window(["ge2025", "lt2024"], where="t").is_empty


@pytest.mark.parametrize("text", ["2024-13", "2024-02-30", "sa2024", "24-01-01", "2024-01-01T25:00", "today"])
def test_bad_dates(text: str) -> None:
    with pytest.raises(InvalidInput):
        date_window([text], where="t")


def test_birthdate_wants_one_full_day() -> None:
    assert birth_date("1957-03-02", where="t") == date(1957, 3, 2)
    assert birth_date("eq1957-03-02", where="t") == date(1957, 3, 2)
    for text in ("1957", "ge1957-03-02", "1957-03-02T00:00"):
        with pytest.raises(InvalidInput):
            birth_date(text, where="t")


def test_tokens_and_references() -> None:
    assert token_matches("a,s|b,|c", where="t") == [
        CodeMatch("a"),
        CodeMatch("b", "s"),
        CodeMatch("c", ""),
    ]
    with pytest.raises(InvalidInput):
        token_matches("s|", where="t")
    assert patient_reference("abc", where="t") == "abc"
    assert patient_reference("Patient/abc", where="t") == "abc"
    assert patient_reference("http://x/fhir/R4/Patient/abc", where="t") == "abc"
    with pytest.raises(InvalidInput):
        patient_reference("Group/abc", where="t")


EMITTED = sorted(OUR_TYPES | {"Bundle", "OperationOutcome", "CapabilityStatement"})


@pytest.mark.parametrize("resource_type", EMITTED)
def test_r4b_and_r4_models_have_the_same_elements_for_what_we_emit(resource_type: str) -> None:
    """fhirclient's models are R4 (4.0.1); fhir.resources.R4B's are 4.3.0. For our types they agree."""
    import importlib

    from fhir.resources.R4B import get_fhir_model_class

    r4_model = getattr(importlib.import_module(f"fhirclient.models.{resource_type.lower()}"), resource_type)
    r4 = {json_name for _, json_name, *_ in r4_model().elementProperties()} - {"resourceType"}
    r4b_model = get_fhir_model_class(resource_type)
    r4b = {
        field.alias or name
        for name, field in r4b_model.model_fields.items()
        if not (field.alias or name).startswith("_") and name != "fhir_comments"
    } - {"resourceType"}
    assert r4 == r4b


@pytest.mark.parametrize("class_name", ["QuestionnaireResponseItem", "QuestionnaireResponseItemAnswer"])
def test_r4b_and_r4_agree_on_the_items_of_a_questionnaire_response(class_name: str) -> None:
    """A QuestionnaireResponse is mostly its items (what clients send us, and what we give back as stored):
    their elements and answer types are the same in R4 and R4B too."""
    import importlib

    r4_model = getattr(importlib.import_module("fhirclient.models.questionnaireresponse"), class_name)
    r4 = {json_name for _, json_name, *_ in r4_model().elementProperties()}
    r4b_model = getattr(importlib.import_module("fhir.resources.R4B.questionnaireresponse"), class_name)
    r4b = {
        field.alias or name
        for name, field in r4b_model.model_fields.items()
        if not (field.alias or name).startswith("_") and name != "fhir_comments"
    }
    assert r4 == r4b
