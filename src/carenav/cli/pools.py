"""carenav pools: the team pools (team queues) and their members (docs/worklist.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from carenav.caseloads.rules import Discipline
from carenav.cli.context import (
    acting_transaction,
    as_user_option,
    fails_cleanly,
    json_option,
    operator_transaction,
    org_option,
    print_json,
)
from carenav.errors import InvalidInput
from carenav.worklist.models import WorkPool
from carenav.worklist.rules import WORKING_ROLES, PoolMemberKind, PoolMemberSpec, pool_member_spec
from carenav.worklist.services import (
    pool_create,
    pool_member_add,
    pool_member_remove,
    pool_rename,
    pools_overview,
)


def member_options(verb: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--user``, ``--role`` and ``--discipline``, each repeatable: the members to ``verb``."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        func = click.option(
            "--discipline",
            "disciplines",
            multiple=True,
            type=click.Choice([d.value for d in Discipline]),
            help=f"{verb} every user of this discipline (repeatable).",
        )(func)
        func = click.option(
            "--role",
            "roles",
            multiple=True,
            type=click.Choice(WORKING_ROLES),
            help=f"{verb} every user of this role (repeatable).",
        )(func)
        return click.option(
            "--user", "usernames", multiple=True, metavar="USERNAME", help=f"{verb} this user (repeatable)."
        )(func)

    return decorate


def _specs(
    usernames: tuple[str, ...], roles: tuple[str, ...], disciplines: tuple[str, ...]
) -> list[PoolMemberSpec]:
    """The members named, each once, in the order given."""
    specs = [
        *(pool_member_spec(PoolMemberKind.USER, u) for u in usernames),
        *(pool_member_spec(PoolMemberKind.ROLE, r) for r in roles),
        *(pool_member_spec(PoolMemberKind.DISCIPLINE, d) for d in disciplines),
    ]
    return list(dict.fromkeys(specs))


def _some(specs: list[PoolMemberSpec]) -> list[PoolMemberSpec]:
    if not specs:
        raise InvalidInput("name at least one member", where="--user/--role/--discipline")
    return specs


def _pool_json(pool: WorkPool, members: list[PoolMemberSpec] | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {"key": pool.key, "name": pool.name, "uuid": pool.uuid}
    if members is not None:
        row["members"] = [str(m) for m in members]
    return row


@click.group("pools")
def pools_group() -> None:
    """Team pools: queues of work by role or discipline (social work, pharmacy, the RN line) that any
    member claims from."""


@pools_group.command("list")
@org_option
@json_option
@fails_cleanly
def pools_list(org_slug: str | None, as_json: bool) -> None:
    """List the pools with their members and open work (waiting, claimed)."""
    with operator_transaction(org_slug, "pools list") as (session, actor):
        rows = [
            {
                **_pool_json(o.pool, [m.spec for m in o.members]),
                "waiting": o.waiting,
                "claimed": o.claimed,
            }
            for o in pools_overview(session=session, actor=actor)
        ]
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("no pools")
    for row in rows:
        members = ", ".join(row["members"]) or "NO MEMBERS"
        click.echo(
            f"{row['key']:<20} {row['name']:<24} {row['waiting']} waiting, {row['claimed']} claimed; "
            f"members: {members}"
        )


@pools_group.command("add")
@click.argument("key")
@click.option("--name", required=True, help="The name shown on screen (Social work).")
@member_options("Make a member:")
@as_user_option
@org_option
@json_option
@fails_cleanly
def pools_add(
    key: str,
    name: str,
    usernames: tuple[str, ...],
    roles: tuple[str, ...],
    disciplines: tuple[str, ...],
    as_username: str | None,
    org_slug: str | None,
    as_json: bool,
) -> None:
    """Create the pool KEY (lower-case letters, digits, dashes) with its members."""
    with acting_transaction(org_slug, "pools add", as_username) as (session, actor):
        specs = _specs(usernames, roles, disciplines)
        pool = pool_create(session=session, actor=actor, key=key, name=name, members=specs)
        result = _pool_json(pool, specs)
    if as_json:
        print_json(result)
    else:
        members = ", ".join(result["members"]) or "no members yet"
        click.echo(f"pool {result['key']} ({result['name']}) created; members: {members}")


@pools_group.command("rename")
@click.argument("key")
@click.option("--name", required=True, help="The new name (the key stays).")
@as_user_option
@org_option
@fails_cleanly
def pools_rename(key: str, name: str, as_username: str | None, org_slug: str | None) -> None:
    """Give the pool KEY a new name."""
    with acting_transaction(org_slug, "pools rename", as_username) as (session, actor):
        pool = pool_rename(session=session, actor=actor, key=key, name=name)
        shown = f"pool {pool.key} is named {pool.name}"
    click.echo(shown)


@pools_group.group("members")
def members_group() -> None:
    """Who belongs to a pool: users, every user of a role, every user of a discipline."""


@members_group.command("add")
@click.argument("key")
@member_options("Add")
@as_user_option
@org_option
@fails_cleanly
def pools_members_add(
    key: str,
    usernames: tuple[str, ...],
    roles: tuple[str, ...],
    disciplines: tuple[str, ...],
    as_username: str | None,
    org_slug: str | None,
) -> None:
    """Add members to the pool KEY (all of them, or none when one cannot be added)."""
    with acting_transaction(org_slug, "pools members add", as_username) as (session, actor):
        specs = _some(_specs(usernames, roles, disciplines))
        for spec in specs:
            pool_member_add(session=session, actor=actor, key=key, member=spec)
    click.echo(f"added to pool {key}: {', '.join(str(s) for s in specs)}")


@members_group.command("remove")
@click.argument("key")
@member_options("Remove")
@as_user_option
@org_option
@fails_cleanly
def pools_members_remove(
    key: str,
    usernames: tuple[str, ...],
    roles: tuple[str, ...],
    disciplines: tuple[str, ...],
    as_username: str | None,
    org_slug: str | None,
) -> None:
    """Remove members from the pool KEY (all of them, or none when one cannot be removed). Tasks a removed
    user claimed stay theirs."""
    with acting_transaction(org_slug, "pools members remove", as_username) as (session, actor):
        specs = _some(_specs(usernames, roles, disciplines))
        for spec in specs:
            pool_member_remove(session=session, actor=actor, key=key, member=spec)
    click.echo(f"removed from pool {key}: {', '.join(str(s) for s in specs)}")
