"""DuckDB SQL -> Spark SQL: the definitions are written once (DuckDB dialect) and transpiled with sqlglot.

Never fork a definition's SQL by hand for Spark: where sqlglot's translation would change the meaning of
a construct, a generic transform below rewrites it (for every definition alike), or the construct is
refused here with the definition named, so that its owner writes it portably.

What sqlglot already does right (checked by the parity tests in ``tests/analytics/test_spark*.py``):
- ``STRING_AGG(x, sep ORDER BY k)`` -> ``LISTAGG(x, sep) WITHIN GROUP (ORDER BY k)`` (Spark 4);
- DuckDB sorts NULLs last in both directions; Spark first when ascending: ascending keys get an
  explicit ``NULLS LAST`` (in ``ORDER BY``, windows and ``WITHIN GROUP``);
- ``DATE_DIFF('day', a, b)`` -> ``DATEDIFF(DAY, a, b)``; ``date - INTERVAL n MONTH`` (month ends clamp
  the same way); list functions and lambdas (``list``, ``list_sort``, ``list_transform``,
  ``array_to_string``) -> ``COLLECT_LIST``, ``ARRAY_SORT``, ``TRANSFORM``, ``ARRAY_JOIN``;
- ``TIMESTAMP`` (naive in DuckDB) -> ``TIMESTAMP_NTZ``; ``VARCHAR`` -> ``STRING``; ``INTEGER`` -> ``INT``.

Generic transforms applied here (each a sqlglot tree rewrite):
- ``CAST(a / b AS <integer type>)``: DuckDB's ``/`` is a floating division and its cast of a DOUBLE to
  an integer rounds half to even; Spark's cast truncates. The operand is wrapped in ``BROUND(..., 0)``
  (Spark's half-to-even rounding), so ``CAST(7 / 2 AS INTEGER)`` is 4 on both.

- ``STRING_AGG(DISTINCT x, sep ORDER BY x)``: Spark 4.3's ``LISTAGG(DISTINCT x) WITHIN GROUP (ORDER BY
  x)`` fails in its optimizer (``RewriteDistinctAggregates``: ClassCastException) beside another
  DISTINCT aggregate. It becomes ``ARRAY_JOIN`` of the sorted ``COLLECT_SET`` (elements cast to STRING
  after sorting, as DuckDB sorts by the value and then concatenates its text), NULL when the set is
  empty as STRING_AGG is; a descending key reverses the sorted set.

Refused (raise ``InvalidInput`` naming the definition):
- ``HUGEINT`` / ``UHUGEINT`` casts (no 128-bit integer in Spark).
"""

from __future__ import annotations

from collections.abc import Callable

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError

from carenav.errors import InvalidInput

READ = "duckdb"
WRITE = "spark"

_INTEGER_TYPES = {
    exp.DataType.Type.TINYINT,
    exp.DataType.Type.SMALLINT,
    exp.DataType.Type.INT,
    exp.DataType.Type.BIGINT,
}
_REFUSED_TYPES = {exp.DataType.Type.INT128, exp.DataType.Type.UINT128}


def spark_type(duckdb_type: str, *, where: str) -> str:
    """The Spark SQL name of a DuckDB type name (``INTEGER`` -> ``INT``, ``VARCHAR`` -> ``STRING``,
    ``TIMESTAMP`` -> ``TIMESTAMP_NTZ``)."""
    try:
        built = exp.DataType.build(duckdb_type, dialect=READ)
    except SqlglotError as exc:
        raise InvalidInput(f"unknown type {duckdb_type!r}: {_first_line(exc)}", where=where) from exc
    if built.this in _REFUSED_TYPES:
        raise InvalidInput(f"type {duckdb_type} has no Spark equivalent", where=where)
    return built.sql(dialect=WRITE)


def to_spark(sql: str, *, where: str) -> str:
    """One DuckDB statement as Spark SQL, with the generic transforms applied. ``where`` names the
    definition and part (``definition lace, view lace_all``) in errors."""
    return _generate(_parse(sql, where=where), where=where)


def to_spark_steps(sql: str, *, where: str, materialise: Callable[[str, str], str]) -> str:
    """Like ``to_spark``, but the statement's top-level ``WITH`` queries become steps of their own:
    each is handed, in order, to ``materialise(cte_name, spark_sql)``, which stores its rows and returns
    the name of the table holding them; later steps and the final SELECT (returned) read that table.

    Spark plans a statement by inlining every CTE at every reference: the CMS-HCC definitions (twenty
    steps, several read three or four times) take Spark's optimizer tens of seconds and gigabytes, and
    compute shared steps again per reference. Stored once, each step is planned once (DuckDB too
    materialises a CTE read more than once). A statement whose WITH is recursive, names its columns, or
    is shadowed by an inner WITH of the same name is transpiled whole."""
    tree = _parse(sql, where=where)
    with_ = tree.args.get("with_") or tree.args.get("with")
    if not isinstance(with_, exp.With) or not _splittable(tree, with_):
        return _generate(tree, where=where)
    key = "with_" if "with_" in tree.args else "with"
    tree.set(key, None)
    stored: dict[str, str] = {}
    for cte in with_.expressions:
        body = _renamed(cte.this.copy(), stored)
        stored[cte.alias_or_name] = materialise(cte.alias_or_name, _generate(body, where=where))
    return _generate(_renamed(tree, stored), where=where)


def _splittable(tree: exp.Expression, with_: exp.With) -> bool:
    if with_.args.get("recursive"):
        return False
    names = set()
    for cte in with_.expressions:
        alias = cte.args.get("alias")
        if alias is None or alias.columns:
            return False
        names.add(cte.alias_or_name)
    for inner in tree.find_all(exp.With):
        if inner is not with_ and any(c.alias_or_name in names for c in inner.expressions):
            return False
    return True


def _renamed(tree: exp.Expression, stored: dict[str, str]) -> exp.Expression:
    """Table references to stored CTEs point at their tables (aliased by the CTE's name, so that
    ``demo.age`` still resolves)."""
    for table in list(tree.find_all(exp.Table)):
        name = table.name
        if name not in stored or table.args.get("db") or table.args.get("catalog"):
            continue
        if not table.alias:
            table.set("alias", exp.TableAlias(this=exp.to_identifier(name)))
        table.set("this", exp.to_identifier(stored[name]))
    return tree


def _parse(sql: str, *, where: str) -> exp.Expression:
    try:
        statements = sqlglot.parse(sql, read=READ, error_level=ErrorLevel.RAISE)
    except SqlglotError as exc:
        raise InvalidInput(f"sqlglot cannot parse the DuckDB SQL: {_first_line(exc)}", where=where) from exc
    tree = [s for s in statements if s is not None]
    if len(tree) != 1:
        raise InvalidInput(f"expected one SQL statement, got {len(tree)}", where=where)
    rewritten = tree[0].transform(_round_division_casts).transform(_distinct_string_agg)
    _refuse_unportable(rewritten, where=where)
    return rewritten


def _generate(rewritten: exp.Expression, *, where: str) -> str:
    try:
        return rewritten.sql(dialect=WRITE, unsupported_level=ErrorLevel.RAISE)
    except SqlglotError as exc:
        raise InvalidInput(f"sqlglot cannot write it as Spark SQL: {_first_line(exc)}", where=where) from exc


def _round_division_casts(node: exp.Expression) -> exp.Expression:
    """``CAST(a / b AS INT)`` -> ``CAST(BROUND(a / b, 0) AS INT)``: DuckDB rounds half to even, Spark
    truncates."""
    if (
        isinstance(node, exp.Cast)
        and node.to.this in _INTEGER_TYPES
        and isinstance(_unwrap(node.this), exp.Div)
    ):
        rounded = exp.Anonymous(this="BROUND", expressions=[node.this.copy(), exp.Literal.number(0)])
        return exp.Cast(this=rounded, to=node.to.copy())
    return node


_DISTINCT_AGG_TEMPLATE = """
CASE WHEN SIZE(COLLECT_SET(__x)) = 0 THEN NULL
     ELSE ARRAY_JOIN(TRANSFORM(__sorted, __v -> CAST(__v AS STRING)), __sep) END
"""


def _distinct_string_agg(node: exp.Expression) -> exp.Expression:
    """``STRING_AGG(DISTINCT x, sep [ORDER BY x [DESC]])`` -> ARRAY_JOIN of the sorted COLLECT_SET."""
    if not isinstance(node, exp.GroupConcat):
        return node
    inner, keys = node.this, None
    if isinstance(inner, exp.Order):
        inner, keys = inner.this, inner.expressions
    if not isinstance(inner, exp.Distinct) or len(inner.expressions) != 1:
        return node
    value = inner.expressions[0]
    descending = False
    if keys is not None:
        if len(keys) != 1 or keys[0].this != value:
            return node  # DuckDB refuses DISTINCT with another ORDER BY key: nothing to keep
        descending = bool(keys[0].args.get("desc"))
    separator = node.args.get("separator") or exp.Literal.string(",")
    sorted_set = "ARRAY_SORT(COLLECT_SET(__x))" if not descending else "REVERSE(ARRAY_SORT(COLLECT_SET(__x)))"
    template = sqlglot.parse_one(_DISTINCT_AGG_TEMPLATE.replace("__sorted", sorted_set), read=WRITE)

    def fill(part: exp.Expression) -> exp.Expression:
        if isinstance(part, exp.Column) and part.name == "__x" and not part.table:
            copied: exp.Expression = value.copy()
            return copied
        if isinstance(part, exp.Column) and part.name == "__sep" and not part.table:
            return separator.copy()
        return part

    filled: exp.Expression = template.transform(fill)
    return filled


def _unwrap(node: exp.Expression) -> exp.Expression:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def _refuse_unportable(tree: exp.Expression, *, where: str) -> None:
    for data_type in tree.find_all(exp.DataType):
        if data_type.this in _REFUSED_TYPES:
            raise InvalidInput(
                f"{data_type.sql(dialect=READ)} has no Spark equivalent; cast to BIGINT or DOUBLE",
                where=where,
            )


def _first_line(exc: Exception) -> str:
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__
