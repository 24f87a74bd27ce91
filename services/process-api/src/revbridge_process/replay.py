"""Re-publishing work onto the bus: a flow's event for one business key, and dead-lettered entries.

Flows are idempotent converging upserts, so publishing again is always safe: the worker reads the
current state and converges. A dead-lettered entry goes back to the stream it came from with a
fresh envelope id (the trace and correlation id are kept) and leaves the dead-letter stream in the
same MULTI, so a replay is never lost and never doubled by a crash in between.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from typing import Any

from redis.asyncio import Redis
from revbridge_contracts.events import EventEnvelope, EventType, Stream
from revbridge_contracts.process import DeadLetter, DeadLetterPage, ReplayedEntry, ReplayResult

from revbridge_process.bus import EventBus, stream_key
from revbridge_process.dispatch import EVENT_FOR_FLOW

DEAD_LETTER_FIELDS = ("dead_letter_reason", "dead_letter_stream", "dead_letter_entry_id")
BATCH = 100
log = logging.getLogger(__name__)


class NotReplayable(ValueError):
    """The flow has no business event that re-runs it."""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class Replayer:
    def __init__(self, redis: Redis, prefix: str, bus: EventBus, stream_maxlen: int = 100_000) -> None:
        self._redis, self._bus, self._maxlen = redis, bus, stream_maxlen
        self.dead_letter = stream_key(prefix, Stream.dead_letter)
        self._streams = {stream_key(prefix, s) for s in Stream if s != Stream.dead_letter}

    def check_replayable(self, flow: str) -> EventType:
        event_type = EVENT_FOR_FLOW.get(flow)
        if event_type is None:
            raise NotReplayable(f"flow {flow!r} has no business event to re-publish")
        return event_type

    async def publish_for(
        self,
        flow: str,
        business_key: str,
        account: str | None,
        source: str,
        trace_fields: dict[str, str] | None = None,
    ) -> ReplayedEntry:
        """Publish the event that re-runs ``flow`` for ``business_key``."""
        event_type = self.check_replayable(flow)
        envelope = EventEnvelope(
            type=event_type, source=source, subject=business_key, account=account, **(trace_fields or {})
        )
        entry_id = await self._bus.publish(envelope)
        return ReplayedEntry(
            stream=stream_key(self._bus.prefix, envelope.stream), entry_id=entry_id, event_id=envelope.id
        )

    async def list_dead_letters(self, cursor: str | None = None, limit: int = 100) -> DeadLetterPage:
        start = f"({cursor}" if cursor else "-"
        rows = await self._range(start, "+", limit + 1)
        items = [_dead_letter(_text(i), f) for i, f in rows[:limit]]
        return DeadLetterPage(items=items, next_cursor=items[-1].id if len(rows) > limit else None)

    async def dead_letter_depth(self) -> int:
        """Entries waiting on the dead-letter stream (the operations dashboard shows it)."""
        return int(await self._redis.xlen(self.dead_letter))

    async def replay_dead_letters(self, ids: Iterable[str] | None) -> ReplayResult:
        """Replay the given dead-letter ids, or every entry when ``ids`` is None."""
        replayed: list[ReplayedEntry] = []
        missing: list[str] = []
        if ids is not None:
            for dl_id in dict.fromkeys(ids):
                found = await self._range(dl_id, dl_id)
                if found:
                    replayed.append(await self._replay_one(dl_id, found[0][1]))
                else:
                    missing.append(dl_id)
            return ReplayResult(replayed=replayed, missing=missing)
        while True:
            rows = await self._range("-", "+", BATCH)
            if not rows:
                break
            for entry_id, fields in rows:
                replayed.append(await self._replay_one(_text(entry_id), fields))
        return ReplayResult(replayed=replayed)

    async def _range(self, start: str, end: str, count: int | None = None) -> list[Any]:
        return list(await self._redis.xrange(self.dead_letter, min=start, max=end, count=count) or [])

    async def _replay_one(self, dl_id: str, raw: dict[Any, Any]) -> ReplayedEntry:
        fields = {_text(k): _text(v) for k, v in raw.items()}
        original = {k: v for k, v in fields.items() if k not in DEAD_LETTER_FIELDS}
        original["id"] = uuid.uuid4().hex
        stream = fields.get("dead_letter_stream", "")
        if stream not in self._streams:  # never write outside our own streams
            stream = self._stream_of(original)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xadd(stream, dict(original), maxlen=self._maxlen, approximate=True)  # type: ignore[arg-type]
            pipe.xdel(self.dead_letter, dl_id)
            entry_id, _ = await pipe.execute()
        log.info(
            "dead_letter.replayed",
            extra={"dead_letter_id": dl_id, "stream": stream, "entry_id": _text(entry_id)},
        )
        return ReplayedEntry(
            stream=stream, entry_id=_text(entry_id), event_id=original["id"], dead_letter_id=dl_id
        )

    def _stream_of(self, fields: dict[str, str]) -> str:
        """The stream the event type belongs on (when the recorded one is missing or foreign)."""
        try:
            stream = EventEnvelope.from_fields(fields).stream
        except Exception:
            stream = Stream.crm if fields.get("type", "").startswith("crm.") else Stream.billing
        return stream_key(self._bus.prefix, stream)


def _dead_letter(dl_id: str, raw: dict[Any, Any]) -> DeadLetter:
    fields = {_text(k): _text(v) for k, v in raw.items()}
    return DeadLetter(
        id=dl_id,
        stream=fields.get("dead_letter_stream", ""),
        entry_id=fields.get("dead_letter_entry_id", ""),
        reason=fields.get("dead_letter_reason", ""),
        type=fields.get("type"),
        subject=fields.get("subject"),
        event_id=fields.get("id"),
        fields={k: v for k, v in fields.items() if k not in DEAD_LETTER_FIELDS},
    )
