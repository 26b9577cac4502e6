"""API tokens for the FHIR facade: create (the token is shown once), verify, revoke, list.

A token is ``cn_`` followed by 43 characters of URL-safe randomness (256 bits). Only its SHA-256
is stored, with its first characters (``prefix``) so that people can tell their tokens apart.
A token acts as its user: the user's organization, role and caseload apply.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.accounts.models import ApiToken, User
from carenav.accounts.rules import TokenScope
from carenav.accounts.services import user_actor
from carenav.audit.services import audit_record
from carenav.clock import now
from carenav.errors import InvalidInput, NotFound, Unauthenticated

TOKEN_PREFIX = "cn_"  # noqa: S105 (a recognisable prefix, not a secret)
SHOWN_PREFIX_LENGTH = 11  # "cn_" and 8 characters of the secret
MAX_EXPIRY_DAYS = 3650


@dataclass(frozen=True)
class IssuedToken:
    """A new token: ``secret`` is the only copy of the token and is never stored."""

    token: ApiToken
    secret: str


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def token_scopes(token: ApiToken) -> frozenset[str]:
    return frozenset(s for s in token.scopes.split() if s)


def _parse_scopes(scopes: Collection[str]) -> list[str]:
    known = {s.value for s in TokenScope}
    chosen = sorted(set(scopes)) or [TokenScope.FHIR_READ.value]
    unknown = [s for s in chosen if s not in known]
    if unknown:
        raise InvalidInput(f"unknown scope {', '.join(unknown)}; known scopes: {', '.join(sorted(known))}")
    return chosen


def api_token_create(
    *,
    session: Session,
    actor: Actor,
    username: str,
    name: str | None = None,
    scopes: Collection[str] = (),
    expires_days: int | None = None,
) -> IssuedToken:
    """Issue a token for the user ``username`` of the actor's organization."""
    user = session.scalar(select(User).where(User.username == username, User.org_id == actor.org_id))
    if user is None:
        raise NotFound(f"no user {username!r} in this organization", where="--username")
    if not user.active:
        raise InvalidInput(f"user {username!r} is deactivated", where="--username")
    chosen = _parse_scopes(scopes)
    expires_at: datetime | None = None
    if expires_days is not None:
        if not 1 <= expires_days <= MAX_EXPIRY_DAYS:
            raise InvalidInput(f"expiry must be 1 to {MAX_EXPIRY_DAYS} days", where="--expires-days")
        expires_at = now() + timedelta(days=expires_days)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=(name or f"token for {username}")[:200],
        prefix=secret[:SHOWN_PREFIX_LENGTH],
        token_hash=token_digest(secret),
        scopes=" ".join(chosen),
        created_at=now(),
        expires_at=expires_at,
    )
    session.add(token)
    session.flush()
    audit_record(
        session=session,
        actor=actor,
        action="token-create",
        entity_type="ApiToken",
        entity_id=str(token.id),
        detail=f"user {username}; scopes {' '.join(chosen)}",
    )
    return IssuedToken(token=token, secret=secret)


def api_token_verify(*, session: Session, secret: str) -> ApiToken:
    """The live token for this secret, its ``last_used_at`` updated; Unauthenticated otherwise."""
    if not secret.startswith(TOKEN_PREFIX):
        raise Unauthenticated("not a carenav API token")
    digest = token_digest(secret)
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    if token is None or not hmac.compare_digest(token.token_hash, digest):
        raise Unauthenticated("unknown API token")
    if token.revoked_at is not None:
        raise Unauthenticated("this API token was revoked")
    if token.expires_at is not None and token.expires_at <= now():
        raise Unauthenticated("this API token has expired")
    if not token.user.active:
        raise Unauthenticated("the user of this API token is deactivated")
    token.last_used_at = now()
    session.flush()
    return token


def api_token_actor(token: ApiToken, *, client_addr: str | None = None, channel: str = "fhir") -> Actor:
    """The actor a verified token acts as: its user, with the token's scopes."""
    user = token.user
    return replace(
        user_actor(user, client_addr=client_addr, channel=channel),
        label=f"user:{user.username} (token {token.prefix})",
        scopes=token_scopes(token),
    )


def api_token_revoke(*, session: Session, actor: Actor, token_id: int) -> ApiToken:
    """Revoke a token of the actor's organization (revoking twice keeps the first time)."""
    token = session.scalar(
        select(ApiToken)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.id == token_id, User.org_id == actor.org_id)
    )
    if token is None:
        raise NotFound(f"no API token {token_id} in this organization")
    if token.revoked_at is None:
        token.revoked_at = now()
        session.flush()
        audit_record(
            session=session,
            actor=actor,
            action="token-revoke",
            entity_type="ApiToken",
            entity_id=str(token.id),
            detail=f"user {token.user.username}",
        )
    return token


def api_token_list(*, session: Session, actor: Actor, username: str | None = None) -> list[ApiToken]:
    """Tokens of the actor's organization (of one user if ``username``), oldest first."""
    statement = select(ApiToken).join(User, User.id == ApiToken.user_id).where(User.org_id == actor.org_id)
    if username is not None:
        statement = statement.where(User.username == username)
    return list(session.scalars(statement.order_by(ApiToken.id)))


def api_token_state(token: ApiToken) -> str:
    """``active``, ``revoked`` or ``expired``, as of now."""
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= now():
        return "expired"
    return "active"
