"""carenav assessments: record an assessment from a QuestionnaireResponse file (made on paper, in another
system, or on a tablet offline) and list a patient's assessments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from carenav.assessments.instruments import instrument_get
from carenav.assessments.models import Assessment
from carenav.assessments.queries import assessment_list_for_patient
from carenav.assessments.rules import Channel, Respondent
from carenav.assessments.services import assessment_record
from carenav.cli.context import fails_cleanly, json_option, operator_transaction, org_option, print_json
from carenav.cli.instruments import read_resource_file, reports_item_errors

patient_option = click.option("--patient", "patient_uuid", required=True, metavar="UUID", help="Patient id.")


@click.group("assessments")
def assessments_group() -> None:
    """Assessments of patients: record one from a QuestionnaireResponse file; list a patient's."""


@assessments_group.command("record")
@patient_option
@click.option("--instrument", "instrument_id", required=True, metavar="ID", help="carenav instruments list")
@click.argument("path", metavar="FILE.json", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--channel",
    type=click.Choice([c.value for c in Channel]),
    default=Channel.IN_PERSON.value,
    show_default=True,
)
@click.option("--proxy-name", default=None, help="Answered by this person for the patient (a caregiver).")
@click.option("--proxy-relationship", default=None, help="The proxy's relationship to the patient.")
@click.option("--draft", is_flag=True, help="Keep it as a draft (required items may be empty).")
@org_option
@json_option
@fails_cleanly
def assessments_record(
    patient_uuid: str,
    instrument_id: str,
    path: Path,
    channel: str,
    proxy_name: str | None,
    proxy_relationship: str | None,
    draft: bool,
    org_slug: str | None,
    as_json: bool,
) -> None:
    """Record an assessment of the patient from FILE.json (a FHIR QuestionnaireResponse): checked item by
    item, scored, its scores and needs written to the record. Nothing is stored when it does not fit."""
    instrument = instrument_get(instrument_id)
    resource = read_resource_file(path)
    respondent = Respondent.PROXY if proxy_name or proxy_relationship else Respondent.PATIENT
    with (
        reports_item_errors(path, instrument.id, instrument.version),
        operator_transaction(org_slug, "assessments record") as (session, actor),
    ):
        done = assessment_record(
            session=session,
            actor=actor,
            patient_uuid=patient_uuid,
            instrument_id=instrument.id,
            response=resource,
            complete=not draft,
            channel=Channel(channel),
            respondent=respondent,
            proxy_name=proxy_name,
            proxy_relationship=proxy_relationship,
        )
        row = _assessment_dict(done)
    if as_json:
        print_json(row)
        return
    _print(row)


@assessments_group.command("list")
@patient_option
@click.option("--instrument", "instrument_id", default=None, metavar="ID", help="Only this instrument.")
@org_option
@json_option
@fails_cleanly
def assessments_list(
    patient_uuid: str, instrument_id: str | None, org_slug: str | None, as_json: bool
) -> None:
    """The patient's assessments, newest first, with their scores."""
    with operator_transaction(org_slug, "assessments list") as (session, actor):
        rows = [
            _assessment_dict(a)
            for a in assessment_list_for_patient(
                session=session, actor=actor, patient_uuid=patient_uuid, instrument_id=instrument_id
            )
        ]
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("no assessments")
    for row in rows:
        _print(row)


def _assessment_dict(assessment: Assessment) -> dict[str, Any]:
    score = assessment.score or {}
    return {
        "id": assessment.uuid,
        "instrument": assessment.instrument_id,
        "version": assessment.instrument_version,
        "status": assessment.status,
        "channel": assessment.channel,
        "respondent": assessment.respondent,
        "started_at": assessment.started_at.isoformat(),
        "completed_at": assessment.completed_at.isoformat() if assessment.completed_at else None,
        "total": score.get("total"),
        "band": score.get("band"),
        "flags": score.get("flags", []),
        "positive_domains": score.get("positive_domains", []),
    }


def _print(row: dict[str, Any]) -> None:
    scored = (
        ""
        if row["total"] is None
        else f" total {row['total']}" + (f" ({row['band']})" if row["band"] else "")
    )
    extra = ", ".join([*row["flags"], *row["positive_domains"]])
    click.echo(
        f"{row['id']}  {row['instrument']} {row['version']}  {row['status']}  {row['channel']}"
        f"{scored}{'  ' + extra if extra else ''}"
    )
