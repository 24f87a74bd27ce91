"""Recursive-descent SuiteQL parser producing a ``syntax.Query`` (no eval, no regex tricks).

Grammar (keywords case-insensitive)::

    query     := SELECT [DISTINCT] items FROM table join* [WHERE expr] [GROUP BY exprs] [ORDER BY order]
    items     := '*' | item (',' item)*          item  := name '.' '*' | expr [[AS] name]
    table     := name [[AS] name]                join  := [LEFT [OUTER] | INNER] JOIN table ON expr
    expr      := and (OR and)*                   and   := not (AND not)*
    not       := NOT not | predicate
    predicate := operand [cmp operand | [NOT] IN '(' operands ')' | [NOT] LIKE operand | IS [NOT] NULL]
    operand   := '(' expr ')' | number | string | NULL | '-' number
               | agg '(' ('*' | expr) ')' | name ['.' name]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from .errors import SuiteQLError
from .lexer import Token, tokenize
from .syntax import (
    Aggregate,
    Column,
    Compare,
    Expr,
    InList,
    IsNull,
    Join,
    Like,
    Literal,
    Logical,
    Not,
    OrderItem,
    Query,
    SelectItem,
    Star,
    TableRef,
)

T = TypeVar("T")
AGGREGATES = frozenset({"count", "sum", "min", "max", "avg"})
COMPARISONS = frozenset({"=", "!=", "<>", "<", ">", "<=", ">="})


def parse(text: str) -> Query:
    return _Parser(tokenize(text)).query()


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0

    # -- token helpers -------------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def at(self, kind: str, value: str | None = None) -> bool:
        return self.tok.kind == kind and (value is None or self.tok.value == value)

    def accept(self, kind: str, value: str | None = None) -> Token | None:
        if self.at(kind, value):
            token = self.tok
            self.i += 1
            return token
        return None

    def expect(self, kind: str, value: str | None = None) -> Token:
        token = self.accept(kind, value)
        if token is None:
            wanted = value or kind.lower()
            found = self.tok.value or "end of query"
            raise SuiteQLError(f"Expected {wanted} but found '{found}' at position {self.tok.pos}.")
        return token

    # -- clauses -------------------------------------------------------------------------------
    def query(self) -> Query:
        self.expect("KEYWORD", "SELECT")
        distinct = self.accept("KEYWORD", "DISTINCT") is not None
        items = self.select_items()
        self.expect("KEYWORD", "FROM")
        source = self.table_ref()
        joins: list[Join] = []
        while self.at("KEYWORD", "JOIN") or self.at("KEYWORD", "LEFT") or self.at("KEYWORD", "INNER"):
            joins.append(self.join())
        where = self.expr() if self.accept("KEYWORD", "WHERE") else None
        group_by: list[Expr] = []
        if self.accept("KEYWORD", "GROUP"):
            self.expect("KEYWORD", "BY")
            group_by = self.comma_list(self.expr)
        order_by: list[OrderItem] = []
        if self.accept("KEYWORD", "ORDER"):
            self.expect("KEYWORD", "BY")
            order_by = self.comma_list(self.order_item)
        if not self.at("EOF"):
            raise SuiteQLError(f"Unexpected '{self.tok.value}' at position {self.tok.pos}.")
        return Query(tuple(items), source, tuple(joins), where, tuple(group_by), tuple(order_by), distinct)

    def comma_list(self, parse_one: Callable[[], T]) -> list[T]:
        items = [parse_one()]
        while self.accept("OP", ","):
            items.append(parse_one())
        return items

    def select_items(self) -> list[SelectItem]:
        if self.accept("OP", "*"):
            return [SelectItem(Star())]
        return self.comma_list(self.select_item)

    def select_item(self) -> SelectItem:
        if self.at("IDENT") and self.tokens[self.i + 1].value == "." and self.tokens[self.i + 2].value == "*":
            table = self.expect("IDENT").value
            self.i += 2
            return SelectItem(Star(table))
        expr = self.expr()
        alias = None
        if self.accept("KEYWORD", "AS") or self.at("IDENT"):
            alias = self.expect("IDENT").value
        return SelectItem(expr, alias)

    def table_ref(self) -> TableRef:
        name = self.expect("IDENT").value
        if self.accept("KEYWORD", "AS"):
            return TableRef(name, self.expect("IDENT").value)
        alias = self.accept("IDENT")
        return TableRef(name, alias.value if alias else name)

    def join(self) -> Join:
        left = False
        if self.accept("KEYWORD", "LEFT"):
            left = True
            self.accept("KEYWORD", "OUTER")
        else:
            self.accept("KEYWORD", "INNER")
        self.expect("KEYWORD", "JOIN")
        table = self.table_ref()
        self.expect("KEYWORD", "ON")
        return Join(table, self.expr(), left)

    def order_item(self) -> OrderItem:
        expr = self.expr()
        if self.accept("KEYWORD", "DESC"):
            return OrderItem(expr, True)
        self.accept("KEYWORD", "ASC")
        return OrderItem(expr, False)

    # -- expressions ---------------------------------------------------------------------------
    def expr(self) -> Expr:
        node = self.and_expr()
        while self.accept("KEYWORD", "OR"):
            node = Logical("OR", node, self.and_expr())
        return node

    def and_expr(self) -> Expr:
        node = self.not_expr()
        while self.accept("KEYWORD", "AND"):
            node = Logical("AND", node, self.not_expr())
        return node

    def not_expr(self) -> Expr:
        if self.accept("KEYWORD", "NOT"):
            return Not(self.not_expr())
        return self.predicate()

    def predicate(self) -> Expr:
        left = self.operand()
        if self.tok.kind == "OP" and self.tok.value in COMPARISONS:
            op = self.expect("OP").value
            return Compare("!=" if op == "<>" else op, left, self.operand())
        if self.accept("KEYWORD", "IS"):
            negated = self.accept("KEYWORD", "NOT") is not None
            self.expect("KEYWORD", "NULL")
            return IsNull(left, negated)
        negated = self.accept("KEYWORD", "NOT") is not None
        if self.accept("KEYWORD", "IN"):
            self.expect("OP", "(")
            values = self.comma_list(self.operand)
            self.expect("OP", ")")
            return InList(left, tuple(values), negated)
        if self.accept("KEYWORD", "LIKE"):
            return Like(left, self.operand(), negated)
        if negated:
            raise SuiteQLError(f"Expected IN or LIKE after NOT at position {self.tok.pos}.")
        return left

    def operand(self) -> Expr:
        token = self.tok
        if self.accept("OP", "("):
            inner = self.expr()
            self.expect("OP", ")")
            return inner
        if self.accept("NUMBER"):
            return Literal(_number(token.value))
        if self.accept("OP", "-"):
            return Literal(-_number(self.expect("NUMBER").value))
        if self.accept("STRING"):
            return Literal(token.value)
        if self.accept("KEYWORD", "NULL"):
            return Literal(None)
        if self.accept("IDENT"):
            if self.at("OP", "("):
                return self.aggregate(token)
            if self.accept("OP", "."):
                return Column(self.expect("IDENT").value, token.value)
            return Column(token.value)
        found = token.value or "end of query"
        raise SuiteQLError(f"Unexpected '{found}' at position {token.pos}.")

    def aggregate(self, name: Token) -> Aggregate:
        if name.value not in AGGREGATES:
            raise SuiteQLError(f"Unsupported function '{name.value.upper()}' at position {name.pos}.")
        self.expect("OP", "(")
        arg: Expr | Star = Star() if self.accept("OP", "*") else self.expr()
        self.expect("OP", ")")
        if isinstance(arg, Star) and name.value != "count":
            raise SuiteQLError(f"{name.value.upper()}(*) is not allowed at position {name.pos}.")
        return Aggregate(name.value.upper(), arg)


def _number(text: str) -> int | float:
    return float(text) if "." in text else int(text)
