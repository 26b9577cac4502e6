"""carenav programs: check a rules file; identify, enrol (with consent), pause, resume, discharge, decline,
assign; list a patient's enrolments; count enrolments per program and state."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import click

from carenav.cli.context import (
    fails_cleanly,
    json_option,
    operator_transaction,
    org_option,
    print_json,
)
from carenav.errors import InvalidInput
from carenav.programs.models import ProgramEnrolment
from carenav.programs.queries import enrolment_counts, enrolment_list_for_patient
from carenav.programs.rules import (
    RuleSet,
    condition_describe,
    evidence_sql,
    rules_for_org,
    rules_load,
    scores_sql,
)
from carenav.programs.schemas import ConsentInput, ProgramFlag
from carenav.programs.services import (
    enrolment_assign,
    enrolment_decline,
    enrolment_discharge,
    enrolment_enrol,
    enrolment_identify,
    enrolment_identify_from_run,
    enrolment_mark_ineligible,
    enrolment_outreach_start,
    enrolment_pause,
    enrolment_resume,
)
from carenav.settings import get_settings

patient_option = click.option("--patient", "patient_uuid", required=True, metavar="UUID", help="Patient id.")
program_option = click.option(
    "--program", "program_code", required=True, metavar="CODE", help="Program code."
)


@click.group("programs")
def programs_group() -> None:
    """Care- and case-management programs: rules, enrolment, consent, assignment."""


@programs_group.group("rules")
def rules_group() -> None:
    """The program eligibility and risk-tier rules (one TOML file per organization)."""


def _rules_summary(rules: RuleSet) -> dict[str, Any]:
    return {
        "source": rules.source,
        "version": rules.version,
        "title": rules.title,
        "reidentify_after_days": rules.reidentify_after_days,
        "features": rules.features_used(),
        "programs": [
            {
                "code": p.code,
                "name": p.name,
                "kind": p.kind.value,
                "consent_required": p.consent_required,
                "when": condition_describe(p.when),
            }
            for p in rules.programs
        ],
        "tiers": [
            {"level": t.level, "name": t.name, "when": condition_describe(t.when) if t.when else None}
            for t in rules.tiers
        ],
    }


@rules_group.command("check")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@org_option
@click.option(
    "--sql",
    "dialect",
    type=click.Choice(["duckdb", "spark"]),
    default=None,
    help="Also print the compiled SQL (scores, then evidence) in this dialect.",
)
@json_option
@fails_cleanly
def rules_check(file: Path | None, org_slug: str | None, dialect: str | None, as_json: bool) -> None:
    """Validate a rules file (default: the organization's, else the shipped default) and print it compiled."""
    if file is not None:
        rules = rules_load(file)
    else:
        rules = rules_for_org(org_slug or "default", get_settings().rules_dir)
    summary = _rules_summary(rules)
    if dialect is not None:
        scores, evidence = scores_sql(rules), evidence_sql(rules)
        if dialect == "spark":
            import sqlglot

            scores = sqlglot.transpile(scores, read="duckdb", write="spark")[0]
            evidence = sqlglot.transpile(evidence, read="duckdb", write="spark")[0]
        summary["sql"] = {"dialect": dialect, "scores": scores, "evidence": evidence}
    if as_json:
        print_json(summary)
        return
    click.echo(f"{summary['source']}: valid (version {summary['version']})")
    click.echo(f"  {summary['title']}")
    for p in summary["programs"]:
        consent = "consent required" if p["consent_required"] else "no consent needed"
        click.echo(f"  program {p['code']:<12} {p['kind']:<16} {consent:<18} {p['name']}")
        click.echo(f"      when {p['when']}")
    for t in summary["tiers"]:
        click.echo(f"  tier {t['level']}: {t['name']}")
        click.echo(f"      when {t['when'] or '(no higher tier)'}")
    click.echo(f"  features read: {', '.join(summary['features'])}")
    if dialect is not None:
        click.echo(f"\n-- scores ({dialect})\n{summary['sql']['scores']}\n\n-- evidence ({dialect})")
        click.echo(summary["sql"]["evidence"])


def _enrolment_dict(e: ProgramEnrolment) -> dict[str, Any]:
    return {
        "uuid": e.uuid,
        "program": e.program_code,
        "episode": e.episode,
        "state": e.state,
        "state_since": e.state_since.isoformat(),
        "identified_on": e.identified_on.isoformat(),
        "outreach_started_on": e.outreach_started_on.isoformat() if e.outreach_started_on else None,
        "enrolled_on": e.enrolled_on.isoformat() if e.enrolled_on else None,
        "ended_on": e.ended_on.isoformat() if e.ended_on else None,
        "end_reason": e.end_reason,
        "assigned_user_id": e.assigned_user_id,
        "identified_run_id": e.identified_run_id,
        "rules_version": e.rules_version,
        "reasons": e.reasons,
        "history": [
            {
                "from": h.from_state,
                "to": h.to_state,
                "at": h.at.isoformat(),
                "by": h.actor,
                "reason": h.reason,
            }
            for h in e.history
        ],
        "consents": [
            {
                "kind": c.kind,
                "given_on": c.given_on.isoformat(),
                "obtained_by": c.obtained_by,
                "scope": c.scope,
            }
            for c in e.consents
        ],
    }


def _print_enrolment(row: dict[str, Any]) -> None:
    click.echo(f"{row['program']} episode {row['episode']}: {row['state']} since {row['state_since'][:10]}")
    for h in row["history"]:
        change = f"{h['from']} -> {h['to']}" if h["from"] else h["to"]
        reason = f" ({h['reason']})" if h["reason"] else ""
        click.echo(f"    {h['at'][:19]} {change} by {h['by']}{reason}")
    for c in row["consents"]:
        click.echo(
            f"    consent: {c['kind']} on {c['given_on']}, obtained by {c['obtained_by']} ({c['scope']})"
        )


@programs_group.command("list")
@patient_option
@org_option
@json_option
@fails_cleanly
def programs_list(patient_uuid: str, org_slug: str | None, as_json: bool) -> None:
    """A patient's enrolments in every program, with history and consent."""
    with operator_transaction(org_slug, "programs list") as (session, actor):
        rows = [
            _enrolment_dict(e)
            for e in enrolment_list_for_patient(session=session, actor=actor, patient_uuid=patient_uuid)
        ]
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("no enrolments")
    for row in rows:
        _print_enrolment(row)


@programs_group.command("counts")
@org_option
@json_option
@fails_cleanly
def programs_counts(org_slug: str | None, as_json: bool) -> None:
    """Patients per program and state (each patient's latest episode)."""
    with operator_transaction(org_slug, "programs counts") as (session, actor):
        counts = enrolment_counts(session=session, actor=actor)
    rows = [{"program": p, "state": s, "patients": n} for (p, s), n in sorted(counts.items())]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        click.echo(f"{row['program']:<12} {row['state']:<11} {row['patients']}")


def _act(org_slug: str | None, label: str, as_json: bool, call: Callable[..., ProgramEnrolment]) -> None:
    with operator_transaction(org_slug, f"programs {label}") as (session, actor):
        row = _enrolment_dict(call(session=session, actor=actor))
    if as_json:
        print_json(row)
    else:
        _print_enrolment(row)


@programs_group.command("identify")
@patient_option
@program_option
@click.option("--reason", default=None, help="Why (kept in the history).")
@org_option
@json_option
@fails_cleanly
def programs_identify(
    patient_uuid: str, program_code: str, reason: str | None, org_slug: str | None, as_json: bool
) -> None:
    """Identify a patient for a program (a new episode if the last one closed)."""
    with operator_transaction(org_slug, "programs identify") as (session, actor):
        outcome = enrolment_identify(
            session=session,
            actor=actor,
            patient_uuid=patient_uuid,
            program_code=program_code,
            reason=reason,
        )
    result = {
        "patient": patient_uuid,
        "program": program_code,
        "outcome": outcome.outcome,
        "episode": outcome.episode,
    }
    if as_json:
        print_json(result)
    else:
        click.echo(f"{program_code} episode {outcome.episode}: {outcome.outcome}")


@programs_group.command("identify-run")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--run-id", default=None, help="The run's id (default: the file name without suffix).")
@org_option
@json_option
@fails_cleanly
def programs_identify_run(file: Path, run_id: str | None, org_slug: str | None, as_json: bool) -> None:
    """Identify every patient a stratification output (CSV with patient_id and programs) flags. Idempotent."""
    with file.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"patient_id", "programs"} <= set(reader.fieldnames):
            raise InvalidInput("the CSV needs the columns patient_id and programs", where=str(file))
        flags = [ProgramFlag.from_row(row["patient_id"], row["programs"] or "") for row in reader]
    with operator_transaction(org_slug, "programs identify-run") as (session, actor):
        outcomes = enrolment_identify_from_run(
            session=session, actor=actor, flags=flags, run_id=run_id or file.stem
        )
    tally: dict[str, int] = {}
    for outcome in outcomes:
        tally[outcome.outcome] = tally.get(outcome.outcome, 0) + 1
    if as_json:
        print_json({"patients": len(flags), "outcomes": tally})
    else:
        shown = ", ".join(f"{k} {v}" for k, v in sorted(tally.items())) or "nothing flagged"
        click.echo(f"{len(flags)} patients: {shown}")


def _transition_command(
    name: str, service: Callable[..., ProgramEnrolment], help_text: str, *, reason_required: bool
) -> None:
    @programs_group.command(name, help=help_text)
    @patient_option
    @program_option
    @click.option("--reason", required=reason_required, help="Why (kept in the history).")
    @org_option
    @json_option
    @fails_cleanly
    def command(
        patient_uuid: str, program_code: str, reason: str | None, org_slug: str | None, as_json: bool
    ) -> None:
        def call(**kwargs: Any) -> ProgramEnrolment:
            return service(**kwargs, patient_uuid=patient_uuid, program_code=program_code, reason=reason)

        _act(org_slug, name, as_json, call)


_transition_command(
    "outreach", enrolment_outreach_start, "Start outreach to an identified patient.", reason_required=False
)
_transition_command(
    "pause", enrolment_pause, "Pause an enrolment (hospital stay, travel...).", reason_required=True
)
_transition_command("resume", enrolment_resume, "Resume a paused enrolment.", reason_required=False)
_transition_command(
    "discharge",
    enrolment_discharge,
    "Discharge from the program (goals met, moved...).",
    reason_required=True,
)
_transition_command("decline", enrolment_decline, "Record that the patient declined.", reason_required=True)
_transition_command(
    "ineligible", enrolment_mark_ineligible, "Mark the patient ineligible.", reason_required=True
)


@programs_group.command("enroll")
@patient_option
@program_option
@click.option(
    "--consent",
    "consent_kind",
    type=click.Choice(["verbal", "written"]),
    default=None,
    help="How consent was given.",
)
@click.option(
    "--consent-date", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="When (YYYY-MM-DD)."
)
@click.option("--obtained-by", default=None, help="Who obtained the consent.")
@click.option(
    "--scope", default=None, help="What the patient consented to (default: the program's services)."
)
@org_option
@json_option
@fails_cleanly
def programs_enroll(
    patient_uuid: str,
    program_code: str,
    consent_kind: str | None,
    consent_date: Any,
    obtained_by: str | None,
    scope: str | None,
    org_slug: str | None,
    as_json: bool,
) -> None:
    """Enrol a patient, recording consent (required for CCM, complex CCM, PCM and BHI by default)."""
    consent = None
    if consent_kind is not None:
        if consent_date is None:
            raise InvalidInput("give the date consent was given", where="--consent-date")
        given_on: date = consent_date.date()
        consent = ConsentInput.model_validate(
            {"kind": consent_kind, "given_on": given_on, "obtained_by": obtained_by, "scope": scope}
        )

    def call(**kwargs: Any) -> ProgramEnrolment:
        return enrolment_enrol(
            **kwargs, patient_uuid=patient_uuid, program_code=program_code, consent=consent
        )

    _act(org_slug, "enroll", as_json, call)


@programs_group.command("assign")
@patient_option
@program_option
@click.option("--username", required=True, help="The care manager (or supervisor) to assign.")
@org_option
@json_option
@fails_cleanly
def programs_assign(
    patient_uuid: str, program_code: str, username: str, org_slug: str | None, as_json: bool
) -> None:
    """Assign a patient's open episode to a care manager (and put the patient on their caseload)."""

    def call(**kwargs: Any) -> ProgramEnrolment:
        return enrolment_assign(
            **kwargs, patient_uuid=patient_uuid, program_code=program_code, username=username
        )

    _act(org_slug, "assign", as_json, call)
