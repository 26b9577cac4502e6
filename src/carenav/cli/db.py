"""carenav db: create or migrate the database."""

from __future__ import annotations

import click

from carenav.cli.context import fails_cleanly, json_option, open_database, print_json
from carenav.db.migrate import current_revision, head_revision, upgrade


@click.group("db")
def db_group() -> None:
    """Create, migrate and inspect the database named by CARENAV_DATABASE_URL."""


@db_group.command("upgrade")
@json_option
@fails_cleanly
def db_upgrade(as_json: bool) -> None:
    """Create the database or migrate it to the newest schema."""
    with open_database(check_schema=False) as db:
        before = current_revision(db.engine)
        upgrade(db.engine)
        after = current_revision(db.engine)
        url = db.engine.url.render_as_string(hide_password=True)
    if as_json:
        print_json({"database": url, "from": before, "to": after})
    else:
        click.echo(f"{url}: schema {before or 'empty'} -> {after}")


@db_group.command("status")
@json_option
@fails_cleanly
def db_status(as_json: bool) -> None:
    """Show the schema revision of the database and of the code."""
    with open_database(check_schema=False) as db:
        current = current_revision(db.engine)
        url = db.engine.url.render_as_string(hide_password=True)
    head = head_revision()
    if as_json:
        print_json({"database": url, "current": current, "head": head, "up_to_date": current == head})
    else:
        state = "up to date" if current == head else "out of date: run 'carenav db upgrade'"
        click.echo(f"{url}: schema {current or 'empty'}, code {head} ({state})")
