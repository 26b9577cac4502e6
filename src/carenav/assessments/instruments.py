"""The shipped instruments: ``instruments/<id>.json`` (a FHIR R4 Questionnaire) and, beside it,
``instruments/<id>.scoring.toml`` (its scoring rules, ``carenav.assessments.scoring``); and composed
ones, ``instruments/<id>.compose.toml`` (sections made of those, the comprehensive assessment). Loaded once,
checked on load: a broken file fails with its path and what is wrong."""

from __future__ import annotations

import copy
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from carenav.assessments.questionnaire import DERIVED, Questionnaire, Value, questionnaire_parse
from carenav.assessments.responses import Answers, Derive, response_check, response_enabled, response_read
from carenav.assessments.scoring import Rules, Score, rules_read, score
from carenav.errors import InvalidInput, NotFound

INSTRUMENTS_DIR = Path(__file__).parent / "instruments"


@dataclass(frozen=True)
class Cascade:
    """In a composed instrument: ``first`` (PHQ-2) is asked, and the items of ``then`` (PHQ-9) it lacks
    are enabled when ``first``'s score calls for ``then``."""

    first: str
    then: str


@dataclass(frozen=True)
class Instrument:
    id: str
    questionnaire: Questionnaire
    rules: Rules
    sections: tuple[tuple[str, tuple[str, ...]], ...] = ()  # composed: (section linkId, instrument ids)
    cascades: tuple[Cascade, ...] = ()

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
        fault) and score it (``sex``: the patient's, for sex-specific cut-offs). A composed instrument
        scores each section's instruments by their own rules."""
        answers = response_read(self.questionnaire, resource, where=where, derive=self._derive(sex))
        if not self.sections:
            return score(self.id, self.rules, answers, sex=sex)
        parts: dict[str, Score | None] = {}
        for cascade in self.cascades:
            parts[cascade.first] = score(cascade.first, _base()[cascade.first].rules, answers, sex=sex)
        for _section, members in self.sections:
            for member in members:
                skipped = any(
                    c.then == member and (parts[c.first] is None or parts[c.first].cascade != member)  # type: ignore[union-attr]
                    for c in self.cascades
                )
                parts[member] = None if skipped else score(member, _base()[member].rules, answers, sex=sex)
        scored = [p for p in parts.values() if p is not None]
        return Score(
            instrument=self.id,
            flags=tuple(dict.fromkeys(f for p in scored for f in p.flags)),
            urgent_flags=tuple(dict.fromkeys(f for p in scored for f in p.urgent_flags)),
            positive_domains=tuple(dict.fromkeys(d for p in scored for d in p.positive_domains)),
            sections=parts,
        )

    def check_response(
        self, resource: Mapping[str, Any], *, sex: str | None = None, where: str = "QuestionnaireResponse"
    ) -> Answers:
        """The answers of a response with every item error (a draft's too), cascades computed."""
        return response_check(self.questionnaire, resource, where=where, derive=self._derive(sex))

    def enabled(self, answered: Mapping[str, tuple[Value, ...]], *, sex: str | None = None) -> frozenset[str]:
        """The linkIds a form of this instrument shows for ``answered`` (skip logic, cascades included)."""
        return response_enabled(self.questionnaire, answered, derive=self._derive(sex))

    def _derive(self, sex: str | None) -> Derive | None:
        if not self.cascades:
            return None

        def derive(
            questionnaire: Questionnaire, answered: Mapping[str, tuple[Value, ...]]
        ) -> dict[str, tuple[Value, ...]]:
            values: dict[str, tuple[Value, ...]] = {}
            for cascade in self.cascades:
                first = _base()[cascade.first]
                partial = Answers(questionnaire=questionnaire, values=answered, status="in-progress")
                values[f"{cascade.first}-cascade"] = (
                    score(first.id, first.rules, partial, sex=sex).cascade == cascade.then,
                )
            return values

        return derive


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


def instrument_compose(path: Path, base: Mapping[str, Instrument]) -> Instrument:
    """A composed instrument (``<id>.compose.toml``): sections, each the items of some ``base``
    instruments, nested as groups of one Questionnaire; a cascade's later items in a group enabled by a
    derived item (``<first>-cascade``). Display items keep their text under ``<instrument>-<linkId>``."""
    where = str(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInput(f"not a readable TOML file ({exc})", where=where) from exc
    instrument_id = path.name.removesuffix(".compose.toml")
    cascades = tuple(
        Cascade(str(c["first"]), str(c["then"]))
        for s in document.get("section", [])
        for c in s.get("cascade", [])
    )
    sections: list[tuple[str, tuple[str, ...]]] = []
    items: list[dict[str, Any]] = []
    for raw in document.get("section", []):
        link_id, members = str(raw.get("link_id", "")), tuple(raw.get("instruments", []))
        unknown = [m for m in members if m not in base]
        if not link_id or not members or unknown:
            raise InvalidInput(
                f"section {link_id or '?'}: needs link_id and instruments; unknown: {unknown}", where=where
            )
        children: list[dict[str, Any]] = []
        for member in members:
            member_items = [_renamed(member, item) for item in base[member].questionnaire.resource["item"]]
            cascade = next((c for c in cascades if c.then == member), None)
            if cascade is None:
                children.extend(member_items)
                continue
            first_ids = {i.link_id for i in base[cascade.first].questionnaire.walk()}
            asked = [i for i in member_items if i["linkId"] in first_ids or i["type"] == "display"]
            later = [i for i in member_items if i not in asked]
            flag = f"{cascade.first}-cascade"
            children.extend(asked)
            children.append(
                {
                    "linkId": flag,
                    "type": "boolean",
                    "readOnly": True,
                    "text": f"{base[cascade.first].title} calls for the {base[cascade.then].title}",
                    "extension": [{"url": DERIVED, "valueString": f"{cascade.first}:cascade"}],
                }
            )
            children.append(
                {
                    "linkId": f"{member}-cascade",
                    "type": "group",
                    "required": True,
                    "text": base[member].title,
                    "enableWhen": [{"question": flag, "operator": "=", "answerBoolean": True}],
                    "item": later,
                }
            )
        items.append(
            {
                "linkId": link_id,
                "type": "group",
                "required": True,
                "text": raw.get("title", ""),
                "item": children,
            }
        )
        sections.append((link_id, members))
    resource = {
        "resourceType": "Questionnaire",
        "id": instrument_id,
        "url": f"https://carenav.org/fhir/Questionnaire/{instrument_id}",
        "version": str(document.get("version", "")),
        "name": "".join(w.capitalize() for w in instrument_id.split("-")),
        "title": str(document.get("title", instrument_id)),
        "status": "active",
        "subjectType": ["Patient"],
        "description": str(document.get("description", "")),
        "item": items,
    }
    questionnaire = questionnaire_parse(resource, where=where)
    return Instrument(
        id=instrument_id,
        questionnaire=questionnaire,
        rules=Rules(),
        sections=tuple(sections),
        cascades=cascades,
    )


def _renamed(instrument_id: str, item: Mapping[str, Any]) -> dict[str, Any]:
    copied = copy.deepcopy(dict(item))
    if copied.get("type") == "display":
        copied["linkId"] = f"{instrument_id}-{copied['linkId']}"
    return copied


@cache
def _base() -> dict[str, Instrument]:
    """The instruments of the Questionnaire files, by id."""
    return {i.id: i for i in (instrument_load(p) for p in sorted(INSTRUMENTS_DIR.glob("*.json")))}


@cache
def instruments() -> tuple[Instrument, ...]:
    """Every shipped instrument: those of the Questionnaire files, then the composed ones, by id."""
    base = _base()
    composed = [instrument_compose(p, base) for p in sorted(INSTRUMENTS_DIR.glob("*.compose.toml"))]
    return tuple(sorted([*base.values(), *composed], key=lambda i: i.id))


def instrument_get(instrument_id: str) -> Instrument:
    for instrument in instruments():
        if instrument.id == instrument_id:
            return instrument
    known = ", ".join(i.id for i in instruments())
    raise NotFound(f"no instrument {instrument_id!r} (shipped: {known})", where="instrument")
