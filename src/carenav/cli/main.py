"""Entry point of the ``carenav`` command. Each command group lives in its own module."""

from __future__ import annotations

import click

from carenav import __version__
from carenav.cli.db import db_group


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="carenav")
def cli() -> None:
    """carenav: care management for the patients at highest risk."""


cli.add_command(db_group)


def main() -> None:
    cli()
