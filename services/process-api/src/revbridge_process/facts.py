"""Publishes ledger facts (``revbridge_contracts.facts``) to the facts stream for read models.

A fact is published after the record it describes was read or written, at least once: a re-run
flow publishes it again and the read model keeps one copy per ``(kind, key)``. Publishing never
fails a flow: the money is already where it belongs, and the next run of the flow (or a
reconciliation) publishes the fact again, so a failure here is logged, not raised.
"""

from __future__ import annotations

import logging

from opentelemetry import trace
from redis.asyncio import Redis
from redis.exceptions import RedisError
from revbridge_contracts.facts import FACTS_STREAM, Fact
from revbridge_contracts.telemetry import correlation_id

log = logging.getLogger(__name__)


def current_trace_id() -> str | None:
    span_context = trace.get_current_span().get_span_context()
    return format(span_context.trace_id, "032x") if span_context.is_valid else None


class RedisFacts:
    """Implements ``ports.FactSink`` on the ``<prefix>events:facts`` stream (approximately trimmed)."""

    def __init__(self, redis: Redis, prefix: str, maxlen: int = 1_000_000) -> None:
        self._redis, self.key, self._maxlen = redis, prefix + FACTS_STREAM, maxlen

    async def publish(self, *facts: Fact) -> None:
        if not facts:
            return
        trace_id, corr = current_trace_id(), correlation_id()
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for item in facts:
                    stamped = item.model_copy(
                        update={
                            "trace_id": item.trace_id or trace_id,
                            "correlation_id": item.correlation_id or corr,
                        }
                    )
                    pipe.xadd(self.key, stamped.to_fields(), maxlen=self._maxlen, approximate=True)  # type: ignore[arg-type]
                await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("facts.unpublished", extra={"facts": len(facts), "error": str(exc)})


class NoFacts:
    """A sink that keeps nothing (unit tests of flows that do not look at facts)."""

    async def publish(self, *facts: Fact) -> None:
        return None
