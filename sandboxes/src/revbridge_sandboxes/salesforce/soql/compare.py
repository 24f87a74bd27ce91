"""SOQL value semantics: literal type checks, null rules, case-insensitive strings, date ranges.

Kept apart from the evaluator so the rules Salesforce applies to a filter (``!=`` matches nulls,
string equality ignores case, TODAY is a day-long range) sit in one place.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from .. import ids
from ..errors import InvalidField
from ..schema import FieldDef
from .ast import DateLiteral

_NUMERIC = ("double", "currency", "int")


def literal_for(f: FieldDef, value: Any) -> Any:
    """Check and convert a literal for comparison with field ``f`` (Salesforce rejects mismatches)."""
    if value is None:
        return None
    kind = f.type
    if kind in ("date", "datetime"):
        wanted = date if kind == "date" else datetime
        ok = isinstance(value, DateLiteral) or (
            isinstance(value, wanted) and (kind == "datetime" or not isinstance(value, datetime))
        )
        if not ok:
            soap_type = "dateTime" if kind == "datetime" else kind  # Salesforce names the SOAP type
            raise InvalidField(
                f"value of filter criterion for field '{f.name}' must be of type {soap_type} "
                "and should not be enclosed in quotes"
            )
        return value
    if kind in _NUMERIC:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidField(f"value of filter criterion for field '{f.name}' must be of type {kind}")
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise InvalidField(f"value of filter criterion for field '{f.name}' must be of type boolean")
        return value
    if not isinstance(value, str):
        raise InvalidField(
            f"value of filter criterion for field '{f.name}' must be of type string and should be enclosed "
            "in quotes"
        )
    if kind in ("id", "reference"):
        return ids.normalize(value) or value
    return value


def date_range(literal: DateLiteral, today: date) -> tuple[date, date]:
    """Half-open [start, end) day range of a date literal."""
    one = timedelta(days=1)
    if literal.name == "TODAY":
        return today, today + one
    if literal.name == "YESTERDAY":
        return today - one, today
    if literal.name == "TOMORROW":
        return today + one, today + 2 * one
    n = literal.n or 0
    if literal.name == "LAST_N_DAYS":
        return today - n * one, today + one
    return today + one, today + (n + 1) * one  # NEXT_N_DAYS


def _sortable(value: Any, f: FieldDef) -> Any:
    if isinstance(value, str) and f.type not in ("id", "reference"):
        return value.casefold()
    return value


def _cmp(a: Any, b: Any) -> int:
    try:
        return (a > b) - (a < b)
    except TypeError:
        return (str(a) > str(b)) - (str(a) < str(b))


def compare(f: FieldDef, stored: Any, op: str, literal: Any, today: date) -> bool:
    if isinstance(literal, DateLiteral):
        return _compare_range(f, stored, op, literal, today)
    if literal is None or stored is None:
        if op == "=":
            return stored is None and literal is None
        if op == "!=":
            return (stored is None) != (literal is None)
        return False
    c = _cmp(_sortable(stored, f), _sortable(literal, f))
    return {"=": c == 0, "!=": c != 0, "<": c < 0, ">": c > 0, "<=": c <= 0, ">=": c >= 0}[op]


def _compare_range(f: FieldDef, stored: Any, op: str, literal: DateLiteral, today: date) -> bool:
    if stored is None:
        return op == "!="
    start_d, end_d = date_range(literal, today)
    if isinstance(stored, datetime):
        start: Any = datetime.combine(start_d, time(), UTC)
        end: Any = datetime.combine(end_d, time(), UTC)
    else:
        start, end = start_d, end_d
    inside = start <= stored < end
    return {
        "=": inside,
        "!=": not inside,
        "<": stored < start,
        "<=": stored < end,
        ">": stored >= end,
        ">=": stored >= start,
    }[op]


def like(stored: Any, pattern: str) -> bool:
    if stored is None:
        return False
    regex = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and pattern[i + 1 : i + 2] in ("%", "_"):
            regex.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        regex.append(".*" if c == "%" else "." if c == "_" else re.escape(c))
        i += 1
    return re.fullmatch("".join(regex), str(stored), re.IGNORECASE | re.DOTALL) is not None


def order_cmp(f: FieldDef, a: Any, b: Any, descending: bool, nulls_last: bool | None) -> int:
    """Comparator for ORDER BY; nulls first for ASC and last for DESC unless NULLS says otherwise."""
    last = descending if nulls_last is None else nulls_last
    if a is None or b is None:
        if a is None and b is None:
            return 0
        return (1 if last else -1) if a is None else (-1 if last else 1)
    c = _cmp(_sortable(a, f), _sortable(b, f))
    return -c if descending else c
