"""SOQL tokenizer: turns query text into typed tokens with their positions for error messages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Any

from ..errors import MalformedQuery
from ..values import parse_datetime


class Kind(Enum):
    IDENT = "identifier"
    STRING = "string"
    NUMBER = "number"
    DATE = "date"
    DATETIME = "datetime"
    OP = "operator"
    COMMA = ","
    LPAREN = "("
    RPAREN = ")"
    DOT = "."
    COLON = ":"
    EOF = "end of query"


@dataclass(frozen=True)
class Token:
    kind: Kind
    text: str
    pos: int
    value: Any = None

    def is_keyword(self, *words: str) -> bool:
        return self.kind is Kind.IDENT and self.text.upper() in words


_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?![\dT:])")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPS = ("<=", ">=", "!=", "<>", "=", "<", ">")
_PUNCT = {",": Kind.COMMA, "(": Kind.LPAREN, ")": Kind.RPAREN, ".": Kind.DOT, ":": Kind.COLON}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if c == "'":
            value, i_next = _string(text, i)
            tokens.append(Token(Kind.STRING, text[i:i_next], i, value))
            i = i_next
            continue
        if c.isdigit() or (c == "-" and text[i + 1 : i + 2].isdigit()):
            token = _numeric(text, i)
            tokens.append(token)
            i += len(token.text)
            continue
        m = _IDENT.match(text, i)
        if m:
            tokens.append(Token(Kind.IDENT, m.group(), i))
            i = m.end()
            continue
        op = next((o for o in _OPS if text.startswith(o, i)), None)
        if op:
            tokens.append(Token(Kind.OP, op, i))
            i += len(op)
            continue
        if c in _PUNCT:
            tokens.append(Token(_PUNCT[c], c, i))
            i += 1
            continue
        raise MalformedQuery(f"unexpected token: {c}").at(i)
    tokens.append(Token(Kind.EOF, "", len(text)))
    return tokens


def _string(text: str, start: int) -> tuple[str, int]:
    out = []
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == "\\":
            nxt = text[i + 1 : i + 2]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
            elif nxt in ("%", "_"):
                out.append("\\" + nxt)  # kept escaped for LIKE
            else:
                # guess: Salesforce's wording for a bad escape
                raise MalformedQuery(f"Invalid string literal '\\{nxt}'. Illegal character sequence").at(i)
            i += 2
            continue
        if c == "'":
            return "".join(out), i + 1
        out.append(c)
        i += 1
    # guess: Salesforce's lexer wording for an unclosed quote
    raise MalformedQuery(f"line 1:{len(text)} mismatched character '<EOF>' expecting \"'\"").at(start)


def _numeric(text: str, i: int) -> Token:
    m = _DATETIME.match(text, i)
    if m:
        try:
            value: Any = parse_datetime(m.group())
        except ValueError as exc:
            raise MalformedQuery(f"unexpected token: {m.group()}").at(i) from exc
        return Token(Kind.DATETIME, m.group(), i, value)
    m = _DATE.match(text, i)
    if m:
        try:
            value = date.fromisoformat(m.group())
        except ValueError as exc:
            raise MalformedQuery(f"unexpected token: {m.group()}").at(i) from exc
        return Token(Kind.DATE, m.group(), i, value)
    m = _NUMBER.match(text, i)
    assert m is not None
    if text[m.end() : m.end() + 1].isalpha():
        raise MalformedQuery(f"unexpected token: {text[i : m.end() + 1]}").at(i)
    number: Any = float(m.group()) if m.group(1) else int(m.group())
    return Token(Kind.NUMBER, m.group(), i, number)
