"""Handles stream entries for the consumer group: parse, continue the trace, run the flow, decide.

The decision for each entry, in order:
- not a valid envelope (malformed, unknown event type) → ``bad_event`` exception, acked (never
  retried, never blocks the stream);
- delivered more than the flow's ``max_deliveries`` → copied to the dead-letter stream, acked;
- business failure (incl. a record the system API no longer has) → exception with owner and SLA,
  acked; the next events keep flowing;
- transient failure (after the flow's in-process retries) or conflict → exception counted, then as
  the flow's retry policy says: left pending, so XAUTOCLAIM redelivers it later (to this or another
  consumer), or given up on (acked); a bug → ``unknown`` exception, left pending;
- success → acked, and any open exception for the same (flow, business key) is resolved.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from enum import StrEnum
from typing import Any

from opentelemetry import context, trace
from redis.asyncio import Redis
from redis.exceptions import ResponseError
from revbridge_contracts.events import BadEvent, EventEnvelope, Stream
from revbridge_contracts.process import ErrorClass
from revbridge_contracts.telemetry import with_correlation
from revbridge_contracts.tracing import context_from

from revbridge_process.bus import stream_key
from revbridge_process.dispatch import FLOW_OF, FlowDeps, dispatch
from revbridge_process.errors import BUSINESS, DEFERRED, TRANSIENT, error_class_of
from revbridge_process.ports import ExceptionSink
from revbridge_process.retry import RetryPolicy, with_retries

INTAKE_FLOW = "intake"
log = logging.getLogger(__name__)


class Outcome(StrEnum):
    done = "done"
    failed = "failed"
    bad_event = "bad_event"
    pending = "pending"
    dead_lettered = "dead_lettered"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class Consumer:
    """One member of the consumer group, reading the CRM and billing streams."""

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        deps: FlowDeps,
        exceptions: ExceptionSink,
        *,
        group: str,
        name: str,
        policy: RetryPolicy,
        max_deliveries: int,
        policies: Mapping[str, RetryPolicy] | None = None,
        tracer: trace.Tracer | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        dead_letter_maxlen: int = 100_000,
    ) -> None:
        self._redis, self._deps, self._exceptions = redis, deps, exceptions
        self.group, self.name = group, name
        self._policy, self._max_deliveries, self._sleep = policy, max_deliveries, sleep
        self._policies = dict(policies or {})
        self._dead_letter_maxlen = dead_letter_maxlen
        self._tracer = tracer or trace.get_tracer("revbridge_process")
        self.streams = [stream_key(prefix, Stream.crm), stream_key(prefix, Stream.billing)]
        self.dead_letter = stream_key(prefix, Stream.dead_letter)

    async def ensure_groups(self) -> None:
        for stream in self.streams:
            try:
                await self._redis.xgroup_create(stream, self.group, id="0", mkstream=True)
            except ResponseError as exc:  # BUSYGROUP: another worker made it first
                if "BUSYGROUP" not in str(exc):
                    raise

    async def read_new(self, block_ms: int | None = None, count: int = 16) -> list[Outcome]:
        """Read and handle entries never delivered to the group before."""
        reply: list[Any] = await self._redis.xreadgroup(  # type: ignore[assignment]
            self.group, self.name, {s: ">" for s in self.streams}, count=count, block=block_ms
        )
        outcomes = []
        for stream, entries in reply or []:
            for entry_id, fields in entries:
                outcomes.append(await self.handle(_text(stream), _text(entry_id), fields, deliveries=1))
        return outcomes

    async def reclaim(self, min_idle_ms: int, count: int = 16) -> list[Outcome]:
        """Claim entries pending longer than ``min_idle_ms`` (from any consumer, dead or alive) and
        handle them again; one pass over each stream's pending list."""
        outcomes = []
        for stream in self.streams:
            start = "0-0"
            while True:
                reply: list[Any] = await self._redis.xautoclaim(  # type: ignore[assignment]
                    stream, self.group, self.name, min_idle_ms, start, count=count
                )
                start = _text(reply[0])
                for entry_id, fields in reply[1]:
                    if fields is None:  # trimmed from the stream while pending
                        await self._redis.xack(stream, self.group, entry_id)
                        continue
                    deliveries = await self._deliveries(stream, _text(entry_id))
                    outcomes.append(await self.handle(stream, _text(entry_id), fields, deliveries))
                if start == "0-0":
                    break
        return outcomes

    async def _deliveries(self, stream: str, entry_id: str) -> int:
        rows = await self._redis.xpending_range(stream, self.group, min=entry_id, max=entry_id, count=1)
        return int(rows[0]["times_delivered"]) if rows else 1

    async def handle(
        self, stream: str, entry_id: str, fields: dict[Any, Any], deliveries: int = 1
    ) -> Outcome:
        """Handle one entry end to end (the unit tests and the loop both call this)."""
        try:
            envelope = EventEnvelope.from_fields(fields)
        except BadEvent as exc:
            await self._exceptions.record_exception(
                INTAKE_FLOW,
                f"{stream}/{entry_id}",
                ErrorClass.bad_event,
                f"not a valid event envelope: {exc}",
            )
            await self._ack(stream, entry_id)
            log.warning("event.bad", extra={"stream": stream, "entry_id": entry_id})
            return Outcome.bad_event
        flow = FLOW_OF[envelope.type]
        max_deliveries = self.policy_for(flow).max_deliveries or self._max_deliveries
        if deliveries > max_deliveries:
            await self._dead_letter(stream, entry_id, fields, deliveries, max_deliveries)
            return Outcome.dead_lettered
        ctx = with_correlation(
            envelope.correlation_id, context_from(envelope.traceparent, envelope.tracestate)
        )
        token = context.attach(ctx)
        try:
            with self._tracer.start_as_current_span(
                f"process.{flow}",
                attributes={
                    "revbridge.event_type": envelope.type.value,
                    "revbridge.subject": envelope.subject,
                    "revbridge.correlation_id": envelope.correlation_id,
                    "revbridge.deliveries": deliveries,
                },
            ) as span:
                outcome = await self._run(flow, envelope, stream, entry_id)
                span.set_attribute("revbridge.outcome", outcome.value)
                return outcome
        finally:
            context.detach(token)

    def policy_for(self, flow: str) -> RetryPolicy:
        return self._policies.get(flow, self._policy)

    async def _run(self, flow: str, envelope: EventEnvelope, stream: str, entry_id: str) -> Outcome:
        fields = {"flow": flow, "subject": envelope.subject, "event_id": envelope.id, "entry_id": entry_id}
        policy, account = self.policy_for(flow), envelope.account

        async def record(error_class: ErrorClass, reason: str) -> None:
            await self._exceptions.record_exception(flow, envelope.subject, error_class, reason, account)

        try:
            await with_retries(lambda: dispatch(envelope, self._deps), policy, self._sleep)
        except BUSINESS as exc:
            await record(error_class_of(exc), str(exc))
            await self._ack(stream, entry_id)
            log.warning(
                "flow.failed", extra={**fields, "error_class": error_class_of(exc).value, "reason": str(exc)}
            )
            return Outcome.failed
        except TRANSIENT + DEFERRED as exc:
            await record(error_class_of(exc), str(exc))
            if policy.give_up:
                await self._ack(stream, entry_id)
                log.warning("flow.gave_up", extra={**fields, "error_class": error_class_of(exc).value})
                return Outcome.failed
            log.warning(
                "flow.deferred",
                extra={**fields, "error_class": error_class_of(exc).value, "reason": str(exc)},
            )
            return Outcome.pending
        except Exception as exc:
            await record(ErrorClass.unknown, f"{type(exc).__name__}: {exc}")
            log.exception("flow.error", extra=fields)
            return Outcome.pending
        await self._exceptions.resolve_exception(flow, envelope.subject)
        await self._ack(stream, entry_id)
        log.info("flow.done", extra=fields)
        return Outcome.done

    async def _ack(self, stream: str, entry_id: str) -> None:
        await self._redis.xack(stream, self.group, entry_id)

    async def _dead_letter(
        self, stream: str, entry_id: str, fields: dict[Any, Any], deliveries: int, max_deliveries: int
    ) -> None:
        reason = f"delivered {deliveries} times (more than {max_deliveries}) without success"
        entry: dict[Any, Any] = {_text(k): _text(v) for k, v in fields.items()} | {
            "dead_letter_reason": reason,
            "dead_letter_stream": stream,
            "dead_letter_entry_id": entry_id,
        }
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xadd(self.dead_letter, entry, maxlen=self._dead_letter_maxlen, approximate=True)
            pipe.xack(stream, self.group, entry_id)
            await pipe.execute()
        log.error(
            "event.dead_lettered", extra={"stream": stream, "entry_id": entry_id, "deliveries": deliveries}
        )
