"""carenav users: add and list the people who sign in; passwords, deactivation, unlocking, caseloads."""

from __future__ import annotations

import sys
from datetime import date

import click
from sqlalchemy import select

from carenav.accounts.models import User
from carenav.accounts.queries import user_list
from carenav.accounts.rules import Role
from carenav.accounts.services import (
    CREDENTIAL_EXPIRY_WARNING_DAYS,
    care_manager_assign,
    credential_add,
    credential_list,
    user_create,
    user_deactivate,
    user_set_discipline,
    user_set_password,
    user_unlock,
)
from carenav.caseloads.rules import Discipline
from carenav.cli.context import (
    fails_cleanly,
    json_option,
    operator_transaction,
    org_option,
    print_json,
)
from carenav.clock import now, today
from carenav.errors import InvalidInput

password_stdin_option = click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input instead of asking for it.",
)


def read_password(from_stdin: bool) -> str:
    """Ask twice on a terminal; otherwise (or with --password-stdin) read one line of standard input."""
    if from_stdin or not sys.stdin.isatty():
        line = sys.stdin.readline()
        if not line:
            raise InvalidInput("no password on standard input", where="--password-stdin")
        return line.rstrip("\r\n")
    password: str = click.prompt("Password", hide_input=True, confirmation_prompt="Repeat the password")
    return password


@click.group("users")
def users_group() -> None:
    """Manage the people who sign in to the web application."""


@users_group.command("add")
@click.option("--username", required=True, help="Lower-case letters, digits, '.', '_' or '-'.")
@click.option(
    "--role", required=True, type=click.Choice([r.value for r in Role]), help="What the user may do."
)
@click.option("--display-name", default=None, help="The name shown on screen (default: the username).")
@click.option("--team", default=None, help="Team of a care manager, or the team a supervisor leads.")
@click.option(
    "--partner-organization",
    default=None,
    help="For a partner: the id of the directory organization it speaks for (resources search --json).",
)
@password_stdin_option
@org_option
@json_option
@fails_cleanly
def users_add(
    username: str,
    role: str,
    display_name: str | None,
    team: str | None,
    partner_organization: str | None,
    password_stdin: bool,
    org_slug: str | None,
    as_json: bool,
) -> None:
    """Add a user to an organization."""
    password = read_password(password_stdin)
    with operator_transaction(org_slug, "users add") as (session, actor):
        user = user_create(
            session=session,
            actor=actor,
            username=username,
            role=role,
            password=password,
            display_name=display_name,
            team_name=team,
            partner_organization=partner_organization,
        )
        result = {"username": user.username, "role": user.role, "team": team, "uuid": user.uuid}
    if as_json:
        print_json(result)
    else:
        click.echo(f"added {result['username']} ({role}{', team ' + team if team else ''})")


@users_group.command("list")
@org_option
@json_option
@fails_cleanly
def users_list(org_slug: str | None, as_json: bool) -> None:
    """List the users of an organization."""
    with operator_transaction(org_slug, "users list") as (session, actor):
        instant = now()
        rows = [
            {
                "username": u.username,
                "display_name": u.display_name,
                "role": u.role,
                "team": u.team.name if u.team else None,
                "active": u.active,
                "locked": u.locked_until is not None and u.locked_until > instant,
                "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None,
            }
            for u in user_list(session=session, actor=actor)
        ]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        state = "deactivated" if not row["active"] else ("locked" if row["locked"] else "active")
        team = f" team={row['team']}" if row["team"] else ""
        click.echo(f"{row['username']:<24} {row['role']:<13} {state:<11} {row['display_name']}{team}")


@users_group.command("set-password")
@click.option("--username", required=True)
@password_stdin_option
@org_option
@fails_cleanly
def users_set_password(username: str, password_stdin: bool, org_slug: str | None) -> None:
    """Give a user a new password."""
    password = read_password(password_stdin)
    with operator_transaction(org_slug, "users set-password") as (session, actor):
        user_set_password(session=session, actor=actor, username=username, password=password)
    click.echo(f"password of {username} changed")


@users_group.command("deactivate")
@click.option("--username", required=True)
@org_option
@fails_cleanly
def users_deactivate(username: str, org_slug: str | None) -> None:
    """Stop a user from signing in (their sessions end; the audit trail keeps their name)."""
    with operator_transaction(org_slug, "users deactivate") as (session, actor):
        user_deactivate(session=session, actor=actor, username=username)
    click.echo(f"{username} deactivated")


@users_group.command("unlock")
@click.option("--username", required=True)
@org_option
@fails_cleanly
def users_unlock(username: str, org_slug: str | None) -> None:
    """Lift a lockout after repeated failed logins."""
    with operator_transaction(org_slug, "users unlock") as (session, actor):
        user_unlock(session=session, actor=actor, username=username)
    click.echo(f"{username} unlocked")


@users_group.command("assign")
@click.option("--username", required=True, help="A care manager or supervisor.")
@click.option("--patient", "patient_uuid", required=True, metavar="UUID", help="The patient's id.")
@org_option
@fails_cleanly
def users_assign(username: str, patient_uuid: str, org_slug: str | None) -> None:
    """Put a patient on a care manager's caseload."""
    with operator_transaction(org_slug, "users assign") as (session, actor):
        care_manager_assign(session=session, actor=actor, username=username, patient_uuid=patient_uuid)
    click.echo(f"patient {patient_uuid} is on {username}'s caseload")


@users_group.command("set-discipline")
@click.argument("username")
@click.argument("discipline", type=click.Choice([d.value for d in Discipline]))
@click.option("--languages", default=None, help="Languages spoken, comma-separated BCP 47 codes (en,es).")
@click.option("--max-caseload", type=int, default=None, help="Capacity in patients (0: the default).")
@org_option
@fails_cleanly
def users_set_discipline(
    username: str, discipline: str, languages: str | None, max_caseload: int | None, org_slug: str | None
) -> None:
    """Set a user's discipline (and the languages they speak, their caseload capacity)."""
    with operator_transaction(org_slug, "users set-discipline") as (session, actor):
        user_set_discipline(
            session=session,
            actor=actor,
            username=username,
            discipline=discipline,
            languages=languages.split(",") if languages is not None else None,
            max_caseload=max_caseload,
        )
    click.echo(f"{username} is a {discipline}")


@users_group.group("credential")
def credential_group() -> None:
    """Users' certifications and licences, with their expiry."""


@credential_group.command("add")
@click.argument("username")
@click.option("--kind", required=True, help="CCM, RN license, LCSW license...")
@click.option("--number", default=None)
@click.option("--state", default=None, help="Two-letter issuing state.")
@click.option("--expires", "expires_on", type=click.DateTime(formats=["%Y-%m-%d"]), default=None)
@org_option
@fails_cleanly
def users_credential_add(
    username: str,
    kind: str,
    number: str | None,
    state: str | None,
    expires_on: object,
    org_slug: str | None,
) -> None:
    """Record a credential of a user."""
    expires = expires_on.date() if expires_on is not None and hasattr(expires_on, "date") else None
    with operator_transaction(org_slug, "users credential add") as (session, actor):
        credential_add(
            session=session,
            actor=actor,
            username=username,
            kind=kind,
            number=number,
            state=state,
            expires_on=expires,
        )
    click.echo(f"{kind} recorded for {username}")


@credential_group.command("list")
@click.option("--username", default=None, help="Only this user's credentials.")
@org_option
@json_option
@fails_cleanly
def users_credential_list(username: str | None, org_slug: str | None, as_json: bool) -> None:
    """List credentials, soonest expiry first; those expired or expiring within 60 days are flagged."""
    with operator_transaction(org_slug, "users credential list") as (session, actor):
        day = today()
        credentials = credential_list(session=session, actor=actor, username=username)
        names = dict(session.execute(select(User.id, User.username).where(User.org_id == actor.org_id)).all())
        rows = [
            {
                "username": names.get(c.user_id),
                "kind": c.kind,
                "number": c.number,
                "state": c.state,
                "expires_on": c.expires_on.isoformat() if c.expires_on else None,
                "expiring": _expiring(c.expires_on, day),
            }
            for c in credentials
        ]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        flag = "  EXPIRING" if row["expiring"] else ""
        click.echo(
            f"{row['username']:<24} {row['kind']:<16} {row['number'] or '':<12} {row['state'] or '':<3} "
            f"{row['expires_on'] or 'no expiry'}{flag}"
        )


def _expiring(expires_on: date | None, day: date) -> bool:
    return expires_on is not None and (expires_on - day).days <= CREDENTIAL_EXPIRY_WARNING_DAYS
