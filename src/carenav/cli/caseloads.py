"""carenav caseloads: reassignment with its trail, and coverage while a care manager is away
(docs/caseloads.md)."""

from __future__ import annotations

from datetime import date
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.accounts.models import User
from carenav.accounts.queries import org_today
from carenav.caseloads.models import CaseloadChange, Coverage
from carenav.caseloads.services import (
    caseload_reassign,
    caseload_trail,
    coverage_end,
    coverage_set,
    coverages_current,
)
from carenav.cli.context import (
    acting_transaction,
    as_user_option,
    fails_cleanly,
    json_option,
    org_option,
    print_json,
)
from carenav.errors import InvalidInput

patient_option = click.option("--patient", "patient_uuid", required=True, metavar="UUID", help="Patient id.")


def parse_day(text: str, where: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"{text!r} is not a date (YYYY-MM-DD)", where=where) from None


def _usernames(session: Session, actor: Actor) -> dict[int, str]:
    return dict(session.execute(select(User.id, User.username).where(User.org_id == actor.org_id)).all())


def _change_json(change: CaseloadChange, names: dict[int, str], patient_uuid: str) -> dict[str, Any]:
    return {
        "change": change.uuid,
        "patient": patient_uuid,
        "from": names.get(change.from_user_id) if change.from_user_id is not None else None,
        "to": names.get(change.to_user_id) if change.to_user_id is not None else None,
        "by": change.by,
        "at": change.at.isoformat(),
        "reason": change.reason,
    }


def _coverage_json(coverage: Coverage, names: dict[int, str]) -> dict[str, Any]:
    return {
        "coverage": coverage.uuid,
        "away": names.get(coverage.user_id),
        "covered_by": names.get(coverage.covered_by_user_id),
        "starts_on": coverage.starts_on.isoformat(),
        "ends_on": coverage.ends_on.isoformat(),
        "note": coverage.note,
        "set_by": coverage.set_by,
        "ended_at": coverage.ended_at.isoformat() if coverage.ended_at else None,
        "ended_by": coverage.ended_by,
    }


@click.group("caseloads")
def caseloads_group() -> None:
    """Who carries which patients: reassignment with a trail, coverage while a care manager is away."""


@caseloads_group.command("reassign")
@patient_option
@click.option("--to", "to_username", required=True, metavar="USERNAME", help="The care manager to move to.")
@click.option("--reason", required=True, help="Why the patient moves (kept in the trail).")
@as_user_option
@org_option
@json_option
@fails_cleanly
def caseloads_reassign(
    patient_uuid: str,
    to_username: str,
    reason: str,
    as_username: str | None,
    org_slug: str | None,
    as_json: bool,
) -> None:
    """Move a patient to another care manager's caseload (the others' memberships end today)."""
    with acting_transaction(org_slug, "caseloads reassign", as_username) as (session, actor):
        change = caseload_reassign(
            session=session, actor=actor, patient_uuid=patient_uuid, to_username=to_username, reason=reason
        )
        result = _change_json(change, _usernames(session, actor), patient_uuid)
    if as_json:
        print_json(result)
    else:
        click.echo(f"patient {patient_uuid} moved from {result['from'] or 'no caseload'} to {result['to']}")


@caseloads_group.command("trail")
@patient_option
@as_user_option
@org_option
@json_option
@fails_cleanly
def caseloads_trail(patient_uuid: str, as_username: str | None, org_slug: str | None, as_json: bool) -> None:
    """A patient's caseload moves, oldest first."""
    with acting_transaction(org_slug, "caseloads trail", as_username) as (session, actor):
        names = _usernames(session, actor)
        rows = [
            _change_json(c, names, patient_uuid)
            for c in caseload_trail(session=session, actor=actor, patient_uuid=patient_uuid)
        ]
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("no caseload moves")
    for row in rows:
        click.echo(f"{row['at']}  {row['from'] or '-'} -> {row['to']}  by {row['by']}: {row['reason']}")


@caseloads_group.group("coverage")
def coverage_group() -> None:
    """Coverage: who reaches the caseload of a care manager while they are away."""


@coverage_group.command("set")
@click.option("--away", "away", required=True, metavar="USERNAME", help="The care manager who is away.")
@click.option("--covered-by", required=True, metavar="USERNAME", help="Who covers their caseload.")
@click.option("--starts-on", required=True, metavar="YYYY-MM-DD", help="The first day away.")
@click.option("--ends-on", required=True, metavar="YYYY-MM-DD", help="The last day away (inclusive).")
@click.option("--note", default=None, help="Why (leave, training...).")
@as_user_option
@org_option
@json_option
@fails_cleanly
def coverage_set_command(
    away: str,
    covered_by: str,
    starts_on: str,
    ends_on: str,
    note: str | None,
    as_username: str | None,
    org_slug: str | None,
    as_json: bool,
) -> None:
    """Record that a care manager is away and who covers their caseload meanwhile."""
    first = parse_day(starts_on, "--starts-on")
    last = parse_day(ends_on, "--ends-on")
    with acting_transaction(org_slug, "caseloads coverage set", as_username) as (session, actor):
        coverage = coverage_set(
            session=session,
            actor=actor,
            username=away,
            covered_by=covered_by,
            starts_on=first,
            ends_on=last,
            note=note,
        )
        result = _coverage_json(coverage, _usernames(session, actor))
    if as_json:
        print_json(result)
    else:
        click.echo(
            f"{result['covered_by']} covers {result['away']} from {result['starts_on']}"
            f" to {result['ends_on']} (coverage {result['coverage']})"
        )


@coverage_group.command("end")
@click.argument("coverage_uuid", metavar="COVERAGE")
@as_user_option
@org_option
@json_option
@fails_cleanly
def coverage_end_command(
    coverage_uuid: str, as_username: str | None, org_slug: str | None, as_json: bool
) -> None:
    """End a coverage now (the id is in `carenav caseloads coverage list`)."""
    with acting_transaction(org_slug, "caseloads coverage end", as_username) as (session, actor):
        coverage = coverage_end(session=session, actor=actor, coverage_uuid=coverage_uuid.strip())
        result = _coverage_json(coverage, _usernames(session, actor))
    if as_json:
        print_json(result)
    else:
        click.echo(
            f"coverage {result['coverage']} ({result['covered_by']} for {result['away']}) ended "
            f"{result['ended_at']} by {result['ended_by']}"
        )


@coverage_group.command("list")
@click.option("--on", "on_text", default=None, metavar="YYYY-MM-DD", help="As of this day (today).")
@as_user_option
@org_option
@json_option
@fails_cleanly
def coverage_list_command(
    on_text: str | None, as_username: str | None, org_slug: str | None, as_json: bool
) -> None:
    """Coverages not ended whose period has not passed (current and coming), soonest first."""
    with acting_transaction(org_slug, "caseloads coverage list", as_username) as (session, actor):
        day = parse_day(on_text, "--on") if on_text is not None else org_today(session, actor.org_id)
        names = _usernames(session, actor)
        rows = [_coverage_json(c, names) for c in coverages_current(session=session, actor=actor, on=day)]
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo(f"nobody is covered on or after {day.isoformat()}")
    for row in rows:
        note = f"  {row['note']}" if row["note"] else ""
        click.echo(
            f"{row['coverage']}  {row['covered_by']} covers {row['away']} "
            f"{row['starts_on']}..{row['ends_on']}{note}"
        )
