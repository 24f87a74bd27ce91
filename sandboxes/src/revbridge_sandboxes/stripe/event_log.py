"""The events of one account, stored compactly and kept within a retention window.

An event's ``data`` (a snapshot of the object, often an invoice) is by far the largest thing the
sandbox stores, and it never changes once recorded, so each event keeps it as compressed JSON
(``compact``: a few percent of the same snapshot held as Python dicts) and inflates it only when
the event is read or delivered. The small, mutable envelope (type, created,
``pending_webhooks``...) stays as plain attributes, which is what listing filters on.

Stripe keeps events for 30 days; under test clocks the sandbox creates months of events in
minutes, so it also keeps at most a configured number per account, dropping the oldest first.
A dropped event is only gone from ``/v1/events``: a delivery still queued holds its own reference
and is sent all the same.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .compact import pack, unpack

Obj = dict[str, Any]


@dataclass(slots=True, eq=False)
class StoredEvent:
    """One event: the envelope as attributes, ``data`` as compressed JSON."""

    id: str
    type: str
    created: int
    api_version: str | None
    request_id: str | None
    idempotency_key: str | None
    pending_webhooks: int
    recorded_at: float  # wall clock, for the retention window
    blob: bytes

    @classmethod
    def record(
        cls,
        event_id: str,
        event_type: str,
        created: int,
        data: Obj,
        api_version: str | None,
        request_id: str | None,
        idempotency_key: str | None,
    ) -> StoredEvent:
        return cls(
            id=event_id,
            type=event_type,
            created=created,
            api_version=api_version,
            request_id=request_id,
            idempotency_key=idempotency_key,
            pending_webhooks=0,
            recorded_at=time.time(),
            blob=pack(data),
        )

    def data(self) -> Obj:
        decoded: Obj = unpack(self.blob)
        return decoded

    def to_dict(self) -> Obj:
        """The event as Stripe serializes it (a fresh dict each call)."""
        return {
            "id": self.id,
            "object": "event",
            "api_version": self.api_version,
            "created": self.created,
            "data": self.data(),
            "livemode": False,
            "pending_webhooks": self.pending_webhooks,
            "request": {"id": self.request_id, "idempotency_key": self.idempotency_key},
            "type": self.type,
        }


class EventLog:
    """An account's events in creation order, at most ``max_count`` and none older than
    ``max_age_seconds`` (trimmed as new ones arrive)."""

    def __init__(self, max_count: int, max_age_seconds: float) -> None:
        self.max_count = max_count
        self.max_age_seconds = max_age_seconds
        self._order: deque[StoredEvent] = deque()  # oldest first: dropping from the front is O(1)
        self._by_id: dict[str, StoredEvent] = {}
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._order)

    def __iter__(self) -> Iterator[StoredEvent]:
        return iter(self._order)

    def add(self, event: StoredEvent) -> None:
        self._order.append(event)
        self._by_id[event.id] = event
        self.trim(event.recorded_at)

    def get(self, event_id: str) -> StoredEvent | None:
        return self._by_id.get(event_id)

    def newest_first(self) -> list[StoredEvent]:
        return list(reversed(self._order))

    def trim(self, now: float) -> None:
        """Drop the oldest events beyond the count or older than the age limit."""
        order, oldest_kept = self._order, now - self.max_age_seconds
        while order and (len(order) > self.max_count or order[0].recorded_at < oldest_kept):
            del self._by_id[order.popleft().id]
            self.dropped += 1

    def clear(self) -> None:
        self._order.clear()
        self._by_id.clear()
