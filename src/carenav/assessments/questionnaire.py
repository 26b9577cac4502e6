"""A FHIR R4 Questionnaire as an item tree: what the form renders, the responses are checked against and
the scoring reads. Only what carenav uses is read; everything else of the resource is kept as given."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from carenav.errors import InvalidInput

LOINC = "http://loinc.org"
ORDINAL_VALUE = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"
DERIVED = "https://carenav.org/fhir/StructureDefinition/derived-from"
"""On a read-only boolean item: computed from other answers (``phq2:cascade``: the PHQ-2 score calls for
the PHQ-9), never taken from the response; other items' enableWhen may name it."""

ANSWER_TYPES = ("boolean", "decimal", "integer", "date", "string", "text", "choice")
"""Item types that take answers (``group`` and ``display`` take none)."""
ITEM_TYPES = ("group", "display", *ANSWER_TYPES)

Value = bool | int | Decimal | str
"""An answer's value: a choice answer is its option's code, a date its ISO text."""


@dataclass(frozen=True)
class Option:
    """A choice item's answer option: its code (LOINC LA code where there is one), display and score."""

    code: str
    system: str | None
    display: str
    score: Decimal | None = None


@dataclass(frozen=True)
class EnableWhen:
    """One ``enableWhen`` condition: the item is shown when the answer to ``question`` compares."""

    question: str
    operator: str  # exists, =, !=, >, <, >=, <=
    answer: Value | None  # for exists: a bool


@dataclass(frozen=True)
class Item:
    link_id: str
    type: str
    text: str
    required: bool = False
    repeats: bool = False
    codes: tuple[str, ...] = ()
    options: tuple[Option, ...] = ()
    enable_when: tuple[EnableWhen, ...] = ()
    enable_behavior: str = "all"  # all | any
    items: tuple[Item, ...] = ()
    answer_value_set: str | None = None  # a choice item's options named by a value set instead
    min_value: Decimal | None = None  # integer and decimal items: the minValue / maxValue extensions
    max_value: Decimal | None = None
    derived: str | None = None  # the DERIVED extension's value

    @property
    def takes_answers(self) -> bool:
        return self.type in ANSWER_TYPES

    def option(self, code: str) -> Option | None:
        return next((o for o in self.options if o.code == code), None)


@dataclass(frozen=True)
class Questionnaire:
    """The parsed Questionnaire. ``by_link_id`` holds every item, nested or not; ``by_code`` the items
    by their LOINC code (so responses naming an item ``/CODE`` resolve to it)."""

    id: str
    url: str
    version: str
    title: str
    codes: tuple[str, ...]
    items: tuple[Item, ...]
    resource: Mapping[str, Any] = field(repr=False, compare=False, default_factory=dict)
    by_link_id: Mapping[str, Item] = field(repr=False, compare=False, default_factory=dict)
    by_code: Mapping[str, Item] = field(repr=False, compare=False, default_factory=dict)
    ancestors: Mapping[str, tuple[Item, ...]] = field(repr=False, compare=False, default_factory=dict)
    """Each item's enclosing groups, outermost first (read once, as skip logic asks for them often)."""

    def walk(self) -> Iterator[Item]:
        """Every item, depth first, in form order."""
        yield from _walk(self.items)


def _walk(items: tuple[Item, ...]) -> Iterator[Item]:
    for item, _trail in _walk_with_trail(items, ()):
        yield item


def _walk_with_trail(
    items: tuple[Item, ...], trail: tuple[Item, ...]
) -> Iterator[tuple[Item, tuple[Item, ...]]]:
    for item in items:
        yield item, trail
        yield from _walk_with_trail(item.items, (*trail, item))


def questionnaire_parse(resource: Mapping[str, Any], *, where: str) -> Questionnaire:
    """Read a Questionnaire resource; a structural error names the item (linkId) and what is wrong."""
    if resource.get("resourceType") != "Questionnaire":
        raise InvalidInput(f"expected a Questionnaire, got {resource.get('resourceType')!r}", where=where)
    items = tuple(_item(raw, where=where) for raw in resource.get("item", []))
    by_link_id: dict[str, Item] = {}
    by_code: dict[str, Item] = {}
    ancestors: dict[str, tuple[Item, ...]] = {}
    for item, trail in _walk_with_trail(items, ()):
        if item.link_id in by_link_id:
            raise InvalidInput(f"linkId {item.link_id!r} is used twice", where=where)
        by_link_id[item.link_id] = item
        ancestors[item.link_id] = trail
        for code in item.codes:
            by_code.setdefault(code, item)
    for item in _walk(items):
        for condition in item.enable_when:
            if condition.question not in by_link_id:
                raise InvalidInput(
                    f"item {item.link_id!r}: enableWhen names the unknown item {condition.question!r}",
                    where=where,
                )
    return Questionnaire(
        id=str(resource.get("id", "")),
        url=str(resource.get("url", "")),
        version=str(resource.get("version", "")),
        title=str(resource.get("title", resource.get("name", ""))),
        codes=tuple(c["code"] for c in resource.get("code", []) if c.get("system") == LOINC),
        items=items,
        resource=resource,
        by_link_id=by_link_id,
        by_code=by_code,
        ancestors=ancestors,
    )


def _item(raw: Mapping[str, Any], *, where: str) -> Item:
    link_id = raw.get("linkId")
    if not isinstance(link_id, str) or not link_id:
        raise InvalidInput("an item has no linkId", where=where)
    kind = raw.get("type")
    if kind not in ITEM_TYPES:
        raise InvalidInput(f"item {link_id!r}: type {kind!r} is not supported", where=where)
    options = tuple(_option(link_id, o, where=where) for o in raw.get("answerOption", []))
    value_set = raw.get("answerValueSet")
    if kind == "choice" and not options and not value_set:
        raise InvalidInput(
            f"item {link_id!r}: a choice item needs answerOption or answerValueSet", where=where
        )
    return Item(
        link_id=link_id,
        type=kind,
        text=str(raw.get("text", "")),
        required=bool(raw.get("required", False)),
        repeats=bool(raw.get("repeats", False)),
        codes=tuple(c["code"] for c in raw.get("code", []) if c.get("system") == LOINC and "code" in c),
        options=options,
        enable_when=tuple(_enable_when(link_id, c, where=where) for c in raw.get("enableWhen", [])),
        enable_behavior=str(raw.get("enableBehavior", "all")),
        items=tuple(_item(child, where=where) for child in raw.get("item", [])),
        answer_value_set=str(value_set) if value_set else None,
        min_value=_bound(raw, MIN_VALUE),
        max_value=_bound(raw, MAX_VALUE),
        derived=next(
            (str(e["valueString"]) for e in raw.get("extension", []) if e.get("url") == DERIVED), None
        ),
    )


def _bound(raw: Mapping[str, Any], url: str) -> Decimal | None:
    for extension in raw.get("extension", []):
        if extension.get("url") == url:
            for key in ("valueInteger", "valueDecimal"):
                if key in extension:
                    return Decimal(str(extension[key]))
    return None


def _option(link_id: str, raw: Mapping[str, Any], *, where: str) -> Option:
    coding = raw.get("valueCoding")
    if not isinstance(coding, Mapping) or "code" not in coding:
        raise InvalidInput(f"item {link_id!r}: an answerOption has no valueCoding.code", where=where)
    score = _ordinal(raw) if _ordinal(raw) is not None else _ordinal(coding)
    return Option(
        code=str(coding["code"]),
        system=coding.get("system"),
        display=str(coding.get("display", coding["code"])),
        score=score,
    )


def _ordinal(raw: Mapping[str, Any]) -> Decimal | None:
    for extension in raw.get("extension", []):
        if extension.get("url") == ORDINAL_VALUE and "valueDecimal" in extension:
            return Decimal(str(extension["valueDecimal"]))
    return None


def answer_value(raw: Mapping[str, Any], prefix: str) -> tuple[bool, Value | None]:
    """The value of a FHIR ``<prefix>Boolean|Integer|Decimal|String|Date|Coding`` element set in ``raw``
    (``answer`` in enableWhen, ``value`` in a response's answer): (found, value); a coding gives its code."""
    if f"{prefix}Coding" in raw:
        coding = raw[f"{prefix}Coding"]
        return True, str(coding.get("code")) if isinstance(coding, Mapping) else None
    if f"{prefix}Boolean" in raw:
        return True, raw[f"{prefix}Boolean"]
    if f"{prefix}Integer" in raw:
        return True, raw[f"{prefix}Integer"]
    if f"{prefix}Decimal" in raw:
        return True, Decimal(str(raw[f"{prefix}Decimal"]))
    if f"{prefix}Date" in raw:
        return True, raw[f"{prefix}Date"]
    if f"{prefix}String" in raw:
        return True, raw[f"{prefix}String"]
    return False, None


def _enable_when(link_id: str, raw: Mapping[str, Any], *, where: str) -> EnableWhen:
    operator = raw.get("operator")
    if operator not in ("exists", "=", "!=", ">", "<", ">=", "<="):
        raise InvalidInput(
            f"item {link_id!r}: enableWhen operator {operator!r} is not supported", where=where
        )
    found, answer = answer_value(raw, "answer")
    if not found or answer is None:
        raise InvalidInput(f"item {link_id!r}: enableWhen has no answer", where=where)
    return EnableWhen(question=str(raw.get("question", "")), operator=str(operator), answer=answer)
