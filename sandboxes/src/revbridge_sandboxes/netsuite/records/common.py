"""Input helpers shared by the record types: references, money, dates, property-name checks."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from ..errors import NetSuiteError, field_required, invalid_content, invalid_ref
from ..state import Record, SandboxState

CUSTOM_PREFIXES = ("custentity", "custbody", "custcol", "custrecord", "custitem")


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def ref_id(body: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    """The id of a ``{"id": "1"}`` reference (a bare id is tolerated), or None when absent."""
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise field_required(name)
        return None
    if isinstance(value, dict):
        value = value.get("id")
        if value is None or value == "":
            if required:
                raise field_required(name)
            return None
    if isinstance(value, bool) or not isinstance(value, str | int) or not _is_id(str(value)):
        raise invalid_ref(name, value)
    return str(int(value))


def _is_id(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 18


def existing(state: SandboxState, record_type: str, name: str, rid: str) -> Record:
    record = state.table(record_type).get(rid)
    if record is None:
        raise invalid_ref(name, rid)
    return record


def money(value: Any, name: str) -> float:
    if isinstance(value, bool):
        raise invalid_content(f"Invalid value for {name}: expected a number.", path=name)
    try:
        amount = float(value)
    except (TypeError, ValueError) as exc:
        raise invalid_content(f"Invalid value for {name}: expected a number.", path=name) from exc
    if amount != amount or amount in (float("inf"), float("-inf")):
        raise invalid_content(f"Invalid value for {name}: expected a number.", path=name)
    return round(amount, 2)


def iso_date(value: Any, name: str) -> str:
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError as exc:
        raise invalid_content(f"Invalid date value for {name}; use YYYY-MM-DD.", path=name) from exc


def text(value: Any, name: str) -> str:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise invalid_content(f"Invalid value for {name}: expected a string.", path=name)
    return str(value)


def check_property_names(body: dict[str, Any], allowed: frozenset[str], where: str = "") -> None:
    """``X-NetSuite-PropertyNameValidation: error``: name the first unknown property."""
    for key in body:
        if key in allowed or key.lower().startswith(CUSTOM_PREFIXES) or key == "links":
            continue
        path = f"{where}{key}"
        raise invalid_content(
            f"Error while accessing a resource. You have entered an invalid field name: '{path}'. "
            "Field names are case-sensitive.",
            path=path,
        )


def sublist_lines(body: dict[str, Any], name: str) -> list[dict[str, Any]] | None:
    """Lines of ``{"items": [...]}``; None when the sublist is absent."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("items", []), list):
        raise invalid_content(f'Invalid value for sublist {name}: expected {{"items": [...]}}.', path=name)
    lines = value.get("items", [])
    if not all(isinstance(line, dict) for line in lines):
        raise invalid_content(f"Invalid line in sublist {name}: expected an object.", path=name)
    return lines


def unique_external_id(
    state: SandboxState, record_types: tuple[str, ...], external_id: str, rid: str
) -> None:
    """Refuse an external id another record of these types has; else claim it for ``rid``."""
    for record_type in record_types:
        other = state.by_external_id(record_type, external_id)
        if other is not None and other["id"] != rid:
            raise NetSuiteError(
                400,
                "DUP_RCRD",
                f"A record with the external ID {external_id} already exists.",
                path="externalId",
            )
    for record_type in record_types:
        state.claim_external_id(record_type, external_id, rid)
