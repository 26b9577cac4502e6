"""carenav demo load: a synthetic population, demo users and their caseloads, for trying carenav out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.accounts.models import User
from carenav.accounts.services import care_manager_assign, user_actor, user_create
from carenav.analytics.engines import engine_named
from carenav.assessments.demo import demo_assessments_record
from carenav.careplans.demo import demo_plans_record
from carenav.cli.context import (
    fails_cleanly,
    json_option,
    open_database,
    operator_for,
    org_option,
    print_json,
)
from carenav.ingest.fhir.driver import ImportLimits, fhir_import
from carenav.patients.models import Condition, Patient
from carenav.resources.importer import resources_import
from carenav.stratification.jobs import stratification_job_run
from carenav.synth.generate import generate_population

DEMO_SOURCE = "carenav-demo"
DEMO_PASSWORD = "carenav-demo-2026"  # noqa: S105 - printed for demo logins, never for production
CASELOAD_SIZE = 40


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    display_name: str
    team: str | None = None


DEMO_USERS = (
    DemoUser("admin", "admin", "Alex Admin"),
    DemoUser("sam.supervisor", "supervisor", "Sam Rivera, RN (supervisor)", "North team"),
    DemoUser("casey.cm", "care_manager", "Casey Morgan, RN", "North team"),
    DemoUser("jordan.cm", "care_manager", "Jordan Lee, LCSW", "North team"),
    DemoUser("avery.auditor", "auditor", "Avery Auditor"),
)


def _ensure_users(session: Session, actor: Actor) -> list[str]:
    made = []
    for demo in DEMO_USERS:
        if session.scalar(select(User.id).where(User.username == demo.username)) is None:
            user_create(
                session=session,
                actor=actor,
                username=demo.username,
                role=demo.role,
                password=DEMO_PASSWORD,
                display_name=demo.display_name,
                team_name=demo.team,
            )
            made.append(demo.username)
    return made


def _user_actor(session: Session, username: str) -> Actor:
    return user_actor(session.scalars(select(User).where(User.username == username)).one(), channel="demo")


def _most_burdened_patients(session: Session, org_id: int, count: int) -> list[str]:
    """The living patients with the most active problems: the ones a care manager would take first."""
    burden = func.count(Condition.id)
    rows = session.execute(
        select(Patient.uuid)
        .join(Condition, Condition.patient_id == Patient.id)
        .where(Patient.org_id == org_id, Patient.deceased.is_(False), Condition.clinical_status == "active")
        .group_by(Patient.id, Patient.uuid)
        .order_by(burden.desc(), Patient.id)
        .limit(count)
    )
    return [uuid for (uuid,) in rows]


@click.group("demo")
def demo_group() -> None:
    """Demo data for trying carenav out (never for production)."""


@demo_group.command("load")
@click.option("--patients", default=2000, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--seed", default=2026, show_default=True, type=int)
@click.option(
    "--workdir",
    default=Path("var/demo-population"),
    show_default=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Where the generated FHIR NDJSON is written before it is imported.",
)
@click.option(
    "--directory",
    type=click.Path(path_type=Path, exists=True),
    default=None,
    help="An HSDS resource directory to import too (make demo passes ../shared/data/hsds/open211-miami).",
)
@org_option
@json_option
@fails_cleanly
def demo_load(
    patients: int, seed: int, workdir: Path, directory: Path | None, org_slug: str | None, as_json: bool
) -> None:
    """Generate and import a synthetic population, create demo users and give the care managers caseloads.

    Safe to run again: the import updates in place and existing users are kept as they are.
    """
    synth = generate_population(workdir, patients=patients, seed=seed, force=True)
    with open_database() as db:
        actor = operator_for(db, org_slug, "demo")
        with db.transaction() as session:
            summary = fhir_import(
                session=session,
                actor=actor,
                paths=[workdir],
                limits=ImportLimits(
                    max_file_bytes=db.settings.import_max_file_bytes,
                    max_line_bytes=db.settings.import_max_line_bytes,
                ),
                source_system=DEMO_SOURCE,
            )
            created = _ensure_users(session, actor)
            care_managers = [d.username for d in DEMO_USERS if d.role == "care_manager"]
            candidates = _most_burdened_patients(session, actor.org_id, CASELOAD_SIZE * len(care_managers))
            for index, patient_uuid in enumerate(candidates):
                username = care_managers[index % len(care_managers)]
                care_manager_assign(
                    session=session, actor=actor, username=username, patient_uuid=patient_uuid
                )
            # A few months of depression and anxiety follow-up and a social-needs screen for the first
            # patients of each caseload, recorded as their care manager.
            caseloads = [
                (_user_actor(session, username), candidates[index :: len(care_managers)])
                for index, username in enumerate(care_managers)
            ]
            recorded = demo_assessments_record(session=session, actors=caseloads, as_of=synth.as_of)
            plans = demo_plans_record(session=session, actors=caseloads, as_of=synth.as_of)
            resources = (
                resources_import(session=session, actor=actor, folder=directory).imported
                if directory is not None
                else {}
            )
        # Score the population as of the day the synthetic record ends, so the Population page has a run.
        job = stratification_job_run(
            sessions=db.sessions,
            actor=actor,
            engine=engine_named("duckdb"),
            as_of=synth.as_of,
            rules_dir=db.settings.rules_dir,
        )
    result = {
        "generated_patients": synth.patients,
        "imported": {kind: summary.stored(kind) for kind in sorted(summary.counts)},
        "import_problems": summary.problem_count,
        "users_created": created,
        "logins": [{"username": d.username, "role": d.role} for d in DEMO_USERS],
        "password": DEMO_PASSWORD,
        "caseload_assignments": len(candidates),
        "assessments_recorded": recorded,
        "care_plans_made": plans,
        "resource_directory": dict(resources),
        "stratification_run": job.summary["run"],
        "identified_for_programs": job.summary["identified"]["flagged_patients"],
    }
    if as_json:
        print_json(result)
        return
    click.echo(f"demo: {synth.patients} patients generated and imported ({summary.problem_count} problems)")
    click.echo(f"demo: {len(candidates)} patients assigned to {', '.join(care_managers)}")
    click.echo(f"demo: {recorded} assessments recorded (PHQ-9 and GAD-7 follow-up, social-needs screens)")
    click.echo(f"demo: {plans} care plans made from templates, agreed and active")
    if resources:
        click.echo(f"demo: resource directory imported: {resources.get('services', 0)} services")
    flagged = result["identified_for_programs"]
    click.echo(f"demo: stratified as of {synth.as_of}; {flagged} patients flagged for programs")
    click.echo("demo logins (password for all: " + DEMO_PASSWORD + "):")
    for demo in DEMO_USERS:
        click.echo(f"  {demo.username:<16} {demo.role}")
