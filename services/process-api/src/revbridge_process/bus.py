"""Publishes event envelopes to the Redis Streams bus, under the deployment's key prefix."""

from __future__ import annotations

import logging

from redis.asyncio import Redis
from revbridge_contracts.events import EventEnvelope, Stream

log = logging.getLogger(__name__)


def stream_key(prefix: str, stream: Stream) -> str:
    return prefix + stream.value


class EventBus:
    def __init__(self, redis: Redis, prefix: str, maxlen: int = 100_000) -> None:
        self._redis = redis
        self.prefix = prefix
        self._maxlen = maxlen  # trimmed approximately, like the system API's producer

    async def publish(self, envelope: EventEnvelope) -> str:
        """Append the envelope to its stream; returns the entry id."""
        key = stream_key(self.prefix, envelope.stream)
        fields = envelope.to_fields()
        entry_id = await self._redis.xadd(key, fields, maxlen=self._maxlen, approximate=True)  # type: ignore[arg-type]
        log.info(
            "bus.published",
            extra={
                "event_type": envelope.type.value,
                "subject": envelope.subject,
                "event_id": envelope.id,
                "entry_id": str(entry_id),
            },
        )
        return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
