"""The education library as data: every shipped topic loads and is sound (English always, Spanish for many,
reading level checked); topics for a condition or medicine find it in real Synthea records; a broken file
names the file, the part and what is wrong."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from carenav.education.library import (
    reading_grade_estimate,
    syllables,
    topic_get,
    topic_load,
    topics,
    topics_for,
)
from carenav.education.rules import TopicCategory
from carenav.errors import InvalidInput, NotFound
from carenav.patients.rules import ICD10CM, RXNORM, SNOMED

REQUIRED = {
    "hf-daily-weights",
    "low-sodium-diet",
    "diabetes-hypoglycemia",
    "insulin-pen",
    "inhaler-technique",
    "copd-action-plan",
    "warfarin-safety",
    "bp-home-monitoring",
    "fall-prevention",
    "depression-self-care",
}
NOT_IN_SYNTHEA = {
    "depression-self-care": "none of the 40 shared Synthea patients has a depression Condition",
    "medicine-routine": "called for by a count of medicines, not a code",
}
CRUZ = "Cruz_Halvorson_4550efe0-f978-4387-a384-486d859fbf4c.json"


def _bundle_resources(path: Path) -> list[dict[str, Any]]:
    return [e["resource"] for e in json.loads(path.read_text(encoding="utf-8"))["entry"]]


def test_the_issue_s_topics_ship_in_every_category_with_english_and_spanish() -> None:
    shipped = {t.id: t for t in topics()}
    assert set(shipped) >= REQUIRED
    assert {t.category for t in topics()} == set(TopicCategory)
    spanish = [t.id for t in topics() if "es" in t.languages]
    assert len(spanish) >= 8, spanish
    for topic in topics():
        assert topic.text("en").title == topic.title
        for text in topic.texts:
            assert 1 <= text.reading_grade <= 8, (topic.id, text.language)
            assert all(p[0].isupper() and p.endswith((".", "!")) for p in text.key_points), topic.id
        assert topic.schedule.reteach_days <= topic.schedule.reinforce_days
        if topic.category is TopicCategory.DEVICE:
            assert any("show me" in q.lower() for q in topic.text("en").teach_back), topic.id
    assert shipped["warfarin-safety"].text("es").title == "Cómo tomar warfarina con seguridad"


def test_each_english_text_reads_at_its_declared_level() -> None:
    for topic in topics():
        text = topic.text("en")
        assert reading_grade_estimate(text.key_points) <= text.reading_grade + 2, topic.id


def test_the_reading_level_estimate_tells_plain_from_dense() -> None:
    plain = ["Weigh yourself every day.", "Call us if you gain 3 pounds."]
    dense = [
        "Pharmacological anticoagulation necessitates meticulous international normalized ratio "
        "monitoring, particularly following antimicrobial initiation or considerable dietary modification."
    ]
    assert reading_grade_estimate(plain) < 4
    assert reading_grade_estimate(dense) > 14
    assert [syllables(w) for w in ("day", "water", "medicine", "table", "blood")] == [1, 2, 3, 2, 1]


def test_topics_for_a_condition_or_medicine_find_it_in_synthea_records(shared_data: Path) -> None:
    conditions: set[tuple[str, str, str]] = set()
    medicines: set[str] = set()
    for path in sorted((shared_data / "synthea-r4").glob("*.json")):
        for resource in _bundle_resources(path):
            if resource["resourceType"] == "Condition":
                for coding in resource["code"]["coding"]:
                    conditions.add((coding["system"], coding["code"], coding["display"]))
            if resource["resourceType"] == "MedicationRequest":
                coding = resource["medicationCodeableConcept"]["coding"][0]
                assert coding["system"] == RXNORM
                medicines.add(coding["display"])
    for topic in topics():
        if topic.id in NOT_IN_SYNTHEA:
            continue
        by_condition = [c for c in conditions if topic.applies_to(c[0], c[1])]
        by_medicine = [m for m in medicines if topic.names_medicine(m)]
        assert by_condition or by_medicine, f"{topic.id} is called for by nothing in the Synthea records"
    assert topic_get("insulin-pen").names_medicine(
        "insulin human, isophane 70 UNT/ML / Regular Insulin, Human 30 UNT/ML Injectable Suspension [Humulin]"
    )
    assert not topic_get("warfarin-safety").names_medicine("Clopidogrel 75 MG Oral Tablet")
    assert topic_get("hf-daily-weights").applies_to(ICD10CM, "I50.22")
    assert not topic_get("hf-daily-weights").applies_to(ICD10CM, "I51")
    assert not topic_get("hf-daily-weights").applies_to(None, "88805009"), "a code without its system"


def test_a_patient_s_record_calls_for_topics_with_reasons(shared_data: Path) -> None:
    resources = _bundle_resources(shared_data / "synthea-r4" / CRUZ)
    conditions = [
        (c["code"]["coding"][0]["system"], c["code"]["coding"][0]["code"], c["code"]["coding"][0]["display"])
        for c in resources
        if c["resourceType"] == "Condition" and c["clinicalStatus"]["coding"][0]["code"] == "active"
    ]
    medicines = [
        m["medicationCodeableConcept"]["coding"][0]["display"]
        for m in resources
        if m["resourceType"] == "MedicationRequest" and m["status"] == "active"
    ]
    found = {m.topic.id: m.reasons for m in topics_for(conditions, medicines)}
    assert found["warfarin-safety"] == ("Warfarin Sodium 5 MG Oral Tablet",)
    assert "Chronic obstructive bronchitis (disorder)" in found["copd-action-plan"]
    assert "Chronic obstructive bronchitis (disorder)" in found["inhaler-technique"]
    assert any("Inhaler" in r for r in found["inhaler-technique"]), "the inhaler on the medication list"
    assert "Nitroglycerin 0.4 MG/ACTUAT Mucosal Spray" in found["nitroglycerin-chest-pain"]
    assert found["medicine-routine"] == ("8 medicines",)
    assert "diabetes-hypoglycemia" not in found
    assert topics_for([(SNOMED, "0000", "nothing")], ["Vitamin D"]) == []


def test_languages_fall_back_to_english_and_a_missing_one_says_what_there_is() -> None:
    topic = topic_get("bp-home-monitoring")
    assert topic.best_language("es-MX") == "es"
    assert topic.best_language("en-US") == "en"
    assert topic.best_language("zh") == "en"
    assert topic.best_language(None) == "en"
    with pytest.raises(NotFound, match="has no Chinese text \\(it has English, Spanish\\)"):
        topic.text("zh")
    with pytest.raises(NotFound, match="no education topic 'gout-diet'"):
        topic_get("gout-diet")


GOOD = """
id = "{id}"
version = "1.0.0"
category = "{category}"
reinforce_days = 7
reteach_days = 2
review_days = 90
sources = ["American College of Rheumatology: Gout patient fact sheet"]

[applies_to]
snomed = ["90560007"]
icd10cm = ["M10"]
medications = ["allopurinol"]

[[text]]
language = "en"
title = "Gout: foods and drinks"
reading_grade = {grade}
summary = "Some foods and drinks can bring on a gout attack."
key_points = ["{point}", "Drink plenty of water."]
teach_back = ["{question}"]
{extra}
"""


def _write(tmp_path: Path, name: str = "gout-diet", **values: str) -> Path:
    fields = {
        "id": name,
        "category": "self-management",
        "grade": "5",
        "point": "Cut back on beer and red meat.",
        "question": "Which drinks will you cut back on?",
        "extra": "",
    }
    fields.update(values)
    path = tmp_path / f"{name}.toml"
    path.write_text(GOOD.format(**fields), encoding="utf-8")
    return path


def test_a_sound_topic_loads(tmp_path: Path) -> None:
    topic = topic_load(_write(tmp_path))
    assert topic.id == "gout-diet"
    assert topic.applies_to(SNOMED, "90560007")
    assert topic.applies_to(ICD10CM, "M10.9")
    assert topic.names_medicine("Allopurinol 100 MG Oral Tablet")
    assert topic.languages == ("en",)


@pytest.mark.parametrize(
    ("values", "where", "message"),
    [
        ({"category": "diet"}, "", "category 'diet' is not one of condition, medication"),
        ({"grade": "0"}, "text en", "reading_grade 0 is not a school grade"),
        (
            {
                "grade": "2",
                "point": "Purine-rich comestibles, particularly organ meats and shellfish, precipitate "
                "hyperuricemia and consequently inflammatory arthropathy exacerbations.",
            },
            "text en",
            "read at grade .* above the declared reading_grade 2",
        ),
        (
            {"category": "device"},
            "text en",
            "a device topic needs a teach-back that asks the learner to show",
        ),
        (
            {
                "extra": '[[text]]\nlanguage = "en"\ntitle = "x"\nreading_grade = 5\nsummary = "x"\n'
                'key_points = ["A.", "B."]\nteach_back = ["Why?"]'
            },
            "",
            "two texts in English",
        ),
        (
            {
                "extra": '[[text]]\nlanguage = "Spanish"\ntitle = "x"\nreading_grade = 5\nsummary = "x"\n'
                'key_points = ["A.", "B."]\nteach_back = ["Why?"]'
            },
            "text Spanish",
            "language 'Spanish' is not a lower-case language code",
        ),
        (
            {
                "extra": '[[text]]\nlanguage = "es"\ntitle = "x"\nreading_grade = 5\nsummary = "x"\n'
                'key_points = ["Uno."]\nteach_back = ["¿Por qué?"]'
            },
            "text es",
            "key_points has 1 points: teach 2 to 12",
        ),
    ],
)
def test_a_broken_topic_names_its_file_part_and_fault(
    tmp_path: Path, values: dict[str, str], where: str, message: str
) -> None:
    path = _write(tmp_path, **values)
    with pytest.raises(InvalidInput, match=message) as raised:
        topic_load(path)
    assert raised.value.where is not None
    assert raised.value.where.startswith(str(path))
    assert raised.value.where.endswith(where)


def test_a_broken_schedule_codes_language_or_name_are_refused(tmp_path: Path) -> None:
    cases = [
        (
            "reinforce_days = 7\nreteach_days = 2",
            "reinforce_days = 7\nreteach_days = 10",
            "reteach_days 10 is longer",
        ),
        ('snomed = ["90560007"]', 'snomed = ["gout"]', "SNOMED CT code 'gout' is not a number"),
        ('icd10cm = ["M10"]', 'icd10cm = ["gout"]', "'gout' is not an ICD-10-CM code"),
        ('medications = ["allopurinol"]', 'medications = ["allo purinol"]', "is not one word of letters"),
        ('language = "en"', 'language = "es"', "a topic needs an English text"),
        (
            'sources = ["American College of Rheumatology: Gout patient fact sheet"]',
            "sources = []",
            "sources must",
        ),
    ]
    for old, new, message in cases:
        path = _write(tmp_path)
        path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
        with pytest.raises(InvalidInput, match=message) as raised:
            topic_load(path)
        assert str(path) in str(raised.value.where), message
    with pytest.raises(InvalidInput, match="the topic's id 'gout-diet' is not its file name"):
        topic_load(_write(tmp_path, name="gout-diet").rename(tmp_path / "other.toml"))
    broken = tmp_path / "broken.toml"
    broken.write_text('id = "broken"\n[[text]\n', encoding="utf-8")
    with pytest.raises(InvalidInput, match="not a readable TOML file"):
        topic_load(broken)
