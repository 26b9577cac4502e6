"""carenav mllp: the HL7 v2 MLLP listener."""

from __future__ import annotations

import asyncio
import logging
import signal

import click

from carenav.access import Actor
from carenav.cli.context import fails_cleanly, open_database, operator_for, org_option
from carenav.ingest.hl7v2.intake import intake_context
from carenav.ingest.hl7v2.mllp import ListenerLimits, MllpListener


@click.command("mllp")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=2575, show_default=True, type=click.IntRange(0, 65535), help="0: any free port."
)
@click.option(
    "--idle-timeout", default=300.0, show_default=True, help="Seconds before an idle connection closes."
)
@org_option
@fails_cleanly
def mllp_command(host: str, port: int, idle_timeout: float, org_slug: str | None) -> None:
    """Receive HL7 v2 ADT messages over MLLP until SIGINT or SIGTERM.

    Each message is stored (committed) before its ACK: AA applied or queued as unmatched, AE stored but
    not applicable, AR refused (not HL7, unsupported type, too large).
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    with open_database() as db:
        operator = operator_for(db, org_slug, "mllp")
        actor = Actor.system(operator.org_id, "mllp", channel="mllp")
        context = intake_context(
            sessions=db.sessions,
            actor=actor,
            channel="mllp",
            max_message_bytes=db.settings.max_hl7_message_bytes,
        )
        limits = ListenerLimits(
            max_message_bytes=db.settings.max_hl7_message_bytes, idle_timeout=idle_timeout
        )
        asyncio.run(_serve(MllpListener(context=context, limits=limits), host, port))


async def _serve(listener: MllpListener, host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, listener.stop)
    bound_host, bound_port = await listener.start(host, port)
    click.echo(
        f"carenav mllp: listening on {bound_host}:{bound_port} (organization {listener.context.org_slug})"
    )
    await listener.serve()
    click.echo("carenav mllp: stopped")
