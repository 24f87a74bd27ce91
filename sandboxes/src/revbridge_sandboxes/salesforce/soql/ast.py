"""SOQL syntax tree: plain frozen dataclasses the parser builds and the evaluator walks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

CompareOp = Literal["=", "!=", "<", ">", "<=", ">="]


@dataclass(frozen=True)
class FieldPath:
    """``Name`` or ``Opportunity.Account.Name``: relationship names, then a field."""

    parts: tuple[str, ...]
    pos: int = field(default=-1, compare=False)  # offset in the query text, for error locations

    def __str__(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class DateLiteral:
    """TODAY, YESTERDAY, LAST_N_DAYS:n — resolved to a UTC range when evaluated."""

    name: str
    n: int | None = None


@dataclass(frozen=True)
class Count:
    """``COUNT()`` (field None: only totalSize) or ``COUNT(field)`` (an AggregateResult row)."""

    field: FieldPath | None


@dataclass(frozen=True)
class Comparison:
    field: FieldPath
    op: CompareOp
    value: Any


@dataclass(frozen=True)
class InList:
    field: FieldPath
    values: tuple[Any, ...]
    negated: bool = False


@dataclass(frozen=True)
class Like:
    field: FieldPath
    pattern: str


@dataclass(frozen=True)
class And:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


Condition = Comparison | InList | Like | And | Or | Not


@dataclass(frozen=True)
class OrderItem:
    field: FieldPath
    descending: bool = False
    nulls_last: bool | None = None  # None: Salesforce default (first for ASC, last for DESC)


@dataclass(frozen=True)
class Query:
    select: tuple[FieldPath, ...] | Count
    sobject: str
    where: Condition | None = None
    order_by: tuple[OrderItem, ...] = ()
    limit: int | None = None
    offset: int | None = None
    sobject_pos: int = field(default=-1, compare=False)
