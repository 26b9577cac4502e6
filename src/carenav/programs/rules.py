"""Programs: eligibility rules kept as data, risk tiers, and the enrolment state machine. Pure: no SQL engine.

- The **rules file** (TOML, one per organization; ``default_rules.toml`` ships) names programs and tiers, each
  with a condition in a small expression language over known per-patient **features** (the columns the
  analytics definitions produce). ``rules_parse`` validates it and says, for every fault, the file, the rule
  and the field.
- The **compiler** turns a validated rule set into SQL (DuckDB dialect, transpiled to Spark by sqlglot) in one
  place: feature names must be known columns and are quoted as identifiers; literals are rendered from
  validated numbers and booleans, never pasted from the file's text. ``condition_holds`` is the same
  semantics in Python: a comparison on a missing value (NULL) is false, and ``not`` of it is true.
- The **enrolment state machine**: identified -> outreach -> enrolled <-> paused -> discharged, or declined /
  ineligible. Terminal states stay terminal; re-identification opens a new episode.

See ``docs/programs.md``.
"""

from __future__ import annotations

import difflib
import hashlib
import math
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

from carenav.errors import InvalidInput, NotFound, RuleViolation

DEFAULT_RULES_PATH = Path(__file__).with_name("default_rules.toml")
CODE_SHAPE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
MAX_EXACT_INT = 2**53


# --- Features ---------------------------------------------------------------------------------------------


class FeatureType(StrEnum):
    NUMBER = "number"
    BOOLEAN = "boolean"


@dataclass(frozen=True)
class Feature:
    """A per-patient column a rule may test. ``source``: the analytics definition whose output holds it
    (the table of that name the programs definition joins); ``integer``: whole numbers only (shown as
    such in evidence); ``nullable``: may be missing (e.g. no discharge: no LACE)."""

    name: str
    type: FeatureType
    source: str
    description: str
    integer: bool = True
    nullable: bool = False


def _features(*items: Feature) -> dict[str, Feature]:
    return {f.name: f for f in items}


N, B = FeatureType.NUMBER, FeatureType.BOOLEAN
FEATURES: dict[str, Feature] = _features(
    Feature("charlson", N, "charlson", "Charlson index, Quan 2005 ICD-10 mapping, 1987 weights"),
    Feature("charlson_quan2011", N, "charlson", "Charlson index with Quan 2011 weights"),
    Feature("charlson_age_adjusted", N, "charlson", "Charlson 1987 weights plus age points"),
    Feature("hcc_v24", N, "hcc_v24", "CMS-HCC V24 raw risk score", integer=False),
    Feature("hcc_v28", N, "hcc_v28", "CMS-HCC V28 raw risk score", integer=False),
    Feature("lace_last_discharge", N, "lace", "LACE index at the last inpatient discharge", nullable=True),
    Feature("chronic_condition_count", N, "utilization", "chronic conditions (CMS CCW categories)"),
    Feature("behavioral_health", B, "utilization", "an active behavioural health condition"),
    Feature("substance_use", B, "utilization", "an active substance use disorder"),
    Feature("ip_admits_6m", N, "utilization", "inpatient admissions in the last 6 months"),
    Feature("ip_admits_12m", N, "utilization", "inpatient admissions in the last 12 months"),
    Feature("ed_visits_6m", N, "utilization", "emergency department visits in the last 6 months"),
    Feature("ed_visits_12m", N, "utilization", "emergency department visits in the last 12 months"),
    Feature("active_medications", N, "utilization", "active medications"),
    Feature("polypharmacy", B, "utilization", "10 or more active medications"),
    Feature("age", N, "utilization", "age in whole years at the as-of date", nullable=True),
    Feature("deceased", B, "utilization", "died on or before the as-of date", nullable=True),
    Feature("frail_elder", B, "utilization", "age 65 or over with a recorded daily-living dependency"),
    Feature(
        "days_since_discharge", N, "utilization", "days from the last inpatient discharge", nullable=True
    ),
    Feature(
        "discharged_to_community",
        B,
        "utilization",
        "the last inpatient discharge went to home, domiciliary, rest home or assisted living",
    ),
)
del N, B


# --- The expression language -----------------------------------------------------------------------------


class Op(StrEnum):
    GE = ">="
    GT = ">"
    LE = "<="
    LT = "<"
    EQ = "=="
    NE = "!="
    IN = "in"


ORDERING_OPS = frozenset({Op.GE, Op.GT, Op.LE, Op.LT})
Scalar = bool | int | float


@dataclass(frozen=True)
class Compare:
    feature: str
    op: Op
    value: Scalar | tuple[Scalar, ...]

    def describe(self) -> str:
        if isinstance(self.value, tuple):
            shown = "[" + ", ".join(_show(v) for v in self.value) + "]"
        else:
            shown = _show(self.value)
        return f"{self.feature} {self.op.value} {shown}"


@dataclass(frozen=True)
class AllOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


Condition = Compare | AllOf | AnyOf | Not


def _show(value: Scalar | None) -> str:
    if value is None:
        return "missing"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def condition_features(condition: Condition) -> set[str]:
    if isinstance(condition, Compare):
        return {condition.feature}
    if isinstance(condition, Not):
        return condition_features(condition.item)
    return set().union(*(condition_features(c) for c in condition.items))


def condition_describe(condition: Condition) -> str:
    """The condition as one line of text (``all(a >= 2, any(b, not(c == true)))``)."""
    if isinstance(condition, Compare):
        return condition.describe()
    if isinstance(condition, Not):
        return f"not({condition_describe(condition.item)})"
    word = "all" if isinstance(condition, AllOf) else "any"
    return f"{word}(" + ", ".join(condition_describe(c) for c in condition.items) + ")"


# --- Programs, tiers, rule sets --------------------------------------------------------------------------


class ProgramKind(StrEnum):
    """Long-term, proactive care management, or an episode of case management around an acute event."""

    CARE_MANAGEMENT = "care_management"
    CASE_MANAGEMENT = "case_management"


@dataclass(frozen=True)
class Program:
    code: str
    name: str
    kind: ProgramKind
    consent_required: bool
    when: Condition
    basis: str = ""


@dataclass(frozen=True)
class Tier:
    level: int
    name: str
    when: Condition | None
    rationale: str = ""


@dataclass(frozen=True)
class RuleSet:
    """A validated rules file. ``version``: the first 16 hex digits of the SHA-256 of the file's bytes
    (saved with every stratification run). ``programs`` sorted by code; ``tiers`` from 4 down to 1."""

    source: str
    version: str
    title: str
    programs: tuple[Program, ...]
    tiers: tuple[Tier, ...]
    reidentify_after_days: int = 90
    exclude: Condition | None = None

    def program(self, code: str) -> Program:
        for program in self.programs:
            if program.code == code:
                return program
        known = ", ".join(p.code for p in self.programs)
        raise NotFound(f"no program {code!r} in the rules (known: {known})", where=self.source)

    def features_used(self) -> list[str]:
        used: set[str] = condition_features(self.exclude) if self.exclude is not None else set()
        for program in self.programs:
            used |= condition_features(program.when)
        for tier in self.tiers:
            if tier.when is not None:
                used |= condition_features(tier.when)
        return sorted(used)


# --- Parsing and validation ------------------------------------------------------------------------------


class _Where:
    """Builds the ``where`` of an error: the file, the rule, the field."""

    def __init__(self, source: str, rule: str | None = None) -> None:
        self.source = source
        self.rule = rule

    def at(self, field: str | None = None) -> str:
        parts = [self.source]
        if self.rule:
            parts.append(self.rule)
        if field:
            parts.append(f"field {field!r}")
        return ", ".join(parts)

    def fail(self, field: str | None, message: str) -> InvalidInput:
        return InvalidInput(message, where=self.at(field))


_TYPE_NAMES: dict[type, str] = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    list: "array",
    dict: "table",
}


def _type_name(value: object) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def _require(
    table: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: _Where, path: str
) -> Any:
    field = f"{path}.{key}" if path else key
    if key not in table:
        raise where.fail(field, f"missing field {key!r}")
    value = table[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        wanted = " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)
        raise where.fail(field, f"{key!r} must be a {wanted}, not {_type_name(value)} {value!r}")
    return value


def _no_unknown(table: Mapping[str, Any], allowed: set[str], where: _Where, path: str) -> None:
    for key in table:
        if key not in allowed:
            field = f"{path}.{key}" if path else key
            hint = difflib.get_close_matches(key, sorted(allowed), n=1)
            extra = f"; did you mean {hint[0]!r}?" if hint else f"; allowed: {', '.join(sorted(allowed))}"
            raise where.fail(field, f"unknown field {key!r}{extra}")


def _literal(value: object, feature: Feature, where: _Where, field: str) -> Scalar:
    if feature.type is FeatureType.BOOLEAN:
        if not isinstance(value, bool):
            raise where.fail(
                field, f"feature {feature.name!r} is boolean: compare it with true or false, not {value!r}"
            )
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise where.fail(
            field, f"feature {feature.name!r} is a number: the value must be a number, not {value!r}"
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise where.fail(field, f"the value must be a finite number, not {value!r}")
    if isinstance(value, int) and abs(value) > MAX_EXACT_INT:
        raise where.fail(field, f"the value {value} is too large (at most 2**53 in magnitude)")
    return value


def _condition(node: object, where: _Where, path: str) -> Condition:
    if not isinstance(node, dict):
        raise where.fail(
            path, f"a condition is a table with 'feature', 'all', 'any' or 'not', not {_type_name(node)}"
        )
    kinds = [k for k in ("feature", "all", "any", "not") if k in node]
    if len(kinds) != 1:
        found = ", ".join(repr(k) for k in kinds) or "none of them"
        raise where.fail(
            path, f"a condition has exactly one of 'feature', 'all', 'any' or 'not' (found {found})"
        )
    kind = kinds[0]
    if kind == "feature":
        _no_unknown(node, {"feature", "op", "value"}, where, path)
        name = _require(node, "feature", str, where, path)
        feature = FEATURES.get(name)
        if feature is None:
            hint = difflib.get_close_matches(name, sorted(FEATURES), n=1)
            extra = f"; did you mean {hint[0]!r}?" if hint else f"; known: {', '.join(sorted(FEATURES))}"
            raise where.fail(f"{path}.feature", f"unknown feature {name!r}{extra}")
        op_text = _require(node, "op", str, where, path)
        try:
            op = Op(op_text)
        except ValueError:
            raise where.fail(
                f"{path}.op", f"unknown operator {op_text!r}; use one of {', '.join(o.value for o in Op)}"
            ) from None
        if feature.type is FeatureType.BOOLEAN and op not in {Op.EQ, Op.NE}:
            raise where.fail(f"{path}.op", f"feature {name!r} is boolean: use == or !=, not {op.value}")
        if "value" not in node:
            raise where.fail(f"{path}.value", "missing field 'value'")
        raw = node["value"]
        if op is Op.IN:
            if not isinstance(raw, list) or not raw:
                raise where.fail(f"{path}.value", f"'in' needs a non-empty array of values, not {raw!r}")
            values = tuple(_literal(v, feature, where, f"{path}.value[{i}]") for i, v in enumerate(raw))
            return Compare(name, op, values)
        return Compare(name, op, _literal(raw, feature, where, f"{path}.value"))
    _no_unknown(node, {kind}, where, path)
    field = f"{path}.{kind}"
    if kind == "not":
        return Not(_condition(node["not"], where, field))
    items = node[kind]
    if not isinstance(items, list) or not items:
        raise where.fail(field, f"{kind!r} needs a non-empty array of conditions")
    parsed = tuple(_condition(item, where, f"{field}[{i}]") for i, item in enumerate(items))
    return AllOf(parsed) if kind == "all" else AnyOf(parsed)


def _program(table: object, index: int, where_file: _Where, seen: dict[str, int]) -> Program:
    where = _Where(where_file.source, f"program #{index + 1}")
    if not isinstance(table, dict):
        raise where.fail(None, "each [[program]] must be a table")
    code = _require(table, "code", str, where, "")
    if not CODE_SHAPE.match(code):
        raise where.fail("code", f"program code {code!r} must be lower-case letters, digits or '_' (≤ 32)")
    where = _Where(where_file.source, f"program {code!r}")
    if code in seen:
        raise where.fail("code", f"duplicate program code {code!r} (also program #{seen[code] + 1})")
    seen[code] = index
    _no_unknown(table, {"code", "name", "kind", "consent_required", "basis", "when"}, where, "")
    kind_text = _require(table, "kind", str, where, "")
    try:
        kind = ProgramKind(kind_text)
    except ValueError:
        raise where.fail(
            "kind", f"unknown kind {kind_text!r}; use {' or '.join(k.value for k in ProgramKind)}"
        ) from None
    if "when" not in table:
        raise where.fail("when", "missing field 'when'")
    return Program(
        code=code,
        name=_require(table, "name", str, where, ""),
        kind=kind,
        consent_required=_require(table, "consent_required", bool, where, ""),
        basis=str(table.get("basis", "")),
        when=_condition(table["when"], where, "when"),
    )


def _tier(table: object, index: int, where_file: _Where, seen: set[int]) -> Tier:
    where = _Where(where_file.source, f"tier #{index + 1}")
    if not isinstance(table, dict):
        raise where.fail(None, "each [[tier]] must be a table")
    level = _require(table, "level", int, where, "")
    if level not in {1, 2, 3, 4}:
        raise where.fail("level", f"a tier level is 1, 2, 3 or 4, not {level}")
    where = _Where(where_file.source, f"tier {level}")
    if level in seen:
        raise where.fail("level", f"duplicate tier level {level}")
    seen.add(level)
    _no_unknown(table, {"level", "name", "when", "rationale"}, where, "")
    if level == 1:
        if "when" in table:
            raise where.fail("when", "tier 1 is everyone no higher tier takes: it has no 'when'")
        when = None
    else:
        if "when" not in table:
            raise where.fail("when", "missing field 'when'")
        when = _condition(table["when"], where, "when")
    return Tier(
        level=level,
        name=_require(table, "name", str, where, ""),
        when=when,
        rationale=str(table.get("rationale", "")),
    )


def rules_parse(text: bytes | str, *, source: str) -> RuleSet:
    """Validate a rules file's content. ``source`` names the file in errors."""
    raw = text.encode() if isinstance(text, str) else text
    where = _Where(source)
    try:
        document = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise where.fail(None, f"not UTF-8 text ({exc.reason})") from None
    except tomllib.TOMLDecodeError as exc:
        raise where.fail(None, f"not valid TOML: {exc}") from None
    _no_unknown(document, {"title", "reidentify_after_days", "exclude", "program", "tier"}, where, "")
    title = document.get("title", source)
    if not isinstance(title, str):
        raise where.fail("title", "'title' must be a string")
    reidentify = document.get("reidentify_after_days", 90)
    if isinstance(reidentify, bool) or not isinstance(reidentify, int) or reidentify < 0:
        raise where.fail("reidentify_after_days", f"must be a whole number of days ≥ 0, not {reidentify!r}")
    exclude = (
        _condition(document["exclude"], _Where(source, "exclude"), "exclude")
        if "exclude" in document
        else None
    )
    programs_raw = document.get("program")
    if not isinstance(programs_raw, list) or not programs_raw:
        raise where.fail("program", "missing field 'program': define at least one [[program]]")
    seen_codes: dict[str, int] = {}
    programs = [_program(t, i, where, seen_codes) for i, t in enumerate(programs_raw)]
    tiers_raw = document.get("tier")
    if not isinstance(tiers_raw, list) or not tiers_raw:
        raise where.fail("tier", "missing field 'tier': define [[tier]] levels 2, 3 and 4")
    seen_levels: set[int] = set()
    tiers = [_tier(t, i, where, seen_levels) for i, t in enumerate(tiers_raw)]
    missing = {2, 3, 4} - seen_levels
    if missing:
        raise where.fail("tier", f"missing tier level(s) {', '.join(str(m) for m in sorted(missing))}")
    if 1 not in seen_levels:
        tiers.append(Tier(level=1, name="Tier 1", when=None))
    return RuleSet(
        source=source,
        version=hashlib.sha256(raw).hexdigest()[:16],
        title=title,
        programs=tuple(sorted(programs, key=lambda p: p.code)),
        tiers=tuple(sorted(tiers, key=lambda t: -t.level)),
        reidentify_after_days=reidentify,
        exclude=exclude,
    )


def rules_load(path: Path) -> RuleSet:
    """Read and validate a rules file. Parsed again only when the file changes (its size or modification
    time): pages read the rules on every request, and a parse costs milliseconds."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise InvalidInput(f"cannot read the rules file: {exc.strerror}", where=str(path)) from None
    return _rules_of_file(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=64)
def _rules_of_file(path: str, _mtime_ns: int, _size: int) -> RuleSet:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read the rules file: {exc.strerror}", where=path) from None
    return rules_parse(raw, source=path)


def rules_path_for_org(org_slug: str, rules_dir: Path) -> Path:
    """An organization's own rules file ``<rules_dir>/<slug>.toml`` if there is one, else the default."""
    own = rules_dir / f"{org_slug}.toml"
    return own if own.is_file() else DEFAULT_RULES_PATH


def rules_for_org(org_slug: str, rules_dir: Path) -> RuleSet:
    return rules_load(rules_path_for_org(org_slug, rules_dir))


# --- Evaluation in Python (the reference semantics) ------------------------------------------------------

FeatureRow = Mapping[str, Scalar | None]


def compare_holds(compare: Compare, row: FeatureRow) -> bool:
    actual = row.get(compare.feature)
    if actual is None:
        return False
    value = compare.value
    if compare.op is Op.IN:
        assert isinstance(value, tuple)
        return any(actual == v for v in value)
    assert not isinstance(value, tuple)
    match compare.op:
        case Op.GE:
            return actual >= value
        case Op.GT:
            return actual > value
        case Op.LE:
            return actual <= value
        case Op.LT:
            return actual < value
        case Op.EQ:
            return actual == value
        case _:
            return actual != value


def condition_holds(condition: Condition, row: FeatureRow) -> bool:
    if isinstance(condition, Compare):
        return compare_holds(condition, row)
    if isinstance(condition, Not):
        return not condition_holds(condition.item, row)
    if isinstance(condition, AllOf):
        return all(condition_holds(c, row) for c in condition.items)
    return any(condition_holds(c, row) for c in condition.items)


def _atoms(condition: Condition, positive: bool = True) -> Iterable[tuple[Compare, bool]]:
    """Every comparison with its polarity (False under an odd number of ``not``)."""
    if isinstance(condition, Compare):
        yield condition, positive
    elif isinstance(condition, Not):
        yield from _atoms(condition.item, not positive)
    else:
        for item in condition.items:
            yield from _atoms(item, positive)


def _atom_label(compare: Compare, positive: bool) -> str:
    return compare.describe() if positive else f"not({compare.describe()})"


def _value_text(feature: Feature, value: Scalar | None) -> str:
    if value is None:
        return "missing"
    if feature.type is FeatureType.NUMBER and not feature.integer:
        return str(round(float(value), 3))
    return _show(value)


def evidence_text(condition: Condition, row: FeatureRow) -> str:
    """The comparisons that met the rule (held, or failed under a ``not``), each with the patient's value:
    ``chronic_condition_count >= 2 [chronic_condition_count=3]; ...``."""
    parts = []
    for compare, positive in _atoms(condition):
        if compare_holds(compare, row) == positive:
            feature = FEATURES[compare.feature]
            shown = _value_text(feature, row.get(compare.feature))
            parts.append(f"{_atom_label(compare, positive)} [{compare.feature}={shown}]")
    return "; ".join(parts)


def excluded(rules: RuleSet, row: FeatureRow) -> bool:
    """Whether the rules' ``exclude`` condition (default: deceased) takes the patient out of all programs."""
    return rules.exclude is not None and condition_holds(rules.exclude, row)


def programs_eligible(rules: RuleSet, row: FeatureRow) -> list[str]:
    if excluded(rules, row):
        return []
    return [p.code for p in rules.programs if condition_holds(p.when, row)]


def tier_of(rules: RuleSet, row: FeatureRow) -> int:
    for tier in rules.tiers:
        if tier.when is None or condition_holds(tier.when, row):
            return tier.level
    return 1


# --- The compiler: rules -> SQL (DuckDB dialect; sqlglot transpiles it to Spark) -------------------------

_SQL_OPS = {Op.GE: ">=", Op.GT: ">", Op.LE: "<=", Op.LT: "<", Op.EQ: "=", Op.NE: "<>"}
_FLOAT_TEXT = re.compile(r"^-?[0-9.]+(e[-+][0-9]+)?$")


def sql_identifier(name: str) -> str:
    """A column a rule may read, quoted. Only known features and validated codes get here."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ValueError(f"not a safe identifier: {name!r}")
    return f'"{name}"'


def sql_string(text: str) -> str:
    """A string literal: single quotes doubled (sqlglot re-escapes it for Spark)."""
    return "'" + text.replace("'", "''") + "'"


def sql_literal(value: Scalar) -> str:
    """A literal from a validated number or boolean. Doubles go through a string cast so that the engine
    parses the shortest round-trip text to the very same double as Python holds."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(int(value))
    text = repr(float(value))
    if not math.isfinite(value) or not _FLOAT_TEXT.match(text):
        raise ValueError(f"not a finite number: {value!r}")
    return f"CAST('{text}' AS DOUBLE)"


def compare_sql(compare: Compare) -> str:
    """A comparison that is never NULL: a missing value makes it false."""
    column = sql_identifier(compare.feature)
    if compare.op is Op.IN:
        assert isinstance(compare.value, tuple)
        test = f"{column} IN ({', '.join(sql_literal(v) for v in compare.value)})"
    else:
        assert not isinstance(compare.value, tuple)
        test = f"{column} {_SQL_OPS[compare.op]} {sql_literal(compare.value)}"
    return f"COALESCE(({test}), FALSE)"


def condition_sql(condition: Condition) -> str:
    if isinstance(condition, Compare):
        return compare_sql(condition)
    if isinstance(condition, Not):
        return f"(NOT {condition_sql(condition.item)})"
    joiner = " AND " if isinstance(condition, AllOf) else " OR "
    return "(" + joiner.join(condition_sql(c) for c in condition.items) + ")"


def _value_sql(feature: Feature) -> str:
    column = sql_identifier(feature.name)
    if feature.type is FeatureType.NUMBER and not feature.integer:
        shown = f"CAST(ROUND(CAST({column} AS DOUBLE), 3) AS VARCHAR)"
    elif feature.type is FeatureType.BOOLEAN:
        shown = f"CASE WHEN {column} THEN 'true' WHEN NOT {column} THEN 'false' END"
    else:
        shown = f"CAST({column} AS VARCHAR)"
    return f"COALESCE({shown}, 'missing')"


def evidence_sql_expr(condition: Condition) -> str:
    """SQL for ``evidence_text``: the same parts, in the same order, from the same values."""
    parts = []
    for compare, positive in _atoms(condition):
        test = compare_sql(compare) if positive else f"(NOT {compare_sql(compare)})"
        feature = FEATURES[compare.feature]
        label = sql_string(f"{_atom_label(compare, positive)} [{compare.feature}=")
        parts.append(f"CASE WHEN {test} THEN {label} || {_value_sql(feature)} || ']' END")
    return f"concat_ws('; ', {', '.join(parts)})"


def features_sql(features: Sequence[str], *, sources: Mapping[str, str] | None = None) -> str:
    """One row per snapshot patient with the named feature columns, read from the output tables of the
    definitions that hold them (``Feature.source``, or ``sources`` to override), joined on ``patient_id``."""
    by_source: dict[str, list[str]] = {}
    for name in sorted(set(features)):
        feature = FEATURES[name]
        table = (sources or {}).get(name, feature.source)
        by_source.setdefault(table, []).append(name)
    columns = ["p.patient_id"]
    joins = []
    for number, (table, names) in enumerate(sorted(by_source.items()), start=1):
        alias = f"f{number}"
        columns += [f"{alias}.{sql_identifier(n)}" for n in names]
        joins.append(f"LEFT JOIN {sql_identifier(table)} AS {alias} ON {alias}.patient_id = p.patient_id")
    return "SELECT " + ", ".join(columns) + " FROM patients AS p " + " ".join(joins)  # noqa: S608 (identifiers and literals are validated; see sql_literal)


def _program_sql(rules: RuleSet, program: Program) -> str:
    """A program's condition, and not excluded."""
    if rules.exclude is None:
        return condition_sql(program.when)
    return f"((NOT {condition_sql(rules.exclude)}) AND {condition_sql(program.when)})"


def _flags_sql(rules: RuleSet, sources: Mapping[str, str] | None) -> str:
    flags = ["patient_id"]
    flags += [f"{_program_sql(rules, p)} AS {sql_identifier('program_' + p.code)}" for p in rules.programs]
    flags += [f"{condition_sql(t.when)} AS t{t.level}" for t in rules.tiers if t.when is not None]
    return (
        f"WITH features AS ({features_sql(rules.features_used(), sources=sources)}), "  # noqa: S608 (identifiers and literals are validated; see sql_literal)
        f"flags AS (SELECT {', '.join(flags)} FROM features) "
    )


def scores_sql(rules: RuleSet, *, sources: Mapping[str, str] | None = None) -> str:
    """``patient_id, tier INTEGER, programs VARCHAR`` (eligible codes, sorted, ';'-separated; '' if none)."""
    tier_cases = " ".join(f"WHEN t{t.level} THEN {t.level}" for t in rules.tiers if t.when is not None)
    program_cases = ", ".join(
        f"CASE WHEN {sql_identifier('program_' + p.code)} THEN {sql_string(p.code)} END"
        for p in rules.programs
    )
    return (
        _flags_sql(rules, sources)  # noqa: S608 (identifiers and literals are validated; see sql_literal)
        + f"SELECT patient_id, CAST(CASE {tier_cases} ELSE 1 END AS INTEGER) AS tier, "
        + f"concat_ws(';', {program_cases}) AS programs FROM flags"
    )


def evidence_sql(rules: RuleSet, *, model: str = "programs", sources: Mapping[str, str] | None = None) -> str:
    """Explanation rows ``patient_id, model, component, points, evidence``: one per eligible program
    (``program:<code>``, 0 points) and one for the tier (``tier``, points = the tier level, so a patient's
    points add up to the tier). The evidence names the rule and the values that met it."""
    selects = []
    for program in rules.programs:
        selects.append(
            f"SELECT patient_id, {sql_string(model)} AS model, {sql_string('program:' + program.code)} "  # noqa: S608 (identifiers and literals are validated; see sql_literal)
            f"AS component, CAST(0 AS DOUBLE) AS points, "
            f"{sql_string(f'program {program.code}: ')} || {evidence_sql_expr(program.when)} AS evidence "
            f"FROM features WHERE {_program_sql(rules, program)}"
        )
    higher: list[str] = []
    for tier in rules.tiers:
        guard = [f"(NOT {h})" for h in higher]
        if tier.when is not None:
            test = condition_sql(tier.when)
            why = f"{sql_string(f'tier {tier.level}: ')} || {evidence_sql_expr(tier.when)}"
            higher.append(test)
            where = " AND ".join([*guard, test])
        else:
            why = sql_string(f"tier {tier.level}: no higher tier's rule met")
            where = " AND ".join(guard) or "TRUE"
        selects.append(
            f"SELECT patient_id, {sql_string(model)} AS model, 'tier' AS component, "  # noqa: S608 (identifiers and literals are validated; see sql_literal)
            f"CAST({tier.level} AS DOUBLE) AS points, {why} AS evidence FROM features WHERE {where}"
        )
    features = features_sql(rules.features_used(), sources=sources)
    return f"WITH features AS ({features}) " + " UNION ALL ".join(selects)


def evidence_rows(rules: RuleSet, row: FeatureRow) -> list[tuple[str, float, str]]:
    """``(component, points, evidence)`` for one patient, as ``evidence_sql`` gives them (pure Python)."""
    rows: list[tuple[str, float, str]] = []
    for program in rules.programs:
        if not excluded(rules, row) and condition_holds(program.when, row):
            rows.append(
                (
                    f"program:{program.code}",
                    0.0,
                    f"program {program.code}: " + evidence_text(program.when, row),
                )
            )
    level = tier_of(rules, row)
    tier = next(t for t in rules.tiers if t.level == level)
    why = evidence_text(tier.when, row) if tier.when is not None else "no higher tier's rule met"
    rows.append(("tier", float(level), f"tier {level}: {why}"))
    return rows


# --- Enrolment: the state machine ------------------------------------------------------------------------


class EnrolmentState(StrEnum):
    IDENTIFIED = "identified"
    OUTREACH = "outreach"
    ENROLLED = "enrolled"
    PAUSED = "paused"
    DISCHARGED = "discharged"
    DECLINED = "declined"
    INELIGIBLE = "ineligible"


TERMINAL_STATES = frozenset({EnrolmentState.DISCHARGED, EnrolmentState.DECLINED, EnrolmentState.INELIGIBLE})
OPEN_STATES = frozenset(set(EnrolmentState) - TERMINAL_STATES)


class EnrolmentAction(StrEnum):
    START_OUTREACH = "start_outreach"
    ENROL = "enrol"
    PAUSE = "pause"
    RESUME = "resume"
    DISCHARGE = "discharge"
    DECLINE = "decline"
    MARK_INELIGIBLE = "mark_ineligible"


_S, _A = EnrolmentState, EnrolmentAction
TRANSITIONS: dict[tuple[EnrolmentState, EnrolmentAction], EnrolmentState] = {
    (_S.IDENTIFIED, _A.START_OUTREACH): _S.OUTREACH,
    (_S.IDENTIFIED, _A.ENROL): _S.ENROLLED,  # consent obtained at a visit, without outreach
    (_S.OUTREACH, _A.ENROL): _S.ENROLLED,
    (_S.IDENTIFIED, _A.DECLINE): _S.DECLINED,
    (_S.OUTREACH, _A.DECLINE): _S.DECLINED,
    (_S.IDENTIFIED, _A.MARK_INELIGIBLE): _S.INELIGIBLE,
    (_S.OUTREACH, _A.MARK_INELIGIBLE): _S.INELIGIBLE,
    (_S.ENROLLED, _A.PAUSE): _S.PAUSED,
    (_S.PAUSED, _A.RESUME): _S.ENROLLED,
    (_S.ENROLLED, _A.DISCHARGE): _S.DISCHARGED,
    (_S.PAUSED, _A.DISCHARGE): _S.DISCHARGED,
}
del _S, _A

REASON_REQUIRED = frozenset(
    {
        EnrolmentAction.PAUSE,
        EnrolmentAction.DISCHARGE,
        EnrolmentAction.DECLINE,
        EnrolmentAction.MARK_INELIGIBLE,
    }
)


def allowed_actions(state: EnrolmentState) -> list[EnrolmentAction]:
    return [action for (source, action) in TRANSITIONS if source == state]


def transition(
    state: EnrolmentState, action: EnrolmentAction, *, reason: str | None = None
) -> EnrolmentState:
    """The state ``action`` leads to from ``state``; RuleViolation if not allowed or a reason is missing."""
    target = TRANSITIONS.get((state, action))
    if target is None:
        allowed = ", ".join(a.value for a in allowed_actions(state)) or "nothing (a closed episode)"
        raise RuleViolation(
            f"cannot {action.value.replace('_', ' ')} an enrolment that is {state.value}; allowed: {allowed}",
            where="enrolment",
        )
    if action in REASON_REQUIRED and not (reason or "").strip():
        raise RuleViolation(f"{action.value.replace('_', ' ')} needs a reason", where="reason")
    return target


def reopens_as_new_episode(
    state: EnrolmentState, ended_on: date | None, today: date, *, after_days: int, manual: bool
) -> bool:
    """Whether identifying a patient whose latest episode is in ``state`` opens a new episode.

    Open episodes never do (identify is idempotent). A closed one does when a person re-identifies the
    patient (``manual``), or when a run flags them ``after_days`` or more after the episode ended, so that
    a nightly run does not reopen a declined or just-discharged patient every night.
    """
    if state not in TERMINAL_STATES:
        return False
    if manual:
        return True
    return ended_on is None or (today - ended_on).days >= after_days


class ConsentKind(StrEnum):
    VERBAL = "verbal"
    WRITTEN = "written"


def consent_problem(
    *,
    program_code: str,
    consent_required: bool,
    kind: str | None,
    given_on: date | None,
    obtained_by: str | None,
    today: date,
) -> str | None:
    """Why the consent offered for enrolling in a program is not enough, or None.

    CMS requires documented verbal or written consent before CCM, PCM and BHI services (and APCM); the rules
    file says which programs require it (``consent_required``). A consent offered for a program that does not
    require it is still checked and kept.
    """
    if kind is None and given_on is None and obtained_by is None:
        return f"{program_code} needs the patient's consent at enrolment" if consent_required else None
    if kind not in {k.value for k in ConsentKind}:
        return f"consent kind must be verbal or written, not {kind!r}"
    if given_on is None:
        return "the consent needs the date it was given"
    if given_on > today:
        return f"the consent date {given_on.isoformat()} is in the future"
    if not (obtained_by or "").strip():
        return "the consent needs the name of who obtained it"
    return None
