"""Roles and what each may do. Pure: no SQL, no HTTP."""

from __future__ import annotations

import re
from enum import StrEnum


class Role(StrEnum):
    CARE_MANAGER = "care_manager"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    AUDITOR = "auditor"
    PARTNER = "partner"
    """A community organization of the resource directory receiving referrals: it reaches, over the FHIR
    API only, the referrals sent to it (never the web screens, never the rest of the record)."""


class TokenScope(StrEnum):
    """What an API token may do over the FHIR facade: ``fhir:read`` reads and searches; ``fhir:write``
    creates (QuestionnaireResponse) and updates (a referral's Task); ``fhir:export`` is kept for a bulk
    ``$export`` endpoint."""

    FHIR_READ = "fhir:read"
    FHIR_WRITE = "fhir:write"
    FHIR_EXPORT = "fhir:export"


USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")
SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
MIN_PASSWORD_LENGTH = 12


def username_problem(username: str) -> str | None:
    if not USERNAME_PATTERN.match(username):
        return (
            "a username is 2-63 characters of lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return None


def password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"a password needs at least {MIN_PASSWORD_LENGTH} characters"
    if password.strip() != password:
        return "a password may not start or end with white space"
    return None


def slug_problem(slug: str) -> str | None:
    if not SLUG_PATTERN.match(slug):
        return (
            "an organization slug is 1-63 lower-case letters, digits or '-', starting with a letter or digit"
        )
    return None
