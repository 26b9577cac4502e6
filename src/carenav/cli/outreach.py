"""carenav outreach: the follow-up schedules (docs/outreach.md)."""

from __future__ import annotations

import click

from carenav.cli.context import fails_cleanly, json_option, operator_transaction, org_option, print_json
from carenav.outreach.services import followups_sync_all


@click.group("outreach")
def outreach_group() -> None:
    """Follow-up schedules generated from the cadence rules."""


@outreach_group.command("sync")
@org_option
@json_option
@fails_cleanly
def outreach_sync_command(org_slug: str | None, as_json: bool) -> None:
    """Bring every enrolled patient's follow-ups in step with their programs, tiers, plans and discharges
    (run nightly: enrolments, plans, runs, discharges and contacts keep their patient's schedule in step as
    they change, and this catches what only the passing of time changes, such as a missed step)."""
    with operator_transaction(org_slug, "outreach-sync") as (session, actor):
        synced = followups_sync_all(session=session, actor=actor)
    if as_json:
        print_json({"patients_synced": synced})
    else:
        click.echo(f"follow-ups brought in step for {synced} patients")
