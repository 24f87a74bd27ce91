"""Idempotency keys of one account: the saved outcome of the first request made with each key.

Stripe keeps a key 24 hours; under load the sandbox also keeps at most a configured number per
account (the oldest finished ones dropped first), so keys do not grow with traffic. A response body
is saved compressed: it is replayed rarely, and most of it is a large object's JSON.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

from .compact import pack_bytes, unpack_bytes


@dataclass(slots=True)
class IdempotentEntry:
    """The saved outcome of the first request made with one idempotency key (the body compressed:
    it is replayed rarely, and most of it is a large object's JSON)."""

    fingerprint: str
    created: float
    status: int | None = None  # None while the first request is still executing
    compressed_body: bytes = b""

    def save(self, status: int, body: bytes) -> None:
        self.status, self.compressed_body = status, pack_bytes(body)

    @property
    def body(self) -> bytes:
        return unpack_bytes(self.compressed_body) if self.compressed_body else b""


class IdempotencyKeys:
    """Saved outcomes by key, oldest first: none older than ``max_age_seconds`` and at most
    ``max_count`` (the oldest finished ones go first; one still executing is never dropped)."""

    def __init__(self, max_count: int, max_age_seconds: float) -> None:
        self.max_count = max_count
        self.max_age_seconds = max_age_seconds
        self._entries: dict[str, IdempotentEntry] = {}
        self._order: deque[tuple[str, IdempotentEntry]] = deque()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> IdempotentEntry | None:
        entry = self._entries.get(key)
        if entry is not None and time.time() - entry.created > self.max_age_seconds:
            self.pop(key)
            return None
        return entry

    def begin(self, key: str, fingerprint: str) -> IdempotentEntry:
        entry = self._entries[key] = IdempotentEntry(fingerprint=fingerprint, created=time.time())
        self._order.append((key, entry))
        self._trim(entry.created)
        return entry

    def pop(self, key: str) -> None:
        self._entries.pop(key, None)  # its place in ``_order`` is skipped when it comes up

    def _trim(self, now: float) -> None:
        order, entries, oldest_kept = self._order, self._entries, now - self.max_age_seconds
        for _ in range(len(order)):
            key, entry = order[0]
            if entries.get(key) is not entry:  # popped, or the key was reused since
                order.popleft()
                continue
            if len(entries) <= self.max_count and entry.created >= oldest_kept:
                return
            order.popleft()
            if entry.status is None:  # still executing: its outcome must be saved for replays
                order.append((key, entry))
                continue
            del entries[key]

    def clear(self) -> None:
        self._entries.clear()
        self._order.clear()
