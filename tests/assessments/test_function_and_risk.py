"""Katz ADL, Lawton IADL, AUDIT-C and the STEADI falls screen over their answer spaces
(care-management-standards.md 3.5-3.7; CDC STEADI), and the dependency flags stratification reads."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from click.testing import CliRunner

from carenav.assessments.instruments import instrument_get
from carenav.cli.main import cli
from tests.assessments.responses import response

KATZ = ["bathing", "dressing", "toileting", "transferring", "continence", "feeding"]


def test_katz_over_every_combination() -> None:
    katz = instrument_get("katz-adl")
    for independent in itertools.product([True, False], repeat=6):
        answers = {
            f"katz-{k}": "independent" if i else "dependent" for k, i in zip(KATZ, independent, strict=True)
        }
        result = katz.score_response(response(katz, answers))
        total = sum(independent)
        assert result.total == total
        assert result.band == (
            "full function" if total == 6 else "moderate impairment" if total >= 3 else "severe impairment"
        )
        assert result.flags == (() if total == 6 else ("adl-dependency",))


def test_lawton_each_level_of_each_activity() -> None:
    lawton = instrument_get("lawton-iadl")
    items = [i for i in lawton.questionnaire.walk() if i.type == "choice"]
    assert len(items) == 8
    best = {i.link_id: i.options[0].code for i in items}
    assert lawton.score_response(response(lawton, best)).total == 8
    for item in items:
        for option in item.options:
            result = lawton.score_response(response(lawton, {**best, item.link_id: option.code}))
            assert result.total == 7 + option.score  # type: ignore[operator]
            dependent = option.score == 0
            assert ("iadl-dependency" in result.flags) is dependent
            assert ("medication-management" in result.flags) is (
                dependent and item.link_id == "lawton-medications"
            )


def test_audit_c_cut_off_depends_on_sex() -> None:
    audit = instrument_get("audit-c")
    links = ["/68518-0", "/68519-8", "/68520-6"]
    options = [audit.questionnaire.by_link_id[link].options for link in links]
    for chosen in itertools.product(*options):
        resource = response(audit, {link: o.code for link, o in zip(links, chosen, strict=True)})
        total = sum(int(o.score) for o in chosen)  # type: ignore[arg-type]
        assert audit.score_response(resource, sex="male").positive is (total >= 4)
        assert audit.score_response(resource, sex="female").positive is (total >= 3)
        assert audit.score_response(resource).positive is (total >= 3)  # sex unknown: the lower cut-off
        assert audit.score_response(resource).total == total


def test_falls_screen_is_positive_on_any_yes_and_asks_more_after_a_fall(tmp_path: Path) -> None:
    falls = instrument_get("falls-risk")
    for fallen, unsteady, worried in itertools.product([True, False], repeat=3):
        answers: dict[str, str | int | bool] = {
            "falls-fallen": "fallen-yes" if fallen else "fallen-no",
            "falls-unsteady": "unsteady-yes" if unsteady else "unsteady-no",
            "falls-worried": "worried-yes" if worried else "worried-no",
        }
        if fallen:
            answers["falls-times"] = 2
        result = falls.score_response(response(falls, answers))
        assert result.positive is (fallen or unsteady or worried)
        assert result.flags == (("fall-in-past-year",) if fallen else ())
    # after a fall, how many times is required; without one it may not be answered
    path = tmp_path / "qr.json"
    path.write_text(
        json.dumps(
            response(
                falls,
                {
                    "falls-fallen": "fallen-yes",
                    "falls-unsteady": "unsteady-no",
                    "falls-worried": "worried-no",
                },
            )
        )
    )
    result = CliRunner().invoke(cli, ["instruments", "score", "falls-risk", str(path)])
    assert result.exit_code == 1
    assert "falls-times: required, and not answered" in result.output
    path.write_text(
        json.dumps(
            response(
                falls,
                {
                    "falls-fallen": "fallen-no",
                    "falls-times": 1,
                    "falls-unsteady": "unsteady-no",
                    "falls-worried": "worried-no",
                },
            )
        )
    )
    result = CliRunner().invoke(cli, ["instruments", "score", "falls-risk", str(path)])
    assert "falls-times: answered, but not enabled by its enableWhen" in result.output


def test_cli_passes_the_sex_for_audit_c(tmp_path: Path) -> None:
    audit = instrument_get("audit-c")
    path = tmp_path / "qr.json"
    path.write_text(
        json.dumps(
            response(audit, {"/68518-0": "freq-2-3-week", "/68519-8": "typical-1-2", "/68520-6": "six-never"})
        )
    )
    male = CliRunner().invoke(cli, ["instruments", "score", "audit-c", str(path), "--sex", "male"])
    female = CliRunner().invoke(cli, ["instruments", "score", "audit-c", str(path), "--sex", "female"])
    assert (json.loads(male.output)["positive"], json.loads(female.output)["positive"]) == (False, True)
