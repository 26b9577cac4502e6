"""A FHIR QuestionnaireResponse checked against its Questionnaire and read into answers.

Checks, each reported as an ``ItemError`` (linkId, what is wrong) — all of them, not the first:
an item the Questionnaire does not have; an answer of the wrong type; a choice answer that is not one of
the item's options; several answers to an item that does not repeat; an answer to a display item or a
group; an answer to an item that is not enabled (its enableWhen is not met); and, when the response is
``completed``, an enabled required item without an answer (inside a group: where the group is given;
a required group must be given). A draft (``in-progress``) may leave required items empty.

Items are found by linkId; a linkId in the LOINC style of other systems (``/88122-7``, or the bare code)
resolves to the item whose LOINC code it names, so a response made elsewhere reads as one made with the
shipped form. Choice answers are matched by code (LOINC LA code where the option has one).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from carenav.assessments.questionnaire import EnableWhen, Item, Questionnaire, Value, answer_value
from carenav.errors import InvalidInput

COMPLETED_STATUSES = ("completed", "amended")
STATUSES = ("in-progress", "completed", "amended", "entered-in-error", "stopped")
_LOINC_LINK = re.compile(r"^/?(\d{1,7}-\d)$")


@dataclass(frozen=True)
class ItemError:
    link_id: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"linkId": self.link_id, "message": self.message}


@dataclass(frozen=True)
class Answers:
    """The answers of a response by the Questionnaire's linkIds (every answer of every instance of a
    repeating group, in order; only those of enabled items), and the response's status."""

    questionnaire: Questionnaire
    values: Mapping[str, tuple[Value, ...]]
    status: str = "completed"
    errors: tuple[ItemError, ...] = field(default=())

    def get(self, link_id: str) -> tuple[Value, ...]:
        return self.values.get(link_id, ())

    def first(self, link_id: str) -> Value | None:
        values = self.get(link_id)
        return values[0] if values else None


class ResponseInvalid(InvalidInput):
    """A response that does not fit its Questionnaire: ``errors`` names every item at fault."""

    def __init__(self, errors: Sequence[ItemError], *, where: str) -> None:
        self.errors = tuple(errors)
        summary = "; ".join(f"{e.link_id}: {e.message}" for e in self.errors[:5])
        more = f" (and {len(self.errors) - 5} more)" if len(self.errors) > 5 else ""
        super().__init__(f"the response does not fit its questionnaire: {summary}{more}", where=where)


def response_read(
    questionnaire: Questionnaire,
    resource: Mapping[str, Any],
    *,
    where: str = "QuestionnaireResponse",
    derive: Derive | None = None,
) -> Answers:
    """The answers of ``resource``; raises ``ResponseInvalid`` listing every item error."""
    answers = response_check(questionnaire, resource, where=where, derive=derive)
    if answers.errors:
        raise ResponseInvalid(answers.errors, where=where)
    return answers


Derive = Callable[[Questionnaire, Mapping[str, tuple[Value, ...]]], Mapping[str, tuple[Value, ...]]]
"""Computes the derived items' values (``Item.derived``) from the other answers."""


def response_check(
    questionnaire: Questionnaire,
    resource: Mapping[str, Any],
    *,
    where: str = "QuestionnaireResponse",
    derive: Derive | None = None,
) -> Answers:
    """The answers of ``resource`` with every item error found (``Answers.errors``; empty when it fits).
    ``derive``: the derived items' values, computed before skip logic (any given in the response are
    replaced)."""
    if resource.get("resourceType") != "QuestionnaireResponse":
        raise InvalidInput(
            f"expected a QuestionnaireResponse, got {resource.get('resourceType')!r}", where=where
        )
    status = str(resource.get("status", ""))
    if status not in STATUSES:
        raise InvalidInput(f"status {status!r} is not one of {', '.join(STATUSES)}", where=where)
    errors: list[ItemError] = []
    values: dict[str, list[Value]] = {}
    instances: dict[str, int] = {}  # how many times each item (a group, say) is given
    tried: set[str] = set()  # items given answers, valid or not
    _read_items(questionnaire, resource.get("item", []), values, instances, tried, errors)
    answered = _with_derived(questionnaire, {k: tuple(v) for k, v in values.items()}, derive)
    effective = _enabled_answers(questionnaire, answered)
    for item in questionnaire.walk():
        enabled = item_enabled(questionnaire, item, effective)
        if not enabled and (answered.get(item.link_id) or instances.get(item.link_id)):
            errors.append(ItemError(item.link_id, "answered, but not enabled by its enableWhen"))
        elif (
            enabled
            and status in COMPLETED_STATUSES
            and item.required
            and not item.derived
            and not answered.get(item.link_id)
            and item.link_id not in tried  # its answers are in fault already
            and not (item.type == "group" and instances.get(item.link_id))
            # inside a group, required only where the group is given (an absent required group is
            # reported itself; an absent optional one leaves its items out)
            and all(instances.get(group.link_id) for group in questionnaire.ancestors[item.link_id])
        ):
            errors.append(ItemError(item.link_id, "required, and not answered"))
    return Answers(questionnaire=questionnaire, values=effective, status=status, errors=tuple(errors))


def response_enabled(
    questionnaire: Questionnaire,
    answered: Mapping[str, tuple[Value, ...]],
    *,
    derive: Derive | None = None,
) -> frozenset[str]:
    """The linkIds enabled by these answers (what a form shows): the skip logic of ``response_check``,
    with the derived items computed, so a form and the check never disagree."""
    effective = _enabled_answers(questionnaire, _with_derived(questionnaire, answered, derive))
    return frozenset(
        item.link_id for item in questionnaire.walk() if item_enabled(questionnaire, item, effective)
    )


def _with_derived(
    questionnaire: Questionnaire, answered: Mapping[str, tuple[Value, ...]], derive: Derive | None
) -> dict[str, tuple[Value, ...]]:
    """The answers with the derived items' values computed (any given for them are dropped)."""
    derived = {item.link_id for item in questionnaire.walk() if item.derived}
    kept = {k: v for k, v in answered.items() if k not in derived}
    if derive is not None:
        kept.update(derive(questionnaire, kept))
    return kept


def _enabled_answers(
    questionnaire: Questionnaire, answered: Mapping[str, tuple[Value, ...]]
) -> dict[str, tuple[Value, ...]]:
    """The answers that count for skip logic: those of enabled items, where an item's being enabled
    is itself decided by answers that count (a fixpoint: an answer to a disabled item enables
    nothing)."""
    effective = dict(answered)
    while True:
        kept = {
            link_id: values
            for link_id, values in effective.items()
            if link_id in questionnaire.by_link_id
            and item_enabled(questionnaire, questionnaire.by_link_id[link_id], effective)
        }
        if kept == effective:
            return kept
        effective = kept


def item_for_link_id(questionnaire: Questionnaire, link_id: str) -> Item | None:
    """The item a response's linkId names: its own linkId, or ``/CODE`` (its LOINC code)."""
    item = questionnaire.by_link_id.get(link_id)
    if item is not None:
        return item
    match = _LOINC_LINK.match(link_id)
    return questionnaire.by_code.get(match.group(1)) if match else None


def _read_items(
    questionnaire: Questionnaire,
    raw_items: Any,
    values: dict[str, list[Value]],
    instances: dict[str, int],
    tried: set[str],
    errors: list[ItemError],
) -> None:
    if not isinstance(raw_items, list):
        errors.append(ItemError("(response)", "item must be a list"))
        return
    for raw in raw_items:
        link_id = str(raw.get("linkId", "")) if isinstance(raw, Mapping) else ""
        if not link_id:
            errors.append(ItemError("(response)", "an item has no linkId"))
            continue
        item = item_for_link_id(questionnaire, link_id)
        if item is None:
            errors.append(ItemError(link_id, "the questionnaire has no such item"))
            continue
        instances[item.link_id] = instances.get(item.link_id, 0) + 1
        if item.type == "group" and instances[item.link_id] > 1 and not item.repeats:
            errors.append(ItemError(item.link_id, "a group that does not repeat is given more than once"))
        raw_answers = raw.get("answer", [])
        if item.type in ("group", "display") and raw_answers:
            errors.append(ItemError(item.link_id, f"a {item.type} item takes no answer"))
            raw_answers = []
        if raw_answers:
            tried.add(item.link_id)
        given = _answer_values(item, raw_answers, errors)
        values.setdefault(item.link_id, []).extend(given)
        if len(given) > 1 and not item.repeats:
            errors.append(ItemError(item.link_id, "several answers to an item that takes one"))
        _read_items(questionnaire, raw.get("item", []), values, instances, tried, errors)
        for raw_answer in raw_answers if isinstance(raw_answers, list) else []:
            if isinstance(raw_answer, Mapping):
                _read_items(questionnaire, raw_answer.get("item", []), values, instances, tried, errors)


def _answer_values(item: Item, raw_answers: Any, errors: list[ItemError]) -> list[Value]:
    if not isinstance(raw_answers, list):
        errors.append(ItemError(item.link_id, "answer must be a list"))
        return []
    got: list[Value] = []
    for raw in raw_answers:
        found, value = answer_value(raw, "value") if isinstance(raw, Mapping) else (False, None)
        if not found or value is None:
            errors.append(ItemError(item.link_id, "an answer has no value"))
            continue
        problem = _type_problem(item, raw, value)
        if problem:
            errors.append(ItemError(item.link_id, problem))
            continue
        got.append(value)
    return got


def _type_problem(item: Item, raw: Mapping[str, Any], value: Value) -> str | None:
    kind = item.type
    if kind == "choice":
        coding = raw.get("valueCoding")
        if coding is None:
            return "a choice item takes a valueCoding"
        if not item.options:  # options in a value set carenav does not hold: any coding
            return None
        option = item.option(str(value))
        if option is None:
            allowed = ", ".join(f"{o.code} ({o.display})" for o in item.options)
            return f"{value} is not one of its options: {allowed}"
        system = coding.get("system") if isinstance(coding, Mapping) else None
        if system and option.system and system != option.system:
            return f"{value} is coded in {system}, the option in {option.system}"
        return None
    expected = {
        "boolean": "valueBoolean",
        "integer": "valueInteger",
        "decimal": "valueDecimal",
        "date": "valueDate",
        "string": "valueString",
        "text": "valueString",
    }[kind]
    if expected not in raw and not (kind == "decimal" and "valueInteger" in raw):
        return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} item takes {expected}"
    if kind == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
        return f"{value!r} is not an integer"
    if kind in ("integer", "decimal") and isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        if item.min_value is not None and value < item.min_value:
            return f"{value} is below the minimum, {item.min_value}"
        if item.max_value is not None and value > item.max_value:
            return f"{value} is above the maximum, {item.max_value}"
    if kind == "boolean" and not isinstance(value, bool):
        return f"{value!r} is not true or false"
    if kind == "date" and not re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", str(value)):
        return f"{value!r} is not a date (YYYY, YYYY-MM or YYYY-MM-DD)"
    return None


def item_enabled(questionnaire: Questionnaire, item: Item, answered: Mapping[str, tuple[Value, ...]]) -> bool:
    """Whether ``item`` is enabled by its enableWhen (``enableBehavior`` all or any) and every group
    around it is."""
    for ancestor in questionnaire.ancestors[item.link_id]:
        if not _own_conditions_met(ancestor, answered):
            return False
    return _own_conditions_met(item, answered)


def _own_conditions_met(item: Item, answered: Mapping[str, tuple[Value, ...]]) -> bool:
    if not item.enable_when:
        return True
    results = [_condition_met(c, answered.get(c.question, ())) for c in item.enable_when]
    return any(results) if item.enable_behavior == "any" else all(results)


def _condition_met(condition: EnableWhen, values: tuple[Value, ...]) -> bool:
    if condition.operator == "exists":
        return bool(values) == bool(condition.answer)
    if not values:
        return False
    target = condition.answer
    if condition.operator == "=":
        return any(_same(v, target) for v in values)
    if condition.operator == "!=":
        return not any(_same(v, target) for v in values)
    numbers = [_number(v) for v in values]
    bound = _number(target)
    if bound is None:
        return False
    return any(n is not None and _compares(n, condition.operator, bound) for n in numbers)


def _compares(value: Decimal, operator: str, bound: Decimal) -> bool:
    if operator == ">":
        return value > bound
    if operator == "<":
        return value < bound
    if operator == ">=":
        return value >= bound
    return value <= bound


def _same(value: Value, target: Value | None) -> bool:
    a, b = _number(value), _number(target)
    if a is not None and b is not None and not isinstance(value, bool) and not isinstance(target, bool):
        return a == b
    return value == target


def _number(value: Value | None) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    return None


def response_build(
    questionnaire: Questionnaire,
    values: Mapping[str, Sequence[Value]],
    *,
    status: str = "completed",
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A QuestionnaireResponse holding ``values`` (linkId -> answers), nested as the form's groups are,
    choice answers coded as the options are (system and display). ``extra``: more elements (subject,
    authored, author...). A repeating group's items are given as one instance."""

    def answers(item: Item) -> list[dict[str, Any]]:
        built: list[dict[str, Any]] = []
        for value in values.get(item.link_id, ()):
            if item.type == "choice":
                option = item.option(str(value))
                coding: dict[str, str | None] = {"code": str(value)}
                if option is not None:
                    coding = {"system": option.system, "code": option.code, "display": option.display}
                built.append({"valueCoding": {k: v for k, v in coding.items() if v is not None}})
            else:
                key = {
                    "boolean": "valueBoolean",
                    "integer": "valueInteger",
                    "decimal": "valueDecimal",
                    "date": "valueDate",
                }.get(item.type, "valueString")
                built.append({key: float(value) if isinstance(value, Decimal) else value})
        return built

    def items(level: tuple[Item, ...]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for item in level:
            if item.type == "group":
                children = items(item.items)
                if children:
                    out.append({"linkId": item.link_id, "text": item.text, "item": children})
            elif item.takes_answers and values.get(item.link_id):
                out.append({"linkId": item.link_id, "text": item.text, "answer": answers(item)})
        return out

    resource: dict[str, Any] = {"resourceType": "QuestionnaireResponse", "status": status}
    if questionnaire.url:
        resource["questionnaire"] = (
            f"{questionnaire.url}|{questionnaire.version}" if questionnaire.version else questionnaire.url
        )
    resource.update(extra or {})
    resource["item"] = items(questionnaire.items)
    return resource
