"""Benchmark of a care manager's daily pages under load: the worklist and the patient page with 50 care
managers at once, on SQLite and on PostgreSQL, beside ``/healthz`` of the same app as the ceiling. Prints
figures; asserts nothing.

    .venv/bin/python bench/worklist.py                        # 100,000 patients, 1,000,000 tasks and contacts
    .venv/bin/python bench/worklist.py --patients 5000 --records 50000 --duration 20   # a quick try
    .venv/bin/python bench/worklist.py --database sqlite --keep var/bench-worklist     # keep and reuse

Needs locust (`make bench` installs it: the `bench` extra). Steps:
1. the population: ``carenav synth`` (Synthea-like FHIR NDJSON) imported with ``fhir_import``, as ``carenav
   import`` does; then a stratification run (DuckDB), which identifies patients for programs;
2. the care team: ``--users`` care managers (nurses and social workers) in teams of ten with a supervisor
   each, ``--caseload`` patients each, taken from the patients the run identified, three quarters of them
   enrolled (with consent) and the rest still in outreach — all through the services the screens use;
3. history: ``--records`` tasks and contacts (half each) over the three years before the population's day,
   half on the caseloads and half across the whole population (population-level tasks in the team queue
   and in pools), bulk-inserted; then the nightly jobs (``outreach sync``, ``transitions refresh``) and
   ``ANALYZE``;
4. ``carenav serve --workers W`` on loopback with the clock fixed at the population's day, and locust
   (headless, on this machine too) with ``--users`` users, each signed in as their own care manager:
   a. ceiling: ``GET /healthz`` with no pause between requests;
   b. working: the worklist, then a patient of their caseload, with a pause of 1 to 5 s between pages
      (people read what they opened; this is the target's load);
   c. saturation: the same pages with no pause, which shows the throughput the machine can give.
   Each run starts measuring once every user has signed in (sign-in is not timed). Latency is locust's
   response time (first byte to last, on loopback), in milliseconds.

Target on the 2-core machine: worklist p95 <= 100 ms in run (b).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
from sqlalchemy import Engine, insert, select, text
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.accounts.models import User
from carenav.accounts.services import care_manager_assign, organization_create, user_create
from carenav.analytics.engines import engine_named
from carenav.clock import fix_clock
from carenav.db.engine import make_engine
from carenav.db.migrate import upgrade
from carenav.db.session import make_session_factory, unit_of_work
from carenav.ingest.fhir.driver import ImportLimits, fhir_import
from carenav.outreach.models import Contact
from carenav.outreach.rules import ContactKind, Direction, Outcome, Party
from carenav.outreach.services import followups_sync_all
from carenav.patients.models import Patient
from carenav.programs.models import ProgramEnrolment
from carenav.programs.rules import ConsentKind, EnrolmentState
from carenav.programs.schemas import ConsentInput
from carenav.programs.services import enrolment_enrol, enrolment_outreach_start
from carenav.settings import get_settings
from carenav.stratification.jobs import stratification_job_run
from carenav.synth.generate import generate_population
from carenav.tasks.models import Task
from carenav.tasks.rules import TaskPriority, TaskStatus
from carenav.transitions.services import transitions_refresh
from carenav.worklist.services import pool_create

ROOT = Path(__file__).resolve().parents[1]
LOCUSTFILE = ROOT / "bench" / "worklist_users.py"
PG_ADMIN = os.environ.get("CARENAV_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
PG_DATABASE = "carenav_bench_worklist"
PASSWORD = "bench-worklist-2026"  # noqa: S105 - the benchmark's own throwaway users
ORG = "bench"
ZONE = "America/New_York"
TEAM_SIZE = 10
BATCH = 10_000

TASK_TITLES = (
    "Call to review symptoms",
    "Confirm follow-up appointment",
    "Send medication list to pharmacy",
    "Check transport for clinic visit",
    "Request discharge summary",
    "Review lab results with PCP",
    "Mail educational materials",
    "Check food bank referral",
    "Prior authorization paperwork",
    "Caregiver check-in",
)


@dataclass
class Step:
    name: str
    seconds: float
    detail: str = ""


@contextmanager
def timed(steps: list[Step], name: str) -> Iterator[Step]:
    step = Step(name, 0.0)
    started = time.perf_counter()
    yield step
    step.seconds = time.perf_counter() - started
    steps.append(step)
    print(f"  {name}: {step.seconds:,.1f} s {step.detail}", flush=True)


# --- the population --------------------------------------------------------------------------------------


def population(work: Path, patients: int, seed: int) -> tuple[Path, date]:
    """The generated population (reused when ``work`` already holds one of this size and seed)."""
    folder = work / f"population-{patients}-{seed}"
    marker = folder / "as_of.txt"
    if marker.exists():
        return folder, date.fromisoformat(marker.read_text().strip())
    started = time.perf_counter()
    summary = generate_population(folder, patients=patients, seed=seed, force=True)
    marker.write_text(summary.as_of.isoformat())
    print(f"population: {summary.patients:,} patients generated in {time.perf_counter() - started:,.1f} s")
    return folder, summary.as_of


def database_url(kind: str, work: Path, fresh: bool) -> str:
    if kind == "sqlite":
        path = work / "worklist.db"
        if fresh:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    if fresh:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
            admin.execute(f"CREATE DATABASE {PG_DATABASE}")
    base = PG_ADMIN.rsplit("/", 1)[0]
    return f"postgresql+psycopg://{base.split('://', 1)[1]}/{PG_DATABASE}"


def seeded(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            return bool(connection.execute(text("SELECT count(*) FROM organizations")).scalar())
    except Exception:
        return False


def seed(
    engine: Engine, folder: Path, as_of: date, args: argparse.Namespace, out: Path
) -> tuple[list[Step], dict[str, Any]]:
    """Load the population, the care team, the history and the nightly jobs' work; write the users file
    (usernames, password, each one's caseload) that locust reads."""
    steps: list[Step] = []
    rng = random.Random(args.seed)
    sessions = make_session_factory(engine)
    settings = get_settings()
    upgrade(engine)
    with unit_of_work(sessions) as session:
        org = organization_create(session=session, slug=ORG, name="Benchmark Health", timezone=ZONE)
        operator = Actor.operator(org.id, "bench")
    with timed(steps, "import") as step, unit_of_work(sessions) as session:
        summary = fhir_import(
            session=session,
            actor=operator,
            paths=[folder],
            limits=ImportLimits(max_file_bytes=1 << 34, max_line_bytes=64 << 20),
            source_system="bench",
        )
        stored = sum(summary.stored(k) for k in summary.counts)
        step.detail = f"({stored:,} resources, {summary.problem_count} problems)"
    with timed(steps, "ANALYZE after the import"), engine.begin() as connection:
        connection.execute(text("ANALYZE"))  # statistics for the planner (autovacuum may be off or behind)
    with timed(steps, "stratification run") as step:
        job = stratification_job_run(
            sessions=sessions,
            actor=operator,
            engine=engine_named("duckdb"),
            as_of=as_of,
            rules_dir=settings.rules_dir,
        )
        step.detail = f"({job.summary['identified']['flagged_patients']:,} patients identified)"
    with timed(steps, "care team and caseloads") as step, unit_of_work(sessions) as session:
        caseloads = _care_team(session, operator, as_of, args, rng)
        step.detail = f"({sum(len(v) for v in caseloads.values()):,} patients on {len(caseloads)} caseloads)"
    with timed(steps, "tasks and contacts") as step, unit_of_work(sessions) as session:
        made = _history(session, org.id, as_of, caseloads, args.records, rng)
        step.detail = f"({made['tasks']:,} tasks, {made['contacts']:,} contacts)"
    with timed(steps, "nightly: outreach sync") as step, unit_of_work(sessions) as session:
        step.detail = f"({followups_sync_all(session=session, actor=operator):,} patients)"
    with timed(steps, "nightly: transitions refresh") as step, unit_of_work(sessions) as session:
        refreshed = transitions_refresh(session=session, actor=operator)
        step.detail = f"({refreshed})"
    with timed(steps, "ANALYZE"), engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    out.write_text(json.dumps({"password": PASSWORD, "caseloads": caseloads}))
    return steps, made


def _care_team(
    session: Session, operator: Actor, as_of: date, args: argparse.Namespace, rng: random.Random
) -> dict[str, list[str]]:
    """Supervisors and care managers in teams; each care manager's caseload from the identified patients,
    assigned, and three quarters enrolled with verbal consent (the rest in outreach). Returns username →
    patient uuids."""
    names = [f"cm{n:02d}" for n in range(1, args.users + 1)]
    for team in range(0, len(names), TEAM_SIZE):
        team_name = f"Team {team // TEAM_SIZE + 1}"
        user_create(
            session=session,
            actor=operator,
            username=f"sup{team // TEAM_SIZE + 1:02d}",
            role="supervisor",
            password=PASSWORD,
            display_name=f"Supervisor {team // TEAM_SIZE + 1}, RN",
            team_name=team_name,
        )
        for username in names[team : team + TEAM_SIZE]:
            user_create(
                session=session,
                actor=operator,
                username=username,
                role="care_manager",
                password=PASSWORD,
                display_name=f"Care Manager {username[2:]}",
                team_name=team_name,
            )
    wanted = args.users * args.caseload
    identified = session.execute(
        select(Patient.uuid, ProgramEnrolment.program_code)
        .join(ProgramEnrolment, ProgramEnrolment.patient_id == Patient.id)
        .where(ProgramEnrolment.state == EnrolmentState.IDENTIFIED.value, Patient.deceased.is_(False))
        .order_by(ProgramEnrolment.id)
    ).all()
    chosen: dict[str, str] = {}
    for uuid, program in identified:
        chosen.setdefault(uuid, program)
    picked = list(chosen.items())[:wanted]
    if len(picked) < wanted:
        print(f"  only {len(picked):,} patients identified for programs; caseloads are smaller", flush=True)
    caseloads: dict[str, list[str]] = {name: [] for name in names}
    for index, (uuid, program) in enumerate(picked):
        username = names[index % len(names)]
        care_manager_assign(session=session, actor=operator, username=username, patient_uuid=uuid)
        caseloads[username].append(uuid)
        enrolment_outreach_start(session=session, actor=operator, patient_uuid=uuid, program_code=program)
        if rng.random() < 0.75:
            given = as_of - timedelta(days=rng.randint(30, 900))
            enrolment_enrol(
                session=session,
                actor=operator,
                patient_uuid=uuid,
                program_code=program,
                consent=ConsentInput(kind=ConsentKind.VERBAL, given_on=given, obtained_by=username),
            )
    return caseloads


def _history(
    session: Session,
    org_id: int,
    as_of: date,
    caseloads: dict[str, list[str]],
    records: int,
    rng: random.Random,
) -> dict[str, int]:
    """``records`` tasks and contacts (half each) over the three years before ``as_of``: half on the
    caseloads (assigned to their care manager, contacts by them), half across the whole population
    (population-level tasks in the team queue or a pool). Tasks due before the last two weeks are mostly
    done; a few stay open (overdue), and those due later are open."""
    users = {u.username: u for u in session.scalars(select(User))}
    pools = [
        pool_create(
            session=session,
            actor=Actor.operator(org_id, "bench"),
            key=key,
            name=name,
            usernames=[u for u in users if u.startswith("cm")][i::3],
        ).id
        for i, (key, name) in enumerate(
            (("social-work", "Social work"), ("pharmacy", "Pharmacy"), ("rn-line", "RN line"))
        )
    ]
    uuid_to_id: dict[str, int] = dict(session.execute(select(Patient.uuid, Patient.id)).all())  # type: ignore[arg-type]
    managed = [(uuid_to_id[uuid], users[name]) for name, uuids in caseloads.items() for uuid in uuids]
    everyone = list(uuid_to_id.values())
    start = datetime.combine(as_of - timedelta(days=3 * 365), clock_time(8), tzinfo=UTC)
    span = (as_of - start.date()).days * 86_400
    made = {"tasks": 0, "contacts": 0}
    tasks: list[dict[str, Any]] = []
    contacts: list[dict[str, Any]] = []
    outcomes = [o.value for o in Outcome]
    outcome_weights = [55, 25, 15, 3, 2]
    kinds = [k.value for k in ContactKind]
    kind_weights = [70, 6, 8, 6, 8, 2]
    parties = [
        Party.PATIENT.value,
        Party.CAREGIVER.value,
        Party.PROVIDER.value,
        Party.COMMUNITY_ORGANIZATION.value,
    ]

    def flush() -> None:
        if tasks:
            session.execute(insert(Task), tasks)
            made["tasks"] += len(tasks)
            tasks.clear()
        if contacts:
            session.execute(insert(Contact), contacts)
            made["contacts"] += len(contacts)
            contacts.clear()

    for n in range(records):
        on_caseload = n % 4 < 2 and managed
        patient_id, user = rng.choice(managed) if on_caseload else (rng.choice(everyone), None)
        at = start + timedelta(seconds=rng.randrange(span))
        if n % 2 == 0:
            due = at.date() + timedelta(days=rng.randint(1, 30))
            recent = due >= as_of - timedelta(days=14)
            still_open = recent or rng.random() < 0.03
            closed = None if still_open else datetime.combine(due, clock_time(15), tzinfo=UTC)
            in_pool = user is None and rng.random() < 0.1
            tasks.append(
                {
                    "uuid": str(uuid4()),
                    "org_id": org_id,
                    "patient_id": patient_id,
                    "title": rng.choice(TASK_TITLES),
                    "priority": TaskPriority.URGENT.value
                    if rng.random() < 0.03
                    else TaskPriority.ROUTINE.value,
                    "due_on": due,
                    "status": TaskStatus.OPEN.value if still_open else TaskStatus.DONE.value,
                    "assigned_user_id": user.id if user else None,
                    "pool_id": rng.choice(pools) if in_pool else None,
                    "created_by": user.display_name if user else "population health",
                    "created_at": at,
                    "updated_at": closed or at,
                    "closed_at": closed,
                    "closed_by": None
                    if closed is None
                    else (user.display_name if user else "population health"),
                }
            )
        else:
            contacts.append(
                {
                    "uuid": str(uuid4()),
                    "org_id": org_id,
                    "patient_id": patient_id,
                    "at": at,
                    "kind": rng.choices(kinds, kind_weights)[0],
                    "direction": Direction.OUTBOUND.value if rng.random() < 0.85 else Direction.INBOUND.value,
                    "party": rng.choices(parties, (75, 15, 8, 2))[0],
                    "outcome": rng.choices(outcomes, outcome_weights)[0],
                    "user_id": user.id if user else None,
                    "staff": user.display_name if user else "outreach team",
                    "minutes": rng.randint(3, 40),
                    "note": "Reviewed symptoms and medications; no changes.",
                    "answers": {},
                    "red_flags": [],
                    "created_at": at,
                    "updated_at": at,
                }
            )
        if len(tasks) + len(contacts) >= BATCH:
            flush()
    flush()
    return made


# --- the server and the load ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(url: str, as_of: date, workers: int, log: Path) -> Iterator[str]:
    port = free_port()
    env = dict(os.environ)
    env["CARENAV_DATABASE_URL"] = url
    env["CARENAV_FIXED_NOW"] = f"{as_of.isoformat()}T10:00:00-05:00"
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "carenav"),
                "serve",
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    with urllib.request.urlopen(f"{base}/readyz", timeout=1) as response:  # noqa: S310
                        if response.status == 200:
                            break
                except OSError:
                    time.sleep(0.2)
            else:
                raise SystemExit(f"the server did not start; see {log}")
            yield base
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)


@dataclass
class Row:
    name: str
    requests: int
    failures: int
    p50: float
    p95: float
    p99: float
    rps: float


def locust(
    base: str, users_file: Path, who: str, users: int, seconds: int, pause: str, work: Path
) -> list[Row]:
    prefix = work / f"locust-{who}-{pause.replace(',', '-')}"
    env = dict(os.environ, BENCH_USERS_FILE=str(users_file), BENCH_PAUSE=pause)
    with open(f"{prefix}.log", "w") as log:
        subprocess.run(
            [
                sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), who,
                "--headless", "--host", base, "--users", str(users), "--spawn-rate", str(users),
                "--run-time", f"{seconds}s", "--stop-timeout", "10", "--csv", str(prefix), "--only-summary",
                "--loglevel", "WARNING",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,  # locust exits 1 when a request failed; the failures are counted in the table
        )  # fmt: skip
    rows = []
    with open(f"{prefix}_stats.csv", newline="") as f:
        for r in csv.DictReader(f):
            if r["Name"] == "Aggregated" or r["Name"] == "sign-in" or int(r["Request Count"]) == 0:
                continue  # sign-in happens before measuring; its rows are empty

            def ms(column: str, r: dict[str, str] = r) -> float:
                return float(r[column]) if r[column] not in ("", "N/A") else float("nan")

            rows.append(
                Row(
                    r["Name"],
                    int(r["Request Count"]),
                    int(r["Failure Count"]),
                    ms("50%"),
                    ms("95%"),
                    ms("99%"),
                    ms("Requests/s"),
                )
            )
    return rows


def print_rows(title: str, rows: list[Row]) -> None:
    print(f"  {title}")
    print(f"    {'page':<22}{'requests':>9}{'fail':>6}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'req/s':>8}")
    for r in rows:
        figures = f"{r.p50:>9.0f}{r.p95:>9.0f}{r.p99:>9.0f}{r.rps:>8.1f}"
        print(f"    {r.name:<22}{r.requests:>9,}{r.failures:>6}{figures}")


def sizes(engine: Engine) -> str:
    with engine.connect() as c:
        counts = {
            name: c.execute(text(f"SELECT count(*) FROM {name}")).scalar()  # noqa: S608 - fixed names
            for name in ("patients", "tasks", "outreach_contacts", "outreach_followups", "observations")
        }
    return ", ".join(f"{k} {v:,}" for k, v in counts.items())


def run(kind: str, args: argparse.Namespace, work: Path, folder: Path, as_of: date) -> None:
    print(f"\n=== {kind} ===", flush=True)
    url = database_url(kind, work, fresh=False)
    engine = make_engine(url)
    users_file = work / f"users-{kind}.json"
    if not (args.keep and seeded(engine) and users_file.exists()):
        engine.dispose()
        url = database_url(kind, work, fresh=True)
        engine = make_engine(url)
        fix_clock(datetime.combine(as_of, clock_time(15), tzinfo=UTC))
        steps, _ = seed(engine, folder, as_of, args, users_file)
        fix_clock(None)
        print(f"  seeded in {sum(s.seconds for s in steps) / 60:,.1f} min")
    upgrade(engine)  # a kept database gets the migrations added since it was seeded
    print(f"  rows: {sizes(engine)}")
    engine.dispose()
    with server(url, as_of, args.workers, work / f"server-{kind}.log") as base:
        ceiling = locust(base, users_file, "Probe", args.users, args.duration, "0", work)
        working = locust(base, users_file, "CareManager", args.users, args.duration, "1,5", work)
        saturated = locust(base, users_file, "CareManager", args.users, args.duration, "0", work)
    print_rows(f"a. ceiling: GET /healthz, {args.users} users, no pause", ceiling)
    print_rows(
        f"b. working: {args.users} care managers, 1-5 s between pages (target worklist p95 <= 100 ms)",
        working,
    )
    print_rows(f"c. saturation: {args.users} care managers, no pause", saturated)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--records", type=int, default=1_000_000, help="tasks and contacts, half each")
    parser.add_argument("--users", type=int, default=50, help="care managers, one locust user each")
    parser.add_argument("--caseload", type=int, default=100, help="patients per care manager")
    parser.add_argument("--duration", type=int, default=60, help="seconds of each locust run")
    parser.add_argument("--workers", type=int, default=4, help="server worker processes (two per core)")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="work folder to keep and reuse (population, databases)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="carenav-bench-worklist-"))
    work = work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} cores; work folder {work}")
    try:
        folder, as_of = population(work, args.patients, args.seed)
        for kind in ("sqlite", "postgresql") if args.database == "both" else (args.database,):
            run(kind, args, work, folder, as_of)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
            if args.database != "sqlite":
                with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                    admin.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")


if __name__ == "__main__":
    main()
