"""The type of every field the sandbox's record types carry, shared by the metadata catalog and
the ``q=`` collection filter (which picks its operators by field type, as NetSuite does).

Types are the REST API Browser's: text, number (double), integer, boolean (checkbox), date,
datetime, a reference (select/list field: ``{id, refName, links}``) or a sublist. Fields that are
not listed here are text. Reference record types (currency, subsidiary, account) have no input
fields on their ``RecordKind``; what they hold is listed in ``STORED_FIELDS``.
"""

from __future__ import annotations

import re
from typing import Literal

from .kinds import RecordKind

FieldType = Literal["text", "number", "integer", "boolean", "date", "datetime", "reference", "sublist"]

NUMBERS = frozenset(
    {
        "total",
        "amountPaid",
        "amountRemaining",
        "applied",
        "unapplied",
        "payment",
        "price",
        "quantity",
        "rate",
        "amount",
        "debit",
        "credit",
    }
)
BOOLEANS = frozenset({"isInactive", "isPerson", "isBaseCurrency", "approved", "toBeEmailed", "apply"})
DATES = frozenset({"tranDate", "dueDate", "custcol_service_start", "custcol_service_end"})
DATETIMES = frozenset({"createdDate", "dateCreated", "lastModifiedDate"})
INTEGERS = frozenset({"line"})
# what the seeded, read-only record types hold (their kinds take no input)
STORED_FIELDS: dict[str, tuple[str, ...]] = {
    "currency": ("name", "symbol", "displaySymbol", "isBaseCurrency"),
    "subsidiary": ("name", "country", "currency", "isInactive"),
    "account": ("acctName", "acctType", "isInactive"),
}
# field labels NetSuite shows that camel-case splitting would not give
LABELS = {
    "entity": "Customer",
    "entityId": "Customer ID",
    "tranId": "Document Number",
    "tranDate": "Date",
    "externalId": "External ID",
    "otherRefNum": "PO/Check Number",
    "itemId": "Item Name/Number",
    "acctName": "Account Name",
    "acctType": "Account Type",
    "payment": "Payment Amount",
    "url": "Web Address",
    "id": "Internal ID",
}


def field_type(kind: RecordKind, name: str) -> FieldType:
    if name in kind.sublists:
        return "sublist"
    if name in kind.refs:
        return "reference"
    return scalar_type(name)


def scalar_type(name: str) -> FieldType:
    if name in NUMBERS:
        return "number"
    if name in BOOLEANS:
        return "boolean"
    if name in DATES:
        return "date"
    if name in DATETIMES:
        return "datetime"
    if name in INTEGERS:
        return "integer"
    return "text"


def record_fields(kind: RecordKind) -> list[str]:
    """Every body field of ``kind`` as the sandbox renders it, in a stable order."""
    names = set(kind.fields) | set(kind.read_only) | set(STORED_FIELDS.get(kind.name, ())) | {"id"}
    names.discard("refName")
    names.discard("links")
    return sorted(names)


def label(name: str) -> str:
    """The UI label of a field: ``companyName`` -> ``Company Name`` unless NetSuite says otherwise."""
    if name in LABELS:
        return LABELS[name]
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).split()
    return " ".join(word[:1].upper() + word[1:] for word in words)
