"""``GET /record/v1/{type}?q=...``: NetSuite's record collection filter ("Record Collection Filtering").

A filter is conditions ``field OPERATOR value`` joined by ``AND`` / ``OR`` (``AND`` binds tighter)
with ``( )`` for precedence. Values are bare words, ``"quoted strings"`` or ``[lists, of, values]``;
``EMPTY`` takes none, ``BETWEEN`` two, ``ANY_OF`` any number. Which operators a field takes
depends on its type, as the documentation's table gives them; each has a ``_NOT`` form.
References are filtered by internal id, like numbers. Text comparisons ignore case, as
NetSuite's searches do (guess). Dates are ``M/D/YYYY`` (the default date preference) or
``YYYY-MM-DD``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ..errors import NetSuiteError
from ..state import Record
from .fields import FieldType, field_type, record_fields
from .kinds import RecordKind

NOT = "_NOT"
UNARY = frozenset({"EMPTY"})
OPERATORS: dict[str, frozenset[str]] = {
    "boolean": frozenset({"IS"}),
    "number": frozenset(
        {"ANY_OF", "BETWEEN", "EQUAL", "GREATER", "GREATER_OR_EQUAL", "LESS", "LESS_OR_EQUAL", "WITHIN"}
    ),
    "text": frozenset({"CONTAIN", "IS", "START_WITH", "END_WITH"}),
    "date": frozenset({"AFTER", "BEFORE", "ON", "ON_OR_AFTER", "ON_OR_BEFORE"}),
}
FILTER_TYPES: dict[FieldType, str] = {
    "boolean": "boolean",
    "number": "number",
    "integer": "number",
    "reference": "number",
    "text": "text",
    "date": "date",
    "datetime": "date",
}
TOKEN = re.compile(
    r'\s*(?:(?P<open>\()|(?P<close>\))|(?P<list>\[[^\]]*\])|"(?P<quoted>[^"]*)"|(?P<word>[^\s()\[\]"]+))'
)


def invalid_filter(problem: str) -> NetSuiteError:
    # guess: record filtering runs on N/query, so its errors are taken to read as SuiteQL's do
    return NetSuiteError(
        400,
        "INVALID_PARAMETER",
        f"Invalid search query. Detailed unprocessed description follows. {problem}",
        query_param="q",
    )


@dataclass(frozen=True)
class Token:
    kind: str  # open, close, list, quoted, word
    text: str
    values: tuple[str, ...] = ()


def tokenize(q: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(q):
        if not q[position:].strip():
            break
        match = TOKEN.match(q, position)
        if match is None or match.end() == position:
            raise invalid_filter(f"Unexpected character at position {position}.")
        kind = match.lastgroup or "word"
        raw = match.group(kind)
        values: tuple[str, ...] = ()
        if kind == "list":
            values = tuple(part.strip().strip('"') for part in raw[1:-1].split(",") if part.strip())
        tokens.append(Token(kind, raw, values))
        position = match.end()
    return tokens


Predicate = Callable[[Record], bool]


class _Parser:
    """Recursive descent over the tokens, producing one predicate over stored records."""

    def __init__(self, kind: RecordKind, tokens: list[Token]) -> None:
        self.kind = kind
        self.tokens = tokens
        self.i = 0
        self.names = {name.lower(): name for name in _filterable(kind)}

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise invalid_filter("The filter ends too early.")
        self.i += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "word" and token.text.upper() == word:
            self.i += 1
            return True
        return False

    def parse(self) -> Predicate:
        predicate = self.disjunction()
        if self.peek() is not None:
            raise invalid_filter(f"Unexpected '{self.take().text}'.")
        return predicate

    def disjunction(self) -> Predicate:
        parts = [self.conjunction()]
        while self.keyword("OR"):
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else lambda r: any(p(r) for p in parts)

    def conjunction(self) -> Predicate:
        parts = [self.term()]
        while self.keyword("AND"):
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else lambda r: all(p(r) for p in parts)

    def term(self) -> Predicate:
        token = self.take()
        if token.kind == "open":
            inner = self.disjunction()
            if self.take().kind != "close":
                raise invalid_filter("A '(' is not closed.")
            return inner
        if token.kind != "word":
            raise invalid_filter(f"Expected a field name but found '{token.text}'.")
        return self.condition(token.text)

    def condition(self, raw_name: str) -> Predicate:
        name = self.names.get(raw_name.lower())
        if name is None:
            raise invalid_filter(
                f"Search error occurred: Field '{raw_name}' for record '{self.kind.name}' was not found."
            )
        operator = self.take().text.upper()
        negated = operator.endswith(NOT)
        base = operator[: -len(NOT)] if negated else operator
        if base == "ENDWITH":
            base = "END_WITH"  # the documentation's table spells it both ways
        kind_of = "number" if name == "id" else FILTER_TYPES[field_type(self.kind, name)]
        if base not in UNARY and base not in OPERATORS[kind_of]:
            raise invalid_filter(
                f"Search error occurred: Operator '{operator}' is not valid for field '{name}'."
            )
        values = () if base in UNARY else self.values()
        test = _test(kind_of, base, values, name)
        return (lambda r: not test(r.get(name))) if negated else (lambda r: test(r.get(name)))

    def values(self) -> tuple[str, ...]:
        token = self.take()
        if token.kind == "list":
            return token.values
        if token.kind in ("quoted", "word"):
            return (token.text,)
        raise invalid_filter(f"Expected a value but found '{token.text}'.")


def _filterable(kind: RecordKind) -> list[str]:
    return [name for name in record_fields(kind) if field_type(kind, name) != "sublist"]


def _number(text: str, name: str) -> float:
    try:
        return float(text)
    except ValueError as exc:
        raise invalid_filter(f"Search error occurred: Invalid number '{text}' for field '{name}'.") from exc


def _day(text: str, name: str) -> date:
    for pattern in ("%m/%d/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise invalid_filter(f"Search error occurred: Invalid date '{text}' for field '{name}'.")


def _arity(base: str, values: tuple[str, ...], name: str) -> None:
    wanted = 2 if base in ("BETWEEN", "WITHIN") else None if base == "ANY_OF" else 1
    if (wanted is None and not values) or (wanted is not None and len(values) != wanted):
        raise invalid_filter(
            f"Search error occurred: Wrong number of values for operator {base} on field '{name}'."
        )


def _test(kind_of: str, base: str, values: tuple[str, ...], name: str) -> Callable[[Any], bool]:
    if base == "EMPTY":
        return lambda v: v is None or v == ""
    _arity(base, values, name)
    if kind_of == "boolean":
        if values[0].lower() not in ("true", "false"):
            raise invalid_filter(f"Search error occurred: Invalid boolean '{values[0]}' for field '{name}'.")
        wanted = values[0].lower() == "true"
        return lambda v: bool(v) == wanted
    if kind_of == "number":
        return _number_test(base, tuple(_number(v, name) for v in values))
    if kind_of == "date":
        return _date_test(base, tuple(_day(v, name) for v in values))
    return _text_test(base, values[0].lower())


def _as_float(value: Any) -> float | None:
    try:
        return None if value is None or value == "" else float(value)
    except (TypeError, ValueError):
        return None


def _number_test(base: str, numbers: tuple[float, ...]) -> Callable[[Any], bool]:
    compare: dict[str, Callable[[float], bool]] = {
        "ANY_OF": lambda v: v in numbers,
        "EQUAL": lambda v: v == numbers[0],
        "GREATER": lambda v: v > numbers[0],
        "GREATER_OR_EQUAL": lambda v: v >= numbers[0],
        "LESS": lambda v: v < numbers[0],
        "LESS_OR_EQUAL": lambda v: v <= numbers[0],
        "BETWEEN": lambda v: numbers[0] <= v <= numbers[-1],
        "WITHIN": lambda v: numbers[0] <= v <= numbers[-1],
    }
    check = compare[base]

    def test(value: Any) -> bool:
        number = _as_float(value)
        return number is not None and check(number)

    return test


def _date_test(base: str, days: tuple[date, ...]) -> Callable[[Any], bool]:
    compare: dict[str, Callable[[date], bool]] = {
        "AFTER": lambda d: d > days[0],
        "BEFORE": lambda d: d < days[0],
        "ON": lambda d: d == days[0],
        "ON_OR_AFTER": lambda d: d >= days[0],
        "ON_OR_BEFORE": lambda d: d <= days[0],
    }
    check = compare[base]

    def test(value: Any) -> bool:
        return isinstance(value, str) and len(value) >= 10 and check(date.fromisoformat(value[:10]))

    return test


def _text_test(base: str, wanted: str) -> Callable[[Any], bool]:
    compare: dict[str, Callable[[str], bool]] = {
        "IS": lambda s: s == wanted,
        "CONTAIN": lambda s: wanted in s,
        "START_WITH": lambda s: s.startswith(wanted),
        "END_WITH": lambda s: s.endswith(wanted),
    }
    check = compare[base]
    return lambda value: value is not None and check(str(value).lower())


def compile_filter(kind: RecordKind, q: str) -> Predicate:
    """The predicate ``q`` describes over ``kind``'s stored records (400 if it cannot be read)."""
    tokens = tokenize(q)
    if not tokens:
        raise invalid_filter("The filter is empty.")
    return _Parser(kind, tokens).parse()
