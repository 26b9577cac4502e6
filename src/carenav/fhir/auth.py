"""Bearer-token access to the facade: the token names a user, whose role and caseload apply."""

from __future__ import annotations

from sqlalchemy.orm import Session
from starlette.requests import Request

from carenav.access import Actor
from carenav.accounts.tokens import api_token_actor, api_token_verify
from carenav.errors import Forbidden, Unauthenticated

REALM = "carenav"


class InsufficientScope(Forbidden):
    """A valid token without the scope this interaction needs."""

    def __init__(self, scope: str) -> None:
        super().__init__(f"this token lacks the scope {scope}", where="Authorization")
        self.scope = scope


def bearer_secret(request: Request) -> str:
    header = request.headers.get("authorization")
    if not header:
        raise Unauthenticated("send 'Authorization: Bearer <token>'", where="Authorization")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthenticated("the Authorization header must be 'Bearer <token>'", where="Authorization")
    return secret.strip()


def token_actor(*, request: Request, session: Session, scope: str) -> Actor:
    """The actor of the request's bearer token, which must carry ``scope``."""
    try:
        token = api_token_verify(session=session, secret=bearer_secret(request))
    except Unauthenticated as exc:
        exc.where = "Authorization"
        raise
    client = request.client.host if request.client else None
    actor = api_token_actor(token, client_addr=client, channel="fhir")
    if scope not in actor.scopes:
        raise InsufficientScope(scope)
    return actor


def challenge(error: Exception) -> str | None:
    """The WWW-Authenticate value for an auth failure (RFC 6750), or None."""
    if isinstance(error, InsufficientScope):
        return f'Bearer realm="{REALM}", error="insufficient_scope", scope="{error.scope}"'
    if isinstance(error, Unauthenticated):
        message = error.message.replace('"', "'")
        if error.message.startswith("send "):
            return f'Bearer realm="{REALM}"'
        return f'Bearer realm="{REALM}", error="invalid_token", error_description="{message}"'
    return None
