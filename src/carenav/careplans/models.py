"""Care plans: one per patient per program enrolment, its problems, goals (with progress notes),
interventions (linked to the goals they serve), barriers, the versions of the plan and the patient's
agreement to it.

Goals and interventions belong to the patient's record as well as to a plan (``patient_id``; ``plan_id``
may be empty for a goal imported on its own, as FHIR Goals can be). Numbers of a goal's target are kept as
decimal text, exactly as given. Imported rows keep their source (``SourceMixin``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carenav.careplans.rules import (
    Achievement,
    BarrierKind,
    GoalLifecycle,
    GoalPriority,
    InterventionIntent,
    InterventionKind,
    InterventionStatus,
    PlanIntent,
    PlanStatus,
    TargetKind,
)
from carenav.clock import now
from carenav.db.mixins import KeyMixin, PatientOwnedMixin, SourceMixin
from carenav.db.types import Base, JSONDocument, UTCDateTime


def _in(values: Any) -> str:
    return ", ".join(f"'{v.value}'" for v in values)


class CarePlan(KeyMixin, SourceMixin, PatientOwnedMixin, Base):
    """``enrolment_id``: the program enrolment the plan serves (one plan each); empty for a plan outside
    programs. ``version``: the number of the latest version (``CarePlanVersion``). ``intent``: FHIR's
    (``plan`` for plans made here). ``author``: who made it, in words; an imported plan's author may also
    be a practitioner or related person of the record (``author_practitioner_id``,
    ``author_related_person_id``)."""

    __tablename__ = "care_plans"
    __table_args__ = (
        UniqueConstraint("org_id", "source_system", "source_id"),
        UniqueConstraint("enrolment_id", name="uq_care_plans_enrolment"),
        CheckConstraint(f"status IN ({_in(PlanStatus)})", name="status"),
        CheckConstraint(f"intent IN ({_in(PlanIntent)})", name="intent"),
    )

    enrolment_id: Mapped[int | None] = mapped_column(ForeignKey("program_enrolments.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=PlanStatus.DRAFT.value)
    status_reason: Mapped[str | None] = mapped_column(Text)
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    intent: Mapped[str] = mapped_column(String(16), default=PlanIntent.PLAN.value)
    author: Mapped[str] = mapped_column(String(200))
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_practitioner_id: Mapped[int | None] = mapped_column(
        ForeignKey("practitioners.id", ondelete="SET NULL")
    )
    author_related_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("related_persons.id", ondelete="SET NULL")
    )
    version: Mapped[int] = mapped_column(Integer, default=0)
    last_reviewed_on: Mapped[date | None] = mapped_column(Date)
    next_review_on: Mapped[date | None] = mapped_column(Date)
    description: Mapped[str | None] = mapped_column(Text)

    problems: Mapped[list[PlanProblem]] = relationship(
        order_by="PlanProblem.id", cascade="all, delete-orphan", lazy="selectin"
    )
    goals: Mapped[list[Goal]] = relationship(order_by="Goal.id", lazy="selectin")
    interventions: Mapped[list[Intervention]] = relationship(order_by="Intervention.id", lazy="selectin")
    barriers: Mapped[list[Barrier]] = relationship(
        order_by="Barrier.id", cascade="all, delete-orphan", lazy="selectin"
    )


class PlanProblem(KeyMixin, Base):
    """A problem the plan works on: the patient's condition or health concern (``condition_id``) or
    words of its own."""

    __tablename__ = "care_plan_problems"
    __table_args__ = (CheckConstraint("status IN ('active', 'resolved')", name="status"),)

    plan_id: Mapped[int] = mapped_column(ForeignKey("care_plans.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(String(300))
    detail: Mapped[str | None] = mapped_column(Text)
    condition_id: Mapped[int | None] = mapped_column(ForeignKey("conditions.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="active")
    template_ref: Mapped[str | None] = mapped_column(String(120))


goal_interventions = Table(
    "care_plan_intervention_goals",
    Base.metadata,
    Column("intervention_id", ForeignKey("care_plan_interventions.id", ondelete="CASCADE"), primary_key=True),
    Column("goal_id", ForeignKey("care_plan_goals.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Goal(KeyMixin, SourceMixin, PatientOwnedMixin, Base):
    """A measurable goal: its lifecycle (``GoalLifecycle``) kept apart from its achievement; the target
    as ``TargetKind`` with its parts; ``patient_stated``: the patient's own words ("what matters to me")."""

    __tablename__ = "care_plan_goals"
    __table_args__ = (
        UniqueConstraint("org_id", "source_system", "source_id"),
        Index("ix_care_plan_goals_plan", "plan_id"),
        CheckConstraint(f"lifecycle IN ({_in(GoalLifecycle)}, 'entered-in-error')", name="lifecycle"),
        CheckConstraint(f"achievement IS NULL OR achievement IN ({_in(Achievement)})", name="achievement"),
        CheckConstraint(f"priority IS NULL OR priority IN ({_in(GoalPriority)})", name="priority"),
        CheckConstraint(f"target_kind IS NULL OR target_kind IN ({_in(TargetKind)})", name="target_kind"),
    )

    plan_id: Mapped[int | None] = mapped_column(ForeignKey("care_plans.id", ondelete="CASCADE"))
    problem_id: Mapped[int | None] = mapped_column(ForeignKey("care_plan_problems.id", ondelete="SET NULL"))
    description: Mapped[str] = mapped_column(Text)
    patient_stated: Mapped[bool] = mapped_column(Boolean, default=False)
    priority: Mapped[str | None] = mapped_column(String(20))
    lifecycle: Mapped[str] = mapped_column(String(20), default=GoalLifecycle.PROPOSED.value)
    achievement: Mapped[str | None] = mapped_column(String(20))
    status_reason: Mapped[str | None] = mapped_column(Text)
    status_date: Mapped[date | None] = mapped_column(Date)
    measure_system: Mapped[str | None] = mapped_column(String(200))
    measure_code: Mapped[str | None] = mapped_column(String(64))
    measure_display: Mapped[str | None] = mapped_column(String(300))
    target_kind: Mapped[str | None] = mapped_column(String(16))
    target_comparator: Mapped[str | None] = mapped_column(String(2))
    target_value: Mapped[str | None] = mapped_column(String(32))
    target_low: Mapped[str | None] = mapped_column(String(32))
    target_high: Mapped[str | None] = mapped_column(String(32))
    target_unit: Mapped[str | None] = mapped_column(String(40))
    target_text: Mapped[str | None] = mapped_column(Text)
    start_on: Mapped[date | None] = mapped_column(Date)
    due_on: Mapped[date | None] = mapped_column(Date)
    template_ref: Mapped[str | None] = mapped_column(String(120))
    suggestion_id: Mapped[int | None] = mapped_column(
        ForeignKey("assessment_suggestions.id", ondelete="SET NULL")
    )

    notes: Mapped[list[GoalNote]] = relationship(
        order_by="GoalNote.id", cascade="all, delete-orphan", lazy="selectin"
    )


class GoalNote(Base):
    """A progress note on a goal, with the achievement it recorded (if any). Append-only."""

    __tablename__ = "care_plan_goal_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    goal_id: Mapped[int] = mapped_column(ForeignKey("care_plan_goals.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    author: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    achievement: Mapped[str | None] = mapped_column(String(20))


class Intervention(KeyMixin, SourceMixin, PatientOwnedMixin, Base):
    """A step of the plan (a FHIR Task): its kind, owner (a care-team member, the patient, or a role not
    filled yet), due date and status (``InterventionStatus``), and the goals it serves. ``intent``:
    FHIR's (``plan`` for interventions made here)."""

    __tablename__ = "care_plan_interventions"
    __table_args__ = (
        UniqueConstraint("org_id", "source_system", "source_id"),
        Index("ix_care_plan_interventions_plan", "plan_id"),
        CheckConstraint(f"status IN ({_in(InterventionStatus)})", name="status"),
        CheckConstraint(f"kind IN ({_in(InterventionKind)})", name="kind"),
        CheckConstraint(f"intent IN ({_in(InterventionIntent)})", name="intent"),
    )

    plan_id: Mapped[int | None] = mapped_column(ForeignKey("care_plans.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    owner_role: Mapped[str | None] = mapped_column(String(32))
    owner_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("care_team_members.id", ondelete="SET NULL")
    )
    owner_name: Mapped[str | None] = mapped_column(String(300))
    due_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default=InterventionStatus.READY.value)
    intent: Mapped[str] = mapped_column(String(16), default=InterventionIntent.PLAN.value)
    status_reason: Mapped[str | None] = mapped_column(Text)
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    template_ref: Mapped[str | None] = mapped_column(String(120))
    suggestion_id: Mapped[int | None] = mapped_column(
        ForeignKey("assessment_suggestions.id", ondelete="SET NULL")
    )

    goals: Mapped[list[Goal]] = relationship(
        secondary=goal_interventions, order_by="Goal.id", lazy="selectin"
    )


class Barrier(KeyMixin, Base):
    """Something in the way of the plan (transportation, cost, language...) and the mitigation chosen."""

    __tablename__ = "care_plan_barriers"
    __table_args__ = (CheckConstraint(f"kind IN ({_in(BarrierKind)})", name="kind"),)

    plan_id: Mapped[int] = mapped_column(ForeignKey("care_plans.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    mitigation: Mapped[str | None] = mapped_column(Text)
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)


class CarePlanVersion(Base):
    """The plan as it stood after a change (``snapshot``: ``careplans.snapshot.plan_snapshot``), who
    changed it and what was done. Append-only; the readable diff is made between two snapshots."""

    __tablename__ = "care_plan_versions"
    __table_args__ = (UniqueConstraint("plan_id", "version", name="uq_care_plan_versions_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("care_plans.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    actor: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    summary: Mapped[str] = mapped_column(Text)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONDocument)


class CarePlanAgreement(Base):
    """The patient's (or their caregiver's) agreement to a version of the plan: when, how, by whom."""

    __tablename__ = "care_plan_agreements"
    __table_args__ = (
        CheckConstraint("method IN ('in-person', 'phone', 'video', 'portal', 'signed-copy')", name="method"),
        CheckConstraint("agreed_by IN ('patient', 'caregiver')", name="agreed_by"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("care_plans.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    agreed_on: Mapped[date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(16))
    agreed_by: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(String(300))
    relationship_to_patient: Mapped[str | None] = mapped_column(String(100))
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    note: Mapped[str | None] = mapped_column(Text)


class CarePreferences(KeyMixin, Base):
    """What the patient prefers, one row each: how and when to be contacted, language, who may be told
    about their care, cultural and religious preferences, goals of care, advance directive on file.
    ``source``: ``manual``, or ``assessment:<uuid>`` when taken from a what-matters assessment."""

    __tablename__ = "care_preferences"
    __table_args__ = (
        UniqueConstraint("patient_id", name="uq_care_preferences_patient"),
        CheckConstraint(
            "advance_directive IS NULL OR advance_directive IN ('yes', 'no', 'unsure')",
            name="advance_directive",
        ),
    )

    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    contact_methods: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    contact_times: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(100))
    interpreter_needed: Mapped[bool | None] = mapped_column(Boolean)
    share_with: Mapped[str | None] = mapped_column(Text)
    cultural_religious: Mapped[str | None] = mapped_column(Text)
    goals_of_care: Mapped[str | None] = mapped_column(Text)
    advance_directive: Mapped[str | None] = mapped_column(String(8))
    advance_directive_location: Mapped[str | None] = mapped_column(Text)
    health_care_proxy: Mapped[str | None] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(80), default="manual")
    updated_by: Mapped[str] = mapped_column(String(200))
