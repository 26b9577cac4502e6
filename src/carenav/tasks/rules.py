"""Task states and priorities, alert kinds: pure rules."""

from __future__ import annotations

from enum import StrEnum

from carenav.errors import RuleViolation


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class TaskPriority(StrEnum):
    ROUTINE = "routine"
    URGENT = "urgent"


def task_close(status: TaskStatus, to: TaskStatus, *, note: str | None) -> TaskStatus:
    """Close an open task as done or cancelled (cancelling needs a note)."""
    if status is not TaskStatus.OPEN:
        raise RuleViolation(f"the task is already {status.value}", where="task")
    if to is TaskStatus.OPEN:
        raise RuleViolation("a task is closed as done or cancelled", where="task")
    if to is TaskStatus.CANCELLED and not (note or "").strip():
        raise RuleViolation("cancelling a task needs a note", where="task")
    return to
