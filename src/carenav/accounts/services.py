"""Writes for organizations, teams, users and tokens. Services flush; the caller commits."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from carenav.access import Actor, patient_visible
from carenav.accounts.models import Credential, Organization, Team, User, WebSession
from carenav.accounts.rules import Role, password_problem, slug_problem, username_problem
from carenav.audit.models import AuditEvent
from carenav.audit.services import audit_record
from carenav.caseloads.rules import Discipline
from carenav.clock import now, today
from carenav.errors import Conflict, Forbidden, InvalidInput, NotFound, RuleViolation
from carenav.patients.models import CareTeamMember
from carenav.patients.rules import CareTeamRole
from carenav.resources.models import ResourceOrganization

DEFAULT_ORG_SLUG = "default"


def organization_create(*, session: Session, slug: str, name: str, timezone: str) -> Organization:
    problem = slug_problem(slug)
    if problem:
        raise InvalidInput(problem, where=f"organization {slug!r}")
    org = Organization(slug=slug, name=name, timezone=timezone)
    session.add(org)
    session.flush()
    return org


def organization_resolve(*, session: Session, slug: str | None, timezone: str) -> Organization:
    """The organization a command acts on.

    With a slug: that organization, or NotFound. Without: the only organization, created as
    ``default`` on first use; with several, the caller must say which.
    """
    if slug is not None:
        org = session.scalar(select(Organization).where(Organization.slug == slug))
        if org is None:
            raise NotFound(f"no organization with slug {slug!r}")
        return org
    count: int = session.scalar(select(func.count()).select_from(Organization)) or 0
    if count == 0:
        return organization_create(
            session=session, slug=DEFAULT_ORG_SLUG, name="Default organization", timezone=timezone
        )
    if count > 1:
        slugs = ", ".join(session.scalars(select(Organization.slug).order_by(Organization.slug)))
        raise InvalidInput(f"there are several organizations ({slugs}); name one with --org SLUG")
    return session.scalars(select(Organization)).one()


# --- Passwords -------------------------------------------------------------------------------------------

_DUMMY_PASSWORD = "not-a-password-just-for-equal-timing"  # noqa: S105


@lru_cache(maxsize=1)
def password_hasher() -> PasswordHasher:
    """Argon2id with the library's current recommended parameters. Hashes made with older parameters are
    rehashed at the next successful login (``check_needs_rehash``)."""
    return PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return password_hasher().hash(_DUMMY_PASSWORD)


def password_hash(password: str) -> str:
    problem = password_problem(password)
    if problem:
        raise InvalidInput(problem, where="password")
    return password_hasher().hash(password)


def _password_matches(stored_hash: str | None, password: str) -> bool:
    hasher = password_hasher()
    try:
        return hasher.verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# --- Teams and users -------------------------------------------------------------------------------------


def team_resolve(*, session: Session, org: Organization, name: str) -> Team:
    """The team of this name in ``org``, created on first use."""
    name = name.strip()
    if not name:
        raise InvalidInput("a team needs a name", where="team")
    team = session.scalar(select(Team).where(Team.org_id == org.id, Team.name == name))
    if team is None:
        team = Team(org_id=org.id, name=name)
        session.add(team)
        session.flush()
    return team


def _require_user_admin(actor: Actor) -> None:
    """Operators (the CLI) and administrators manage users; nobody else."""
    if not (actor.kind == "operator" or actor.role == Role.ADMIN):
        raise Forbidden("only administrators manage users", where="users")


def user_create(
    *,
    session: Session,
    actor: Actor,
    username: str,
    role: str,
    password: str,
    display_name: str | None = None,
    team_name: str | None = None,
    partner_organization: str | None = None,
) -> User:
    """A new user of the actor's organization. Care managers and supervisors may belong to a team
    (a supervisor leads the team named); admins and auditors may not. A partner speaks for one
    organization of the resource directory (``partner_organization``: its id), and only a partner does."""
    _require_user_admin(actor)
    problem = username_problem(username)
    if problem:
        raise InvalidInput(problem, where=f"username {username!r}")
    try:
        role_value = Role(role)
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise InvalidInput(f"unknown role {role!r}; choose one of {choices}", where="role") from None
    if team_name and role_value not in {Role.CARE_MANAGER, Role.SUPERVISOR}:
        raise InvalidInput("only care managers and supervisors belong to a team", where="team")
    partner_id = _partner_organization_id(session, actor, role_value, partner_organization)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"the username {username!r} is taken", where="username")
    org = session.get_one(Organization, actor.org_id)
    team = team_resolve(session=session, org=org, name=team_name) if team_name else None
    user = User(
        org_id=org.id,
        username=username,
        display_name=(display_name or username).strip(),
        role=role_value.value,
        team_id=team.id if team else None,
        partner_organization_id=partner_id,
        password_hash=password_hash(password),
        active=True,
        failed_login_count=0,
    )
    session.add(user)
    session.flush()
    audit_record(
        session=session,
        actor=actor,
        action="user-create",
        entity_type="User",
        entity_id=username,
        detail=f"role={role_value.value}" + (f"; team={team_name}" if team_name else ""),
    )
    return user


def user_find(*, session: Session, actor: Actor, username: str) -> User:
    """A user of the actor's organization by username, or NotFound."""
    user = session.scalar(select(User).where(User.username == username, User.org_id == actor.org_id))
    if user is None:
        raise NotFound(f"no user {username!r} in this organization", where="username")
    return user


def user_set_password(*, session: Session, actor: Actor, username: str, password: str) -> User:
    _require_user_admin(actor)
    user = user_find(session=session, actor=actor, username=username)
    user.password_hash = password_hash(password)
    session.flush()
    audit_record(session=session, actor=actor, action="user-password", entity_type="User", entity_id=username)
    return user


def user_deactivate(*, session: Session, actor: Actor, username: str) -> User:
    """Stop a user from signing in and end their open sessions. Their audit trail stays."""
    _require_user_admin(actor)
    user = user_find(session=session, actor=actor, username=username)
    if user.id == actor.user_id:
        raise RuleViolation("you cannot deactivate your own account", where="username")
    user.active = False
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    session.flush()
    audit_record(
        session=session, actor=actor, action="user-deactivate", entity_type="User", entity_id=username
    )
    return user


def user_unlock(*, session: Session, actor: Actor, username: str) -> User:
    _require_user_admin(actor)
    user = user_find(session=session, actor=actor, username=username)
    user.locked_until = None
    user.failed_login_count = 0
    session.flush()
    audit_record(session=session, actor=actor, action="user-unlock", entity_type="User", entity_id=username)
    return user


def _partner_organization_id(
    session: Session, actor: Actor, role: Role, organization_uuid: str | None
) -> int | None:
    if role is not Role.PARTNER:
        if organization_uuid:
            raise InvalidInput(
                "only a partner speaks for a directory organization", where="partner organization"
            )
        return None
    if not organization_uuid:
        raise InvalidInput(
            "a partner needs the id of the directory organization it speaks for "
            "(carenav resources search --json shows each organization's id)",
            where="partner organization",
        )
    found = session.scalar(
        select(ResourceOrganization.id).where(
            ResourceOrganization.uuid == organization_uuid, ResourceOrganization.org_id == actor.org_id
        )
    )
    if found is None:
        raise NotFound(
            f"no organization {organization_uuid} in the resource directory", where="partner organization"
        )
    return found


def user_actor(user: User, *, client_addr: str | None = None, channel: str = "web") -> Actor:
    """The ``Actor`` a signed-in user acts as."""
    return Actor(
        org_id=user.org_id,
        label=f"user:{user.username}",
        kind="user",
        user_id=user.id,
        role=user.role,
        team_id=user.team_id,
        client_addr=client_addr,
        channel=channel,
        partner_organization_id=user.partner_organization_id,
    )


# --- Logging in ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginPolicy:
    max_failed_logins: int
    lockout_minutes: int
    session_hours: float


@dataclass(frozen=True)
class LoginAttempt:
    """The outcome of a login. ``user`` is set only on success; failures never say why to the person."""

    user: User | None
    reason: str  # ok | unknown-user | inactive | api-only | locked | bad-password


def _audit_login(
    session: Session, *, user: User | None, username: str, action: str, detail: str, client_addr: str | None
) -> None:
    if user is not None:
        actor = user_actor(user, client_addr=client_addr)
        audit_record(
            session=session, actor=actor, action=action, entity_type="User", entity_id=username, detail=detail
        )
        return
    # Nobody is known: the row names no organization (operators read these; no tenant's auditor does).
    session.add(
        AuditEvent(
            org_id=None,
            user_id=None,
            actor="anonymous",
            action=action,
            entity_type="User",
            entity_id=username[:200],
            detail=detail,
            client_addr=client_addr,
            channel="web",
        )
    )


def _refused(
    session: Session,
    user: User | None,
    username: str,
    detail: str,
    reason: str,
    client_addr: str | None,
) -> LoginAttempt:
    """A refused sign-in, audited (``login-failed`` with why)."""
    _audit_login(
        session, user=user, username=username, action="login-failed", detail=detail, client_addr=client_addr
    )
    return LoginAttempt(None, reason)


def user_authenticate(
    *, session: Session, username: str, password: str, policy: LoginPolicy, client_addr: str | None = None
) -> LoginAttempt:
    """Check a username and password, counting failures and locking the account after
    ``policy.max_failed_logins`` of them in a row for ``policy.lockout_minutes``. Every attempt is audited.
    A good password is rehashed when the hashing parameters have changed.

    Safe in a reads-first unit of work (the sign-in form's: the slow password hash is checked before the
    write lock is taken, so sign-ins do not queue behind each other's hashing): a failure is counted in the
    database (``count + 1``, so parallel guesses each count), and a good password is refused if a parallel
    failure locked the account meanwhile (the lock is read again once this unit writes)."""
    instant = now()
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        _password_matches(None, password)  # same work as a real check
        return _refused(session, None, username, "unknown username", "unknown-user", client_addr)
    if not user.active:
        _password_matches(None, password)
        return _refused(session, user, user.username, "account deactivated", "inactive", client_addr)
    if user.role == Role.PARTNER:
        _password_matches(None, password)
        return _refused(
            session,
            user,
            user.username,
            "a partner reaches carenav over the FHIR API only",
            "api-only",
            client_addr,
        )
    if user.locked_until is not None:
        if user.locked_until > instant:
            _password_matches(None, password)
            return _refused(session, user, user.username, "account locked", "locked", client_addr)
        user.locked_until = None  # the lock has run out: a fresh count
        user.failed_login_count = 0
        session.flush()
    if not _password_matches(user.password_hash, password):
        user.failed_login_count = User.failed_login_count + 1
        session.flush()
        session.refresh(user, ["failed_login_count", "locked_until"])
        _audit_login(
            session,
            user=user,
            username=user.username,
            action="login-failed",
            detail=f"wrong password ({user.failed_login_count} in a row)",
            client_addr=client_addr,
        )
        if user.failed_login_count >= policy.max_failed_logins:
            user.locked_until = instant + timedelta(minutes=policy.lockout_minutes)
            _audit_login(
                session,
                user=user,
                username=user.username,
                action="lockout",
                detail=f"locked for {policy.lockout_minutes} minutes after "
                f"{user.failed_login_count} failed logins",
                client_addr=client_addr,
            )
        session.flush()
        return LoginAttempt(None, "bad-password")
    assert user.password_hash is not None
    if password_hasher().check_needs_rehash(user.password_hash):
        user.password_hash = password_hasher().hash(password)
    previous_login, user.last_login_at = user.last_login_at, instant
    session.flush()  # takes the write lock (SQLite), then the lock is read again
    session.refresh(user, ["locked_until"])
    if user.locked_until is not None and user.locked_until > instant:  # locked by a parallel failure
        user.last_login_at = previous_login
        return _refused(session, user, user.username, "account locked", "locked", client_addr)
    user.failed_login_count = 0
    session.flush()
    return LoginAttempt(user, "ok")


# --- Browser sessions ------------------------------------------------------------------------------------


def _secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class OpenedSession:
    """A new browser session: ``secret`` goes into the cookie and is never stored."""

    secret: str
    web_session: WebSession


def web_session_open(
    *,
    session: Session,
    user: User,
    policy: LoginPolicy,
    client_addr: str | None = None,
    user_agent: str | None = None,
) -> OpenedSession:
    """Start a login session for ``user`` (after ``user_authenticate``), audited as a login."""
    instant = now()
    secret = secrets.token_urlsafe(32)
    web_session = WebSession(
        secret_hash=_secret_digest(secret),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=instant,
        last_seen_at=instant,
        expires_at=instant + timedelta(hours=policy.session_hours),
        client_addr=client_addr,
        user_agent=(user_agent or "")[:300] or None,
    )
    session.add(web_session)
    session.flush()
    _audit_login(
        session,
        user=user,
        username=user.username,
        action="login",
        detail="signed in",
        client_addr=client_addr,
    )
    return OpenedSession(secret=secret, web_session=web_session)


# Sliding expiry is written at most this often, so that reads do not each write a row.
_TOUCH_EVERY = timedelta(minutes=1)


def web_session_resume(*, session: Session, secret: str, policy: LoginPolicy) -> WebSession | None:
    """The live session whose cookie carries ``secret``, its idle expiry moved on; None when there is none,
    it has expired (it is then deleted), or its user is deactivated."""
    if not secret:
        return None
    web_session = session.scalar(select(WebSession).where(WebSession.secret_hash == _secret_digest(secret)))
    if web_session is None:
        return None
    instant = now()
    if web_session.expires_at <= instant or not web_session.user.active:
        session.delete(web_session)
        session.flush()
        return None
    if instant - web_session.last_seen_at >= _TOUCH_EVERY:
        # written when the request's unit of work commits, not now: a page opened takes SQLite's write
        # lock only for its last moment (carenav.db.engine)
        web_session.last_seen_at = instant
        web_session.expires_at = instant + timedelta(hours=policy.session_hours)
    return web_session


def web_session_close(*, session: Session, web_session: WebSession, client_addr: str | None = None) -> None:
    """Log out: the session row goes, and the logout is audited."""
    user = web_session.user
    session.delete(web_session)
    session.flush()
    _audit_login(
        session,
        user=user,
        username=user.username,
        action="logout",
        detail="signed out",
        client_addr=client_addr,
    )


# --- Caseloads -------------------------------------------------------------------------------------------


def care_manager_assign(
    *, session: Session, actor: Actor, username: str, patient_uuid: str
) -> CareTeamMember:
    """Put a patient on a care manager's (or supervisor's) caseload: an active care-team member with role
    care_manager naming the user. Assigning twice keeps the one membership.

    Administrators and operators assign anyone of the organization; a supervisor assigns patients within
    their reach (their team's caseloads) to themselves or a member of the team they lead."""
    if actor.role != Role.SUPERVISOR:
        _require_user_admin(actor)
    user = user_find(session=session, actor=actor, username=username)
    if actor.role == Role.SUPERVISOR and not (
        user.id == actor.user_id or (actor.team_id is not None and user.team_id == actor.team_id)
    ):
        raise Forbidden(f"{username!r} is not in the team you lead", where="username")
    if user.role not in {Role.CARE_MANAGER, Role.SUPERVISOR} or not user.active:
        raise RuleViolation(f"{username!r} is not an active care manager or supervisor", where="username")
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    member = session.scalar(
        select(CareTeamMember).where(
            CareTeamMember.patient_id == patient.id,
            CareTeamMember.user_id == user.id,
            CareTeamMember.role == CareTeamRole.CARE_MANAGER.value,
        )
    )
    if member is None:
        member = CareTeamMember(
            org_id=patient.org_id,
            patient_id=patient.id,
            role=CareTeamRole.CARE_MANAGER.value,
            role_display="Care manager",
            user_id=user.id,
            name=user.display_name,
            organization_name=user.organization.name,
            period_start=today(),
            active=True,
        )
        session.add(member)
    else:
        member.active = True
        member.period_end = None
    session.flush()
    audit_record(
        session=session,
        actor=actor,
        action="assign",
        patient_uuid=patient.uuid,
        entity_type="CareTeamMember",
        entity_id=member.uuid,
        detail=f"care manager {username}",
    )
    return member


# --- Disciplines, languages and credentials --------------------------------------------------------------

CREDENTIAL_EXPIRY_WARNING_DAYS = 60


def user_set_discipline(
    *,
    session: Session,
    actor: Actor,
    username: str,
    discipline: str | None,
    languages: list[str] | None = None,
    max_caseload: int | None = None,
) -> User:
    """Set a user's discipline (None clears it), and, when given, the languages they speak and their caseload
    capacity (``max_caseload``; 0 or less clears it: the discipline's default applies). Audited."""
    _require_user_admin(actor)
    user = user_find(session=session, actor=actor, username=username)
    if discipline is not None:
        try:
            discipline = Discipline(discipline).value
        except ValueError:
            choices = ", ".join(d.value for d in Discipline)
            raise InvalidInput(
                f"unknown discipline {discipline!r}; choose one of {choices}", where="discipline"
            ) from None
    changes = [f"discipline={discipline or '-'}"]
    user.discipline = discipline
    if languages is not None:
        cleaned = sorted({code.strip().lower() for code in languages if code.strip()})
        if any(len(code) > 35 for code in cleaned):
            raise InvalidInput("a language is a BCP 47 code such as en or es-MX", where="languages")
        user.languages = cleaned
        changes.append(f"languages={','.join(cleaned) or '-'}")
    if max_caseload is not None:
        user.max_caseload = max_caseload if max_caseload > 0 else None
        changes.append(f"max_caseload={user.max_caseload or 'default'}")
    session.flush()
    audit_record(
        session=session,
        actor=actor,
        action="user-discipline",
        entity_type="User",
        entity_id=username,
        detail="; ".join(changes),
    )
    return user


def credential_add(
    *,
    session: Session,
    actor: Actor,
    username: str,
    kind: str,
    number: str | None = None,
    state: str | None = None,
    expires_on: date | None = None,
) -> Credential:
    """Record a credential of a user (CCM, RN license, LCSW license...). Audited."""
    _require_user_admin(actor)
    user = user_find(session=session, actor=actor, username=username)
    kind = kind.strip()
    if not kind or len(kind) > 64:
        raise InvalidInput(
            "a credential needs a kind of at most 64 characters (CCM, RN license...)", where="kind"
        )
    state = (state or "").strip().upper() or None
    if state is not None and (len(state) != 2 or not state.isalpha()):
        raise InvalidInput("a state is its two-letter code (FL, NY...)", where="state")
    credential = Credential(
        org_id=user.org_id,
        user_id=user.id,
        kind=kind,
        number=(number or "").strip()[:64] or None,
        state=state,
        expires_on=expires_on,
        added_by=actor.label,
    )
    session.add(credential)
    session.flush()
    audit_record(
        session=session,
        actor=actor,
        action="credential-add",
        entity_type="Credential",
        entity_id=credential.uuid,
        detail=f"{username}: {kind}" + (f" expires {expires_on.isoformat()}" if expires_on else ""),
    )
    return credential


def credential_list(*, session: Session, actor: Actor, username: str | None = None) -> list[Credential]:
    """The credentials of the actor's organization (of one user when ``username`` is given), soonest expiry
    first."""
    query = select(Credential).where(Credential.org_id == actor.org_id)
    if username is not None:
        query = query.where(
            Credential.user_id == user_find(session=session, actor=actor, username=username).id
        )
    rows = session.scalars(
        query.order_by(Credential.expires_on.is_(None), Credential.expires_on, Credential.id)
    )
    return list(rows)


def credentials_expiring(
    *, session: Session, actor: Actor, on: date, within_days: int = CREDENTIAL_EXPIRY_WARNING_DAYS
) -> list[Credential]:
    """Credentials that have expired or expire within ``within_days`` of ``on``, soonest first."""
    limit = on + timedelta(days=within_days)
    return list(
        session.scalars(
            select(Credential)
            .where(
                Credential.org_id == actor.org_id,
                Credential.expires_on.is_not(None),
                Credential.expires_on <= limit,
            )
            .order_by(Credential.expires_on, Credential.id)
        )
    )
