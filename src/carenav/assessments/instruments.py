"""The shipped instruments: ``instruments/<id>.json`` (a FHIR R4 Questionnaire) and, beside it,
``instruments/<id>.scoring.toml`` (its scoring rules, ``carenav.assessments.scoring``). Loaded once,
checked on load: a broken file fails with its path and what is wrong."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from carenav.assessments.questionnaire import Questionnaire, questionnaire_parse
from carenav.assessments.responses import response_read
from carenav.assessments.scoring import Rules, Score, rules_read, score
from carenav.errors import InvalidInput, NotFound

INSTRUMENTS_DIR = Path(__file__).parent / "instruments"


@dataclass(frozen=True)
class Instrument:
    id: str
    questionnaire: Questionnaire
    rules: Rules

    @property
    def title(self) -> str:
        return self.questionnaire.title

    @property
    def version(self) -> str:
        return self.questionnaire.version

    @property
    def loinc_panel(self) -> str | None:
        return self.questionnaire.codes[0] if self.questionnaire.codes else None

    def score_response(
        self, resource: Mapping[str, Any], *, sex: str | None = None, where: str = "QuestionnaireResponse"
    ) -> Score:
        """Check a QuestionnaireResponse against the form (``ResponseInvalid`` lists every item at
        fault) and score it (``sex``: the patient's, for sex-specific cut-offs)."""
        answers = response_read(self.questionnaire, resource, where=where)
        return score(self.id, self.rules, answers, sex=sex)


def instrument_load(path: Path) -> Instrument:
    """One instrument from its Questionnaire file (and its scoring rules beside it)."""
    where = str(path)
    try:
        resource = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"not a readable JSON file ({exc})", where=where) from exc
    questionnaire = questionnaire_parse(resource, where=where)
    if questionnaire.id != path.stem:
        raise InvalidInput(f"the Questionnaire's id {questionnaire.id!r} is not its file name", where=where)
    rules = rules_read(path.with_name(f"{path.stem}.scoring.toml"), questionnaire)
    return Instrument(id=questionnaire.id, questionnaire=questionnaire, rules=rules)


@cache
def instruments() -> tuple[Instrument, ...]:
    """Every shipped instrument, by id."""
    return tuple(instrument_load(path) for path in sorted(INSTRUMENTS_DIR.glob("*.json")))


def instrument_get(instrument_id: str) -> Instrument:
    for instrument in instruments():
        if instrument.id == instrument_id:
            return instrument
    known = ", ".join(i.id for i in instruments())
    raise NotFound(f"no instrument {instrument_id!r} (shipped: {known})", where="instrument")


def instrument_for_response(resource: Mapping[str, Any]) -> Instrument | None:
    """The shipped instrument a QuestionnaireResponse names (its ``questionnaire`` canonical, with or
    without ``|version``), or None."""
    canonical = str(resource.get("questionnaire", "")).split("|")[0]
    return next((i for i in instruments() if canonical and i.questionnaire.url == canonical), None)
