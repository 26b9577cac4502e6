"""The shipped instruments: valid FHIR R4 Questionnaires, listed, loaded with their scoring rules, and the
CLI over them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from carenav.assessments.instruments import INSTRUMENTS_DIR, instrument_get, instrument_load, instruments
from carenav.cli.main import cli
from carenav.errors import InvalidInput, NotFound
from tests.assessments.responses import response
from tests.fhir.validation import assert_valid

SHIPPED = {"ahc-hrsn", "gad7", "hunger-vital-sign", "phq2", "phq9"}


def test_every_shipped_questionnaire_is_valid_fhir_and_loads() -> None:
    assert {i.id for i in instruments()} >= SHIPPED
    for path in sorted(INSTRUMENTS_DIR.glob("*.json")):
        resource = json.loads(path.read_text())
        assert_valid(resource)
        assert resource["url"].endswith(f"/Questionnaire/{path.stem}")
        assert resource["version"]
        instrument = instrument_load(path)
        # every scored choice item scores every option; every LOINC-coded item is named /CODE
        for item in instrument.questionnaire.walk():
            if item.codes:
                assert item.link_id == f"/{item.codes[0]}", item.link_id
            scored = [o.score is not None for o in item.options]
            assert all(scored) or not any(scored), item.link_id


def test_panel_codes_and_totals_are_loinc() -> None:
    assert instrument_get("phq9").loinc_panel == "44249-1"
    assert instrument_get("phq9").rules.total_code == "44261-6"
    assert instrument_get("gad7").loinc_panel == "69737-5"
    assert instrument_get("gad7").rules.total_code == "70274-6"
    assert instrument_get("ahc-hrsn").loinc_panel == "96777-8"


def test_an_unknown_instrument_names_the_shipped_ones() -> None:
    with pytest.raises(NotFound, match=r"no instrument 'phq-99'.*phq9"):
        instrument_get("phq-99")


def test_broken_rules_name_the_file_and_part(tmp_path: Path) -> None:
    source = INSTRUMENTS_DIR / "gad7.json"
    (tmp_path / "gad7.json").write_text(source.read_text())
    (tmp_path / "gad7.scoring.toml").write_text('[total]\nitems = ["/69725-0", "/nope"]\n')
    with pytest.raises(
        InvalidInput, match=r"gad7.scoring.toml: total: the questionnaire has no item '/nope'"
    ):
        instrument_load(tmp_path / "gad7.json")
    (tmp_path / "gad7.scoring.toml").write_text('[[flag]]\nid = "x"\nitem = "/69725-0"\ncodes = ["LA33-6"]\n')
    with pytest.raises(InvalidInput, match=r"flag x: LA33-6 are not options of /69725-0"):
        instrument_load(tmp_path / "gad7.json")
    (tmp_path / "gad7.scoring.toml").write_text("[total\n")
    with pytest.raises(InvalidInput, match="not valid TOML"):
        instrument_load(tmp_path / "gad7.json")


def test_cli_lists_and_scores(tmp_path: Path) -> None:
    runner = CliRunner()
    listed = runner.invoke(cli, ["instruments", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = {r["id"]: r for r in json.loads(listed.output)}
    assert rows["phq9"]["loinc"] == "44249-1"
    assert rows["phq2"]["loinc"] is None
    phq9 = instrument_get("phq9")
    answers = dict.fromkeys([f"/{c}" for c in phq9.questionnaire.by_code if c != "69722-7"], "LA6570-1")
    answers["/44260-8"] = "LA6569-3"
    path = tmp_path / "qr.json"
    path.write_text(json.dumps(response(phq9, answers)))
    scored = runner.invoke(cli, ["instruments", "score", "phq9", str(path)])
    assert scored.exit_code == 0, scored.output
    got = json.loads(scored.output)
    assert (got["instrument"], got["total"], got["band"], got["flags"]) == (
        "phq9",
        17,
        "moderately severe",
        ["suicide-risk"],
    )
    assert got["positive_domains"] == []


def test_cli_reports_every_item_at_fault(tmp_path: Path) -> None:
    phq9 = instrument_get("phq9")
    bad = response(phq9, {"/44250-9": "LA9999-9", "/44255-8": "LA6568-5"})
    bad["item"].append({"linkId": "/12345-6", "answer": [{"valueInteger": 1}]})
    path = tmp_path / "qr.json"
    path.write_text(json.dumps(bad))
    result = CliRunner().invoke(cli, ["instruments", "score", "phq9", str(path)])
    assert result.exit_code == 1
    assert "does not fit phq9 1.0.0" in result.output
    assert "/44250-9: LA9999-9 is not one of its options" in result.output
    assert "/12345-6: the questionnaire has no such item" in result.output
    assert "/44259-0: required, and not answered" in result.output
    path.write_text("{not json")
    result = CliRunner().invoke(cli, ["instruments", "score", "phq9", str(path)])
    assert result.exit_code == 1
    assert "not JSON" in result.output
    result = CliRunner().invoke(cli, ["instruments", "score", "nope", str(path)])
    assert result.exit_code == 1
    assert "no instrument 'nope'" in result.output
