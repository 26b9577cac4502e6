"""Team pools and the trail of who claimed, handed off and released pool work.

A task (``carenav.tasks.models.Task``) is in a person's queue (``assigned_user_id``) or a pool's
(``pool_id``, nobody assigned); a pool task claimed by a member keeps its ``pool_id`` (the pool it goes
back to when released) and names the member in ``assigned_user_id``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from carenav.clock import now
from carenav.db.mixins import KeyMixin, TenantMixin
from carenav.db.types import Base, UTCDateTime


class WorkPool(KeyMixin, TenantMixin, Base):
    """A team queue of an organization: ``key`` (``social-work``, ``pharmacy``, ``rn-line``) and its name."""

    __tablename__ = "work_pools"
    __table_args__ = (UniqueConstraint("org_id", "key"),)

    key: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))


class WorkPoolMember(Base):
    """Who belongs to a pool: one user, every user of a role, or every user of a discipline."""

    __tablename__ = "work_pool_members"
    __table_args__ = (
        CheckConstraint(
            "(CASE WHEN user_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN role IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN discipline IS NULL THEN 0 ELSE 1 END) = 1",
            name="one_member",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey("work_pools.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str | None] = mapped_column(String(32))
    discipline: Mapped[str | None] = mapped_column(String(32))


class WorkClaim(Base):
    """One row of the append-only trail of a task's pool work: claimed, handed off or released; from and
    to whom (a user or a pool); by whom, when, with what note."""

    __tablename__ = "work_claims"
    __table_args__ = (
        Index("ix_work_claims_task_at", "task_id", "at"),
        CheckConstraint("action IN ('claimed', 'handed-off', 'released')", name="action"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(16))
    from_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    from_pool_id: Mapped[int | None] = mapped_column(ForeignKey("work_pools.id", ondelete="SET NULL"))
    to_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    to_pool_id: Mapped[int | None] = mapped_column(ForeignKey("work_pools.id", ondelete="SET NULL"))
    by: Mapped[str] = mapped_column(String(200))
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    note: Mapped[str | None] = mapped_column(Text)
