"""Input helpers shared by the record types: references, money, dates, property-name checks."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from ..errors import NetSuiteError, field_required, invalid_content, invalid_ref, invalid_type
from ..state import Record, SandboxState

CUSTOM_PREFIXES = ("custentity", "custbody", "custcol", "custrecord", "custitem")


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def ref_id(
    body: dict[str, Any],
    name: str,
    *,
    required: bool = False,
    label: str | None = None,
    path: str | None = None,
) -> str | None:
    """The id of a ``{"id": "1"}`` reference (a bare id is tolerated), or None when absent.

    ``path`` is the field's JSON path in the request (``item.items[0].item`` on a line), the
    ``o:errorPath`` NetSuite answers with; ``label`` names a missing mandatory field.
    """
    where = path or name
    value = body.get(name)
    if isinstance(value, dict):
        value = value.get("id")
    if value is None or value == "":
        if required:
            raise field_required(name, label, path=where)
        return None
    if isinstance(value, bool) or not isinstance(value, str | int) or not _is_id(str(value)):
        raise invalid_ref(name, value, path=where)
    return str(int(value))


def _is_id(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 18


def existing(
    state: SandboxState, record_type: str, name: str, rid: str, *, path: str | None = None
) -> Record:
    record = state.table(record_type).get(rid)
    if record is None:
        raise invalid_ref(name, rid, path=path)
    return record


def money(value: Any, name: str) -> float:
    """A JSON number (NetSuite's double fields take no strings: ``"12.50"`` is refused).

    ``name`` is the field's JSON path, reported as ``o:errorPath``.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid_type(name, "a number")
    amount = float(value)
    if amount != amount or amount in (float("inf"), float("-inf")):
        raise invalid_type(name, "a finite number")
    return round(amount, 2)


def iso_date(value: Any, name: str) -> str:
    """A date field: a JSON string ``YYYY-MM-DD`` (no numbers, no compact ``20240101``)."""
    text_value = value if isinstance(value, str) else None
    if text_value is None or len(text_value) != 10 or text_value[4] != "-" or text_value[7] != "-":
        raise invalid_type(name, "a date string in the format YYYY-MM-DD")
    try:
        return date.fromisoformat(text_value).isoformat()
    except ValueError as exc:
        raise invalid_type(name, "a date string in the format YYYY-MM-DD") from exc


def boolean(value: Any, name: str) -> bool:
    """A checkbox field: JSON ``true``/``false`` only (``"T"`` or ``"yes"`` is refused)."""
    if not isinstance(value, bool):
        raise invalid_type(name, "a boolean (true or false)")
    return value


def text(value: Any, name: str) -> str:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise invalid_type(name, "a string")
    return str(value)


def check_property_names(body: dict[str, Any], allowed: frozenset[str], where: str = "") -> None:
    """``X-NetSuite-PropertyNameValidation: error``: name the first unknown property.

    guess: the wording of the detail; ``INVALID_CONTENT`` with the property's JSON path.
    """
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
