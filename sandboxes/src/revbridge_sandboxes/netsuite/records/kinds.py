"""The description of one record type, and the case-insensitive registry of all of them.

Each record module (customer, invoice, payment, reference) builds a ``RecordKind``; the routes
only ever go through this interface, so adding a record type touches one module and the registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import NetSuiteError
from ..state import Record, SandboxState

Creator = Callable[[SandboxState, dict[str, Any]], Record]
Updater = Callable[[SandboxState, Record, dict[str, Any]], None]
Deleter = Callable[[SandboxState, Record], None]


@dataclass(frozen=True)
class RecordKind:
    """How one record type is validated, stored and shown.

    ``refs`` maps body fields to the record type they reference; ``sublists`` maps a sublist
    name to the references its lines carry. ``fields`` and ``line_fields`` are the accepted input
    property names (custom ``cust*`` fields are always accepted); ``read_only`` ones are ignored.
    """

    name: str
    ref_name: Callable[[Record], str]
    refs: dict[str, str] = field(default_factory=dict)
    sublists: dict[str, dict[str, str]] = field(default_factory=dict)
    fields: frozenset[str] = frozenset()
    line_fields: frozenset[str] = frozenset()
    read_only: frozenset[str] = frozenset()
    create: Creator | None = None
    update: Updater | None = None
    delete: Deleter | None = None

    @property
    def writable(self) -> bool:
        return self.create is not None


def registry() -> dict[str, RecordKind]:
    """All record kinds keyed by lower-cased type name (NetSuite matches type names loosely)."""
    from . import creditmemo, customer, invoice, items, journal, payment, reference, refund

    kinds = [
        customer.KIND,
        invoice.KIND,
        payment.KIND,
        creditmemo.KIND,
        refund.KIND,
        journal.KIND,
        *items.KINDS,
        *reference.KINDS,
    ]
    return {kind.name.lower(): kind for kind in kinds}


def lookup(kinds: dict[str, RecordKind], name: str) -> RecordKind:
    kind = kinds.get(name.lower())
    if kind is None:
        # The wording is what NetSuite answers for GET /record/v1/bad-path.
        # guess: the status (404, the URL names no resource) and the code.
        raise NetSuiteError(404, "INVALID_RCRD_TYPE", f"Record type '{name}' does not exist.")
    return kind
