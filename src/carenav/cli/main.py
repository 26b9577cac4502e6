"""Entry point of the ``carenav`` command. Each command group lives in its own module."""

from __future__ import annotations

import click

from carenav import __version__
from carenav.cli.assessments import assessments_group
from carenav.cli.caseloads import caseloads_group
from carenav.cli.db import db_group
from carenav.cli.demo import demo_group
from carenav.cli.export import export_command
from carenav.cli.feeds import feeds_group
from carenav.cli.imports import import_command
from carenav.cli.instruments import instruments_group
from carenav.cli.mllp import mllp_command
from carenav.cli.outreach import outreach_group
from carenav.cli.pools import pools_group
from carenav.cli.programs import programs_group
from carenav.cli.resources import resources_group
from carenav.cli.serve import serve_command
from carenav.cli.stratify import stratify_command
from carenav.cli.synth import synth_command
from carenav.cli.tokens import tokens_group
from carenav.cli.transitions import transitions_group
from carenav.cli.users import users_group


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="carenav")
def cli() -> None:
    """carenav: care management for the patients at highest risk."""


cli.add_command(db_group)
cli.add_command(demo_group)
cli.add_command(tokens_group)
cli.add_command(export_command)
cli.add_command(import_command)
cli.add_command(feeds_group)
cli.add_command(mllp_command)
cli.add_command(outreach_group)
cli.add_command(transitions_group)
cli.add_command(users_group)
cli.add_command(serve_command)
cli.add_command(synth_command)
cli.add_command(stratify_command)
cli.add_command(programs_group)
cli.add_command(instruments_group)
cli.add_command(resources_group)
cli.add_command(assessments_group)
cli.add_command(caseloads_group)
cli.add_command(pools_group)


def main() -> None:
    cli()
