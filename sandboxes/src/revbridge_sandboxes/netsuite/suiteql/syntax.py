"""SuiteQL syntax tree: expressions, select items, the FROM/JOIN clause and the whole query."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Column:
    name: str
    table: str | None = None


@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class Star:
    table: str | None = None


@dataclass(frozen=True)
class Aggregate:
    name: str  # COUNT, SUM, MIN, MAX, AVG
    arg: Expr | Star


@dataclass(frozen=True)
class Compare:
    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Logical:
    op: str  # AND, OR
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Not:
    operand: Expr


@dataclass(frozen=True)
class InList:
    operand: Expr
    values: tuple[Expr, ...]
    negated: bool = False


@dataclass(frozen=True)
class Like:
    operand: Expr
    pattern: Expr
    negated: bool = False


@dataclass(frozen=True)
class IsNull:
    operand: Expr
    negated: bool = False


Expr = Column | Literal | Aggregate | Compare | Logical | Not | InList | Like | IsNull


@dataclass(frozen=True)
class SelectItem:
    expr: Expr | Star
    alias: str | None = None


@dataclass(frozen=True)
class TableRef:
    name: str
    alias: str


@dataclass(frozen=True)
class Join:
    table: TableRef
    on: Expr
    left: bool = False


@dataclass(frozen=True)
class OrderItem:
    expr: Expr
    descending: bool = False


@dataclass(frozen=True)
class Query:
    select: tuple[SelectItem, ...]
    source: TableRef
    joins: tuple[Join, ...] = ()
    where: Expr | None = None
    group_by: tuple[Expr, ...] = ()
    order_by: tuple[OrderItem, ...] = ()
    distinct: bool = False
