"""carenav instruments: list the shipped screening and assessment instruments; score a
QuestionnaireResponse file."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from carenav.assessments.instruments import instrument_get, instruments
from carenav.assessments.responses import ResponseInvalid
from carenav.cli.context import fails_cleanly, json_option, print_json
from carenav.errors import InvalidInput


@click.group("instruments")
def instruments_group() -> None:
    """Screening and assessment instruments (FHIR Questionnaires with scoring rules)."""


@instruments_group.command("list")
@json_option
@fails_cleanly
def instruments_list(as_json: bool) -> None:
    """Every shipped instrument: id, title, version, LOINC panel code."""
    shipped = instruments()
    if as_json:
        print_json(
            [{"id": i.id, "title": i.title, "version": i.version, "loinc": i.loinc_panel} for i in shipped]
        )
        return
    width = max(len(i.id) for i in shipped)
    for i in shipped:
        click.echo(f"{i.id:<{width}}  {i.version:<7}  {i.loinc_panel or '-':<8}  {i.title}")


@instruments_group.command("score")
@click.argument("instrument_id", metavar="ID")
@click.argument("path", metavar="FILE.json", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--sex",
    type=click.Choice(["male", "female", "unknown"]),
    default="unknown",
    show_default=True,
    help="The patient's sex, for sex-specific cut-offs (AUDIT-C).",
)
@fails_cleanly
def instruments_score(instrument_id: str, path: Path, sex: str) -> None:
    """Score a FHIR QuestionnaireResponse (JSON file) with instrument ID; print the score as JSON. A
    response that does not fit the instrument's form: one line per item at fault, exit status 1."""
    instrument = instrument_get(instrument_id)
    resource = read_resource_file(path)
    with reports_item_errors(path, instrument.id, instrument.version):
        result = instrument.score_response(resource, sex=sex, where=str(path))
    print_json(result.as_json())


def read_resource_file(path: Path) -> dict[str, Any]:
    """A FHIR resource from a JSON file, or a clear error naming the file."""
    try:
        resource = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInput(f"cannot read it ({exc.strerror})", where=str(path)) from exc
    except ValueError as exc:
        raise InvalidInput(f"not JSON ({exc})", where=str(path)) from exc
    if not isinstance(resource, dict):
        raise InvalidInput("not a FHIR resource (a JSON object)", where=str(path))
    return resource


@contextmanager
def reports_item_errors(path: Path, instrument_id: str, version: str) -> Iterator[None]:
    """A response that does not fit its form: one line per item at fault on stderr, exit status 1."""
    try:
        yield
    except ResponseInvalid as exc:
        click.echo(f"carenav: {path}: the response does not fit {instrument_id} {version}:", err=True)
        for error in exc.errors:
            click.echo(f"  {error.link_id}: {error.message}", err=True)
        sys.exit(1)
