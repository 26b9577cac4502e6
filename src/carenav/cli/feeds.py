"""carenav feeds: the HL7 v2 unmatched queue: list it, resolve a message."""

from __future__ import annotations

from typing import Any

import click

from carenav.cli.context import (
    fails_cleanly,
    json_option,
    operator_transaction,
    org_option,
    print_json,
)
from carenav.feeds.queries import inbound_message_list, inbound_message_summary
from carenav.feeds.rules import MessageStatus
from carenav.feeds.services import inbound_message_resolve


@click.group("feeds")
def feeds_group() -> None:
    """HL7 v2 ADT feeds: messages no patient could be matched to wait here for a person."""


@feeds_group.command("unmatched")
@org_option
@json_option
@fails_cleanly
def feeds_unmatched(org_slug: str | None, as_json: bool) -> None:
    """List the messages waiting for a person to say which patient they are about."""
    with operator_transaction(org_slug, "feeds") as (session, actor):
        rows = [
            inbound_message_summary(m)
            for m in inbound_message_list(session=session, actor=actor, status=MessageStatus.UNMATCHED)
        ]
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("the unmatched queue is empty")
        return
    for row in rows:
        patient = row.get("patient") or {}
        name = " ".join(p for p in (patient.get("given"), patient.get("family")) if p) or "(no name)"
        click.echo(
            f"{row['id']:>6}  {row['event']:<8} {row['received_at'][:19]}  {name}, born "
            f"{patient.get('birth_date') or '?'}, {patient.get('sex') or '?'}  "
            f"[{', '.join(patient.get('identifiers') or [])}]\n        {row['reason']}"
        )


@feeds_group.command("resolve")
@click.argument("message_id", type=int)
@click.option("--patient", "patient_uuid", metavar="UUID", help="Apply the message to this patient.")
@click.option("--create", is_flag=True, help="Create a new patient from the message's PID and apply it.")
@click.option("--dismiss", is_flag=True, help="Do not apply the message (say why with --note).")
@click.option("--note", default=None, help="Why (required with --dismiss).")
@org_option
@json_option
@fails_cleanly
def feeds_resolve(
    message_id: int,
    patient_uuid: str | None,
    create: bool,
    dismiss: bool,
    note: str | None,
    org_slug: str | None,
    as_json: bool,
) -> None:
    """Resolve one unmatched message: link it to a patient, create the patient, or dismiss it."""
    with operator_transaction(org_slug, "feeds") as (session, actor):
        resolution = inbound_message_resolve(
            session=session,
            actor=actor,
            message_id=message_id,
            patient_uuid=patient_uuid,
            create=create,
            dismiss=dismiss,
            note=note,
        )
        result: dict[str, Any] = {
            "message": resolution.message.id,
            "status": resolution.message.status,
            "patient": resolution.patient.uuid if resolution.patient else None,
            "also_applied": resolution.also_applied,
            "outcome": resolution.message.outcome,
        }
    if as_json:
        print_json(result)
        return
    if result["status"] == MessageStatus.DISMISSED:
        click.echo(f"message {message_id} dismissed")
        return
    click.echo(f"message {message_id} applied to patient {result['patient']}")
    if result["outcome"]:
        click.echo(f"  {result['outcome']}")
    if result["also_applied"]:
        ids = ", ".join(str(i) for i in result["also_applied"])
        click.echo(f"  queued messages that now match were applied too: {ids}")
