"""Scoring rules of an instrument, kept as data (``instruments/<id>.scoring.toml``), and the scorer.

A rules file may hold (every part optional):

```toml
[total]                       # the sum of the option scores of these items (all scored items if absent)
items = ["/44250-9", "..."]
code = "44261-6"              # LOINC of the total, for the Observation that stores it
complete = true               # the total only when every listed item is answered (default true)

[[band]]                      # severity bands over the total, inclusive
min = 0
max = 4
label = "minimal"

[positive]                    # the screen is positive when the total reaches this
total_at_least = 10
by_sex = { female = 3 }       # a sex-specific cut-off (male, female, unknown), AUDIT-C
answers = [{ item = "falls-fallen", codes = ["fallen-yes"] }]   # or on any of these answers

[[subscale]]                  # a named sum over some items
id = "safety"
items = ["/95618-5", "..."]
code = "95614-4"

[[domain]]                    # a positive social-needs domain: any listed answer, or a subscale at least
id = "food-insecurity"        # (urgent = true: a positive domain is also an urgent flag)
answers = [{ item = "/88122-7", codes = ["LA28397-0", "LA6729-3"] }]
subscale_at_least = { subscale = "safety", value = 11 }

[[flag]]                      # a critical item: its score (or its answer) calls for action
id = "suicide-risk"
item = "/44260-8"             # or items = [...]: any of them
score_above = 0               # or score_below = 1, or codes = ["LA33-6"]
urgent = true
text = "..."

[cascade]                     # the next instrument to give when the total reaches a value
to = "phq9"
total_at_least = 3
```

Bad rules fail on load with the file and the part at fault; the scorer never raises for a response that
passed ``responses.response_check``: a missing answer gives a NULL total (and names the missing items),
not an error.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from carenav.assessments.questionnaire import Item, Questionnaire
from carenav.assessments.responses import Answers
from carenav.errors import InvalidInput


@dataclass(frozen=True)
class Band:
    low: Decimal
    high: Decimal
    label: str


@dataclass(frozen=True)
class Subscale:
    id: str
    items: tuple[str, ...]
    code: str | None = None


@dataclass(frozen=True)
class AnswerRule:
    item: str
    codes: tuple[str, ...]


@dataclass(frozen=True)
class Domain:
    id: str
    answers: tuple[AnswerRule, ...] = ()
    subscale: str | None = None
    subscale_at_least: Decimal | None = None
    urgent: bool = False


@dataclass(frozen=True)
class Flag:
    id: str
    items: tuple[str, ...]
    text: str
    score_above: Decimal | None = None
    score_below: Decimal | None = None
    codes: tuple[str, ...] = ()
    urgent: bool = False


@dataclass(frozen=True)
class Rules:
    total_items: tuple[str, ...] = ()
    total_code: str | None = None
    total_needs_every_item: bool = True
    bands: tuple[Band, ...] = ()
    positive_at_least: Decimal | None = None
    positive_at_least_by_sex: Mapping[str, Decimal] = field(default_factory=dict)
    positive_answers: tuple[AnswerRule, ...] = ()
    subscales: tuple[Subscale, ...] = ()
    domains: tuple[Domain, ...] = ()
    flags: tuple[Flag, ...] = ()
    cascade_to: str | None = None
    cascade_at_least: Decimal | None = None
    has_total: bool = False


@dataclass(frozen=True)
class Score:
    """What the scorer found. Fields that do not apply are None or empty."""

    instrument: str
    total: Decimal | None = None
    band: str | None = None
    positive: bool | None = None
    subscales: Mapping[str, Decimal | None] = field(default_factory=dict)
    positive_domains: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    urgent_flags: tuple[str, ...] = ()
    cascade: str | None = None
    missing: tuple[str, ...] = ()
    sections: Mapping[str, Score | None] = field(default_factory=dict)
    """A composed instrument's: each section instrument's score (None: a cascade that was not called
    for); its own flags and domains are theirs, together."""

    def as_json(self) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self.sections:
            extra["sections"] = {k: v.as_json() if v else None for k, v in self.sections.items()}
        return extra | {
            "instrument": self.instrument,
            "total": _plain(self.total),
            "band": self.band,
            "positive": self.positive,
            "subscales": {k: _plain(v) for k, v in self.subscales.items()},
            "flags": list(self.flags),
            "urgent_flags": list(self.urgent_flags),
            "positive_domains": list(self.positive_domains),
            "cascade": self.cascade,
            "missing": list(self.missing),
        }


def _plain(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def rules_read(path: Path, questionnaire: Questionnaire) -> Rules:
    """The scoring rules of ``path`` (TOML), checked against the Questionnaire's items."""
    where = str(path)
    if not path.is_file():
        return Rules()
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"not valid TOML ({exc})", where=where) from exc
    scored = tuple(
        item.link_id for item in questionnaire.walk() if any(o.score is not None for o in item.options)
    )

    def items_of(raw: Any, part: str) -> tuple[str, ...]:
        if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
            raise InvalidInput(f"{part}: items must be a list of linkIds", where=where)
        for link_id in raw:
            item = questionnaire.by_link_id.get(link_id)
            if item is None:
                raise InvalidInput(f"{part}: the questionnaire has no item {link_id!r}", where=where)
        return tuple(raw)

    def number(raw: Any, part: str) -> Decimal:
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise InvalidInput(f"{part}: {raw!r} is not a number", where=where)
        return Decimal(str(raw))

    total = document.get("total")
    total_items = items_of(total.get("items", list(scored)), "total") if isinstance(total, dict) else ()
    bands = tuple(
        Band(number(b.get("min"), f"band {i}"), number(b.get("max"), f"band {i}"), str(b.get("label", "")))
        for i, b in enumerate(document.get("band", []), start=1)
    )
    subscales = tuple(
        Subscale(str(s["id"]), items_of(s.get("items"), f"subscale {s.get('id')}"), s.get("code"))
        for s in document.get("subscale", [])
    )
    subscale_ids = {s.id for s in subscales}
    domains = []
    for raw in document.get("domain", []):
        part = f"domain {raw.get('id')}"
        rules = []
        for rule in raw.get("answers", []):
            (item_id,) = items_of([rule.get("item")], part)
            _check_codes(questionnaire.by_link_id[item_id], rule.get("codes", []), part, where)
            rules.append(AnswerRule(item_id, tuple(rule.get("codes", []))))
        at_least = raw.get("subscale_at_least")
        if at_least is not None and at_least.get("subscale") not in subscale_ids:
            raise InvalidInput(f"{part}: no subscale {at_least.get('subscale')!r}", where=where)
        domains.append(
            Domain(
                id=str(raw["id"]),
                answers=tuple(rules),
                subscale=at_least.get("subscale") if at_least else None,
                subscale_at_least=number(at_least.get("value"), part) if at_least else None,
                urgent=bool(raw.get("urgent", False)),
            )
        )
    flags = []
    for raw in document.get("flag", []):
        part = f"flag {raw.get('id')}"
        flag_items = items_of(raw["items"] if "items" in raw else [raw.get("item")], part)
        for item_id in flag_items:
            _check_codes(questionnaire.by_link_id[item_id], raw.get("codes", []), part, where)
        flags.append(
            Flag(
                id=str(raw["id"]),
                items=flag_items,
                text=str(raw.get("text", "")),
                score_above=number(raw["score_above"], part) if "score_above" in raw else None,
                score_below=number(raw["score_below"], part) if "score_below" in raw else None,
                codes=tuple(raw.get("codes", [])),
                urgent=bool(raw.get("urgent", False)),
            )
        )
    cascade = document.get("cascade") or {}
    positive = document.get("positive") or {}
    positive_answers = []
    for rule in positive.get("answers", []):
        (item_id,) = items_of([rule.get("item")], "positive")
        _check_codes(questionnaire.by_link_id[item_id], rule.get("codes", []), "positive", where)
        positive_answers.append(AnswerRule(item_id, tuple(rule.get("codes", []))))
    by_sex = positive.get("by_sex", {})
    unknown_sexes = sorted(set(by_sex) - set(SEXES))
    if unknown_sexes:
        raise InvalidInput(f"positive.by_sex: {unknown_sexes} (known: {', '.join(SEXES)})", where=where)
    return Rules(
        total_items=total_items,
        total_code=total.get("code") if isinstance(total, dict) else None,
        total_needs_every_item=bool(total.get("complete", True)) if isinstance(total, dict) else True,
        bands=bands,
        positive_at_least=number(positive["total_at_least"], "positive")
        if "total_at_least" in positive
        else None,
        positive_at_least_by_sex={k: number(v, "positive.by_sex") for k, v in by_sex.items()},
        positive_answers=tuple(positive_answers),
        subscales=subscales,
        domains=tuple(domains),
        flags=tuple(flags),
        cascade_to=cascade.get("to"),
        cascade_at_least=number(cascade["total_at_least"], "cascade")
        if "total_at_least" in cascade
        else None,
        has_total=isinstance(total, dict),
    )


def _check_codes(item: Item, codes: Sequence[str], part: str, where: str) -> None:
    if item.type == "boolean":
        unknown = [c for c in codes if c not in ("true", "false")]
        if unknown:
            raise InvalidInput(f"{part}: a boolean item's codes are true and false", where=where)
        return
    unknown = [c for c in codes if item.option(c) is None]
    if unknown:
        raise InvalidInput(f"{part}: {', '.join(unknown)} are not options of {item.link_id}", where=where)


SEXES = ("male", "female", "unknown")


def score(instrument_id: str, rules: Rules, answers: Answers, *, sex: str | None = None) -> Score:
    """Score a response's answers by the instrument's rules. ``sex`` (male, female; None or anything
    else is unknown) picks a sex-specific cut-off where the rules have one (AUDIT-C)."""
    questionnaire = answers.questionnaire
    total, missing = _sum(questionnaire, rules.total_items, answers, every=rules.total_needs_every_item)
    if not rules.has_total:
        total, missing = None, ()
    subscales = {s.id: _sum(questionnaire, s.items, answers, every=True)[0] for s in rules.subscales}
    band = next((b.label for b in rules.bands if total is not None and b.low <= total <= b.high), None)
    positive = None
    cut_off = rules.positive_at_least_by_sex.get(
        sex if sex in ("male", "female") else "unknown", rules.positive_at_least
    )
    if cut_off is not None and total is not None:
        positive = total >= cut_off
    if rules.positive_answers:
        hit = any(any(_as_code(v) in r.codes for v in answers.get(r.item)) for r in rules.positive_answers)
        positive = hit or bool(positive)
    domains = tuple(d.id for d in rules.domains if _domain_positive(d, answers, subscales))
    if rules.domains and positive is None:
        positive = bool(domains)
    raised = [f for f in rules.flags if _flag_raised(questionnaire, f, answers)]
    cascade = None
    if rules.cascade_to and rules.cascade_at_least is not None and total is not None:
        cascade = rules.cascade_to if total >= rules.cascade_at_least else None
    return Score(
        instrument=instrument_id,
        total=total,
        band=band,
        positive=positive,
        subscales=subscales,
        positive_domains=domains,
        flags=(*(f.id for f in raised), *(d.id for d in rules.domains if d.urgent and d.id in domains)),
        urgent_flags=(
            *(f.id for f in raised if f.urgent),
            *(d.id for d in rules.domains if d.urgent and d.id in domains),
        ),
        cascade=cascade,
        missing=missing,
    )


def _option_score(questionnaire: Questionnaire, link_id: str, code: Any) -> Decimal | None:
    item = questionnaire.by_link_id[link_id]
    option = item.option(str(code)) if item.type == "choice" else None
    if option is not None:
        return option.score
    if item.type in ("integer", "decimal") and not isinstance(code, bool):
        return Decimal(code)
    return None


def _sum(
    questionnaire: Questionnaire, link_ids: Sequence[str], answers: Answers, *, every: bool
) -> tuple[Decimal | None, tuple[str, ...]]:
    total = Decimal(0)
    missing = []
    for link_id in link_ids:
        scores = [_option_score(questionnaire, link_id, v) for v in answers.get(link_id)]
        scored = [s for s in scores if s is not None]
        if not scored:
            missing.append(link_id)
            continue
        total += sum(scored, Decimal(0))
    if missing and (every or len(missing) == len(link_ids)):
        return None, tuple(missing)
    return total, tuple(missing)


def _domain_positive(domain: Domain, answers: Answers, subscales: Mapping[str, Decimal | None]) -> bool:
    for rule in domain.answers:
        if any(_as_code(v) in rule.codes for v in answers.get(rule.item)):
            return True
    if domain.subscale is not None and domain.subscale_at_least is not None:
        value = subscales.get(domain.subscale)
        return value is not None and value >= domain.subscale_at_least
    return False


def _flag_raised(questionnaire: Questionnaire, flag: Flag, answers: Answers) -> bool:
    """Any of the flag's items has one of its codes, or a score above (below) its threshold."""
    for link_id in flag.items:
        values = answers.get(link_id)
        if flag.codes and any(_as_code(v) in flag.codes for v in values):
            return True
        scores = [s for v in values if (s := _option_score(questionnaire, link_id, v)) is not None]
        if flag.score_above is not None and any(s > flag.score_above for s in scores):
            return True
        if flag.score_below is not None and any(s < flag.score_below for s in scores):
            return True
    return False


def _as_code(value: object) -> str:
    """An answer as the rules name it: a choice answer's code, a boolean's ``true`` or ``false``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
