"""One error tree with stable codes. Edges (web, FHIR, CLI) translate these; nothing else does."""

from __future__ import annotations


class CarenavError(Exception):
    """Base of every error the product raises on purpose.

    ``where`` names the place of the fault for a person: a file and line, a bundle entry,
    a resource type and id, a form field.
    """

    code = "error"
    http_status = 400

    def __init__(self, message: str, *, where: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class InvalidInput(CarenavError):
    """The input is malformed or fails a shape or value check."""

    code = "invalid"
    http_status = 400


class NotFound(CarenavError):
    """Nothing there, or nothing the caller may see (we never tell which)."""

    code = "not-found"
    http_status = 404


class Forbidden(CarenavError):
    """The caller is known but may not do this."""

    code = "forbidden"
    http_status = 403


class Unauthenticated(CarenavError):
    """No valid login or token."""

    code = "login"
    http_status = 401


class Conflict(CarenavError):
    """The request clashes with stored state (a duplicate, a stale version)."""

    code = "conflict"
    http_status = 409


class RuleViolation(CarenavError):
    """A business rule forbids this change."""

    code = "business-rule"
    http_status = 422


class Unsupported(CarenavError):
    """A well-formed request for something this system does not do (a resource type it does not store)."""

    code = "not-supported"
    http_status = 422


class SchemaOutOfDate(CarenavError):
    """The database schema is behind the code."""

    code = "schema"
    http_status = 503
