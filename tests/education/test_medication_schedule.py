"""The plain-language medication schedule, on the real Synthea medication orders: every dosage instruction of
the 40 bundles reads; "when" comes from the structured timing (``1 tablet once a day``), from the dosage
text otherwise (``1 tab PO BID`` spelled out), and asks the care team when nothing is known; "why" is the
order's reason (its reasonReference, resolved in the bundle) in everyday words; a malformed dosage names
its element."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from carenav.education.medication_schedule import (
    ASK_WHEN,
    ASK_WHY,
    ON_HOLD,
    Dosage,
    Dose,
    MedicineFacts,
    Timing,
    dosage_from_fhir,
    dose_words,
    how_often,
    medication_schedule,
    medicine_words,
    reason_words,
    schedule_row,
    sig_words,
    timing_words,
)
from carenav.errors import InvalidInput


def _orders(shared_data: Path) -> list[tuple[str, dict[str, Any], dict[str, Any] | None]]:
    """Every MedicationRequest of the shared Synthea bundles, with the Condition its reasonReference names."""
    found = []
    for path in sorted((shared_data / "synthea-r4").glob("*.json")):
        entries = json.loads(path.read_text(encoding="utf-8"))["entry"]
        by_url = {e["fullUrl"]: e["resource"] for e in entries}
        for entry in entries:
            resource = entry["resource"]
            if resource["resourceType"] != "MedicationRequest":
                continue
            reasons = resource.get("reasonReference", [])
            found.append((path.name, resource, by_url[reasons[0]["reference"]] if reasons else None))
    return found


def _facts(resource: dict[str, Any], reason: dict[str, Any] | None) -> MedicineFacts:
    coding = resource["medicationCodeableConcept"]["coding"][0]
    dosages = resource.get("dosageInstruction", [])
    reason_coding = reason["code"]["coding"][0] if reason else {}
    return MedicineFacts(
        name=coding["display"],
        code=coding["code"],
        status=resource["status"],
        authored_at=datetime.fromisoformat(resource["authoredOn"]),
        dosage=dosage_from_fhir(dosages[0]) if dosages else Dosage(),
        reason_code=reason_coding.get("code"),
        reason=reason_coding.get("display"),
    )


def test_every_synthea_medication_order_reads_and_makes_a_row(shared_data: Path) -> None:
    orders = _orders(shared_data)
    assert len(orders) == 200
    timed = 0
    for name, resource, reason in orders:
        row = schedule_row(_facts(resource, reason))
        assert all((row.what, row.when, row.why)), name
        assert not any(raw in row.what for raw in ("MG", "[", "ACTUAT")), row.what
        has_timing = any("timing" in d for d in resource.get("dosageInstruction", []))
        assert row.when_known is (has_timing or bool(row.as_needed)), (name, row)
        assert row.why_known is (reason is not None), (name, row)
        if not row.when_known:
            assert row.when in (ASK_WHEN, "Regularly, not only when needed: ask your care team what times")
        if not row.why_known:
            assert row.why == ASK_WHY
        timed += has_timing
    assert timed == 21


@pytest.mark.parametrize(
    ("display", "what", "when", "why"),
    [
        (
            "24 HR metoprolol succinate 100 MG Extended Release Oral Tablet [Toprol]",
            "Metoprolol succinate 100 mg extended-release tablet (Toprol)",
            "1 tablet once a day",
            "Heart failure",
        ),
        ("Lasix 40mg", "Lasix 40 mg", "1 dose once a day", "Heart failure"),
        (
            "Acetaminophen 325 MG / HYDROcodone Bitartrate 7.5 MG Oral Tablet",
            "Acetaminophen 325 mg and hydrocodone bitartrate 7.5 mg tablet",
            "1 tablet every 6 hours",
            None,
        ),
        (
            "Meperidine Hydrochloride 50 MG Oral Tablet",
            "Meperidine hydrochloride 50 mg tablet",
            "1 tablet every 4 hours",
            None,
        ),
        (
            "Levothyroxine Sodium 0.075 MG Oral Tablet",
            "Levothyroxine sodium 0.075 mg tablet",
            "1 tablet every 60 days",
            None,
        ),
        ("Hydrochlorothiazide 25 MG", "Hydrochlorothiazide 25 mg", ASK_WHEN, "High blood pressure"),
        (
            "Fexofenadine hydrochloride 60 MG Oral Tablet",
            "Fexofenadine hydrochloride 60 mg tablet",
            "Only when needed",
            None,
        ),
        (
            "60 ACTUAT Fluticasone propionate 0.25 MG/ACTUAT / salmeterol 0.05 MG/ACTUAT Dry Powder Inhaler",
            "Fluticasone propionate 0.25 mg per puff and salmeterol 0.05 mg per puff (powder inhaler)",
            ASK_WHEN,
            None,
        ),
        (
            "Nitroglycerin 0.4 MG/ACTUAT Mucosal Spray",
            "Nitroglycerin 0.4 mg per spray (mouth spray)",
            ASK_WHEN,
            None,
        ),
        (
            "NDA020800 0.3 ML Epinephrine 1 MG/ML Auto-Injector",
            "Epinephrine 1 mg/mL auto-injector",
            "Only when needed",
            None,
        ),
    ],
)
def test_real_orders_in_plain_words(
    shared_data: Path, display: str, what: str, when: str, why: str | None
) -> None:
    rows = [
        schedule_row(_facts(resource, reason))
        for _, resource, reason in _orders(shared_data)
        if resource["medicationCodeableConcept"]["coding"][0]["display"] == display
    ]
    assert rows, display
    assert {r.what for r in rows} == {what}
    assert {r.when for r in rows} == {when}
    if why is not None:
        assert why in {r.why for r in rows}


def test_the_reasons_synthea_gives_in_everyday_words(shared_data: Path) -> None:
    words = {
        reason["code"]["coding"][0]["display"]: reason_words(
            reason["code"]["coding"][0]["code"], reason["code"]["coding"][0]["display"]
        )
        for _, _, reason in _orders(shared_data)
        if reason is not None
    }
    assert words["Hypertension"] == "high blood pressure"
    assert words["Chronic congestive heart failure (disorder)"] == "heart failure"
    assert words["Viral sinusitis (disorder)"] == "a sinus infection"
    assert words["Pulmonary emphysema (disorder)"] == "emphysema (a long-term lung disease)"
    assert all(w and "(disorder)" not in w for w in words.values())
    assert reason_words("E11.9", None) == "type 2 diabetes"
    assert reason_words(None, "Essential hypertension (disorder)") == "high blood pressure"
    assert reason_words("123", "Gout (disorder)") == "Gout", "shown as recorded, without its tag"
    assert reason_words(None, None) is None


def _dosage(**fields: Any) -> dict[str, Any]:
    return {"sequence": 1, **fields}


@pytest.mark.parametrize(
    ("raw", "name", "when"),
    [
        (
            _dosage(
                timing={"repeat": {"frequency": 2, "period": 1, "periodUnit": "d", "when": ["MORN", "HS"]}},
                doseAndRate=[{"doseQuantity": {"value": 1}}],
            ),
            "Metformin hydrochloride 500 MG Oral Tablet",
            "1 tablet in the morning and 1 at bedtime",
        ),
        (
            _dosage(
                timing={"repeat": {"timeOfDay": ["08:00:00", "20:30:00"]}},
                doseAndRate=[{"doseQuantity": {"value": 0.5}}],
            ),
            "Warfarin Sodium 5 MG Oral Tablet",
            "Half a tablet at 8 am and at 8:30 pm",
        ),
        (
            _dosage(
                timing={"code": {"coding": [{"code": "BID"}]}}, doseAndRate=[{"doseQuantity": {"value": 2}}]
            ),
            "60 ACTUAT Fluticasone propionate 0.25 MG/ACTUAT Metered Dose Inhaler",
            "2 puffs twice a day",
        ),
        (
            _dosage(
                timing={"repeat": {"frequency": 1, "period": 4, "periodMax": 6, "periodUnit": "h"}},
                asNeededCodeableConcept={"text": "Wheezing"},
                doseAndRate=[{"doseRange": {"low": {"value": 1}, "high": {"value": 2}}}],
            ),
            "albuterol 0.09 MG/ACTUAT Metered Dose Inhaler",
            "1 to 2 puffs every 4 to 6 hours, only when needed for wheezing",
        ),
        (
            _dosage(
                timing={"repeat": {"frequency": 1, "period": 1, "periodUnit": "wk", "dayOfWeek": ["mon"]}},
                doseAndRate=[{"doseQuantity": {"value": 70, "unit": "mg"}}],
            ),
            "Alendronic acid 70 MG Oral Tablet",
            "70 mg once a week on Mondays",
        ),
        (
            _dosage(
                timing={"repeat": {"frequency": 1, "period": 1, "periodUnit": "d", "when": ["ACM"]}},
                doseAndRate=[{"doseQuantity": {"value": 10, "unit": "U"}}],
            ),
            "insulin glargine 100 UNT/ML Pen Injector",
            "10 units before breakfast",
        ),
        (
            _dosage(timing={"repeat": {"frequency": 3, "period": 1, "periodUnit": "d"}}),
            "Amoxicillin 500 MG Oral Capsule",
            "3 times a day",
        ),
        (_dosage(text="1 tab PO BID"), "Captopril 25 MG Oral Tablet", "1 tablet by mouth twice a day"),
        (
            _dosage(text="Take as directed"),
            "Captopril 25 MG Oral Tablet",
            "As directed: ask your care team how and when to take it",
        ),
        (
            _dosage(asNeededBoolean=False),
            "Simvastatin 20 MG Oral Tablet",
            "Regularly, not only when needed: ask your care team what times",
        ),
        (_dosage(), "Simvastatin 20 MG Oral Tablet", ASK_WHEN),
    ],
)
def test_when_from_structured_timing_first_then_text_then_ask(
    raw: dict[str, Any], name: str, when: str
) -> None:
    row = schedule_row(MedicineFacts(name=name, dosage=dosage_from_fhir(raw)))
    assert row.when == when


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("1 tab PO BID", "1 tablet by mouth twice a day"),
        ("Take 2 puffs q4-6h prn wheezing", "Take 2 puffs every 4 to 6 hours when needed for wheezing"),
        ("1 tab qhs", "1 tablet at bedtime"),
        ("10 units subq qam", "10 units under the skin every morning"),
        ("1 cap daily", "1 capsule every day"),
        ("1 tablet twice daily with meals", "1 tablet twice a day with meals"),
        (
            "1 SL tab q5min prn chest pain",
            "1 under the tongue tablet every 5 minutes when needed for chest pain",
        ),
        ("2 tabs po q1h", "2 tablets by mouth every hour"),
        ("take as directed", None),
        ("UD", None),
    ],
)
def test_prescription_shorthand_spelled_out(text: str, words: str | None) -> None:
    assert sig_words(text) == words


def test_doses_and_frequencies_in_words() -> None:
    assert dose_words(Dose(1.5), "tablet") == "1 and a half tablets"
    assert dose_words(Dose(2), None) == "2 doses"
    assert dose_words(Dose(5, unit="mL"), "tablet") == "5 mL"
    assert dose_words(None, "tablet") is None
    assert how_often(Timing(frequency=1, period=2, period_unit="d")) == "every other day"
    assert how_often(Timing(frequency=1, period=7, period_unit="d")) == "once a week"
    assert how_often(Timing(frequency=3, period=1, period_unit="wk")) == "3 times a week"
    assert how_often(Timing(frequency=1, frequency_max=2, period=1, period_unit="d")) == "1 to 2 times a day"
    assert how_often(Timing(frequency=1, period=1, period_unit="h")) == "every hour"
    assert how_often(Timing(frequency=2, period=3, period_unit="mo")) == "twice every 3 months"
    assert timing_words(Timing(when=("CV",)), None) == "with dinner"
    assert timing_words(Timing(), "1 tablet") is None


@pytest.mark.parametrize(
    ("raw", "where", "message"),
    [
        (
            {"timing": {"repeat": {"period": 1, "periodUnit": "fortnight"}}},
            "timing.repeat.periodUnit",
            "'fortnight'",
        ),
        ({"timing": {"repeat": {"period": 1}}}, "timing.repeat.period", "needs its unit"),
        (
            {"timing": {"repeat": {"frequency": 0, "period": 1, "periodUnit": "d"}}},
            "timing.repeat.frequency",
            "0 is not",
        ),
        (
            {"timing": {"repeat": {"period": -6, "periodUnit": "h"}}},
            "timing.repeat.period",
            "-6 is not a number above 0",
        ),
        ({"timing": {"repeat": {"when": ["LUNCH"]}}}, "timing.repeat.when", "'LUNCH' is not an event code"),
        ({"timing": {"repeat": {"timeOfDay": ["8am"]}}}, "timing.repeat.timeOfDay", "'8am' is not a time"),
        (
            {"timing": {"repeat": {"dayOfWeek": ["monday"]}}},
            "timing.repeat.dayOfWeek",
            "'monday' is not a day",
        ),
        (
            {"timing": {"repeat": {"frequency": 1, "period": 6, "periodMax": 4, "periodUnit": "h"}}},
            "timing.repeat.periodMax",
            "below period",
        ),
        (
            {"doseAndRate": [{"doseRange": {"low": {"value": 2}, "high": {"value": 1}}}]},
            "doseAndRate[0].doseRange",
            "high dose is below",
        ),
        ({"asNeededBoolean": "yes"}, "asNeededBoolean", "not true or false"),
        ({"timing": "daily"}, "timing", "not an object"),
    ],
)
def test_a_malformed_dosage_names_its_element(raw: dict[str, Any], where: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as raised:
        dosage_from_fhir(raw, "MedicationRequest/x.dosageInstruction[0]")
    assert raised.value.where == f"MedicationRequest/x.dosageInstruction[0].{where}"


def test_the_schedule_lists_each_medicine_once_regular_then_as_needed_then_on_hold() -> None:
    earlier, later = datetime(2020, 1, 1, tzinfo=UTC), datetime(2021, 1, 1, tzinfo=UTC)
    rows = medication_schedule(
        [
            MedicineFacts(
                "Simvastatin 20 MG Oral Tablet", "312961", authored_at=later, dosage=Dosage(text="1 tab qhs")
            ),
            MedicineFacts(
                "Simvastatin 20 MG Oral Tablet", "312961", authored_at=earlier, dosage=Dosage(text="1 tab qd")
            ),
            MedicineFacts("Ibuprofen 200 MG Oral Tablet", "310965", dosage=Dosage(as_needed=True)),
            MedicineFacts("Amlodipine 5 MG Oral Tablet", "197361", status="on-hold"),
            MedicineFacts("Atorvastatin 80 MG Oral Tablet", "259255", status="stopped"),
            MedicineFacts(None, "1234", reason="Hypertension"),
        ]
    )
    assert [(r.what, r.when, r.why) for r in rows] == [
        ("A medicine with no name on record (RxNorm 1234)", ASK_WHEN, "High blood pressure"),
        ("Simvastatin 20 mg tablet", "1 tablet at bedtime", ASK_WHY),
        ("Ibuprofen 200 mg tablet", "Only when needed", ASK_WHY),
        ("Amlodipine 5 mg tablet", ON_HOLD, ASK_WHY),
    ]
    assert medicine_words("Carbamazepine[Tegretol]") == "Carbamazepine (Tegretol)"
