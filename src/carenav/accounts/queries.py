"""Reads of users and teams."""

from __future__ import annotations

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
