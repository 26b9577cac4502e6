"""Who is acting, and the gatekeepers every patient-scoped read and write goes through.

An ``Actor`` is built at the edge (a web login, an API token, a CLI operator, a feed) and passed to
services. Gatekeepers answer NotFound, never Forbidden, for a patient outside the actor's reach, so
that the existence of a patient is not revealed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Integer, and_, false, literal, or_, select, union_all
from sqlalchemy.orm import Session

from carenav.accounts.models import User
from carenav.caseloads.models import Coverage
from carenav.clock import today
from carenav.db.session import kept_for_reads
from carenav.errors import NotFound
from carenav.patients.models import CareTeamMember, Patient


@dataclass(frozen=True)
class Actor:
    """The principal of a request or job.

    ``kind``: user (a person signed in, or their API token), operator (the CLI), system (a feed or job).
    ``user_id`` and ``role`` are set for users; ``team_id`` for care managers and supervisors in a team;
    ``partner_organization_id`` for a partner (a community organization of the resource directory,
    which reaches no patient, only the referrals sent to it: ``referrals.services.referral_scope``).
    """

    org_id: int
    label: str
    kind: str = "user"
    user_id: int | None = None
    role: str | None = None
    team_id: int | None = None
    client_addr: str | None = None
    channel: str = "web"
    scopes: frozenset[str] = field(default_factory=frozenset)
    partner_organization_id: int | None = None

    @classmethod
    def operator(cls, org_id: int, label: str = "cli") -> Actor:
        """An operator at the command line: full reach within one organization."""
        return cls(org_id=org_id, label=f"operator:{label}", kind="operator", channel="cli")

    @classmethod
    def system(cls, org_id: int, label: str, channel: str = "feed") -> Actor:
        """A feed or background job acting for one organization."""
        return cls(org_id=org_id, label=f"system:{label}", kind="system", channel=channel)

    @property
    def sees_whole_organization(self) -> bool:
        """Operators, jobs and admins reach every patient of their organization."""
        return self.kind in {"operator", "system"} or self.role == "admin"


def patient_scope(actor: Actor) -> ColumnElement[bool]:
    """SQL condition on ``Patient`` for the patients ``actor`` may see.

    - operators, jobs and admins: every patient of their organization;
    - care managers: the patients on their caseload (an active care-team membership naming them), and,
      while they cover for a colleague away (a ``caseloads.models.Coverage`` not ended, whose period holds
      today by the clock, in UTC), that colleague's caseload too;
    - supervisors: their own caseload and that of every member of their team;
    - auditors, partners and anyone else: no patient (auditors read the audit trail, not the record;
      partners the referrals sent to them).

    The condition is built once per actor and day and then reused (SQL expressions are immutable; building
    one costs more than many of the queries that use it).
    """
    return _scope(actor, today())


@lru_cache(maxsize=512)
def _scope(actor: Actor, day: date) -> ColumnElement[bool]:
    in_org = Patient.org_id == actor.org_id
    if actor.sees_whole_organization:
        return in_org
    if actor.role == "care_manager" and actor.user_id is not None:
        covered = select(Coverage.user_id).where(
            Coverage.org_id == actor.org_id,
            Coverage.covered_by_user_id == actor.user_id,
            Coverage.starts_on <= day,
            Coverage.ends_on >= day,
            Coverage.ended_at.is_(None),
        )
        # Their own and those they cover, as one set: written as "user_id = me OR user_id IN (covered)",
        # PostgreSQL guessed half the care team rows would match and read every patient to join them.
        people = union_all(select(literal(actor.user_id, Integer)), covered)
        members = select(CareTeamMember.patient_id).where(
            CareTeamMember.user_id.in_(people), CareTeamMember.active.is_(True)
        )
        return and_(in_org, Patient.id.in_(members))
    if actor.role == "supervisor" and actor.user_id is not None:
        team_users = select(User.id).where(
            User.org_id == actor.org_id,
            or_(User.id == actor.user_id, and_(User.team_id.is_not(None), User.team_id == actor.team_id)),
        )
        members = select(CareTeamMember.patient_id).where(
            CareTeamMember.user_id.in_(team_users), CareTeamMember.active.is_(True)
        )
        return and_(in_org, Patient.id.in_(members))
    return false()


def patient_visible(*, session: Session, actor: Actor, patient_uuid: str) -> Patient:
    """The patient with this FHIR id if ``actor`` may see it; NotFound otherwise (never Forbidden). In a
    reads-first unit (a page opened) the answer is kept for the unit: its panels each ask."""
    return _visible(session, actor, patient_uuid)


@kept_for_reads
def _visible(session: Session, actor: Actor, patient_uuid: str) -> Patient:
    patient = session.scalar(select(Patient).where(Patient.uuid == patient_uuid, patient_scope(actor)))
    if patient is None:
        raise NotFound(f"no patient {patient_uuid}", where="Patient")
    return patient


R = TypeVar("R")


def record_in_reach(
    *, session: Session, actor: Actor, model: type[R], uuid: str, what: str | None = None
) -> tuple[R, Patient]:
    """A row of a patient's record (``model`` has ``uuid`` and ``patient_id``) and its patient, if the actor
    may see the patient; NotFound naming ``what`` otherwise, as for a uuid that does not exist."""
    table: Any = model
    row = session.execute(
        select(table, Patient)
        .join(Patient, Patient.id == table.patient_id)
        .where(table.uuid == uuid, patient_scope(actor))
    ).first()
    if row is None:
        raise NotFound(f"no {what or table.__name__} {uuid}", where=table.__name__)
    return row[0], row[1]


def patient_row(*, session: Session, model: type[R], uuid: str, patient: Patient, what: str) -> R:
    """A row of this patient's record by its uuid (a goal, a condition, a related person...); NotFound
    naming ``what`` when the patient has none such."""
    table: Any = model
    row = session.scalar(select(table).where(table.uuid == uuid, table.patient_id == patient.id))
    if row is None:
        raise NotFound(f"the patient has no {what} {uuid}", where=what)
    found: R = row
    return found
