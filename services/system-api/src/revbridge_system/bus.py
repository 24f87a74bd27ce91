"""Publishes business events (``EventEnvelope``) to Redis Streams.

Keys are ``<REVBRIDGE_KEY_PREFIX><stream>``; each XADD trims approximately to ``maxlen`` so the
stream stays bounded. ``record_once`` is the webhook path: in one Lua script it records the
vendor's event id (SET NX with a TTL) and, only if that id is new, appends the envelope, so a
duplicate delivery can never enqueue twice and a crash can never record without enqueueing.
"""

from __future__ import annotations

import logging

from redis.asyncio import Redis
from revbridge_contracts.events import EventEnvelope, Stream

log = logging.getLogger("revbridge_system.bus")

# KEYS[1] = record key, KEYS[2] = stream key (absent: record only)
# ARGV = ttl seconds, maxlen, then field/value pairs of the envelope
_RECORD_ONCE = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  return 0
end
if #KEYS > 1 then
  local args = {'XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*'}
  for i = 3, #ARGV do args[#args + 1] = ARGV[i] end
  redis.call(unpack(args))
end
return 1
"""


class EventBus:
    """The producer side of the bus; consumers live in the process API."""

    def __init__(self, redis: Redis, key_prefix: str, maxlen: int = 100_000) -> None:
        self._redis = redis
        self._prefix = key_prefix
        self._maxlen = maxlen
        self._record_once = redis.register_script(_RECORD_ONCE)

    def stream_key(self, stream: Stream) -> str:
        return f"{self._prefix}{stream.value}"

    def key(self, suffix: str) -> str:
        """A key under this deployment's prefix (for records, watermarks, locks)."""
        return f"{self._prefix}{suffix}"

    async def publish(self, envelope: EventEnvelope) -> str:
        entry_id = await self._redis.xadd(
            self.stream_key(envelope.stream),
            envelope.to_fields(),  # type: ignore[arg-type]
            maxlen=self._maxlen,
            approximate=True,
        )
        log.info(
            "bus.event.published",
            extra={"event_type": envelope.type.value, "subject": envelope.subject, "source": envelope.source},
        )
        return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)

    async def record_once(self, record_key: str, ttl_seconds: int, envelope: EventEnvelope | None) -> bool:
        """Record ``record_key``; if it is new, publish ``envelope`` in the same atomic step.

        Returns False for a duplicate (nothing published). ``envelope=None`` records only.
        """
        keys = [self.key(record_key)]
        args: list[str | int] = [ttl_seconds, self._maxlen]
        if envelope is not None:
            keys.append(self.stream_key(envelope.stream))
            for field, value in envelope.to_fields().items():
                args += [field, value]
        fresh = bool(await self._record_once(keys=keys, args=args))
        if fresh and envelope is not None:
            log.info(
                "bus.event.published",
                extra={
                    "event_type": envelope.type.value,
                    "subject": envelope.subject,
                    "source": envelope.source,
                },
            )
        return fresh
