"""Users for tests, made through the real account services, and the patients on their caseloads."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.accounts import services as account_services
from carenav.accounts.models import Organization, User
from carenav.accounts.services import care_manager_assign, user_actor, user_create
from carenav.patients.models import Patient

PASSWORD = "correct horse battery"

# Argon2 at the library's defaults costs ~0.1 s a hash; tests use lighter (still argon2id) parameters.
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def cheap_passwords(monkeypatch: pytest.MonkeyPatch) -> Iterator[PasswordHasher]:
    monkeypatch.setattr(account_services, "password_hasher", lambda: CHEAP_HASHER)
    monkeypatch.setattr(account_services, "_dummy_hash", lambda: CHEAP_HASHER.hash("dummy-password-x"))
    return CHEAP_HASHER


def make_user(
    session: Session,
    org: Organization,
    username: str,
    role: str = "care_manager",
    *,
    team: str | None = None,
    password: str = PASSWORD,
    display_name: str | None = None,
) -> User:
    return user_create(
        session=session,
        actor=Actor.operator(org.id, "tests"),
        username=username,
        role=role,
        password=password,
        display_name=display_name,
        team_name=team,
    )


def assign(session: Session, org: Organization, user: User, patient: Patient) -> None:
    care_manager_assign(
        session=session,
        actor=Actor.operator(org.id, "tests"),
        username=user.username,
        patient_uuid=patient.uuid,
    )


def actor_of(user: User) -> Actor:
    return user_actor(user)
