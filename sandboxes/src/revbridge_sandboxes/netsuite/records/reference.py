"""Read-only reference records seeded at start-up: currency, subsidiary, serviceSaleItem, account."""

from __future__ import annotations

from .kinds import RecordKind

KINDS = [
    RecordKind(name="currency", ref_name=lambda record: record["name"]),
    RecordKind(name="subsidiary", ref_name=lambda record: record["name"], refs={"currency": "currency"}),
    RecordKind(name="serviceSaleItem", ref_name=lambda record: record["itemId"]),
    RecordKind(name="account", ref_name=lambda record: record["acctName"]),
]
