"""The shipped instruments over /fhir/R4: Questionnaire read and search (url, name, LOINC code), valid FHIR,
404 for an unknown one; a token is needed as for every other read."""

from __future__ import annotations

from tests.fhir.conftest import Api
from tests.fhir.test_api import ok
from tests.fhir.validation import assert_valid
from tests.fhir.world import World


def test_read_and_search_the_shipped_questionnaires(api: Api, world: World) -> None:
    token = world.tokens["admin"]
    phq9 = ok(api, "Questionnaire/phq9", token)
    assert_valid(phq9)
    assert (phq9["url"], phq9["version"]) == ("https://carenav.org/fhir/Questionnaire/phq9", "1.0.0")
    composed = ok(api, "Questionnaire/comprehensive-assessment", token)
    assert_valid(composed)
    assert [i["linkId"] for i in composed["item"]][:2] == ["section-history", "section-function"]
    every = ok(api, "Questionnaire", token)
    assert every["total"] == len(every["entry"]) >= 14
    by_code = ok(api, "Questionnaire?code=http://loinc.org|44249-1", token)
    assert [e["resource"]["id"] for e in by_code["entry"]] == ["phq9"]
    by_url = ok(api, "Questionnaire?url=https://carenav.org/fhir/Questionnaire/gad7|1.0.0", token)
    assert [e["resource"]["id"] for e in by_url["entry"]] == ["gad7"]
    assert ok(api, "Questionnaire?url=https://carenav.org/fhir/Questionnaire/gad7|9.9", token)["total"] == 0
    by_name = ok(api, "Questionnaire?name=patient%20health", token)
    assert {e["resource"]["id"] for e in by_name["entry"]} == {"phq2", "phq9"}
    missing = api.get("Questionnaire/nope", token)
    assert missing.status_code == 404
    assert missing.json()["issue"][0]["diagnostics"] == "no Questionnaire nope"
    assert api.get("Questionnaire/phq9").status_code == 401
