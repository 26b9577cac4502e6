"""Versions of a care plan: the plan as plain data after each change (``plan_snapshot``) and what changed
between two of them, in words a care manager reads (``plan_diff``). The diff is pure; the snapshot only
reads the plan's rows already loaded."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from carenav.careplans.rules import Target, target_make

if TYPE_CHECKING:
    from carenav.careplans.models import CarePlan, Goal

Snapshot = dict[str, Any]

PLAN_FIELDS = (
    ("title", "title"),
    ("status", "status"),
    ("period", "period"),
    ("last_reviewed_on", "last review"),
    ("next_review_on", "next review"),
)
SECTIONS = (
    # section, what one item is called, the field that names it, the fields shown, with their labels
    ("problems", "Problem", "text", (("text", "text"), ("detail", "detail"), ("status", "status"))),
    (
        "goals",
        "Goal",
        "description",
        (
            ("description", "description"),
            ("problem", "problem"),
            ("target", "target"),
            ("measure", "measure"),
            ("due_on", "due"),
            ("priority", "priority"),
            ("lifecycle", "status"),
            ("achievement", "achievement"),
            ("patient_stated", "patient's own goal"),
        ),
    ),
    (
        "interventions",
        "Intervention",
        "text",
        (
            ("text", "text"),
            ("kind", "kind"),
            ("owner", "owner"),
            ("due_on", "due"),
            ("status", "status"),
            ("goals", "goals"),
        ),
    ),
    (
        "barriers",
        "Barrier",
        "text",
        (("kind", "kind"), ("text", "text"), ("mitigation", "mitigation"), ("resolved", "resolved")),
    ),
)


def goal_target(goal: Goal) -> Target | None:
    """The goal's target as a ``Target`` (None when it has none)."""
    if goal.target_kind is None:
        return None
    return target_make(
        goal.target_kind,
        value=goal.target_value,
        comparator=goal.target_comparator,
        low=goal.target_low,
        high=goal.target_high,
        unit=goal.target_unit,
        text=goal.target_text,
    )


def plan_snapshot(plan: CarePlan) -> Snapshot:
    """The plan as plain data: its own fields and each item by its uuid, as a reader sees them."""
    problems = {p.id: p for p in plan.problems}
    goals_by_id = {g.id: g for g in plan.goals}
    period = f"{plan.period_start or ''} to {plan.period_end or ''}".strip()
    return {
        "title": plan.title,
        "status": plan.status,
        "period": period,
        "last_reviewed_on": str(plan.last_reviewed_on or ""),
        "next_review_on": str(plan.next_review_on or ""),
        "problems": {
            p.uuid: {"text": p.text, "detail": p.detail or "", "status": p.status} for p in plan.problems
        },
        "goals": {
            g.uuid: {
                "description": g.description,
                "problem": problems[g.problem_id].text if g.problem_id in problems else "",
                "target": target.reads() if (target := goal_target(g)) else "",
                "measure": g.measure_display or g.measure_code or "",
                "due_on": str(g.due_on or ""),
                "priority": g.priority or "",
                "lifecycle": g.lifecycle,
                "achievement": g.achievement or "",
                "patient_stated": "yes" if g.patient_stated else "no",
            }
            for g in plan.goals
        },
        "interventions": {
            i.uuid: {
                "text": i.text,
                "kind": i.kind,
                "owner": i.owner_name or (f"({i.owner_role}, not assigned)" if i.owner_role else ""),
                "due_on": str(i.due_on or ""),
                "status": i.status,
                "goals": "; ".join(goals_by_id[g.id].description for g in i.goals if g.id in goals_by_id),
            }
            for i in plan.interventions
        },
        "barriers": {
            b.uuid: {
                "kind": b.kind,
                "text": b.text,
                "mitigation": b.mitigation or "",
                "resolved": "yes" if b.resolved else "no",
            }
            for b in plan.barriers
        },
    }


def plan_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """What changed from ``old`` to ``new``, one line each: the plan's fields, then items added, removed
    and changed, section by section."""
    lines: list[str] = []
    for key, label in PLAN_FIELDS:
        if old.get(key) != new.get(key):
            lines.append(f"Plan {label}: {_shown(old.get(key))} → {_shown(new.get(key))}")
    for section, what, name_key, fields in SECTIONS:
        before: Mapping[str, Mapping[str, Any]] = old.get(section, {})
        after: Mapping[str, Mapping[str, Any]] = new.get(section, {})
        for uuid, item in after.items():
            if uuid not in before:
                lines.append(f"{what} added: {item.get(name_key, '')}")
        for uuid, item in before.items():
            if uuid not in after:
                lines.append(f"{what} removed: {item.get(name_key, '')}")
        for uuid, item in after.items():
            if uuid not in before:
                continue
            earlier = before[uuid]
            name = earlier.get(name_key, "")
            for key, label in fields:
                if earlier.get(key) != item.get(key):
                    lines.append(
                        f'{what} "{name}": {label} {_shown(earlier.get(key))} → {_shown(item.get(key))}'
                    )
    return lines


def _shown(value: Any) -> str:
    text = "" if value is None else str(value)
    return f'"{text}"' if text else "(none)"
