"""OperationOutcome: how every error of the facade reads to a FHIR client.

Most errors are one issue, their ``where`` its expression. Two carry one issue per fault: a resource that
is not valid FHIR R4 (``ResourceInvalid``, 400, an issue per element at fault) and a QuestionnaireResponse
that does not fit its Questionnaire (``ResponseInvalid``, 422 Unprocessable Entity as FHIR has it for
content that fails validation, an issue per item, its expression pointing at the item by linkId).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from carenav.assessments.responses import ItemError, ResponseInvalid
from carenav.errors import CarenavError, InvalidInput

# Our error codes as FHIR issue-type codes (http://hl7.org/fhir/issue-type).
ISSUE_TYPES = {
    "invalid": "invalid",
    "not-found": "not-found",
    "forbidden": "forbidden",
    "login": "login",
    "conflict": "conflict",
    "business-rule": "business-rule",
    "not-supported": "not-supported",
    "schema": "exception",
}
UNPROCESSABLE = 422


@dataclass(frozen=True)
class Issue:
    """One fault of a resource: where (a FHIRPath expression) and what."""

    expression: str
    message: str


class ResourceInvalid(InvalidInput):
    """A resource that is not valid FHIR R4: ``issues`` names every element at fault."""

    def __init__(self, issues: Sequence[Issue], *, where: str) -> None:
        self.issues = tuple(issues)
        summary = "; ".join(f"{i.expression}: {i.message}" for i in self.issues[:5])
        more = f" (and {len(self.issues) - 5} more)" if len(self.issues) > 5 else ""
        super().__init__(f"not a valid FHIR R4 resource: {summary}{more}", where=where)


def _issue(diagnostics: str, *, code: str, severity: str, expression: str | None) -> dict[str, Any]:
    issue: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if expression:
        issue["expression"] = [expression]
    return issue


def operation_outcome(
    diagnostics: str,
    *,
    code: str = "invalid",
    severity: str = "error",
    expression: str | None = None,
) -> dict[str, Any]:
    issue = _issue(diagnostics, code=code, severity=severity, expression=expression)
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def item_expression(link_id: str) -> str:
    """FHIRPath to the response's item ``link_id`` at any depth (in groups, or under answers)."""
    if link_id.startswith("(") or not link_id:  # a fault of the item list itself
        return "QuestionnaireResponse.item"
    quoted = link_id.replace("\\", "\\\\").replace("'", "\\'")
    return f"QuestionnaireResponse.repeat(item | answer.item).where(linkId = '{quoted}')"


def item_issue(error: ItemError) -> dict[str, Any]:
    return _issue(
        f"item {error.link_id}: {error.message}",
        code="invalid",
        severity="error",
        expression=item_expression(error.link_id),
    )


def outcome_for_error(error: CarenavError) -> dict[str, Any]:
    """The OperationOutcome for one of our errors; ``where`` becomes the issue's expression."""
    if isinstance(error, ResponseInvalid) and error.errors:
        return {"resourceType": "OperationOutcome", "issue": [item_issue(e) for e in error.errors]}
    if isinstance(error, ResourceInvalid) and error.issues:
        issues = [
            _issue(i.message, code="structure", severity="error", expression=i.expression)
            for i in error.issues
        ]
        return {"resourceType": "OperationOutcome", "issue": issues}
    return operation_outcome(
        error.message, code=ISSUE_TYPES.get(error.code, "processing"), expression=error.where
    )


def status_for_error(error: CarenavError) -> int:
    """The HTTP status of an error: its own, but 422 for a response that does not fit its form."""
    if isinstance(error, ResponseInvalid):
        return UNPROCESSABLE
    return error.http_status


def informational_outcome(text: str) -> dict[str, Any]:
    return operation_outcome(text, code="informational", severity="information")
