"""carenav transitions: the transition-of-care episodes (docs/transitions.md)."""

from __future__ import annotations

from dataclasses import asdict

import click

from carenav.cli.context import fails_cleanly, json_option, operator_transaction, org_option, print_json
from carenav.transitions.services import transitions_refresh


@click.group("transitions")
def transitions_group() -> None:
    """Transition-of-care episodes opened by discharges."""


@transitions_group.command("refresh")
@org_option
@json_option
@fails_cleanly
def transitions_refresh_command(org_slug: str | None, as_json: bool) -> None:
    """Mark the tasks whose deadline passed as missed and close the episodes whose 30 days are over,
    prompting enrolment in ongoing care management (run nightly)."""
    with operator_transaction(org_slug, "transitions-refresh") as (session, actor):
        summary = transitions_refresh(session=session, actor=actor)
    if as_json:
        print_json(asdict(summary))
    else:
        click.echo(
            f"{summary.missed} tasks missed, {summary.closed} episodes closed, "
            f"{summary.prompted} patients prompted for enrolment"
        )
