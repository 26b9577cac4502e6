"""OperationOutcome: how every error of the facade reads to a FHIR client."""

from __future__ import annotations

from typing import Any

from carenav.errors import CarenavError

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


def operation_outcome(
    diagnostics: str,
    *,
    code: str = "invalid",
    severity: str = "error",
    expression: str | None = None,
) -> dict[str, Any]:
    issue: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if expression:
        issue["expression"] = [expression]
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def outcome_for_error(error: CarenavError) -> dict[str, Any]:
    """The OperationOutcome for one of our errors; ``where`` becomes the issue's expression."""
    return operation_outcome(
        error.message, code=ISSUE_TYPES.get(error.code, "processing"), expression=error.where
    )


def informational_outcome(text: str) -> dict[str, Any]:
    return operation_outcome(text, code="informational", severity="information")
