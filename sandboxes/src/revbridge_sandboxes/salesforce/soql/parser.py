"""Recursive-descent SOQL parser producing ``ast.Query``; syntax errors become MALFORMED_QUERY.

As in Salesforce, AND and OR may not be mixed at one level without parentheses
(``a AND b OR c`` is rejected), so an adapter that relies on precedence fails here first.
"""

from __future__ import annotations

from typing import Any

from ..errors import MalformedQuery
from .ast import (
    And,
    Comparison,
    Condition,
    Count,
    DateLiteral,
    FieldPath,
    InList,
    Like,
    Not,
    Or,
    OrderItem,
    Query,
)
from .lexer import Kind, Token, tokenize

_RANGE_LITERALS = {"TODAY", "YESTERDAY", "TOMORROW"}
_N_LITERALS = {"LAST_N_DAYS", "NEXT_N_DAYS"}
_RESERVED = {"SELECT", "FROM", "WHERE", "ORDER", "BY", "LIMIT", "OFFSET", "AND", "OR", "NOT", "IN", "LIKE"}
_MAX_OFFSET = 2000


def parse(text: str) -> Query:
    return _Parser(tokenize(text)).query()


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0

    # -- token helpers ------------------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        token = self.tokens[self.i]
        if token.kind is not Kind.EOF:
            self.i += 1
        return token

    def error(self, expected: str) -> MalformedQuery:
        """Salesforce names only the token it stopped at (``<EOF>`` at the end), never what it
        expected; ``expected`` documents the call site. The query route adds Row/Column."""
        t = self.tok
        found = t.text if t.kind is not Kind.EOF else "<EOF>"
        error = MalformedQuery(f"unexpected token: {found}")
        error.at(t.pos)
        return error

    def expect(self, kind: Kind, what: str | None = None) -> Token:
        if self.tok.kind is not kind:
            raise self.error(what or kind.value)
        return self.advance()

    def keyword(self, *words: str) -> bool:
        if self.tok.is_keyword(*words):
            self.advance()
            return True
        return False

    def expect_keyword(self, word: str) -> None:
        if not self.keyword(word):
            raise self.error(word)

    # -- grammar ------------------------------------------------------------------------------------
    def query(self) -> Query:
        self.expect_keyword("SELECT")
        select = self.select_list()
        self.expect_keyword("FROM")
        sobject_pos = self.tok.pos
        sobject = self.identifier("object name")
        where = self.condition() if self.keyword("WHERE") else None
        order_by: tuple[OrderItem, ...] = ()
        if self.keyword("ORDER"):
            self.expect_keyword("BY")
            order_by = self.order_list()
        limit = self.integer("LIMIT") if self.keyword("LIMIT") else None
        offset_pos = self.tok.pos
        offset = self.integer("OFFSET") if self.keyword("OFFSET") else None
        if offset is not None and offset > _MAX_OFFSET:
            raise MalformedQuery(
                f"Maximum SOQL offset allowed is {_MAX_OFFSET}", error_code="NUMBER_OUTSIDE_VALID_RANGE"
            ).at(offset_pos)
        if self.tok.kind is not Kind.EOF:
            raise self.error("end of query")
        return Query(select, sobject, where, order_by, limit, offset, sobject_pos)

    def select_list(self) -> tuple[FieldPath, ...] | Count:
        if self.tok.is_keyword("COUNT") and self.tokens[self.i + 1].kind is Kind.LPAREN:
            self.advance()
            self.advance()
            target = None if self.tok.kind is Kind.RPAREN else self.field_path()
            self.expect(Kind.RPAREN, "')'")
            return Count(target)
        fields = [self.field_path()]
        while self.tok.kind is Kind.COMMA:
            self.advance()
            fields.append(self.field_path())
        return tuple(dict.fromkeys(fields))

    def identifier(self, what: str) -> str:
        if self.tok.kind is not Kind.IDENT or self.tok.text.upper() in _RESERVED:
            raise self.error(what)
        return self.advance().text

    def field_path(self) -> FieldPath:
        pos = self.tok.pos
        parts = [self.identifier("field name")]
        while self.tok.kind is Kind.DOT:
            self.advance()
            parts.append(self.identifier("field name"))
        return FieldPath(tuple(parts), pos)

    def integer(self, clause: str) -> int:
        token = self.expect(Kind.NUMBER, f"an integer after {clause}")
        if not isinstance(token.value, int) or token.value < 0:
            raise MalformedQuery(f"unexpected token: {token.text}").at(token.pos)
        return token.value

    def order_list(self) -> tuple[OrderItem, ...]:
        items = [self.order_item()]
        while self.tok.kind is Kind.COMMA:
            self.advance()
            items.append(self.order_item())
        return tuple(items)

    def order_item(self) -> OrderItem:
        path = self.field_path()
        descending = False
        if self.keyword("DESC"):
            descending = True
        else:
            self.keyword("ASC")
        nulls_last = None
        if self.keyword("NULLS"):
            if self.keyword("LAST"):
                nulls_last = True
            elif self.keyword("FIRST"):
                nulls_last = False
            else:
                raise self.error("FIRST or LAST")
        return OrderItem(path, descending, nulls_last)

    def condition(self) -> Condition:
        first = self.unary()
        if not self.tok.is_keyword("AND", "OR"):
            return first
        joiner = self.tok.text.upper()
        items = [first]
        while self.tok.is_keyword("AND", "OR"):
            if self.tok.text.upper() != joiner:  # mixing AND and OR needs parentheses
                raise MalformedQuery(f"unexpected token: {self.tok.text}").at(self.tok.pos)
            self.advance()
            items.append(self.unary())
        return And(tuple(items)) if joiner == "AND" else Or(tuple(items))

    def unary(self) -> Condition:
        if self.keyword("NOT"):
            return Not(self.unary())
        if self.tok.kind is Kind.LPAREN:
            self.advance()
            inner = self.condition()
            self.expect(Kind.RPAREN, "')'")
            return inner
        return self.predicate()

    def predicate(self) -> Condition:
        path = self.field_path()
        if self.tok.kind is Kind.OP:
            op = self.advance().text
            return Comparison(path, "!=" if op == "<>" else op, self.value())  # type: ignore[arg-type]
        if self.keyword("LIKE"):
            token = self.expect(Kind.STRING, "a string pattern after LIKE")
            return Like(path, token.value)
        negated = self.keyword("NOT")
        if self.keyword("IN"):
            self.expect(Kind.LPAREN, "'(' after IN")
            values = [self.value()]
            while self.tok.kind is Kind.COMMA:
                self.advance()
                values.append(self.value())
            self.expect(Kind.RPAREN, "')'")
            return InList(path, tuple(values), negated)
        raise self.error("an operator (=, !=, <, >, <=, >=, LIKE, IN, NOT IN)")

    def value(self) -> Any:
        t = self.tok
        if t.kind in (Kind.STRING, Kind.NUMBER, Kind.DATE, Kind.DATETIME):
            self.advance()
            return t.value
        if t.is_keyword("TRUE", "FALSE"):
            self.advance()
            return t.text.upper() == "TRUE"
        if t.is_keyword("NULL"):
            self.advance()
            return None
        if t.is_keyword(*_RANGE_LITERALS):
            self.advance()
            return DateLiteral(t.text.upper())
        if t.is_keyword(*_N_LITERALS):
            self.advance()
            self.expect(Kind.COLON, f"':' after {t.text.upper()}")
            return DateLiteral(t.text.upper(), self.integer(t.text.upper()))
        raise self.error("a literal value")
