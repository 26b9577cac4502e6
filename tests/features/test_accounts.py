"""`carenav users` at the command line, and the account services' rules (hashing, lockout, teams)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.accounts.models import User
from carenav.accounts.rules import MIN_PASSWORD_LENGTH, password_problem
from carenav.accounts.services import LoginPolicy, user_authenticate, user_create, user_set_password
from carenav.audit.models import AuditEvent
from carenav.cli.main import cli
from carenav.clock import frozen_at, now
from carenav.db.session import make_session_factory, unit_of_work
from carenav.errors import Conflict, Forbidden, InvalidInput
from carenav.settings import get_settings
from tests.builders import make_org, make_patient
from tests.databases import engine_for
from tests.web.users import PASSWORD, cheap_passwords, make_user

__all__ = ["cheap_passwords"]

POLICY = LoginPolicy(max_failed_logins=3, lockout_minutes=10, session_hours=1)


@pytest.fixture
def database(fresh_db_url: str, monkeypatch: pytest.MonkeyPatch, cheap_passwords: object) -> Iterator[str]:
    monkeypatch.setenv("CARENAV_DATABASE_URL", fresh_db_url)
    get_settings.cache_clear()
    yield fresh_db_url
    get_settings.cache_clear()


def _run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


def test_users_add_list_set_password_unlock_deactivate_assign(database: str) -> None:
    code, out, err = _run(
        "users",
        "add",
        "--username",
        "amy.cm",
        "--role",
        "care_manager",
        "--team",
        "North",
        "--display-name",
        "Amy Care",
        "--password-stdin",
        input=f"{PASSWORD}\n",
    )
    assert code == 0, err
    assert "added amy.cm" in out
    code, out, err = _run(
        "users",
        "add",
        "--username",
        "sam.sup",
        "--role",
        "supervisor",
        "--team",
        "North",
        input=f"{PASSWORD}\n",
    )
    assert code == 0, err
    code, out, _ = _run("users", "list", "--json")
    listed = {row["username"]: row for row in json.loads(out)}
    assert listed["amy.cm"]["role"] == "care_manager"
    assert listed["amy.cm"]["team"] == "North"
    assert listed["sam.sup"]["team"] == "North"
    assert listed["amy.cm"]["active"] is True

    with engine_for(database) as engine, Session(engine) as session:
        org_id = session.scalars(select(User.org_id).where(User.username == "amy.cm")).one()
        for _ in range(3):
            user_authenticate(session=session, username="amy.cm", password="wrong password!", policy=POLICY)
        session.commit()
        from carenav.accounts.models import Organization

        org = session.get_one(Organization, org_id)
        patient_uuid = make_patient(session, org, family="Shaw").uuid
        session.commit()
    _, out, _ = _run("users", "list", "--json")
    assert {r["username"]: r for r in json.loads(out)}["amy.cm"]["locked"] is True
    assert "locked" in _run("users", "list")[1]

    assert _run("users", "unlock", "--username", "amy.cm")[0] == 0
    code, _, err = _run("users", "set-password", "--username", "amy.cm", input="another long password\n")
    assert code == 0, err
    assert _run("users", "assign", "--username", "amy.cm", "--patient", patient_uuid)[0] == 0
    with engine_for(database) as engine, Session(engine) as session:
        attempt = user_authenticate(
            session=session, username="amy.cm", password="another long password", policy=POLICY
        )
        assert attempt.user is not None
        amy = Actor(org_id=org_id, label="user:amy.cm", user_id=attempt.user.id, role="care_manager")
        from carenav.patients.queries import patient_read

        assert patient_read(session=session, actor=amy, patient_uuid=patient_uuid).uuid == patient_uuid
        session.rollback()

    assert _run("users", "deactivate", "--username", "amy.cm")[0] == 0
    _, out, _ = _run("users", "list", "--json")
    assert {r["username"]: r for r in json.loads(out)}["amy.cm"]["active"] is False
    with engine_for(database) as engine, Session(engine) as session:
        actions = set(session.scalars(select(AuditEvent.action).where(AuditEvent.entity_id == "amy.cm")))
    assert {"user-create", "lockout", "user-unlock", "user-password", "user-deactivate"} <= actions


def test_users_add_refuses_bad_input_with_a_reason(database: str) -> None:
    code, _, err = _run("users", "add", "--username", "Bad Name", "--role", "admin", input=f"{PASSWORD}\n")
    assert code == 1
    assert "username" in err
    code, _, err = _run("users", "add", "--username", "ok.name", "--role", "admin", input="short\n")
    assert code == 1
    assert f"at least {MIN_PASSWORD_LENGTH} characters" in err
    code, _, err = _run(
        "users", "add", "--username", "aud", "--role", "auditor", "--team", "X", input=f"{PASSWORD}\n"
    )
    assert code == 1
    assert "team" in err
    assert _run("users", "add", "--username", "ok.name", "--role", "admin", input=f"{PASSWORD}\n")[0] == 0
    code, _, err = _run("users", "add", "--username", "ok.name", "--role", "admin", input=f"{PASSWORD}\n")
    assert code == 1
    assert "taken" in err
    code, _, err = _run("users", "unlock", "--username", "nobody")
    assert code == 1
    assert "no user 'nobody'" in err


def test_a_good_password_is_rehashed_when_the_parameters_change(
    session: Session, cheap_passwords: object
) -> None:
    org = make_org(session)
    user = make_user(session, org, "amy.cm")
    older = PasswordHasher(time_cost=1, memory_cost=512, parallelism=1)
    user.password_hash = older.hash(PASSWORD)
    session.flush()
    assert user_authenticate(session=session, username="amy.cm", password=PASSWORD, policy=POLICY).user
    assert user.password_hash.startswith("$argon2id$")
    assert "m=1024" in user.password_hash, "rehashed with the current parameters"
    assert user.last_login_at is not None


def test_a_success_resets_the_failure_count(session: Session, cheap_passwords: object) -> None:
    org = make_org(session)
    user = make_user(session, org, "amy.cm")
    for _ in range(POLICY.max_failed_logins - 1):
        assert (
            user_authenticate(session=session, username="amy.cm", password="x" * 12, policy=POLICY).user
            is None
        )
    assert user_authenticate(session=session, username="amy.cm", password=PASSWORD, policy=POLICY).user
    assert user.failed_login_count == 0
    assert (
        user_authenticate(session=session, username="amy.cm", password="x" * 12, policy=POLICY).user is None
    )
    assert user.locked_until is None, "failures are counted in a row"


def test_lock_expires_and_counting_starts_again(session: Session, cheap_passwords: object) -> None:
    org = make_org(session)
    user = make_user(session, org, "amy.cm")
    start = now()
    with frozen_at(start):
        for _ in range(POLICY.max_failed_logins):
            user_authenticate(session=session, username="amy.cm", password="x" * 12, policy=POLICY)
        assert user.locked_until == start + timedelta(minutes=POLICY.lockout_minutes)
    with frozen_at(start + timedelta(minutes=POLICY.lockout_minutes - 1)):
        assert (
            user_authenticate(session=session, username="amy.cm", password=PASSWORD, policy=POLICY).reason
            == "locked"
        )
    with frozen_at(start + timedelta(minutes=POLICY.lockout_minutes)):
        attempt = user_authenticate(session=session, username="amy.cm", password=PASSWORD, policy=POLICY)
        assert attempt.reason == "ok"


def test_only_operators_and_admins_manage_users(session: Session, cheap_passwords: object) -> None:
    org = make_org(session)
    amy = make_user(session, org, "amy.cm")
    ada = make_user(session, org, "ada.admin", "admin")
    cm = Actor(org_id=org.id, label="user:amy.cm", user_id=amy.id, role="care_manager")
    with pytest.raises(Forbidden):
        user_create(session=session, actor=cm, username="new.one", role="admin", password=PASSWORD)
    with pytest.raises(Forbidden):
        user_set_password(session=session, actor=cm, username="ada.admin", password=PASSWORD)
    admin = Actor(org_id=org.id, label="user:ada.admin", user_id=ada.id, role="admin")
    assert user_create(session=session, actor=admin, username="new.one", role="auditor", password=PASSWORD)
    with pytest.raises(Conflict):
        user_create(session=session, actor=admin, username="new.one", role="auditor", password=PASSWORD)
    with pytest.raises(InvalidInput):
        user_create(session=session, actor=admin, username="x.y", role="superuser", password=PASSWORD)


@given(st.text(max_size=40))
def test_password_rule_is_length_and_no_surrounding_space(password: str) -> None:
    problem = password_problem(password)
    ok = len(password) >= MIN_PASSWORD_LENGTH and password.strip() == password
    assert (problem is None) == ok


def test_sign_in_checks_the_password_outside_the_write_lock_and_counts_parallel_failures(
    fresh_db_url: str, cheap_passwords: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sign-in form is a reads-first unit: while one attempt checks its password (the slow part),
    others may write. A parallel failure that locks the account is still counted, and a good password
    checked meanwhile is refused."""
    import carenav.accounts.services as accounts

    with engine_for(fresh_db_url) as engine:
        sessions = make_session_factory(engine)
        with unit_of_work(sessions) as setup:
            org = make_org(setup)
            make_user(setup, org, "amy.cm")
        with unit_of_work(sessions) as setup:  # one failure short of the lock
            for _ in range(POLICY.max_failed_logins - 1):
                user_authenticate(session=setup, username="amy.cm", password="x" * 12, policy=POLICY)
        real_check = accounts._password_matches
        parallel: list[str] = []

        def check_while_another_fails(stored_hash: str | None, password: str) -> bool:
            if not parallel:  # the first check: another sign-in fails and commits meanwhile
                parallel.append("failing")
                with unit_of_work(sessions, reads_first=True) as other:
                    attempt = user_authenticate(
                        session=other, username="amy.cm", password="y" * 12, policy=POLICY
                    )
                parallel.append(attempt.reason)
            return real_check(stored_hash, password)

        monkeypatch.setattr(accounts, "_password_matches", check_while_another_fails)
        with unit_of_work(sessions, reads_first=True) as session:
            attempt = user_authenticate(session=session, username="amy.cm", password=PASSWORD, policy=POLICY)
        assert parallel == ["failing", "bad-password"]
        assert attempt.reason == "locked", "the parallel failure locked the account before this one wrote"
        with unit_of_work(sessions) as check:
            user = check.scalars(select(User).where(User.username == "amy.cm")).one()
            assert user.failed_login_count == POLICY.max_failed_logins
            assert user.locked_until is not None
            assert user.last_login_at is None
