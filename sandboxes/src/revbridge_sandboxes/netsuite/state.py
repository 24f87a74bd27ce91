"""Everything the sandbox remembers, held on one object stored at ``app.state.netsuite``.

Records are kept in their stored form (references as id strings, sublists as lists of dicts);
``records.serialize`` turns them into NetSuite's JSON. The server runs on one event loop, so
plain dicts and counters need no locks.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

from ..faults import FaultPlan, FaultRule
from .seed import seed_reference_data
from .settings import NetSuiteSandboxSettings

Record = dict[str, Any]


@dataclass
class AsyncJob:
    """One ``Prefer: respond-async`` request; it runs at once, so it is always complete."""

    id: str
    started: str
    ended: str
    succeeded: bool
    status: int
    location: str | None = None
    error: dict[str, Any] | None = None


@dataclass
class SandboxState:
    settings: NetSuiteSandboxSettings
    records: dict[str, dict[str, Record]] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    nonces: OrderedDict[tuple[str, str, str], int] = field(default_factory=OrderedDict)
    """TBA nonces seen inside the timestamp window, in arrival order (``auth._check_fresh``)."""
    jobs: dict[str, AsyncJob] = field(default_factory=dict)
    idempotency_keys: dict[str, str] = field(default_factory=dict)
    faults: FaultPlan = field(default_factory=FaultPlan)
    startup_faults: tuple[list[FaultRule], int | None] = ([], None)
    access_tokens: dict[str, float] = field(default_factory=dict)
    request_log: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=1000))
    in_flight: int = 0
    external_ids: dict[tuple[str, str], str] = field(default_factory=dict)
    """(record type, external id) -> the internal id it was last given to, so a look-up by external
    id is not a scan of the table. Every write that sets an external id claims it first
    (``records.common.unique_external_id``); a read checks the record still has it (it may have
    been deleted or given another one since), so a stale entry is only a miss."""
    applications: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    """Transaction id -> (record type, id) of every payment, credit memo and refund whose apply
    lines have named it, so what was applied to a transaction is not a scan of every payment.
    Each write of apply lines tracks them (``track_applications``); reads sum the lines as they
    are now, so a record deleted or re-applied elsewhere since counts for nothing."""

    def reset(self) -> None:
        """Drop customers, transactions and jobs; restore the seeded reference data and start-up faults.

        Issued OAuth 2.0 access tokens survive a reset, as sessions survive data changes.
        """
        self.records = {
            "customer": {},
            "invoice": {},
            "customerpayment": {},
            "creditMemo": {},
            "customerRefund": {},
            "journalEntry": {},
            **seed_reference_data(),
        }
        self.counters = {
            "entity": 0,
            "transaction": 0,
            "invoice_number": 1000,
            "payment_number": 1000,
            "creditmemo_number": 1000,
            "refund_number": 1000,
            "journal_number": 1000,
            "item": 1000,
            "job": 0,
        }
        self.nonces.clear()
        self.jobs.clear()
        self.idempotency_keys.clear()
        self.faults.clear()
        self.faults.add(self.startup_faults[0])
        self.faults.reseed(self.startup_faults[1])
        self.request_log.clear()
        self.external_ids.clear()
        self.applications.clear()
        for record_type, table in self.records.items():
            for rid, record in table.items():
                if record.get("externalId"):
                    self.claim_external_id(record_type, record["externalId"], rid)
                self.track_applications(record_type, record)

    def next_id(self, counter: str) -> int:
        self.counters[counter] += 1
        return self.counters[counter]

    def table(self, record_type: str) -> dict[str, Record]:
        return self.records[record_type]

    def claim_external_id(self, record_type: str, external_id: str, rid: str) -> None:
        self.external_ids[(record_type, external_id)] = rid

    def by_external_id(self, record_type: str, external_id: str) -> Record | None:
        rid = self.external_ids.get((record_type, external_id))
        record = self.records[record_type].get(rid) if rid is not None else None
        return record if record is not None and record.get("externalId") == external_id else None

    def track_applications(self, record_type: str, record: Record) -> None:
        for line in record.get("apply", ()):
            self.applications.setdefault(line["doc"], set()).add((record_type, record["id"]))

    def applications_to(self, doc_id: str) -> set[tuple[str, str]]:
        return self.applications.get(doc_id, set())


def new_state(settings: NetSuiteSandboxSettings, faults: FaultPlan | None = None) -> SandboxState:
    """A fresh account; ``faults`` (from the environment at start-up) come back on every reset."""
    plan = faults or FaultPlan()
    state = SandboxState(settings=settings, startup_faults=([r.model_copy() for r in plan.rules], plan.seed))
    state.reset()
    return state
