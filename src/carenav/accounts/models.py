"""Tenants and the people who sign in."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carenav.clock import now
from carenav.db.mixins import KeyMixin, TenantMixin
from carenav.db.types import Base, JSONDocument, UTCDateTime


class Organization(KeyMixin, Base):
    """A hard tenant: a clinic, hospital, health plan or community agency."""

    __tablename__ = "organizations"

    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="America/New_York")


class Team(TenantMixin, Base):
    """A supervisor's team of care managers."""

    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))


class User(KeyMixin, TenantMixin, Base):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(63), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"), index=True)
    partner_organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("resource_organizations.id", ondelete="SET NULL"), index=True
    )
    """For a partner: the directory's organization it speaks for (it reaches the referrals sent to it)."""
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_login_count: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    discipline: Mapped[str | None] = mapped_column(String(32))
    """nurse, social-worker, community-health-worker, pharmacist or other (``caseloads.rules.Discipline``)."""
    languages: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    """The languages the user speaks with patients (BCP 47 codes: en, es...), for caseload balancing."""
    max_caseload: Mapped[int | None] = mapped_column(Integer)
    """Capacity in patients; None: the default of their discipline (``caseloads/capacity.toml``)."""

    organization: Mapped[Organization] = relationship(lazy="joined")
    team: Mapped[Team | None] = relationship(lazy="joined")


class Credential(KeyMixin, TenantMixin, Base):
    """A user's credential: a certification (CCM) or a licence (RN, LCSW...) with its number, issuing
    state and expiry."""

    __tablename__ = "user_credentials"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    number: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str | None] = mapped_column(String(2))
    expires_on: Mapped[date | None] = mapped_column(Date)
    added_by: Mapped[str] = mapped_column(String(200))


class ApiToken(Base):
    """A bearer token for the FHIR facade. Only its SHA-256 is stored; the token is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined")


class WebSession(Base):
    """A browser login. The cookie carries a random secret; only its SHA-256 is stored."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    client_addr: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))

    user: Mapped[User] = relationship(lazy="joined")
