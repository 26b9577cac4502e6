"""carenav resources: the community resource directory."""

from __future__ import annotations

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
from carenav.resources.importer import resources_import
from carenav.resources.search import Criteria, resources_search


@click.group("resources")
def resources_group() -> None:
    """The community resource directory (Open Referral HSDS)."""


@resources_group.command("import")
@click.argument("path", type=click.Path(path_type=Path, exists=True))
@click.option(
    "--source",
    default=None,
    help="The directory's name (default: the folder's name, or the JSON file's folder's).",
)
@org_option
@fails_cleanly
def resources_import_command(path: Path, source: str | None, org_slug: str | None) -> None:
    """Import an HSDS folder (1.1 or 3.0 CSV, with or without datapackage.json, or 3.0 JSON) or one HSDS 3.0
    JSON file, and print a JSON summary: counts per table, and every row refused or kept with a gap, with
    its file, line (JSON: its path) and reason. Importing the same directory again updates it."""
    with open_database() as db:
        actor = operator_for(db, org_slug, "resources-import")
        with db.transaction() as session:
            summary = resources_import(session=session, actor=actor, folder=path, source=source)
    print_json(summary.as_json())


@resources_group.command("search")
@click.option(
    "--need",
    required=True,
    help="food, transportation, housing, utilities, safety, social, financial, respite, legal "
    "(or an SDOH domain).",
)
@click.option("--zip", "zip_code", default=None, help="The patient's ZIP code: results nearest first.")
@click.option("--language", default=None, help="Only services in this language (e.g. Spanish).")
@click.option("--age", type=click.IntRange(0, 130), default=None, help="Only services taking this age.")
@click.option("--open-now", is_flag=True, help="Only services open now.")
@click.option(
    "--within", "within_miles", type=click.FloatRange(0), default=None, help="Only within so many miles."
)
@click.option(
    "--income-fpl",
    type=click.IntRange(0, 1000),
    default=None,
    help="The household's income in percent of the federal poverty level: drops services with a lower limit.",
)
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True)
@org_option
@json_option
@fails_cleanly
def resources_search_command(
    need: str,
    zip_code: str | None,
    language: str | None,
    age: int | None,
    open_now: bool,
    within_miles: float | None,
    income_fpl: int | None,
    limit: int,
    org_slug: str | None,
    as_json: bool,
) -> None:
    """Search the directory as the screen does: services meeting a need, nearest first."""
    criteria = Criteria(
        need,
        zip_code,
        language,
        age,
        open_now,
        within_miles,
        income_fpl=income_fpl,
        limit=limit,
    )
    with open_database() as db:
        actor = operator_for(db, org_slug, "resources-search")
        with db.transaction() as session:
            found = resources_search(session=session, actor=actor, criteria=criteria)
            rows = [m.as_json() for m in found]
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("no service found")
    for row in rows:
        distance = "" if row["distance_miles"] is None else f"{row['distance_miles']:>5} mi  "
        status = (
            "hours unknown" if row["open_now"] is None else ("open now" if row["open_now"] else "closed now")
        )
        click.echo(f"{distance}{row['service']} ({status})")
        if row["address"]:
            click.echo(f"         {row['address']}")
