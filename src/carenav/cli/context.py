"""What every command shares: opening the database, picking the organization, reporting failure."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

import click
import orjson
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from carenav.access import Actor
from carenav.accounts.models import User
from carenav.accounts.services import organization_resolve, user_actor
from carenav.clock import fix_clock
from carenav.db.engine import make_engine
from carenav.db.migrate import require_current_schema
from carenav.db.session import make_session_factory, unit_of_work
from carenav.errors import CarenavError, NotFound, RuleViolation
from carenav.settings import Settings, get_settings

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Database:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with unit_of_work(self.sessions) as session:
            yield session


@contextmanager
def open_database(*, check_schema: bool = True) -> Iterator[Database]:
    """The database named by CARENAV_DATABASE_URL; refuses an out-of-date schema unless told not to."""
    settings = get_settings()
    fix_clock(settings.fixed_now)
    engine = make_engine(settings.database_url)
    try:
        if check_schema:
            require_current_schema(engine)
        yield Database(settings=settings, engine=engine, sessions=make_session_factory(engine))
    finally:
        engine.dispose()


@contextmanager
def operator_transaction(org_slug: str | None, label: str) -> Iterator[tuple[Session, Actor]]:
    """The usual shape of a command: open the database, act as the operator of ``--org`` in one
    transaction (committed when the block ends, rolled back on an error)."""
    with open_database() as db:
        actor = operator_for(db, org_slug, label)
        with db.transaction() as session:
            yield session, actor


@contextmanager
def acting_transaction(
    org_slug: str | None, label: str, as_username: str | None
) -> Iterator[tuple[Session, Actor]]:
    """As ``operator_transaction``, acting as the user named by ``--as`` when given: their role and reach
    apply (a supervisor's team, say) and the trail and the audit name them."""
    with open_database() as db:
        operator = operator_for(db, org_slug, label)
        with db.transaction() as session:
            yield session, operator if as_username is None else acting_user(session, operator, as_username)


def acting_user(session: Session, operator: Actor, username: str) -> Actor:
    """The active user ``username`` of the operator's organization, as an actor at the command line."""
    user = session.scalar(select(User).where(User.org_id == operator.org_id, User.username == username))
    if user is None:
        raise NotFound(f"no user {username!r} in this organization", where="--as")
    if not user.active:
        raise RuleViolation(f"{username!r} is deactivated", where="--as")
    return user_actor(user, channel="cli")


def operator_for(db: Database, org_slug: str | None, label: str) -> Actor:
    """Resolve ``--org`` (creating ``default`` on first use) and return the operator acting in it."""
    with db.transaction() as session:
        org = organization_resolve(session=session, slug=org_slug, timezone=db.settings.timezone)
        return Actor.operator(org.id, label)


org_option = click.option(
    "--org",
    "org_slug",
    metavar="SLUG",
    default=None,
    help="Organization to act on (default: the only one, created as 'default' on first use).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
as_user_option = click.option(
    "--as",
    "as_username",
    metavar="USERNAME",
    default=None,
    help="Act as this user (their role and reach apply; the trail names them). Default: the operator.",
)


def fails_cleanly(func: F) -> F:
    """Turn a CarenavError into a one-line reason on stderr and exit status 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except CarenavError as exc:
            click.echo(f"carenav: {exc}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def print_json(value: Any) -> None:
    click.echo(orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode())
