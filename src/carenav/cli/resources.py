"""carenav resources: the community resource directory."""

from __future__ import annotations

from pathlib import Path

import click

from carenav.cli.context import fails_cleanly, open_database, operator_for, org_option, print_json
from carenav.resources.importer import resources_import


@click.group("resources")
def resources_group() -> None:
    """The community resource directory (Open Referral HSDS)."""


@resources_group.command("import")
@click.argument("path", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--source", default=None, help="The directory's name (default: the folder's name).")
@org_option
@fails_cleanly
def resources_import_command(path: Path, source: str | None, org_slug: str | None) -> None:
    """Import an HSDS folder (1.1 or 3.0 CSV, with or without datapackage.json) and print a JSON summary:
    counts per table, and every row refused or kept with a gap, with its file, line and reason. Importing
    the same directory again updates it."""
    with open_database() as db:
        actor = operator_for(db, org_slug, "resources-import")
        with db.transaction() as session:
            summary = resources_import(session=session, actor=actor, folder=path, source=source)
    print_json(summary.as_json())
