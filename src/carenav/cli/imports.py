"""carenav import: FHIR R4 Bundles and Bulk Data NDJSON (HL7 v2 files: see carenav.ingest.hl7v2)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from carenav.cli.context import (
    fails_cleanly,
    json_option,
    open_database,
    operator_for,
    org_option,
    print_json,
)
from carenav.ingest.fhir.driver import DEFAULT_SOURCE, ImportLimits, fhir_import
from carenav.ingest.fhir.sources import SourceFile, source_files


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@org_option
@click.option(
    "--source",
    "source_system",
    default=DEFAULT_SOURCE,
    show_default=True,
    metavar="NAME",
    help="Name of the sending system; re-importing from the same source updates instead of duplicating.",
)
@json_option
@fails_cleanly
def import_command(paths: tuple[Path, ...], org_slug: str | None, source_system: str, as_json: bool) -> None:
    """Import FHIR R4 Bundles (.json), single resources (.json) and Bulk Data NDJSON (.ndjson).

    PATHS are files or folders (read recursively, in sorted order). Exit status 1 if anything failed.
    """
    with open_database() as db:
        actor = operator_for(db, org_slug, "import")
        limits = ImportLimits(
            max_file_bytes=db.settings.import_max_file_bytes, max_line_bytes=db.settings.import_max_line_bytes
        )
        with db.transaction() as session:
            if sys.stderr.isatty() and not as_json:
                total = len(source_files(list(paths))[0])
                with click.progressbar(length=total, label="importing", file=sys.stderr) as bar:

                    def advance(source: SourceFile) -> None:
                        bar.label = source.path.name[:40]
                        bar.update(1)

                    summary = fhir_import(
                        session=session,
                        actor=actor,
                        paths=list(paths),
                        limits=limits,
                        source_system=source_system,
                        on_file=advance,
                    )
            else:
                summary = fhir_import(
                    session=session,
                    actor=actor,
                    paths=list(paths),
                    limits=limits,
                    source_system=source_system,
                )
    if as_json:
        print_json(summary.as_dict())
    else:
        click.echo(summary.as_text())
    if summary.failed:
        sys.exit(1)
