"""`carenav caseloads` at the command line (SQLite and PostgreSQL): reassign with its trail, as the operator
or as a named supervisor whose team limits apply; coverage set, listed and ended; each fault a one-line
reason naming the option or record, with nothing written."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carenav.audit.models import AuditEvent
from carenav.caseloads.models import CaseloadChange, Coverage
from carenav.cli.main import cli
from carenav.settings import get_settings
from tests.builders import make_patient
from tests.caseloads.helpers import make_team
from tests.databases import engine_for
from tests.web.users import assign, cheap_passwords

__all__ = ["cheap_passwords"]

SUPERVISORS_ONLY = "carenav: caseloads: only supervisors and administrators manage caseloads"


@pytest.fixture
def database(fresh_db_url: str, monkeypatch: pytest.MonkeyPatch, cheap_passwords: object) -> Iterator[str]:
    monkeypatch.setenv("CARENAV_DATABASE_URL", fresh_db_url)
    monkeypatch.setenv("CARENAV_FIXED_NOW", "2025-06-10T14:00:00+00:00")
    get_settings.cache_clear()
    yield fresh_db_url
    get_settings.cache_clear()


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def _patients(url: str) -> tuple[str, str]:
    """The north team (tests.caseloads.helpers) with Jane and Joe on nina.rn's caseload."""
    with engine_for(url) as engine, Session(engine) as session, session.begin():
        team = make_team(session)
        jane = make_patient(session, team.org, given="Jane")
        joe = make_patient(session, team.org, given="Joe")
        assign(session, team.org, team.nina, jane)
        assign(session, team.org, team.nina, joe)
        return jane.uuid, joe.uuid


def _count(url: str, model: type[CaseloadChange] | type[Coverage]) -> int:
    with engine_for(url) as engine, Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_reassign_as_a_supervisor_and_read_the_trail(database: str) -> None:
    jane, joe = _patients(database)
    code, out, err = run(
        "caseloads", "reassign", "--patient", jane, "--to", "sol.sw", "--reason", "social needs",
        "--as", "sam.sup", "--json",
    )  # fmt: skip
    assert (code, err) == (0, "")
    moved = json.loads(out)
    assert (moved["from"], moved["to"], moved["by"], moved["reason"]) == (
        "nina.rn", "sol.sw", "user:sam.sup", "social needs",
    )  # fmt: skip
    code, out, _ = run("caseloads", "reassign", "--patient", joe, "--to", "sol.sw", "--reason", "balancing")
    assert (code, out.strip()) == (0, f"patient {joe} moved from nina.rn to sol.sw")
    code, out, _ = run("caseloads", "trail", "--patient", jane, "--json")
    assert [(r["from"], r["to"], r["by"]) for r in json.loads(out)] == [("nina.rn", "sol.sw", "user:sam.sup")]
    code, out, _ = run("caseloads", "trail", "--patient", joe)
    assert "nina.rn -> sol.sw  by operator:caseloads reassign: balancing" in out
    with engine_for(database) as engine, Session(engine) as session:
        audited = session.scalars(
            select(AuditEvent.actor).where(AuditEvent.action == "caseload-reassign")
        ).all()
    assert sorted(audited) == ["operator:caseloads reassign", "user:sam.sup"]


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--to", "sol.sw", "--reason", " "], "carenav: reason: say why the patient moves"),
        (
            ["--to", "otto.cm", "--reason", "x", "--as", "sam.sup"],
            "carenav: username: 'otto.cm' is not in the team you lead",
        ),
        (["--to", "sol.sw", "--reason", "x", "--as", "nina.rn"], SUPERVISORS_ONLY),
        (
            ["--to", "sol.sw", "--reason", "x", "--as", "nobody"],
            "carenav: --as: no user 'nobody' in this organization",
        ),
        (["--to", "nobody", "--reason", "x"], "carenav: username: no user 'nobody' in this organization"),
    ],
)  # fmt: skip
def test_reassign_faults_say_what_and_where_and_write_nothing(
    database: str, args: list[str], reason: str
) -> None:
    jane, _ = _patients(database)
    code, out, err = run("caseloads", "reassign", "--patient", jane, *args)
    assert (code, out) == (1, "")
    assert err.strip() == reason
    assert _count(database, CaseloadChange) == 0


def test_an_unknown_patient_is_named(database: str) -> None:
    _patients(database)
    code, _, err = run("caseloads", "reassign", "--patient", "no-such-id", "--to", "sol.sw", "--reason", "x")
    assert (code, err.strip()) == (1, "carenav: Patient: no patient no-such-id")


def test_coverage_set_list_and_end(database: str) -> None:
    _patients(database)
    code, out, err = run(
        "caseloads", "coverage", "set", "--away", "nina.rn", "--covered-by", "sol.sw",
        "--starts-on", "2025-06-09", "--ends-on", "2025-06-13", "--note", "leave",
        "--as", "sam.sup", "--json",
    )  # fmt: skip
    assert (code, err) == (0, "")
    coverage = json.loads(out)
    assert (coverage["away"], coverage["covered_by"], coverage["set_by"]) == (
        "nina.rn",
        "sol.sw",
        "user:sam.sup",
    )
    code, out, _ = run("caseloads", "coverage", "list")
    assert out.strip() == f"{coverage['coverage']}  sol.sw covers nina.rn 2025-06-09..2025-06-13  leave"
    code, out, _ = run("caseloads", "coverage", "list", "--on", "2025-06-14")
    assert out.strip() == "nobody is covered on or after 2025-06-14"
    code, _, err = run("caseloads", "coverage", "list", "--as", "nina.rn")
    assert (code, err.strip()) == (1, SUPERVISORS_ONLY)
    code, out, _ = run("caseloads", "coverage", "end", coverage["coverage"], "--as", "sam.sup", "--json")
    ended = json.loads(out)
    assert (code, ended["ended_by"]) == (0, "user:sam.sup")
    assert ended["ended_at"].startswith("2025-06-10T14:00:00")
    assert run("caseloads", "coverage", "list", "--json")[1].strip() == "[]"
    code, _, err = run("caseloads", "coverage", "end", "no-such-coverage")
    assert (code, err.strip()) == (1, "carenav: Coverage: no coverage no-such-coverage")


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (
            ["--starts-on", "2025-13-01", "--ends-on", "2025-06-13"],
            "carenav: --starts-on: '2025-13-01' is not a date (YYYY-MM-DD)",
        ),
        (
            ["--starts-on", "2025-06-13", "--ends-on", "2025-06-09"],
            "carenav: ends_on: the coverage ends before it starts",
        ),
        (["--starts-on", "2025-06-09", "--ends-on", "2025-06-13", "--as", "nina.rn"], SUPERVISORS_ONLY),
    ],
)  # fmt: skip
def test_coverage_faults_say_what_and_where_and_write_nothing(
    database: str, args: list[str], reason: str
) -> None:
    _patients(database)
    code, out, err = run("caseloads", "coverage", "set", "--away", "nina.rn", "--covered-by", "sol.sw", *args)
    assert (code, out, err.strip()) == (1, "", reason)
    assert _count(database, Coverage) == 0
