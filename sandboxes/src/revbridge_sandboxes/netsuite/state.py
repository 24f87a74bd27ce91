"""Everything the sandbox remembers, held on one object stored at ``app.state.netsuite``.

Records are kept in their stored form (references as id strings, sublists as lists of dicts);
``records.serialize`` turns them into NetSuite's JSON. The server runs on one event loop, so
plain dicts and counters need no locks.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from .seed import seed_reference_data
from .settings import NetSuiteSandboxSettings

Record = dict[str, Any]


@dataclass
class Fault:
    """An injected failure or delay for calls whose path starts with ``path_prefix``."""

    path_prefix: str
    method: str | None = None
    status: int | None = None
    retry_after: int | None = None
    latency_ms: int = 0
    count: int | None = 1
    mode: str = "error"

    def matches(self, method: str, path: str) -> bool:
        if self.count is not None and self.count <= 0:
            return False
        if self.method and self.method.upper() != method.upper():
            return False
        return path.startswith(self.path_prefix)


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
    nonces: dict[tuple[str, str, str], int] = field(default_factory=dict)
    jobs: dict[str, AsyncJob] = field(default_factory=dict)
    idempotency_keys: dict[str, str] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    request_log: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=1000))
    in_flight: int = 0

    def reset(self) -> None:
        """Drop customers, transactions, jobs and faults; restore the seeded reference data."""
        self.records = {"customer": {}, "invoice": {}, "customerpayment": {}, **seed_reference_data()}
        self.counters = {
            "entity": 0,
            "transaction": 0,
            "invoice_number": 1000,
            "payment_number": 1000,
            "job": 0,
        }
        self.nonces.clear()
        self.jobs.clear()
        self.idempotency_keys.clear()
        self.faults.clear()
        self.request_log.clear()

    def next_id(self, counter: str) -> int:
        self.counters[counter] += 1
        return self.counters[counter]

    def table(self, record_type: str) -> dict[str, Record]:
        return self.records[record_type]


def new_state(settings: NetSuiteSandboxSettings) -> SandboxState:
    state = SandboxState(settings=settings)
    state.reset()
    return state
