"""ORM tables of saved stratification runs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from carenav.db.mixins import KeyMixin, TenantMixin
from carenav.db.types import Base, JSONDocument, UTCDateTime


class StratificationRun(KeyMixin, TenantMixin, Base):
    """One run of ``carenav stratify`` over the record store of an organization."""

    __tablename__ = "stratification_runs"
    __table_args__ = (Index("ix_stratification_runs_org_finished", "org_id", "finished_at"),)

    as_of: Mapped[date] = mapped_column(Date)
    engine: Mapped[str] = mapped_column(String(20))
    rules_version: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
    patient_count: Mapped[int] = mapped_column(Integer)
    # Column names of the scores, in output order, and the run summary (unmapped codes...).
    columns: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    summary: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    requested_by: Mapped[str | None] = mapped_column(String(200))


class StratificationResult(Base):
    """One patient's scores in one run: every output column in ``scores``, the ones screens sort and
    filter on also as columns."""

    __tablename__ = "stratification_results"
    __table_args__ = (
        UniqueConstraint("run_id", "patient_id", name="uq_stratification_results_run_patient"),
        Index("ix_stratification_results_patient", "patient_id", "run_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("stratification_runs.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    scores: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    charlson: Mapped[int | None] = mapped_column(Integer)
    lace_last_discharge: Mapped[int | None] = mapped_column(Integer)
    chronic_condition_count: Mapped[int | None] = mapped_column(Integer)
    hcc_v28: Mapped[float | None] = mapped_column(Float)
    tier: Mapped[int | None] = mapped_column(Integer)


class StratificationEvidence(Base):
    """Why a score is what it is: one row per component (which codes, which encounter, which points)."""

    __tablename__ = "stratification_evidence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    result_id: Mapped[int] = mapped_column(
        ForeignKey("stratification_results.id", ondelete="CASCADE"), index=True
    )
    model: Mapped[str] = mapped_column(String(60))
    component: Mapped[str] = mapped_column(String(200))
    points: Mapped[float | None] = mapped_column(Float)
    evidence: Mapped[str | None] = mapped_column(Text)
