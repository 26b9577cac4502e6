"""carenav export: the whole record as FHIR R4 Bulk Data NDJSON files and a manifest."""

from __future__ import annotations

from pathlib import Path

import click

from carenav.cli.context import (
    fails_cleanly,
    json_option,
    operator_transaction,
    org_option,
    print_json,
)
from carenav.fhir.export import EXPORTERS, MANIFEST, export_bulk


@click.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--type",
    "types",
    multiple=True,
    type=click.Choice([e.resource_type for e in EXPORTERS]),
    help="Only these resource types (repeat; default: all).",
)
@org_option
@json_option
@fails_cleanly
def export_command(directory: Path, types: tuple[str, ...], org_slug: str | None, as_json: bool) -> None:
    """Write every resource of the organization to DIRECTORY as <Type>.ndjson plus manifest.json."""
    with operator_transaction(org_slug, "export") as (session, actor):
        result = export_bulk(
            session=session,
            actor=actor,
            directory=directory,
            request=f"carenav export {directory}",
            types=list(types) or None,
        )
    if as_json:
        print_json(
            {
                "directory": str(directory),
                "manifest": str(directory / MANIFEST),
                "transactionTime": result.transaction_time,
                "counts": result.counts,
                "patients": result.patients,
            }
        )
        return
    for resource_type, count in result.counts.items():
        if count:
            click.echo(f"{resource_type}.ndjson\t{count}")
    click.echo(f"{directory / MANIFEST}: {sum(result.counts.values())} resources, {result.patients} patients")
