"""Conversion of field values between the wire (JSON) and the typed values the store keeps.

Dates and datetimes are stored as ``date``/aware ``datetime`` so SOQL can compare them, and are
rendered back in Salesforce's own format (``2024-05-01T12:00:00.000+0000``).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import Any

from . import ids
from .errors import InvalidCrossReference, JsonParserError
from .schema import FieldDef


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


def coerce(f: FieldDef, value: Any) -> Any:
    """Typed value for field ``f`` from a JSON value; raises the error Salesforce would."""
    if value is None:
        return None
    try:
        if f.type in ("id", "reference"):
            normalized = ids.normalize(value) if isinstance(value, str) else None
            if normalized is None:
                raise InvalidCrossReference(f"{f.name}: id value of incorrect type: {value}", [f.name])
            return normalized
        if f.type == "boolean":
            if not isinstance(value, bool):
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
        return value if isinstance(value, str) else str(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise JsonParserError(
            f"Cannot deserialize instance of {f.type} from value {value!r} for field {f.name}", [f.name]
        ) from exc
