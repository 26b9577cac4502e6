"""carenav tokens: API tokens for the FHIR facade (create shows the token once; list; revoke)."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import select

from carenav.access import Actor
from carenav.accounts.models import ApiToken, User
from carenav.accounts.rules import TokenScope
from carenav.accounts.tokens import api_token_create, api_token_list, api_token_revoke, api_token_state
from carenav.cli.context import (
    fails_cleanly,
    json_option,
    open_database,
    operator_transaction,
    org_option,
    print_json,
)
from carenav.errors import NotFound
from carenav.fhir.mappers.common import instant


@click.group("tokens")
def tokens_group() -> None:
    """Bearer tokens for the FHIR API. A token acts as its user (role and caseload apply); its scopes say
    what it may do: fhir:read to read and search, fhir:write to create (QuestionnaireResponse)."""


def _token_json(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "username": token.user.username,
        "prefix": token.prefix,
        "scopes": token.scopes.split(),
        "state": api_token_state(token),
        "created_at": instant(token.created_at),
        "expires_at": instant(token.expires_at),
        "revoked_at": instant(token.revoked_at),
        "last_used_at": instant(token.last_used_at),
    }


@tokens_group.command("create")
@click.option("--username", required=True, help="The user the token acts as.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice([s.value for s in TokenScope]),
    help="fhir:read (reads and searches), fhir:write (creates QuestionnaireResponses), fhir:export "
    "(reserved for bulk $export). Repeat for several (default: fhir:read).",
)
@click.option("--name", default=None, help="What the token is for (shown in 'tokens list').")
@click.option("--expires-days", type=int, default=None, help="Expire after this many days (default: never).")
@json_option
@fails_cleanly
def tokens_create(
    username: str, scopes: tuple[str, ...], name: str | None, expires_days: int | None, as_json: bool
) -> None:
    """Create a token and print it. It is shown only this once: only its hash is kept."""
    with open_database() as db, db.transaction() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise NotFound(f"no user {username!r}", where="--username")
        actor = Actor.operator(user.org_id, "tokens")
        issued = api_token_create(
            session=session,
            actor=actor,
            username=username,
            name=name,
            scopes=scopes,
            expires_days=expires_days,
        )
        described = _token_json(issued.token)
    if as_json:
        print_json({**described, "token": issued.secret})
        return
    click.echo(issued.secret)
    click.echo(
        f"token {described['id']} for {username} ({' '.join(described['scopes'])}); "
        "store it now: it cannot be shown again.",
        err=True,
    )


@tokens_group.command("list")
@click.option("--username", default=None, help="Only this user's tokens.")
@org_option
@json_option
@fails_cleanly
def tokens_list(username: str | None, org_slug: str | None, as_json: bool) -> None:
    """List the organization's tokens (never the tokens themselves: their prefix only)."""
    with operator_transaction(org_slug, "tokens") as (session, actor):
        rows = [_token_json(t) for t in api_token_list(session=session, actor=actor, username=username)]
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("no tokens")
    for row in rows:
        used = row["last_used_at"] or "never used"
        expires = f", expires {row['expires_at']}" if row["expires_at"] else ""
        click.echo(
            f"{row['id']}\t{row['prefix']}…\t{row['username']}\t{' '.join(row['scopes'])}\t{row['state']}"
            f"{expires}\t{used}\t{row['name']}"
        )


@tokens_group.command("revoke")
@click.argument("token_id", type=int)
@org_option
@json_option
@fails_cleanly
def tokens_revoke(token_id: int, org_slug: str | None, as_json: bool) -> None:
    """Revoke a token by its id (see 'carenav tokens list'). It stops working at once."""
    with operator_transaction(org_slug, "tokens") as (session, actor):
        described = _token_json(api_token_revoke(session=session, actor=actor, token_id=token_id))
    if as_json:
        print_json(described)
    else:
        click.echo(f"token {token_id} ({described['prefix']}…) of {described['username']} revoked")
