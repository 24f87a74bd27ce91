"""When a pending stream entry is delivered again: a per-entry not-before time in a Redis sorted set.

XAUTOCLAIM's min-idle is one threshold for the whole group, so it cannot space redeliveries by
each entry's own delivery count or honour a Retry-After. Instead a deferred entry gets a score
(not-before, epoch ms) in ``<prefix>process:redeliver:<stream>``; ``claim_due`` pops the due
members and XCLAIMs them in one script, so two workers never both take the same entry.

Entries nobody scheduled (their consumer died while handling them, or the schedule was lost)
are orphans: ``orphans`` finds them with ``XPENDING ... IDLE`` and skips any entry whose
redelivery is still in the future. A live consumer refreshes the idle time of the entries in
its hands (``touch``), so its slow work is never mistaken for an orphan.

Bounds: a member leaves the set when its entry is claimed, acknowledged or dead-lettered; an
entry trimmed from the stream while scheduled is dropped at its due time; the key itself expires
``SCHEDULE_TTL_SECONDS`` after the last schedule, so an abandoned deployment leaves nothing behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

SCHEDULE_TTL_SECONDS = 2 * 86_400
ORPHAN_SCAN_LIMIT = 1_000
"""Pending entries looked at per stream per pass; the scan resumes where it stopped next time."""

# KEYS[1] stream, KEYS[2] schedule; ARGV group, consumer, now_ms, count
_CLAIM_DUE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[3], 'LIMIT', 0, tonumber(ARGV[4]))
local out = {}
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[2], id)
  local claimed = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, id)
  if #claimed > 0 then
    local info = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1)
    local times = 1
    if #info > 0 then times = info[1][4] end
    out[#out + 1] = {claimed[1][1], claimed[1][2], times}
  end
end
return out
"""


@dataclass(frozen=True)
class Delivery:
    """One stream entry in a consumer's hands, and how often the group has delivered it."""

    stream: str
    entry_id: str
    fields: dict[Any, Any]
    deliveries: int = 1


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _fields(flat: Any) -> dict[Any, Any]:
    if isinstance(flat, dict):
        return flat
    items = list(flat or [])
    return dict(zip(items[::2], items[1::2], strict=True))


class RedeliverySchedule:
    """The not-before times of one consumer group's deferred entries, per stream."""

    def __init__(self, redis: Redis, prefix: str, group: str) -> None:
        self._redis, self._prefix, self._group = redis, prefix, group
        self._claim_due = redis.register_script(_CLAIM_DUE)
        self._orphan_cursor: dict[str, str] = {}

    def key(self, stream: str) -> str:
        return f"{self._prefix}process:redeliver:{stream.removeprefix(self._prefix)}"

    async def schedule(self, stream: str, entry_id: str, not_before_ms: int) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(self.key(stream), {entry_id: not_before_ms})
            pipe.expire(self.key(stream), SCHEDULE_TTL_SECONDS)
            await pipe.execute()

    def forget(self, pipe: Any, stream: str, entry_id: str) -> None:
        """Queue the removal of ``entry_id``'s schedule on ``pipe`` (with its XACK)."""
        pipe.zrem(self.key(stream), entry_id)

    async def not_before(self, stream: str, entry_id: str) -> float | None:
        score = await self._redis.zscore(self.key(stream), entry_id)
        return float(score) if score is not None else None

    async def claim_due(self, stream: str, consumer: str, now_ms: int, count: int) -> list[Delivery]:
        """Pop up to ``count`` entries whose time has come and claim them for ``consumer``."""
        rows = await self._claim_due(
            keys=[stream, self.key(stream)], args=[self._group, consumer, now_ms, count]
        )
        return [Delivery(stream, _text(row[0]), _fields(row[1]), int(row[2])) for row in rows or []]

    async def orphans(
        self, stream: str, consumer: str, min_idle_ms: int, count: int, exclude: frozenset[str] = frozenset()
    ) -> list[Delivery]:
        """Claim up to ``count`` entries idle at least ``min_idle_ms`` with no future redelivery
        (``exclude``: entries already in the caller's hands)."""
        found: list[Delivery] = []
        start = self._orphan_cursor.get(stream, "-")
        scanned = 0
        while len(found) < count and scanned < ORPHAN_SCAN_LIMIT:
            page = await self._redis.xpending_range(
                stream, self._group, min=start, max="+", count=100, idle=min_idle_ms
            )
            if not page:
                start = "-"
                break
            scanned += len(page)
            start = "(" + _text(page[-1]["message_id"])
            times = {_text(p["message_id"]): int(p["times_delivered"]) for p in page}
            scores = await self._redis.zmscore(self.key(stream), list(times))
            unscheduled = [
                i for i, score in zip(times, scores, strict=True) if score is None and i not in exclude
            ]
            if unscheduled:
                wanted = {i: times[i] for i in unscheduled[: count - len(found)]}
                found += await self._claim(stream, consumer, min_idle_ms, wanted)
            if len(page) < 100:
                start = "-"
                break
        self._orphan_cursor[stream] = start
        return found

    async def _claim(
        self, stream: str, consumer: str, min_idle_ms: int, times: dict[str, int]
    ) -> list[Delivery]:
        """XCLAIM with the idle threshold: an entry another worker took meanwhile is not idle any more.
        The claim counts one more delivery; an entry trimmed from the stream leaves the pending list."""
        claimed: list[Any] = await self._redis.xclaim(  # type: ignore[assignment]
            stream, self._group, consumer, min_idle_ms, list(times)
        )
        return [
            Delivery(stream, _text(i), _fields(f), times.get(_text(i), 0) + 1)
            for i, f in claimed or []
            if f is not None
        ]

    async def touch(self, held: list[tuple[str, str]], consumer: str) -> None:
        """Reset the idle time of the entries ``consumer`` is handling (JUSTID: no delivery counted)."""
        by_stream: dict[str, list[Any]] = {}
        for stream, entry_id in held:
            by_stream.setdefault(stream, []).append(entry_id)
        for stream, ids in by_stream.items():
            await self._redis.xclaim(stream, self._group, consumer, 0, ids, justid=True)
