"""QuestionnaireResponses for the shipped instruments, as a form (or another system) would send them: the
product's own ``response_build``, with answers given the short way, and optionally flat."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from carenav.assessments.instruments import Instrument
from carenav.assessments.responses import response_build


def response(
    instrument: Instrument,
    answers: Mapping[str, str | Sequence[str] | int | bool],
    *,
    status: str = "completed",
    nested: bool = True,
) -> dict[str, Any]:
    """A QuestionnaireResponse answering ``answers`` (linkId -> option code, a list of codes, or a
    value), nested in the form's groups, or flat (``nested=False``: every item at the top, as some
    systems send them)."""
    values = {k: tuple(v) if isinstance(v, list | tuple) else (v,) for k, v in answers.items()}
    built = response_build(
        instrument.questionnaire, values, status=status, extra={"subject": {"reference": "Patient/example"}}
    )
    if not nested:
        built["item"] = _flat(built["item"])
    return built


def _flat(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for item in items:
        if "item" in item:
            out.extend(_flat(item["item"]))
        else:
            out.append(item)
    return out
