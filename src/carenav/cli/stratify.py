"""carenav stratify: score every patient (record store or a Bulk Data folder) and save the run."""

from __future__ import annotations

import os
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import click

from carenav.analytics.definitions import ordered, rules_version
from carenav.analytics.engines import ENGINE_NAMES, EngineResult, engine_named
from carenav.analytics.sources.bulk_ndjson import write_bulk_snapshot
from carenav.cli.context import (
    fails_cleanly,
    json_option,
    open_database,
    operator_for,
    org_option,
    print_json,
)
from carenav.clock import now
from carenav.errors import InvalidInput
from carenav.stratification.jobs import stratification_job_run, unmapped_summary

OUTPUT_SUFFIXES = (".csv", ".parquet")


def parse_as_of(text: str | None) -> date:
    if text is None:
        return now().date()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{text!r} is not a date (YYYY-MM-DD)", where="--as-of") from None


def check_output(out: Path | None) -> None:
    """Refuse an output path that cannot be written, before any work is done."""
    if out is None:
        return
    if out.suffix.lower() not in OUTPUT_SUFFIXES:
        raise InvalidInput(f"{out}: the file must end in .csv or .parquet", where="--out")
    if out.is_dir():
        raise InvalidInput(f"{out} is a folder", where="--out")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise InvalidInput(f"{out}: the folder {parent} does not exist", where="--out")
    if not os.access(parent, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise InvalidInput(f"{out}: not writable", where="--out")


def write_output(result: EngineResult, out: Path) -> None:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    try:
        if out.suffix.lower() == ".parquet":
            pq.write_table(result.scores, out)
        else:
            pacsv.write_csv(result.scores, out)
    except OSError as exc:
        raise InvalidInput(f"{out}: {exc.strerror or exc}", where="--out") from exc


@click.command("stratify")
@click.option(
    "--engine",
    "engine_name",
    default="duckdb",
    show_default=True,
    metavar="|".join(ENGINE_NAMES),
    help="Engine that runs the definitions.",
)
@click.option("--as-of", "as_of_text", metavar="YYYY-MM-DD", help="Ages and windows count from here (today).")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="Write one row per patient to FILE.csv or FILE.parquet.",
)
@click.option(
    "--from",
    "source",
    type=click.Path(path_type=Path),
    help="Score a FHIR Bulk Data NDJSON folder instead of the record store (not imported, not saved).",
)
@org_option
@json_option
@fails_cleanly
def stratify_command(
    engine_name: str,
    as_of_text: str | None,
    out: Path | None,
    source: Path | None,
    org_slug: str | None,
    as_json: bool,
) -> None:
    """Score every patient: Charlson, CMS-HCC, LACE, utilisation, programs and tiers."""
    as_of = parse_as_of(as_of_text)
    engine = engine_named(engine_name)
    check_output(out)
    if source is not None and not source.is_dir():
        raise InvalidInput(f"{source} is not a folder", where="--from")
    summary: dict[str, Any] = {
        "as_of": as_of.isoformat(),
        "engine": engine.name,
        "source": str(source) if source is not None else "record store",
    }
    if source is not None:
        definitions = ordered()
        version = rules_version(definitions)
        summary["rules_version"] = version
        with tempfile.TemporaryDirectory(prefix="carenav-snapshot-") as tmp:
            summary["snapshot"] = write_bulk_snapshot(source, Path(tmp))
            # Not saved, and --out writes only the scores: no evidence rows to compute.
            result = engine.run(snapshot=Path(tmp), as_of=as_of, definitions=definitions, evidence=False)
    else:
        with open_database() as db:
            actor = operator_for(db, org_slug, "stratify")
            job = stratification_job_run(
                sessions=db.sessions, actor=actor, engine=engine, as_of=as_of, rules_dir=db.settings.rules_dir
            )
        result, version = job.result, job.summary["rules_version"]
        summary.update(job.summary)
    summary.update(unmapped_summary(result))
    summary["patients"] = result.scores.num_rows
    if source is None:  # a run from a folder computes no evidence (it is not saved)
        summary["evidence_rows"] = result.evidence.num_rows
    if out is not None:
        write_output(result, out)
        summary["out"] = str(out)
    if as_json:
        print_json(summary)
        return
    click.echo(
        f"{summary['patients']} patients scored as of {summary['as_of']} on {engine.name}"
        f" (rules {version})" + (f", run {summary['run']}" if "run" in summary else ", not saved")
    )
    if "identified" in summary:
        found = summary["identified"]
        click.echo(
            f"{found['flagged_patients']} patients flagged for a program; {found['new']} newly identified"
            f" (rules {summary['rules_file']})"
        )
    if summary["unmapped_codes"]:
        codes = ", ".join(f"{u['system']} {u['code']}" for u in summary["unmapped"])
        click.echo(f"{summary['unmapped_codes']} code(s) map to no ICD-10-CM code: {codes}")
    if out is not None:
        click.echo(f"wrote {out}")
