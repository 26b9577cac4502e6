"""Writes for organizations, teams, users and tokens. Services flush; the caller commits."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carenav.accounts.models import Organization
from carenav.accounts.rules import slug_problem
from carenav.errors import InvalidInput, NotFound

DEFAULT_ORG_SLUG = "default"


def organization_create(*, session: Session, slug: str, name: str, timezone: str) -> Organization:
    problem = slug_problem(slug)
    if problem:
        raise InvalidInput(problem, where=f"organization {slug!r}")
    org = Organization(slug=slug, name=name, timezone=timezone)
    session.add(org)
    session.flush()
    return org


def organization_resolve(*, session: Session, slug: str | None, timezone: str) -> Organization:
    """The organization a command acts on.

    With a slug: that organization, or NotFound. Without: the only organization, created as
    ``default`` on first use; with several, the caller must say which.
    """
    if slug is not None:
        org = session.scalar(select(Organization).where(Organization.slug == slug))
        if org is None:
            raise NotFound(f"no organization with slug {slug!r}")
        return org
    count: int = session.scalar(select(func.count()).select_from(Organization)) or 0
    if count == 0:
        return organization_create(
            session=session, slug=DEFAULT_ORG_SLUG, name="Default organization", timezone=timezone
        )
    if count > 1:
        slugs = ", ".join(session.scalars(select(Organization.slug).order_by(Organization.slug)))
        raise InvalidInput(f"there are several organizations ({slugs}); name one with --org SLUG")
    return session.scalars(select(Organization)).one()
