"""Transitions of care: an episode per discharge home, its five deadline tasks, and the attempts logged
on them (``transitions.rules``)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carenav.clock import now
from carenav.db.mixins import KeyMixin, PatientOwnedMixin, TenantMixin
from carenav.db.types import Base, UTCDateTime
from carenav.transitions.rules import (
    AttemptOutcome,
    CloseReason,
    Complexity,
    EpisodeStatus,
    TaskKind,
    TaskStatus,
)


def _in(values: type[StrEnum]) -> str:
    return ", ".join(f"'{v.value}'" for v in values)


class TransitionEpisode(KeyMixin, TenantMixin, PatientOwnedMixin, Base):
    """One discharge to the community and the 30 days after it: where from, where to, the complexity the
    face-to-face window follows, open or closed (why, by whom), and the readmission that ended it."""

    __tablename__ = "transition_episodes"
    __table_args__ = (
        UniqueConstraint("encounter_id", name="uq_transition_episodes_encounter"),
        Index("ix_transition_episodes_status_discharged", "status", "discharged_on"),
        CheckConstraint(f"status IN ({_in(EpisodeStatus)})", name="status"),
        CheckConstraint(f"complexity IN ({_in(Complexity)})", name="complexity"),
        CheckConstraint(f"closed_reason IS NULL OR closed_reason IN ({_in(CloseReason)})", name="reason"),
    )

    encounter_id: Mapped[int] = mapped_column(ForeignKey("encounters.id", ondelete="CASCADE"))
    discharged_at: Mapped[datetime] = mapped_column(UTCDateTime)
    discharged_on: Mapped[date] = mapped_column(Date)
    """The discharge day in the organization's zone: the deadlines count from it."""
    facility: Mapped[str | None] = mapped_column(String(300))
    disposition_code: Mapped[str | None] = mapped_column(String(100))
    disposition_display: Mapped[str | None] = mapped_column(String(500))
    disposition_known: Mapped[bool] = mapped_column(Boolean, default=True)
    complexity: Mapped[str] = mapped_column(String(16), default=Complexity.MODERATE.value)
    status: Mapped[str] = mapped_column(String(16), default=EpisodeStatus.OPEN.value)
    opened_by: Mapped[str] = mapped_column(String(200))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_reason: Mapped[str | None] = mapped_column(String(32))
    closed_by: Mapped[str | None] = mapped_column(String(200))
    closed_note: Mapped[str | None] = mapped_column(Text)
    readmission_encounter_id: Mapped[int | None] = mapped_column(
        ForeignKey("encounters.id", ondelete="SET NULL"), index=True
    )
    readmitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    enrol_prompt: Mapped[str | None] = mapped_column(Text)
    """After the episode: the care-management programs the patient was prompted to enrol in."""

    tasks: Mapped[list[TransitionTask]] = relationship(
        back_populates="episode", order_by="TransitionTask.id", cascade="all, delete-orphan", lazy="selectin"
    )


class TransitionTask(KeyMixin, TenantMixin, PatientOwnedMixin, Base):
    """One of the five tasks of an episode, with its deadline; served over FHIR as a Task."""

    __tablename__ = "transition_tasks"
    __table_args__ = (
        UniqueConstraint("episode_id", "kind", name="uq_transition_tasks_episode_kind"),
        Index("ix_transition_tasks_status_due", "status", "due_on"),
        CheckConstraint(f"status IN ({_in(TaskStatus)})", name="status"),
        CheckConstraint(f"kind IN ({_in(TaskKind)})", name="kind"),
    )

    episode_id: Mapped[int] = mapped_column(
        ForeignKey("transition_episodes.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=TaskStatus.OPEN.value)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)

    episode: Mapped[TransitionEpisode] = relationship(back_populates="tasks", lazy="joined")
    attempts: Mapped[list[TransitionAttempt]] = relationship(
        order_by="TransitionAttempt.id", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def encounter_id(self) -> int:
        """The discharge encounter (what ``fhir.references.refs_for`` looks up for ``focus``)."""
        return self.episode.encounter_id


class TransitionAttempt(Base):
    """A try at a task (a call to reach the patient): when, by whom, the outcome. Append-only."""

    __tablename__ = "transition_attempts"
    __table_args__ = (CheckConstraint(f"outcome IN ({_in(AttemptOutcome)})", name="outcome"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("transition_tasks.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    by: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
