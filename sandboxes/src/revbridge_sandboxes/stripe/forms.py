"""Decode Stripe's form encoding (``a[b][c]=``, ``items[0][price]=``, ``k[]=``) and coerce values.

stripe-python sends literal brackets; curl and other SDKs send ``k[]`` or percent-encoded
brackets. All become nested dicts and lists here (wire reference §1.2).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from .errors import StripeError, invalid, missing

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART = re.compile(r"\[([^\[\]]*)\]")


def _split_key(key: str) -> list[str]:
    match = _KEY.match(key)
    if not match:
        return [key]
    return [match.group(1), *_PART.findall(match.group(2))]


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {k: _listify(v) for k, v in node.items()}
    if converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


def decode(raw: str | bytes) -> dict[str, Any]:
    """Parse a form-encoded string into nested dicts/lists of strings (400 if it is not UTF-8)."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise StripeError(400, "Invalid request body: it must be UTF-8 form-encoded parameters.") from None
    root: dict[str, Any] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        parts = _split_key(key)
        node = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if part == "":
                part = str(len(node))
            if last:
                node[part] = value
            else:
                child = node.get(part)
                if not isinstance(child, dict):
                    child = {}
                    node[part] = child
                node = child
    return _listify(root)


def fingerprint(method: str, path: str, raw: str | bytes) -> str:
    """A stable identity of a request's parameters, for idempotent replays."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    return repr((method, path, sorted(parse_qsl(text, keep_blank_values=True))))


def as_int(
    params: dict[str, Any], name: str, default: int | None = None, *, required: bool = False
) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise missing(name)
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise invalid(name, f"Invalid integer: {value}", code="parameter_invalid_integer") from None


def as_amount(params: dict[str, Any], name: str) -> int:
    """A required positive amount in minor units."""
    amount = as_int(params, name, required=True) or 0
    if amount < 1:
        raise invalid(
            name, "This value must be greater than or equal to 1.", code="parameter_invalid_integer"
        )
    return amount


def as_decimal_int(params: dict[str, Any], name: str) -> int | None:
    """A ``*_decimal`` string parameter, truncated to whole minor units (the sandbox bills integers)."""
    value = params.get(name)
    if value is None or value == "":
        return None
    try:
        return int(Decimal(str(value)))  # exact: no float between the wire and the amount
    except (ArithmeticError, TypeError, ValueError):
        raise invalid(name, f"Invalid decimal: {value}", code="parameter_invalid_decimal") from None


def as_number(params: dict[str, Any], name: str, *, low: str, high: str) -> float | None:
    """A decimal parameter within ``[low, high]`` (a percentage), as the JSON number Stripe returns."""
    value = params.get(name)
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except (ArithmeticError, TypeError, ValueError):
        raise invalid(name, f"Invalid decimal: {value}", code="parameter_invalid_decimal") from None
    if not number.is_finite() or not Decimal(low) <= number <= Decimal(high):
        raise invalid(name, f"{name} must be between {low} and {high}.")
    return float(number)


def as_bool(params: dict[str, Any], name: str, default: bool | None = None) -> bool | None:
    value = params.get(name)
    if value is None or value == "":
        return default
    if value in ("true", True):
        return True
    if value in ("false", False):
        return False
    raise invalid(name, f"Invalid boolean: {value}")


def as_str(params: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise missing(name)
        return None
    if not isinstance(value, str):
        raise invalid(name, f"Invalid string: {value!r}")
    return value


def as_list(params: dict[str, Any], name: str) -> list[Any]:
    """A list parameter; a lone scalar (``expand=x``) counts as a one-element list."""
    value = params.get(name)
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        raise invalid(name, "Invalid array")
    return [value]


def as_object(params: dict[str, Any], name: str) -> dict[str, Any] | None:
    """A hash parameter (``address[city]=...``); ``name=`` (empty) means unset."""
    value = params.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, dict):
        raise invalid(name, "Invalid object")
    return value


def merge_metadata(current: dict[str, str], update: Any, param: str = "metadata") -> dict[str, str]:
    """Apply a metadata update: ``metadata=`` clears, ``metadata[k]=`` deletes one key."""
    if update is None:
        return current
    if update == "":
        return {}
    if not isinstance(update, dict):
        raise invalid(param, "Invalid object")
    merged = dict(current)
    for key, value in update.items():
        if not isinstance(value, str):
            raise invalid(f"{param}[{key}]", f"Invalid value type: {param}[{key}] must be a string")
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = str(value)
    return merged
