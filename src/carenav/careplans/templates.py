"""Care plan templates, kept as data: ``templates/<id>.toml`` holds the problems, measurable goals and
interventions a plan for one condition usually has, and the conditions (SNOMED CT codes, ICD-10-CM codes or
their start) that call for it. Loaded once and checked on load: a broken file fails with its path, the item
(``goal hf-weight``) and what is wrong. Pure: no SQL.

Applying a template to a plan (``careplans.services``) adds each item once: an item remembers the template
and key it came from (``heart-failure:hf-weight``), so applying it again adds only what the plan lacks.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from carenav.careplans.rules import GoalPriority, InterventionKind, Target, target_make
from carenav.datafiles import toml_read, toml_tables, toml_text
from carenav.errors import InvalidInput, NotFound
from carenav.patients.rules import ICD10CM, SNOMED, CareTeamRole

TEMPLATES_DIR = Path(__file__).parent / "templates"
EQUIVALENTS_PATH = Path(__file__).parent / "measure_equivalents.toml"
PATIENT_OWNER = "patient"
"""An intervention the patient does themselves (self-management): owned by the patient."""
OWNER_ROLES = frozenset({PATIENT_OWNER, *(r.value for r in CareTeamRole)})
MEASURE_SYSTEMS = frozenset({"http://loinc.org", SNOMED})


@dataclass(frozen=True)
class Measure:
    system: str
    code: str
    display: str


@dataclass(frozen=True)
class TemplateProblem:
    key: str
    text: str
    detail: str = ""


@dataclass(frozen=True)
class TemplateGoal:
    key: str
    problem: str
    description: str
    priority: GoalPriority
    due_days: int | None
    target: Target | None
    measure: Measure | None


@dataclass(frozen=True)
class TemplateIntervention:
    key: str
    goals: tuple[str, ...]
    kind: InterventionKind
    text: str
    owner: str
    due_days: int | None


@dataclass(frozen=True)
class PlanTemplate:
    id: str
    title: str
    version: str
    description: str
    snomed: tuple[str, ...]
    icd10cm: tuple[str, ...]
    problems: tuple[TemplateProblem, ...]
    goals: tuple[TemplateGoal, ...]
    interventions: tuple[TemplateIntervention, ...]

    def ref(self, key: str) -> str:
        """How a plan item made from this template's ``key`` remembers where it came from."""
        return f"{self.id}:{key}"

    def applies_to(self, system: str | None, code: str | None) -> bool:
        """Whether a condition coded ``system|code`` calls for this template (ICD-10-CM by the start of
        the code, with or without its dot)."""
        if not code:
            return False
        if system == SNOMED:
            return code in self.snomed
        if system == ICD10CM:
            bare = code.replace(".", "")
            return any(bare.startswith(prefix.replace(".", "")) for prefix in self.icd10cm)
        return False


def template_load(path: Path) -> PlanTemplate:
    where = str(path)
    document = toml_read(path)
    template_id = toml_text(document, "id", where)
    if template_id != path.stem:
        raise InvalidInput(f"the template's id {template_id!r} is not its file name", where=where)
    applies = document.get("applies_to") or {}
    problems = tuple(_problem(raw, where) for raw in toml_tables(document, "problem", where))
    problem_keys = _unique([p.key for p in problems], "problem", where)
    goals = tuple(_goal(raw, problem_keys, where) for raw in toml_tables(document, "goal", where))
    goal_keys = _unique([g.key for g in goals], "goal", where)
    interventions = tuple(
        _intervention(raw, goal_keys, where) for raw in toml_tables(document, "intervention", where)
    )
    _unique([i.key for i in interventions], "intervention", where)
    _unique([*problem_keys, *goal_keys, *(i.key for i in interventions)], "item", where)
    if not problems or not goals:
        raise InvalidInput("a template needs at least one problem and one goal", where=where)
    return PlanTemplate(
        id=template_id,
        title=toml_text(document, "title", where),
        version=toml_text(document, "version", where),
        description=str(document.get("description", "")),
        snomed=tuple(str(c) for c in applies.get("snomed", [])),
        icd10cm=tuple(str(c) for c in applies.get("icd10cm", [])),
        problems=problems,
        goals=goals,
        interventions=interventions,
    )


def _unique(keys: Sequence[str], what: str, where: str) -> set[str]:
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            raise InvalidInput(f"{what} key {key!r} is used twice", where=where)
        seen.add(key)
    return seen


def _problem(raw: Mapping[str, Any], where: str) -> TemplateProblem:
    key = toml_text(raw, "key", where)
    return TemplateProblem(
        key=key, text=toml_text(raw, "text", f"{where}: problem {key}"), detail=str(raw.get("detail", ""))
    )


def _goal(raw: Mapping[str, Any], problems: set[str], where: str) -> TemplateGoal:
    key = toml_text(raw, "key", where)
    at = f"{where}: goal {key}"
    problem = toml_text(raw, "problem", at)
    if problem not in problems:
        raise InvalidInput(f"names the unknown problem {problem!r}", where=at)
    try:
        priority = GoalPriority(raw.get("priority", GoalPriority.MEDIUM.value))
    except ValueError:
        raise InvalidInput(
            f"priority {raw.get('priority')!r} is not one of {_values(GoalPriority)}", where=at
        ) from None
    target_raw = raw.get("target")
    target = None
    if target_raw is not None:
        if not isinstance(target_raw, dict):
            raise InvalidInput("target must be a table", where=at)
        target = target_make(
            str(target_raw.get("kind", "")),
            value=_opt(target_raw, "value"),
            comparator=target_raw.get("comparator"),
            low=_opt(target_raw, "low"),
            high=_opt(target_raw, "high"),
            unit=target_raw.get("unit"),
            text=target_raw.get("text"),
            where=f"{at} target",
        )
    measure_raw = raw.get("measure")
    measure = None
    if measure_raw is not None:
        system = toml_text(measure_raw, "system", f"{at} measure")
        if system not in MEASURE_SYSTEMS:
            raise InvalidInput(f"measure system {system!r} is not LOINC or SNOMED CT", where=at)
        measure = Measure(
            system, toml_text(measure_raw, "code", f"{at} measure"), toml_text(measure_raw, "display", at)
        )
    if measure is not None and target is None:
        raise InvalidInput("a measure needs a target (FHIR: target.detail requires target.measure)", where=at)
    return TemplateGoal(
        key=key,
        problem=problem,
        description=toml_text(raw, "description", at),
        priority=priority,
        due_days=_days(raw, at),
        target=target,
        measure=measure,
    )


def _intervention(raw: Mapping[str, Any], goals: set[str], where: str) -> TemplateIntervention:
    key = toml_text(raw, "key", where)
    at = f"{where}: intervention {key}"
    served = raw.get("goals", [])
    if not isinstance(served, list) or not served:
        raise InvalidInput("goals must list the goals it serves", where=at)
    for goal in served:
        if goal not in goals:
            raise InvalidInput(f"names the unknown goal {goal!r}", where=at)
    try:
        kind = InterventionKind(str(raw.get("kind")))
    except ValueError:
        raise InvalidInput(
            f"kind {raw.get('kind')!r} is not one of {_values(InterventionKind)}", where=at
        ) from None
    owner = toml_text(raw, "owner", at)
    if owner not in OWNER_ROLES:
        raise InvalidInput(f"owner {owner!r} is not one of {', '.join(sorted(OWNER_ROLES))}", where=at)
    return TemplateIntervention(
        key=key,
        goals=tuple(str(g) for g in served),
        kind=kind,
        text=toml_text(raw, "text", at),
        owner=owner,
        due_days=_days(raw, at),
    )


def _opt(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    return None if value is None else str(value)


def _days(raw: Mapping[str, Any], where: str) -> int | None:
    days = raw.get("due_days")
    if days is None:
        return None
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 3650:
        raise InvalidInput(f"due_days {days!r} is not a number of days (0 to 3650)", where=where)
    return days


def _values(kind: Iterable[Any]) -> str:
    return ", ".join(v.value for v in kind)


@cache
def plan_templates() -> tuple[PlanTemplate, ...]:
    """Every shipped template, by title."""
    return tuple(sorted((template_load(p) for p in TEMPLATES_DIR.glob("*.toml")), key=lambda t: t.title))


def plan_template_get(template_id: str) -> PlanTemplate:
    for template in plan_templates():
        if template.id == template_id:
            return template
    known = ", ".join(t.id for t in plan_templates())
    raise NotFound(f"no care plan template {template_id!r} (shipped: {known})", where="template")


@cache
def _equivalents() -> Mapping[str, tuple[str, ...]]:
    document = tomllib.loads(EQUIVALENTS_PATH.read_text(encoding="utf-8"))
    return {str(k): tuple(str(c) for c in v) for k, v in document.get("loinc", {}).items()}


def measure_codes(system: str | None, code: str) -> tuple[str, ...]:
    """The codes whose values count for a goal measured by ``system|code``: its own, then the equivalent
    LOINC codes of ``measure_equivalents.toml``."""
    if system != "http://loinc.org":
        return (code,)
    return (code, *_equivalents().get(code, ()))


def templates_for(codes: Iterable[tuple[str | None, str | None]]) -> list[PlanTemplate]:
    """The templates the patient's conditions (``(system, code)`` pairs) call for, by title."""
    pairs = list(codes)
    return [t for t in plan_templates() if any(t.applies_to(system, code) for system, code in pairs)]
