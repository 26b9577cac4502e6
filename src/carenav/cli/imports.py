"""carenav import: FHIR R4 Bundles and Bulk Data NDJSON, and HL7 v2 ADT files (.hl7)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from carenav.cli.context import (
    Database,
    fails_cleanly,
    json_option,
    open_database,
    operator_for,
    org_option,
    print_json,
)
from carenav.db.statistics import REFRESH_AFTER_ROWS, statistics_refresh
from carenav.ingest.fhir.driver import DEFAULT_SOURCE, ImportLimits, fhir_import
from carenav.ingest.fhir.sources import HL7V2, SourceFile, source_files
from carenav.ingest.fhir.summary import ImportSummary
from carenav.ingest.hl7v2.files import Hl7ImportSummary, hl7_files_import


def _fhir(
    db: Database, org_slug: str | None, paths: list[Path], source_system: str, quiet: bool
) -> ImportSummary:
    actor = operator_for(db, org_slug, "import")
    limits = ImportLimits(
        max_file_bytes=db.settings.import_max_file_bytes, max_line_bytes=db.settings.import_max_line_bytes
    )
    with db.transaction() as session:
        if quiet or not sys.stderr.isatty():
            return fhir_import(
                session=session, actor=actor, paths=paths, limits=limits, source_system=source_system
            )
        total = len(source_files(paths)[0])
        with click.progressbar(length=total, label="importing", file=sys.stderr) as bar:

            def advance(source: SourceFile) -> None:
                bar.label = source.path.name[:40]
                bar.update(1)

            return fhir_import(
                session=session,
                actor=actor,
                paths=paths,
                limits=limits,
                source_system=source_system,
                on_file=advance,
            )


def _hl7(db: Database, org_slug: str | None, paths: list[Path]) -> Hl7ImportSummary:
    actor = operator_for(db, org_slug, "import")
    return hl7_files_import(
        sessions=db.sessions,
        actor=actor,
        paths=paths,
        max_message_bytes=db.settings.max_hl7_message_bytes,
    )


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
    """Import FHIR R4 Bundles and single resources (.json), Bulk Data NDJSON (.ndjson) and HL7 v2 ADT
    messages (.hl7, one or more a file).

    PATHS are files or folders (read recursively, in sorted order). FHIR data goes in one transaction a
    patient; each HL7 v2 message is stored, then applied, on its own. Exit status 1 if anything failed.
    """
    found, missing = source_files(list(paths))
    hl7_paths = [source.path for source in found if source.kind == HL7V2]
    fhir_paths = [source.path for source in found if source.kind != HL7V2] + [Path(p) for p, _ in missing]
    result: dict[str, Any] = {}
    failed = False
    with open_database() as db:
        if fhir_paths or not hl7_paths:
            fhir_summary = _fhir(db, org_slug, fhir_paths, source_system, quiet=as_json)
            result.update(fhir_summary.as_dict())
            failed = fhir_summary.failed
            if not as_json:
                click.echo(fhir_summary.as_text())
            if fhir_summary.written >= REFRESH_AFTER_ROWS:  # committed: the planner should know the new sizes
                seconds = statistics_refresh(db.engine)
                result["statistics_refreshed_seconds"] = round(seconds, 3)
                if not as_json:
                    written = f"{fhir_summary.written:,} records"
                    click.echo(f"planner statistics refreshed after {written} ({seconds:.1f} s)")
        if hl7_paths:
            hl7_summary = _hl7(db, org_slug, hl7_paths)
            result["hl7v2"] = hl7_summary.as_json()
            failed = failed or not hl7_summary.ok
            if not as_json:
                click.echo(hl7_summary.as_text())
    if as_json:
        print_json(result)
    if failed:
        sys.exit(1)
