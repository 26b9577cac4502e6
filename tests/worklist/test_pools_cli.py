"""`carenav pools` at the command line (SQLite and PostgreSQL): add a pool with its members, list it, rename
it, add and remove members; a fault is one line naming what and where, and leaves nothing written."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.audit.models import AuditEvent
from carenav.cli.main import cli
from carenav.settings import get_settings
from tests.caseloads.helpers import make_team
from tests.databases import engine_for
from tests.web.users import cheap_passwords, make_user

__all__ = ["cheap_passwords"]


@pytest.fixture
def database(fresh_db_url: str, monkeypatch: pytest.MonkeyPatch, cheap_passwords: object) -> Iterator[str]:
    monkeypatch.setenv("CARENAV_DATABASE_URL", fresh_db_url)
    get_settings.cache_clear()
    with engine_for(fresh_db_url) as engine, Session(engine) as session, session.begin():
        team = make_team(session)  # sam.sup, nina.rn (nurse), sol.sw (social worker), otto.cm
        make_user(session, team.org, "ada.admin", "admin")
        make_user(session, team.org, "aud.it", "auditor")
    yield fresh_db_url
    get_settings.cache_clear()


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def pools(url: str) -> list[dict[str, object]]:
    code, out, _ = run("pools", "list", "--json")
    assert code == 0
    listed: list[dict[str, object]] = json.loads(out)
    return listed


def test_pools_add_list_rename_and_members(database: str) -> None:
    code, out, err = run(
        "pools", "add", "Social-Work", "--name", "Social work",
        "--discipline", "social-worker", "--user", "nina.rn", "--user", "nina.rn", "--json",
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert json.loads(out)["members"] == ["user:nina.rn", "discipline:social-worker"]
    code, out, _ = run(
        "pools", "add", "rn-line", "--name", "RN line", "--role", "care_manager", "--as", "ada.admin"
    )
    assert out.strip() == "pool rn-line (RN line) created; members: role:care_manager"
    code, out, _ = run("pools", "members", "add", "rn-line", "--user", "sam.sup", "--discipline", "nurse")
    assert (code, out.strip()) == (0, "added to pool rn-line: user:sam.sup, discipline:nurse")
    code, out, _ = run("pools", "members", "remove", "rn-line", "--role", "care_manager")
    assert (code, out.strip()) == (0, "removed from pool rn-line: role:care_manager")
    code, out, _ = run("pools", "rename", "rn-line", "--name", "Nurse line")
    assert (code, out.strip()) == (0, "pool rn-line is named Nurse line")
    assert [(p["key"], p["name"], p["members"], p["waiting"]) for p in pools(database)] == [
        ("rn-line", "Nurse line", ["user:sam.sup", "discipline:nurse"], 0),
        ("social-work", "Social work", ["user:nina.rn", "discipline:social-worker"], 0),
    ]
    code, out, _ = run("pools", "list")
    assert "social-work          Social work              0 waiting, 0 claimed; members: user:nina.rn" in out
    with engine_for(database) as engine, Session(engine) as session:
        audited = session.execute(
            select(AuditEvent.action, AuditEvent.actor)
            .where(AuditEvent.action.like("pool-%"))
            .order_by(AuditEvent.id)
        ).all()
    assert [tuple(row) for row in audited] == [
        ("pool-create", "operator:pools add"),
        ("pool-create", "user:ada.admin"),
        ("pool-member-add", "operator:pools members add"),
        ("pool-member-add", "operator:pools members add"),
        ("pool-member-remove", "operator:pools members remove"),
        ("pool-rename", "operator:pools rename"),
    ]


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (
            ["add", "social work", "--name", "Social work"],
            "carenav: pool key: 'social work': a pool key is 1 to 40 lower-case letters, digits and dashes",
        ),
        (
            ["add", "sw", "--name", "Social work", "--user", "sol.sw", "--user", "nobody"],
            "carenav: pool member: no active user nobody",
        ),
        (
            ["add", "sw", "--name", "Social work", "--user", "aud.it"],
            "carenav: pool member: aud.it does not work tasks (auditor)",
        ),
        (
            ["add", "sw", "--name", "Social work", "--as", "sam.sup"],
            "carenav: pool: only an administrator sets up team pools",
        ),
        (["add", "sw", "--name", " "], "carenav: pool name: name the pool"),
        (["members", "add", "pharmacy", "--user", "nina.rn"], "carenav: pool: no pool pharmacy"),
        (["members", "add", "sw"], "carenav: --user/--role/--discipline: name at least one member"),
    ],
)
def test_faults_say_what_and_where_and_write_nothing(database: str, args: list[str], reason: str) -> None:
    code, out, err = run("pools", *args)
    assert (code, out, err.strip()) == (1, "", reason)
    assert pools(database) == []


def test_members_are_added_all_or_none(database: str) -> None:
    assert run("pools", "add", "sw", "--name", "Social work", "--user", "sol.sw")[0] == 0
    code, _, err = run("pools", "members", "add", "sw", "--user", "nina.rn", "--user", "sol.sw")
    assert (code, err.strip()) == (1, "carenav: pool member: user:sol.sw is already a member of pool sw")
    code, _, err = run("pools", "members", "remove", "sw", "--user", "sol.sw", "--role", "supervisor")
    assert (code, err.strip()) == (1, "carenav: pool member: role:supervisor is not a member of pool sw")
    assert [p["members"] for p in pools(database)] == [["user:sol.sw"]], "nothing half-written"
    code, _, err = run("pools", "add", "sw2", "--name", "x", "--role", "auditor")
    assert code == 2, "click refuses a role that works no tasks"
    assert "'auditor' is not one of 'care_manager', 'supervisor', 'admin'" in err
