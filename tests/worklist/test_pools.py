"""Setting up team pools (SQLite and PostgreSQL): administrators create pools with members by user, role
or discipline, rename them and change their members, each audited; a bad member leaves nothing written;
who belongs decides who may claim; the last member cannot leave while work waits; supervisors see the
set-up, care managers do not."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.accounts.services import user_set_discipline
from carenav.audit.models import AuditEvent
from carenav.clock import frozen_at
from carenav.errors import Conflict, Forbidden, InvalidInput, NotFound, RuleViolation
from carenav.tasks.services import task_create
from carenav.worklist.models import WorkPool, WorkPoolMember
from carenav.worklist.rules import PoolMemberKind, PoolMemberSpec, pool_member_parse
from carenav.worklist.services import (
    pool_create,
    pool_get,
    pool_member_add,
    pool_member_remove,
    pool_rename,
    pools_overview,
    task_claim,
    task_hand_off,
)
from tests.builders import make_org, make_patient
from tests.web.users import actor_of, assign, cheap_passwords, make_user

__all__ = ["cheap_passwords"]

MONDAY = datetime(2025, 6, 2, 14, 0, tzinfo=UTC)


class Org:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.org = make_org(session)
        self.operator = Actor.operator(self.org.id, "tests")
        self.admin = actor_of(make_user(session, self.org, "ada.admin", "admin"))
        self.sup = actor_of(make_user(session, self.org, "sam.sup", "supervisor", team="north"))
        self.casey_user = make_user(session, self.org, "casey.cm", team="north")
        self.casey = actor_of(self.casey_user)
        self.sol = actor_of(make_user(session, self.org, "sol.sw", team="north", display_name="Sol Social"))
        self.auditor = make_user(session, self.org, "aud.it", "auditor")
        user_set_discipline(
            session=session, actor=self.operator, username="sol.sw", discipline="social-worker"
        )

    def pool_rows(self) -> int:
        return (
            self.session.scalar(
                select(func.count()).select_from(WorkPool).where(WorkPool.org_id == self.org.id)
            )
            or 0
        )


@pytest.fixture
def org(session: Session, cheap_passwords: object) -> Org:
    return Org(session)


def _audit(session: Session, pool: WorkPool) -> list[tuple[str, str | None, str]]:
    return [
        (e.action, e.detail, e.actor)
        for e in session.scalars(
            select(AuditEvent).where(AuditEvent.entity_id == pool.uuid).order_by(AuditEvent.id)
        )
    ]


def _members(session: Session, pool: WorkPool) -> list[str]:
    return [
        str(v.spec)
        for o in pools_overview(session=session, actor=Actor.operator(pool.org_id))
        if o.pool.id == pool.id
        for v in o.members
    ]


def test_an_admin_sets_up_a_pool_and_its_members(session: Session, org: Org) -> None:
    pool = pool_create(
        session=session,
        actor=org.admin,
        key=" Social-Work ",
        name=" Social work ",
        disciplines=["social-worker"],
        members=[pool_member_parse("user:casey.cm"), pool_member_parse("discipline:social-worker")],
    )
    assert (pool.key, pool.name) == ("social-work", "Social work")
    assert _members(session, pool) == ["discipline:social-worker", "user:casey.cm"], "named twice, kept once"
    pool_rename(session=session, actor=org.admin, key="social-work", name="Social work and housing")
    pool_member_add(
        session=session, actor=org.admin, key="social-work", member=pool_member_parse("role:supervisor")
    )
    pool_member_remove(
        session=session, actor=org.admin, key="social-work", member=pool_member_parse("user:casey.cm")
    )
    assert pool_get(session, org.admin, "social-work").name == "Social work and housing"
    assert _members(session, pool) == ["discipline:social-worker", "role:supervisor"]
    assert _audit(session, pool) == [
        (
            "pool-create",
            "social-work (Social work) with discipline:social-worker, user:casey.cm",
            "user:ada.admin",
        ),
        ("pool-rename", "social-work: Social work -> Social work and housing", "user:ada.admin"),
        ("pool-member-add", "social-work: role:supervisor", "user:ada.admin"),
        ("pool-member-remove", "social-work: user:casey.cm", "user:ada.admin"),
    ]
    overview = pools_overview(session=session, actor=org.sup)
    assert [(o.pool.key, [m.label for m in o.members]) for o in overview] == [
        ("social-work", ["every social worker", "every supervisor"])
    ]


def test_a_bad_member_leaves_no_pool_behind(session: Session, org: Org) -> None:
    with pytest.raises(NotFound, match="no active user nobody") as missing:
        pool_create(
            session=session,
            actor=org.admin,
            key="rn-line",
            name="RN line",
            roles=["care_manager"],
            usernames=["nobody"],
        )
    assert missing.value.where == "pool member"
    with pytest.raises(InvalidInput, match=r"aud\.it does not work tasks"):
        pool_create(session=session, actor=org.admin, key="rn-line", name="RN line", usernames=["aud.it"])
    with pytest.raises(InvalidInput, match="'auditor' is not a role that works tasks"):
        pool_create(session=session, actor=org.admin, key="rn-line", name="RN line", roles=["auditor"])
    assert org.pool_rows() == 0
    assert session.scalar(select(func.count()).select_from(WorkPoolMember)) == 0


def test_keys_and_names_are_unique_and_only_admins_set_pools_up(session: Session, org: Org) -> None:
    pool_create(session=session, actor=org.operator, key="pharmacy", name="Pharmacy", roles=["care_manager"])
    with pytest.raises(Conflict, match="already a pool pharmacy"):
        pool_create(session=session, actor=org.admin, key="PHARMACY", name="Meds")
    with pytest.raises(Conflict, match="pool pharmacy is already named 'pharmacy'") as named:
        pool_create(session=session, actor=org.admin, key="meds", name="pharmacy")
    assert named.value.where == "pool name"
    pool_create(session=session, actor=org.admin, key="rn-line", name="RN line")
    with pytest.raises(Conflict, match="already named"):
        pool_rename(session=session, actor=org.admin, key="rn-line", name="Pharmacy")
    with pytest.raises(NotFound, match="no pool nowhere"):
        pool_rename(session=session, actor=org.admin, key="nowhere", name="X")
    with pytest.raises(InvalidInput, match="name the pool"):
        pool_rename(session=session, actor=org.admin, key="rn-line", name="  ")
    spec = PoolMemberSpec(PoolMemberKind.ROLE, "care_manager")
    with pytest.raises(Conflict, match="role:care_manager is already a member of pool pharmacy"):
        pool_member_add(session=session, actor=org.admin, key="pharmacy", member=spec)
    with pytest.raises(NotFound, match="role:supervisor is not a member of pool pharmacy"):
        pool_member_remove(
            session=session, actor=org.admin, key="pharmacy", member=pool_member_parse("role:supervisor")
        )
    for actor in (org.sup, org.casey, Actor.system(org.org.id, "job")):
        with pytest.raises(Forbidden, match="only an administrator sets up team pools"):
            pool_create(session=session, actor=actor, key="x", name="X")
        with pytest.raises(Forbidden):
            pool_rename(session=session, actor=actor, key="pharmacy", name="X")
        with pytest.raises(Forbidden):
            pool_member_add(
                session=session, actor=actor, key="pharmacy", member=pool_member_parse("role:admin")
            )
        with pytest.raises(Forbidden):
            pool_member_remove(session=session, actor=actor, key="pharmacy", member=spec)
    with pytest.raises(Forbidden, match="only supervisors and administrators"):
        pools_overview(session=session, actor=org.casey)
    assert pool_get(session, org.admin, "rn-line").name == "RN line"


def test_membership_decides_who_claims_and_the_last_member_stays_while_work_waits(
    session: Session, org: Org
) -> None:
    patient = make_patient(session, org.org)
    assign(session, org.org, org.casey_user, patient)
    with frozen_at(MONDAY):
        pool = pool_create(
            session=session, actor=org.admin, key="social-work", name="Social work", usernames=["casey.cm"]
        )
        first, second = (
            task_create(session=session, actor=org.operator, patient=patient, title=t, due_on=MONDAY.date())
            for t in ("Housing", "Food")
        )
        for task in (first, second):
            task_hand_off(
                session=session,
                actor=org.operator,
                task_uuid=task.uuid,
                to_pool_key="social-work",
                note="social need",
            )
        assert (first.pool_id, first.assigned_user_id) == (pool.id, None)
        with pytest.raises(RuleViolation, match="last member of pool social-work and 2 task"):
            pool_member_remove(
                session=session, actor=org.admin, key="social-work", member=pool_member_parse("user:casey.cm")
            )
        with pytest.raises(NotFound):  # sol reaches neither the patient nor the pool
            task_claim(session=session, actor=org.sol, task_uuid=first.uuid)
        pool_member_add(
            session=session,
            actor=org.admin,
            key="social-work",
            member=pool_member_parse("discipline:social-worker"),
        )
        task_claim(session=session, actor=org.sol, task_uuid=first.uuid)
        overview = pools_overview(session=session, actor=org.admin)
        assert [(o.waiting, o.claimed) for o in overview] == [(1, 1)]
        pool_member_remove(
            session=session, actor=org.admin, key="social-work", member=pool_member_parse("user:casey.cm")
        )
        with pytest.raises(Forbidden, match="only members of Social work"):
            task_claim(session=session, actor=org.casey, task_uuid=second.uuid)
        assert first.assigned_user_id is not None, "a removed member's claims stay theirs"
