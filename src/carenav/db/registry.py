"""Imports every feature's models so that Base.metadata knows all tables (Alembic, tests)."""

from __future__ import annotations

from sqlalchemy import MetaData

from carenav.db.types import Base


def load_all_models() -> MetaData:
    import carenav.accounts.models
    import carenav.assessments.models
    import carenav.audit.models
    import carenav.authorizations.models
    import carenav.careplans.models
    import carenav.caseloads.models
    import carenav.education.models
    import carenav.feeds.models
    import carenav.outreach.models
    import carenav.patients.models
    import carenav.programs.models
    import carenav.referrals.models
    import carenav.resources.models
    import carenav.stratification.models
    import carenav.tasks.models
    import carenav.timekeeping.models
    import carenav.transitions.models
    import carenav.worklist.models  # noqa: F401

    return Base.metadata
