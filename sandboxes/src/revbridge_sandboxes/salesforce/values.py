"""Conversion of field values between the wire (JSON) and the typed values the store keeps.

Dates and datetimes are stored as ``date``/aware ``datetime`` so SOQL can compare them, and are
rendered back in Salesforce's own format (``2024-05-01T12:00:00.000+0000``).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from typing import Any

from . import ids
from .errors import JsonParserError, MalformedId, SalesforceError
from .schema import TEXT_TYPES, FieldDef, label

# guess: Salesforce's exact address grammar is unpublished; this refuses what it visibly refuses
# (no "@", no dot in the domain, spaces) and accepts ordinary addresses.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def format_datetime(value: datetime) -> str:
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def parse_datetime(text: str) -> datetime:
    parsed = datetime.fromisoformat(text)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def render(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _token(value: Any) -> str:
    """The JSON token name Salesforce's deserializer reports for a value (Jackson's names)."""
    if isinstance(value, bool):
        return "VALUE_TRUE" if value else "VALUE_FALSE"
    if isinstance(value, int):
        return "VALUE_NUMBER_INT"
    if isinstance(value, float):
        return "VALUE_NUMBER_FLOAT"
    if isinstance(value, dict):
        return "START_OBJECT"
    if isinstance(value, list):
        return "START_ARRAY"
    return "VALUE_STRING"


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{"
    if isinstance(value, list):
        return "["
    return str(value)


def parser_error(f: FieldDef, value: Any) -> JsonParserError:
    """Salesforce's answer to a JSON value of the wrong kind for a field's type.

    guess: Salesforce appends ``at [line:L, column:C]`` (the value's place in the body); the
    sandbox has the parsed body only, so the position is left out. No ``fields``: Salesforce's
    parser errors carry none.
    """
    kind = {"double": "double", "currency": "double", "int": "int"}.get(f.type, f.type)
    if f.type in TEXT_TYPES or f.type in ("id", "reference"):
        kind = "String"
    return JsonParserError(
        f"Cannot deserialize instance of {kind} from {_token(value)} value {_shown(value)} "
        "or request may be missing a required field"
    )


def coerce(f: FieldDef, value: Any) -> Any:
    """Typed value for field ``f`` from a JSON value; raises the error Salesforce would."""
    if value is None:
        return None
    try:
        if f.type in ("id", "reference"):
            if not isinstance(value, str):
                raise TypeError
            normalized = ids.normalize(value)
            if normalized is None:
                raise MalformedId(f"{label(f.name)}: id value of incorrect type: {value}", [f.name])
            return normalized
        if f.type == "boolean":
            if not isinstance(value, bool):  # guess: strings "true"/"false" are refused too
                raise TypeError
            return value
        if f.type == "date":
            return date.fromisoformat(value)
        if f.type == "datetime":
            return parse_datetime(value)
        if f.type in ("double", "currency"):
            if isinstance(value, bool) or not math.isfinite(float(value)):
                raise TypeError
            return float(value)
        if f.type == "int":
            if (
                isinstance(value, bool)
                or not math.isfinite(float(value))
                or float(value) != int(float(value))
            ):
                raise TypeError
            return int(float(value))
        if isinstance(value, dict | list):
            raise TypeError
        return _text(f, value if isinstance(value, str) else str(value))
    except (TypeError, ValueError, OverflowError) as exc:
        raise parser_error(f, value) from exc


def _text(f: FieldDef, text: str) -> str:
    """A text value within the field's length and, for email fields, an address."""
    if len(text) > f.length:
        raise SalesforceError(
            f"{label(f.name)}: data value too large: {text} (max length={f.length})",
            [f.name],
            error_code="STRING_TOO_LONG",
        )
    if f.type == "email" and text and not _EMAIL.match(text):
        raise SalesforceError(
            f"{label(f.name)}: invalid email address: {text}", [f.name], error_code="INVALID_EMAIL_ADDRESS"
        )
    return text
