"""Build QuestionnaireResponse resources for the shipped instruments, as a form (or another system)
would send them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from carenav.assessments.instruments import Instrument
from carenav.assessments.questionnaire import Option

LOINC = "http://loinc.org"


def _coding(option: Option | None, code: str) -> dict[str, Any]:
    """A choice answer coded as the option is (its system and display), or a bare LOINC code when the
    form has no such option (to test what the checker says)."""
    if option is None:
        return {"valueCoding": {"system": LOINC, "code": code}}
    return {"valueCoding": {"system": option.system, "code": option.code, "display": option.display}}


def response(
    instrument: Instrument,
    answers: Mapping[str, str | Sequence[str] | int | bool],
    *,
    status: str = "completed",
    nested: bool = True,
) -> dict[str, Any]:
    """A QuestionnaireResponse answering ``answers`` (linkId -> option code(s), or a value), nested in
    the form's groups (``nested``) or flat."""
    questionnaire = instrument.questionnaire

    def answer_list(link_id: str) -> list[dict[str, Any]]:
        item = questionnaire.by_link_id[link_id]
        given = answers[link_id]
        if item.type == "choice":
            codes = [given] if isinstance(given, str) else list(given)  # type: ignore[arg-type]
            return [_coding(item.option(c), c) for c in codes]
        key = {"integer": "valueInteger", "boolean": "valueBoolean", "decimal": "valueDecimal"}.get(
            item.type, "valueString"
        )
        return [{key: given}]

    def items(level: Any) -> list[dict[str, Any]]:
        out = []
        for item in level:
            if item.type == "group":
                children = items(item.items)
                if children:
                    out.append({"linkId": item.link_id, "item": children} if nested else None)
                    if not nested:
                        out.pop()
                        out.extend(children)
            elif item.link_id in answers:
                out.append({"linkId": item.link_id, "answer": answer_list(item.link_id)})
        return out

    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": questionnaire.url,
        "status": status,
        "subject": {"reference": "Patient/example"},
        "item": items(questionnaire.items),
    }
