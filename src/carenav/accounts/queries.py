"""Reads of users and teams."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.accounts.models import User
from carenav.accounts.rules import Role
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
