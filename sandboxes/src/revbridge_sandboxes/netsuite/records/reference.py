"""Read-only reference records seeded at start-up: currency, subsidiary, account."""

from __future__ import annotations

from .kinds import RecordKind

KINDS = [
    RecordKind(name="currency", ref_name=lambda record: record["name"]),
    RecordKind(name="subsidiary", ref_name=lambda record: record["name"], refs={"currency": "currency"}),
    RecordKind(name="account", ref_name=lambda record: record["acctName"]),
]
