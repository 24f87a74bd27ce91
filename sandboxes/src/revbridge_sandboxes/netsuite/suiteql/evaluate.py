"""Evaluate a parsed SuiteQL query over in-memory tables: join, filter, group, project, order.

NULL follows SQL's three-valued logic (a comparison with NULL is unknown, and WHERE keeps only
true rows); a number compared with a numeric string compares as numbers, as Oracle coerces.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .errors import SuiteQLError
from .syntax import (
    Aggregate,
    Column,
    Compare,
    Expr,
    InList,
    IsNull,
    Like,
    Literal,
    Logical,
    Not,
    Query,
    Star,
)

Row = dict[str, Any]
Env = dict[str, Row | None]


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: list[Row]


SEARCH_ERROR = "Search error occurred: "


class Scope:
    """The tables in play by alias, resolving (possibly unqualified) column names.

    Failures use NetSuite's wording: "Field 'x' for record 'customer' was not found." for a
    qualified column, "Unknown identifier 'x'. Available identifiers are: {c=customer}." for a
    bare name (NetSuite reads it as a possible alias) or an unknown alias.
    """

    def __init__(self, columns_by_alias: dict[str, tuple[str, ...]], tables_by_alias: dict[str, str]) -> None:
        self.columns = columns_by_alias
        self.tables = tables_by_alias

    def unknown_identifier(self, name: str) -> SuiteQLError:
        known = ", ".join(f"{alias}={table}" for alias, table in self.tables.items())
        return SuiteQLError(
            f"{SEARCH_ERROR}Unknown identifier '{name}'. Available identifiers are: {{{known}}}."
        )

    def resolve(self, column: Column) -> tuple[str, str]:
        if column.table is not None:
            if column.table not in self.columns:
                raise self.unknown_identifier(column.table)
            if column.name not in self.columns[column.table]:
                table = self.tables[column.table]
                raise SuiteQLError(f"{SEARCH_ERROR}Field '{column.name}' for record '{table}' was not found.")
            return column.table, column.name
        owners = [alias for alias, names in self.columns.items() if column.name in names]
        if not owners:
            raise self.unknown_identifier(column.name)
        if len(owners) > 1:
            # guess: the wording (Oracle's own "column ambiguously defined" is not what NetSuite shows)
            raise SuiteQLError(
                f"{SEARCH_ERROR}Field '{column.name}' is ambiguous; qualify it with a table alias."
            )
        return owners[0], column.name


def execute(query: Query, tables: dict[str, Table]) -> list[Row]:
    """Run ``query``; rows are dicts of lower-case output column name to value, in order."""
    sources = [query.source, *(join.table for join in query.joins)]
    for ref in sources:
        if ref.name not in tables:
            raise SuiteQLError(f"{SEARCH_ERROR}Record '{ref.name}' was not found.")
    aliases = [ref.alias for ref in sources]
    if len(set(aliases)) != len(aliases):
        raise SuiteQLError("Each table in the query needs a distinct alias.")
    scope = Scope(
        {ref.alias: tables[ref.name].columns for ref in sources}, {ref.alias: ref.name for ref in sources}
    )
    _validate(query, scope)

    envs: list[Env] = [{query.source.alias: row} for row in tables[query.source.name].rows]
    for join in query.joins:
        joined: list[Env] = []
        for env in envs:
            matches = [
                r
                for r in tables[join.table.name].rows
                if _truth(join.on, {**env, join.table.alias: r}, scope)
            ]
            joined.extend({**env, join.table.alias: r} for r in matches)
            if not matches and join.left:
                joined.append({**env, join.table.alias: None})
        envs = joined
    if query.where is not None:
        envs = [env for env in envs if _truth(query.where, env, scope)]

    grouped = bool(query.group_by) or any(_has_aggregate(item.expr) for item in query.select)
    groups: list[list[Env]]
    if grouped:
        buckets: dict[tuple[Any, ...], list[Env]] = {}
        for env in envs:
            group_key = tuple(value(expr, env, scope) for expr in query.group_by)
            buckets.setdefault(group_key, []).append(env)
        groups = list(buckets.values()) if query.group_by else [envs]
    else:
        groups = [[env] for env in envs]

    empty: Env = dict.fromkeys(aliases)
    results = [
        (_project(query, scope, group[0] if group else empty, group if grouped else None), group)
        for group in groups
    ]
    if query.distinct:
        seen: dict[tuple[Any, ...], tuple[Row, list[Env]]] = {}
        for row, group in results:
            seen.setdefault(tuple(row.items()), (row, group))
        results = list(seen.values())
    for item in reversed(query.order_by):

        def sort_key(pair: tuple[Row, list[Env]], expr: Expr = item.expr) -> tuple[int, Any]:
            row, group = pair
            if isinstance(expr, Column) and expr.table is None and expr.name in row:
                v = row[expr.name]
            else:
                v = value(expr, group[0] if group else empty, scope, group if grouped else None)
            return (1, 0) if v is None else (0, v)

        try:
            results.sort(key=sort_key, reverse=item.descending)
        except TypeError as exc:
            raise SuiteQLError("ORDER BY mixes values of different types.") from exc
    return [row for row, _ in results]


def _project(query: Query, scope: Scope, env: Env, group: list[Env] | None) -> Row:
    row: Row = {}
    for position, item in enumerate(query.select, start=1):
        if isinstance(item.expr, Star):
            for alias, names in scope.columns.items():
                if item.expr.table in (None, alias):
                    source = env.get(alias)
                    row.update({name: None if source is None else source.get(name) for name in names})
            continue
        name = item.alias or (item.expr.name if isinstance(item.expr, Column) else f"expr{position}")
        row[name] = value(item.expr, env, scope, group)
    return row


def _validate(query: Query, scope: Scope) -> None:
    """Resolve every column up front so a typo fails even when the tables are empty."""
    output = {item.alias for item in query.select if item.alias}
    exprs: list[Expr] = [item.expr for item in query.select if not isinstance(item.expr, Star)]
    exprs += [join.on for join in query.joins] + list(query.group_by)
    if query.where is not None:
        exprs.append(query.where)
    for expr in exprs:
        for column in _columns(expr):
            scope.resolve(column)
    for order in query.order_by:
        for column in _columns(order.expr):
            if not (column.table is None and column.name in output):
                scope.resolve(column)
    if query.where is not None and _has_aggregate(query.where):
        raise SuiteQLError("Aggregate functions are not allowed in WHERE.")
    grouped = {scope.resolve(c) for c in query.group_by if isinstance(c, Column)}
    if query.group_by or any(_has_aggregate(item.expr) for item in query.select):
        for item in query.select:
            if isinstance(item.expr, Star):
                raise SuiteQLError("SELECT * cannot be combined with GROUP BY or aggregates.")
            if not _has_aggregate(item.expr):
                for column in _columns(item.expr):
                    if scope.resolve(column) not in grouped:
                        raise SuiteQLError(f"Field '{column.name}' must appear in the GROUP BY clause.")


def _columns(expr: Expr | Star) -> Iterator[Column]:
    if isinstance(expr, Column):
        yield expr
    elif isinstance(expr, Aggregate):
        yield from _columns(expr.arg)
    elif isinstance(expr, Compare | Logical):
        yield from _columns(expr.left)
        yield from _columns(expr.right)
    elif isinstance(expr, Not):
        yield from _columns(expr.operand)
    elif isinstance(expr, InList):
        yield from _columns(expr.operand)
        for item in expr.values:
            yield from _columns(item)
    elif isinstance(expr, Like):
        yield from _columns(expr.operand)
        yield from _columns(expr.pattern)
    elif isinstance(expr, IsNull):
        yield from _columns(expr.operand)


def _has_aggregate(expr: Expr | Star) -> bool:
    if isinstance(expr, Aggregate):
        return True
    if isinstance(expr, Compare | Logical):
        return _has_aggregate(expr.left) or _has_aggregate(expr.right)
    if isinstance(expr, Not | IsNull):
        return _has_aggregate(expr.operand)
    return False


def _truth(expr: Expr, env: Env, scope: Scope) -> bool:
    return value(expr, env, scope) is True


def value(expr: Expr, env: Env, scope: Scope, group: list[Env] | None = None) -> Any:
    """The value of ``expr`` for one row (or, for aggregates, one group); None is SQL NULL."""
    if isinstance(expr, Literal):
        return expr.value
    if isinstance(expr, Column):
        alias, name = scope.resolve(expr)
        row = env.get(alias)
        return None if row is None else row.get(name)
    if isinstance(expr, Aggregate):
        return _aggregate(expr, scope, group)
    if isinstance(expr, Compare):
        return _compare(expr.op, value(expr.left, env, scope, group), value(expr.right, env, scope, group))
    if isinstance(expr, Logical):
        left, right = value(expr.left, env, scope, group), value(expr.right, env, scope, group)
        if expr.op == "AND":
            return False if False in (left, right) else None if None in (left, right) else True
        return True if True in (left, right) else None if None in (left, right) else False
    if isinstance(expr, Not):
        operand = value(expr.operand, env, scope, group)
        return None if operand is None else not operand
    if isinstance(expr, IsNull):
        return (value(expr.operand, env, scope, group) is None) != expr.negated
    if isinstance(expr, InList):
        operand = value(expr.operand, env, scope, group)
        if operand is None:
            return None
        found = any(_compare("=", operand, value(item, env, scope, group)) for item in expr.values)
        return found != expr.negated
    if isinstance(expr, Like):
        operand, pattern = value(expr.operand, env, scope, group), value(expr.pattern, env, scope, group)
        if operand is None or pattern is None:
            return None
        regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in str(pattern))
        return (re.fullmatch(regex, str(operand), re.DOTALL) is not None) != expr.negated
    raise SuiteQLError(f"Unsupported expression {expr!r}.")


def _aggregate(expr: Aggregate, scope: Scope, group: list[Env] | None) -> Any:
    if group is None:
        raise SuiteQLError(f"{expr.name} is not allowed here.")
    if isinstance(expr.arg, Star):
        return len(group)
    values = [v for v in (value(expr.arg, env, scope) for env in group) if v is not None]
    if expr.name == "COUNT":
        return len(values)
    if not values:
        return None
    if expr.name in ("SUM", "AVG"):
        try:
            numbers = [_as_number(v) for v in values]
        except ValueError as exc:
            raise SuiteQLError(f"{expr.name} needs numeric values.") from exc
        total = round(sum(numbers), 2)
        return total if expr.name == "SUM" else total / len(numbers)
    return min(values) if expr.name == "MIN" else max(values)


def _as_number(v: Any) -> float:
    if isinstance(v, bool):
        raise ValueError(v)
    return v if isinstance(v, int | float) else float(v)


def _compare(op: str, left: Any, right: Any) -> bool | None:
    if left is None or right is None:
        return None
    if isinstance(left, int | float) != isinstance(right, int | float):
        try:
            left, right = _as_number(left), _as_number(right)
        except ValueError:
            left, right = str(left), str(right)
    if op == "=":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    try:
        return {"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}[op]
    except TypeError as exc:
        raise SuiteQLError(f"Cannot compare {left!r} with {right!r}.") from exc
