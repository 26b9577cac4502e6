"""A Questionnaire as an HTML form, and back.

- ``form_parse``: the posted fields as answers (by linkId, for skip logic) and as response items;
- ``form_fields``: a stored QuestionnaireResponse as the fields' values (to resume a draft or amend);
- ``form_nodes``: what the template renders, item by item, with values, errors and skip-logic state;
- ``answer_rows``: a response read back as question and answer text.

A field is named ``a:<linkId>``; inside a repeating group's instance, the group and the instance come
first: ``a:support-helper[1].support-helper-name``. Pure: no HTTP, no SQL. Which items are enabled is
not decided here but by the engine (``Instrument.enabled``), so the form and the check of a response
never disagree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from carenav.assessments.questionnaire import Item, Questionnaire, Value
from carenav.assessments.responses import ItemError, item_for_link_id

FIELD = "a:"
TEMPLATE_INDEX = "__i__"
"""The instance number of a repeating group's blank copy, replaced by the next number when added."""

Fields = Mapping[str, Sequence[str]]


def field_name(prefix: str, link_id: str) -> str:
    return f"{FIELD}{prefix}{link_id}"


def _instance_prefix(prefix: str, group: Item, number: int | str) -> str:
    return f"{prefix}{group.link_id}[{number}]."


def _instances(fields: Fields, prefix: str, group: Item) -> list[int]:
    """The instance numbers of a repeating group present in the fields, in order."""
    pattern = re.compile(re.escape(f"{FIELD}{prefix}{group.link_id}[") + r"(\d+)\]\.")
    found = {int(m.group(1)) for name in fields if (m := pattern.match(name))}
    return sorted(found)


# --- posted fields -> answers ---------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedForm:
    """The posted answers: by field (the response's answer elements with their values) and the problems
    of fields whose text is not a value of their item's type."""

    questionnaire: Questionnaire
    answers: Mapping[str, tuple[tuple[dict[str, Any], Value], ...]]
    errors: tuple[ItemError, ...]
    fields: Fields = field(repr=False)

    @property
    def values(self) -> dict[str, tuple[Value, ...]]:
        """Every answer by linkId (all instances of a repeating group together), for skip logic."""
        out: dict[str, list[Value]] = {}
        for item, name in _answer_fields(self.questionnaire.items, "", self.fields):
            out.setdefault(item.link_id, []).extend(v for _a, v in self.answers.get(name, ()))
        return {k: tuple(v) for k, v in out.items() if v}

    def items(self, enabled: frozenset[str]) -> list[dict[str, Any]]:
        """The QuestionnaireResponse items of the enabled items (answers to hidden ones are dropped, as
        a form drops what it no longer asks)."""
        return self._build(self.questionnaire.items, "", enabled)

    def _build(self, items: Sequence[Item], prefix: str, enabled: frozenset[str]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for item in items:
            if item.link_id not in enabled or item.derived:
                continue
            if item.type == "group":
                prefixes = (
                    [_instance_prefix(prefix, item, n) for n in _instances(self.fields, prefix, item)]
                    if item.repeats
                    else [prefix]
                )
                for inner in prefixes:
                    children = self._build(item.items, inner, enabled)
                    if children:
                        out.append({"linkId": item.link_id, "text": item.text, "item": children})
            elif item.takes_answers:
                given = self.answers.get(field_name(prefix, item.link_id), ())
                answers = [answer for answer, _value in given]
                if answers:
                    out.append({"linkId": item.link_id, "text": item.text, "answer": answers})
        return out


def _answer_fields(items: Sequence[Item], prefix: str, fields: Fields) -> Iterable[tuple[Item, str]]:
    """Every answer-taking item with its field name, each instance of a repeating group."""
    for item in items:
        if item.type == "group":
            if item.repeats:
                for n in _instances(fields, prefix, item):
                    yield from _answer_fields(item.items, _instance_prefix(prefix, item, n), fields)
            else:
                yield from _answer_fields(item.items, prefix, fields)
        elif item.takes_answers and not item.derived:
            yield item, field_name(prefix, item.link_id)


def form_parse(questionnaire: Questionnaire, fields: Fields) -> ParsedForm:
    """Read the posted fields (names other than ``a:...`` are ignored; blank values are no answer)."""
    answers: dict[str, tuple[tuple[dict[str, Any], Value], ...]] = {}
    errors: list[ItemError] = []
    for item, name in _answer_fields(questionnaire.items, "", fields):
        got = []
        for raw in fields.get(name, ()):
            text = raw.strip()
            if not text:
                continue
            parsed = _answer(item, text)
            if isinstance(parsed, str):
                errors.append(ItemError(item.link_id, parsed))
            else:
                got.append(parsed)
        if len(got) > 1 and not item.repeats:
            errors.append(ItemError(item.link_id, "give one answer"))
        if got:
            answers[name] = tuple(got)
    return ParsedForm(questionnaire=questionnaire, answers=answers, errors=tuple(errors), fields=fields)


def _answer(item: Item, text: str) -> tuple[dict[str, Any], Value] | str:
    """The answer element and its value for ``text``, or what is wrong with it."""
    kind = item.type
    if kind == "choice":
        if not item.options:  # options in a value set carenav does not hold: the code as typed
            return {"valueCoding": {"code": text}}, text
        option = item.option(text)
        if option is None:
            return f"{text!r} is not one of its options"
        coding = {"system": option.system, "code": option.code, "display": option.display}
        return {"valueCoding": {k: v for k, v in coding.items() if v is not None}}, option.code
    if kind == "boolean":
        if text not in ("true", "false"):
            return f"{text!r} is not yes or no"
        return {"valueBoolean": text == "true"}, text == "true"
    if kind == "integer":
        if not re.fullmatch(r"[+-]?\d{1,12}", text):
            return f"{text!r} is not a whole number"
        return {"valueInteger": int(text)}, int(text)
    if kind == "decimal":
        try:
            number = Decimal(text)
        except InvalidOperation:
            return f"{text!r} is not a number"
        if not number.is_finite():
            return f"{text!r} is not a number"
        return {"valueDecimal": float(number)}, number
    if kind == "date":
        try:
            return {"valueDate": date.fromisoformat(text).isoformat()}, date.fromisoformat(text).isoformat()
        except ValueError:
            return f"{text!r} is not a date like 2026-03-14"
    return {"valueString": text}, text


REQUIRED_MISSING = "required, and not answered"


def errors_by_item(
    questionnaire: Questionnaire, errors: Iterable[ItemError], enabled: frozenset[str]
) -> dict[str, str]:
    """The first error of each linkId. A required group left empty is also named through the required
    items inside it (through required groups), so each message stands next to a question to answer."""
    out: dict[str, str] = {}
    for error in errors:
        out.setdefault(error.link_id, error.message)
        item = questionnaire.by_link_id.get(error.link_id)
        if item is not None and item.type == "group" and error.message == REQUIRED_MISSING:
            for inner in _required_inside(item, enabled):
                out.setdefault(inner.link_id, REQUIRED_MISSING)
    return out


def _required_inside(group: Item, enabled: frozenset[str]) -> Iterable[Item]:
    for item in group.items:
        if not item.required or item.derived or item.link_id not in enabled:
            continue
        if item.type == "group":
            yield from _required_inside(item, enabled)
        elif item.takes_answers:
            yield item


# --- stored response -> fields --------------------------------------------------------------------


def form_fields(questionnaire: Questionnaire, response: Mapping[str, Any]) -> dict[str, list[str]]:
    """The fields' values for a stored response (its ``/CODE`` linkIds resolved; unknown items left out)."""
    fields: dict[str, list[str]] = {}
    counters: dict[str, int] = {}

    def walk(raw_items: Any, prefix: str) -> None:
        for raw in raw_items if isinstance(raw_items, list) else []:
            link_id = str(raw.get("linkId", "")) if isinstance(raw, dict) else ""
            item = item_for_link_id(questionnaire, link_id)
            if item is None:
                continue
            if item.type == "group" and item.repeats:
                key = prefix + item.link_id
                counters[key] = counters.get(key, -1) + 1
                walk(raw.get("item"), _instance_prefix(prefix, item, counters[key]))
                continue
            for answer in raw.get("answer") or []:
                text = _answer_text(answer)
                if text is not None:
                    fields.setdefault(field_name(prefix, item.link_id), []).append(text)
                walk(answer.get("item"), prefix)
            walk(raw.get("item"), prefix)

    walk(response.get("item"), "")
    return fields


def _answer_text(answer: Mapping[str, Any]) -> str | None:
    if "valueCoding" in answer:
        return str(answer["valueCoding"].get("code", ""))
    if "valueBoolean" in answer:
        return "true" if answer["valueBoolean"] else "false"
    for key in ("valueInteger", "valueDecimal", "valueDate", "valueString", "valueDateTime"):
        if key in answer:
            return str(answer[key])
    return None


# --- what the template renders --------------------------------------------------------------------


@dataclass(frozen=True)
class FormNode:
    """One item of the form as rendered. ``control``: group, display, radio (one choice or yes/no),
    checkbox (several choices), number, date, text, textarea. A repeating group has ``instances`` (at
    least one) and a blank ``template`` instance; any other group has ``children``."""

    item: Item
    name: str
    dom_id: str
    control: str
    values: tuple[str, ...]
    error: str | None
    enabled: bool
    children: tuple[FormNode, ...] = ()
    instances: tuple[tuple[FormNode, ...], ...] = ()
    template: tuple[FormNode, ...] = ()

    @property
    def choices(self) -> list[tuple[str, str]]:
        """(value, label) of a radio or checkbox control."""
        if self.item.type == "boolean":
            return [("true", "Yes"), ("false", "No")]
        return [(o.code, o.display) for o in self.item.options]

    @property
    def step(self) -> str:
        return "1" if self.item.type == "integer" else "any"


CONTROLS = {"boolean": "radio", "integer": "number", "decimal": "number", "date": "date", "text": "textarea"}


def _control(item: Item) -> str:
    if item.type in ("group", "display"):
        return item.type
    if item.type == "choice":
        if not item.options:
            return "text"
        return "checkbox" if item.repeats else "radio"
    return CONTROLS.get(item.type, "text")


def dom_id(name: str) -> str:
    """An HTML id for a field name (letters, digits and dashes)."""
    return "q-" + re.sub(r"[^A-Za-z0-9_]+", "-", name[len(FIELD) :]).strip("-")


def form_nodes(
    questionnaire: Questionnaire,
    fields: Fields,
    *,
    errors: Mapping[str, str],
    enabled: frozenset[str],
) -> tuple[FormNode, ...]:
    """The form's items as rendered: values from ``fields``, an error per linkId, skip-logic state."""

    def nodes(items: Sequence[Item], prefix: str) -> tuple[FormNode, ...]:
        return tuple(node(item, prefix) for item in items if not item.derived)

    def node(item: Item, prefix: str) -> FormNode:
        name = field_name(prefix, item.link_id)
        base = FormNode(
            item=item,
            name=name,
            dom_id=dom_id(name),
            control=_control(item),
            values=tuple(fields.get(name, ())),
            error=errors.get(item.link_id),
            enabled=item.link_id in enabled,
        )
        if item.type != "group":
            return base
        if not item.repeats:
            return replace(base, children=nodes(item.items, prefix))
        numbers = _instances(fields, prefix, item) or [0]
        return replace(
            base,
            instances=tuple(nodes(item.items, _instance_prefix(prefix, item, n)) for n in numbers),
            template=nodes(item.items, _instance_prefix(prefix, item, TEMPLATE_INDEX)),
        )

    return nodes(questionnaire.items, "")


@dataclass(frozen=True)
class AnswerRow:
    """A question and its answers as text, ``depth`` levels into groups (a group heading has none)."""

    depth: int
    text: str
    answers: tuple[str, ...]
    is_group: bool = False


def answer_rows(questionnaire: Questionnaire, response: Mapping[str, Any]) -> list[AnswerRow]:
    """The answered items of a stored response, in form order, answers shown as their options' text."""
    fields = form_fields(questionnaire, response)
    rows: list[AnswerRow] = []

    def walk(items: Sequence[Item], prefix: str, depth: int) -> None:
        for item in items:
            if item.derived or item.type == "display":
                continue
            if item.type == "group":
                prefixes = (
                    [_instance_prefix(prefix, item, n) for n in _instances(fields, prefix, item)]
                    if item.repeats
                    else [prefix]
                )
                for inner in prefixes:
                    start = len(rows)
                    walk(item.items, inner, depth + 1)
                    if len(rows) > start:
                        rows.insert(start, AnswerRow(depth, item.text, (), is_group=True))
                continue
            given = fields.get(field_name(prefix, item.link_id))
            if given:
                rows.append(AnswerRow(depth, item.text, tuple(_shown(item, v) for v in given)))

    walk(questionnaire.items, "", 0)
    return rows


def _shown(item: Item, value: str) -> str:
    if item.type == "boolean":
        return {"true": "Yes", "false": "No"}.get(value, value)
    option = item.option(value) if item.type == "choice" else None
    return option.display if option else value
