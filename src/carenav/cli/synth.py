"""carenav synth: write a synthetic population as FHIR R4 NDJSON (Bulk Data layout)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from carenav.cli.context import fails_cleanly, json_option, print_json
from carenav.errors import InvalidInput
from carenav.synth.generate import DEFAULT_AS_OF, generate_population


def _parse_as_of(value: str | None) -> date:
    if value is None:
        return DEFAULT_AS_OF
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"expected a date as YYYY-MM-DD, got {value!r}", where="--as-of") from None


@click.command("synth")
@click.option("--patients", type=int, required=True, help="How many patients to generate.")
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same population.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Output directory (one <Type>.ndjson per resource type, plus manifest.json).",
)
@click.option(
    "--as-of",
    "as_of",
    metavar="YYYY-MM-DD",
    default=None,
    help=f"Date the data is current to; encounters fall in the 24 months before it [default: {DEFAULT_AS_OF}].",  # noqa: E501
)
@click.option("--workers", type=int, default=1, show_default=True, help="Processes generating in parallel.")
@click.option("--force", is_flag=True, help="Overwrite the generated files in a non-empty --out.")
@json_option
@fails_cleanly
def synth_command(
    patients: int, seed: int, out: Path, as_of: str | None, workers: int, force: bool, as_json: bool
) -> None:
    """Generate a deterministic synthetic population (demo data and benchmarks)."""
    summary = generate_population(
        out, patients=patients, seed=seed, as_of=_parse_as_of(as_of), force=force, workers=workers
    )
    if as_json:
        print_json(summary.as_dict())
        return
    click.echo(f"{summary.patients} patients (seed {summary.seed}, as of {summary.as_of}) -> {summary.out}")
    for name, count in summary.counts.items():
        click.echo(f"  {name:<18} {count:>12,}")
    click.echo(
        f"  {summary.resources:,} resources, {summary.bytes_written / 1e6:,.1f} MB"
        f" in {summary.seconds:.1f} s: "
        f"{summary.patients_per_second:,.0f} patients/s, {summary.resources_per_second:,.0f} resources/s"
    )
