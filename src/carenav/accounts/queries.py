"""Reads of users, teams and organizations (an organization's time zone, and today in it)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.accounts.models import Organization, User
from carenav.accounts.rules import Role
from carenav.clock import now
from carenav.errors import Forbidden


def user_list(*, session: Session, actor: Actor) -> list[User]:
    """The users of the actor's organization, by username. Operators and admins only."""
    if not (actor.kind == "operator" or actor.role == Role.ADMIN):
        raise Forbidden("only administrators list users", where="users")
    return list(session.scalars(select(User).where(User.org_id == actor.org_id).order_by(User.username)))


def user_display_names(session: Session, user_ids: Iterable[int | None]) -> dict[int, str]:
    """The display names of these users, by id (ids of users no longer there are left out)."""
    wanted = {i for i in user_ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(User.id, User.display_name).where(User.id.in_(sorted(wanted))))
    return dict(rows.all())


def org_zone(session: Session, org_id: int) -> ZoneInfo:
    """The organization's time zone (UTC when it names none that exists). The organization comes from the
    session's identity map once loaded: a worklist asks some thirty times."""
    org = session.get(Organization, org_id)
    try:
        return ZoneInfo((org.timezone if org else None) or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def org_today(session: Session, org_id: int) -> date:
    """Today in the organization's time zone (by the clock, a fixed clock too): the day people there see."""
    return now().astimezone(org_zone(session, org_id)).date()
