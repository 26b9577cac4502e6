"""a caseload's open tasks by patient, status and due day (the worklist's team queue)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 13:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_tasks_patient_status_due", "tasks", ["patient_id", "status", "due_on"])


def downgrade() -> None:
    op.drop_index("ix_tasks_patient_status_due", table_name="tasks")
