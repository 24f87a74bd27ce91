"""Handles stream entries for the consumer group: parse, continue the trace, run the flow, decide.

The decision for each entry, in order:
- not a valid envelope (malformed, unknown event type) → ``bad_event`` exception, acked (never
  retried, never blocks the stream);
- delivered more than the flow's ``max_deliveries`` → copied to the dead-letter stream, acked;
- business failure (incl. a record the system API no longer has) → exception with owner and SLA,
  acked; the next events keep flowing;
- transient failure (after the flow's in-process retries) or conflict → exception counted, then as
  the flow's retry policy says: left pending with its next delivery scheduled after a gap that grows
  with its delivery count (or the platform's Retry-After, when longer; ``redelivery``), to this or
  another consumer, or given up on (acked); a bug → ``unknown`` exception, left pending alike;
- success → acked, and any open exception for the same (flow, business key) is resolved.

Entries are handled concurrently: at most the flow's ``concurrency`` at once per worker (one
semaphore per flow, so a slow flow cannot take every slot), and entries naming the same subject
one after the other, in the order they were read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
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
from revbridge_process.errors import BUSINESS, DEFERRED, TRANSIENT, SystemUnavailable, error_class_of
from revbridge_process.facts import flow_context
from revbridge_process.ports import ExceptionSink
from revbridge_process.redelivery import Delivery, RedeliverySchedule
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
        flow_concurrency: int = 8,
        now: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._redis, self._deps, self._exceptions = redis, deps, exceptions
        self.group, self.name = group, name
        self._policy, self._max_deliveries, self._sleep = policy, max_deliveries, sleep
        self._policies = dict(policies or {})
        self._dead_letter_maxlen = dead_letter_maxlen
        self._tracer = tracer or trace.get_tracer("revbridge_process")
        self.streams = [stream_key(prefix, Stream.crm), stream_key(prefix, Stream.billing)]
        self.dead_letter = stream_key(prefix, Stream.dead_letter)
        self.schedule = RedeliverySchedule(redis, prefix, group)
        self._now, self._rand = now, rand
        self._flow_concurrency = flow_concurrency
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._subjects: dict[str, tuple[asyncio.Lock, int]] = {}
        self.in_flight: dict[tuple[str, str], str] = {}
        """(stream, entry id) → flow of each entry in this consumer's hands (its idle time is kept fresh)."""
        self.peak_in_flight: dict[str, int] = {}

    async def ensure_groups(self) -> None:
        for stream in self.streams:
            try:
                await self._redis.xgroup_create(stream, self.group, id="0", mkstream=True)
            except ResponseError as exc:  # BUSYGROUP: another worker made it first
                if "BUSYGROUP" not in str(exc):
                    raise

    async def read_new(self, block_ms: int | None = None, count: int = 16) -> list[Outcome]:
        """Read and handle entries never delivered to the group before (concurrently, in order)."""
        return await self.handle_all(await self.fetch_new(block_ms, count))

    async def reclaim(self, min_idle_ms: int, count: int = 16) -> list[Outcome]:
        """Claim the entries whose redelivery is due, and orphans (pending at least ``min_idle_ms``
        with no redelivery scheduled: their consumer died), then handle them."""
        outcomes: list[Outcome] = []
        while True:
            batch = await self.fetch_due(min_idle_ms, count)
            if not batch:
                return outcomes
            outcomes += await self.handle_all(batch)

    async def fetch_new(self, block_ms: int | None = None, count: int = 16) -> list[Delivery]:
        reply: list[Any] = await self._redis.xreadgroup(  # type: ignore[assignment]
            self.group, self.name, {s: ">" for s in self.streams}, count=count, block=block_ms
        )
        return [
            Delivery(_text(stream), _text(entry_id), fields, 1)
            for stream, entries in reply or []
            for entry_id, fields in entries
        ]

    async def fetch_due(self, min_idle_ms: int, count: int = 16) -> list[Delivery]:
        """Up to ``count`` entries to deliver again: due redeliveries first, then orphans."""
        now_ms = int(self._now() * 1000)
        batch: list[Delivery] = []
        for stream in self.streams:
            batch += await self.schedule.claim_due(stream, self.name, now_ms, count - len(batch))
            if len(batch) >= count:
                return batch
        for stream in self.streams:
            held = frozenset(e for s, e in self.in_flight if s == stream) | {
                d.entry_id for d in batch if d.stream == stream
            }
            batch += await self.schedule.orphans(stream, self.name, min_idle_ms, count - len(batch), held)
            if len(batch) >= count:
                break
        return batch

    async def handle_all(self, batch: list[Delivery]) -> list[Outcome]:
        return list(await asyncio.gather(*(self.handle_delivery(d) for d in batch)))

    async def handle_delivery(self, delivery: Delivery) -> Outcome:
        return await self.handle(delivery.stream, delivery.entry_id, delivery.fields, delivery.deliveries)

    async def touch_in_flight(self) -> None:
        """Keep the entries in hand from looking like a dead consumer's (see ``redelivery``)."""
        if self.in_flight:
            await self.schedule.touch(list(self.in_flight), self.name)

    async def reap_consumers(self, idle_ms: int) -> list[str]:
        """Remove group members idle ``idle_ms`` with nothing pending (a restarted worker comes back
        under a new name; the old names would otherwise pile up in the group forever)."""
        removed: list[str] = []
        for stream in self.streams:
            with contextlib.suppress(ResponseError):  # no such stream or group yet
                for member in await self._redis.xinfo_consumers(stream, self.group):
                    name = _text(member["name"])
                    if name != self.name and int(member["pending"]) == 0 and int(member["idle"]) >= idle_ms:
                        await self._redis.xgroup_delconsumer(stream, self.group, name)
                        removed.append(name)
        if removed:
            log.info("consumer.reaped", extra={"consumers": sorted(set(removed))})
        return removed

    async def handle(
        self, stream: str, entry_id: str, fields: dict[Any, Any], deliveries: int = 1
    ) -> Outcome:
        """Handle one entry end to end (the unit tests and the loop both call this)."""
        self.in_flight[(stream, entry_id)] = ""
        try:
            return await self._handle(stream, entry_id, fields, deliveries)
        finally:
            self.in_flight.pop((stream, entry_id), None)

    async def _handle(self, stream: str, entry_id: str, fields: dict[Any, Any], deliveries: int) -> Outcome:
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
        async with self._slot(flow), self._subject(envelope.subject):
            self.in_flight[(stream, entry_id)] = flow
            running = sum(1 for f in self.in_flight.values() if f == flow)
            self.peak_in_flight[flow] = max(self.peak_in_flight.get(flow, 0), running)
            return await self._traced(flow, envelope, ctx, stream, entry_id, deliveries)

    async def _traced(
        self, flow: str, envelope: EventEnvelope, ctx: Any, stream: str, entry_id: str, deliveries: int
    ) -> Outcome:
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
                with flow_context(flow, envelope.id, deliveries):
                    outcome = await self._run(flow, envelope, stream, entry_id, deliveries)
                span.set_attribute("revbridge.outcome", outcome.value)
                return outcome
        finally:
            context.detach(token)

    def policy_for(self, flow: str) -> RetryPolicy:
        return self._policies.get(flow, self._policy)

    def _slot(self, flow: str) -> asyncio.Semaphore:
        slot = self._slots.get(flow)
        if slot is None:
            limit = self.policy_for(flow).concurrency or self._flow_concurrency
            slot = self._slots[flow] = asyncio.Semaphore(limit)
        return slot

    @contextlib.asynccontextmanager
    async def _subject(self, subject: str) -> AsyncIterator[None]:
        """Entries about the same subject one at a time (asyncio locks are FIFO: in reading order);
        the lock is dropped with its last user, so the table stays as small as the work in hand."""
        lock, users = self._subjects.get(subject) or (asyncio.Lock(), 0)
        self._subjects[subject] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._subjects[subject]
            if users <= 1:
                del self._subjects[subject]
            else:
                self._subjects[subject] = (lock, users - 1)

    async def _defer(
        self, policy: RetryPolicy, stream: str, entry_id: str, deliveries: int, exc: BaseException
    ) -> float:
        """Schedule the next delivery of a pending entry; returns the gap in seconds."""
        retry_after = exc.retry_after if isinstance(exc, SystemUnavailable) else None
        gap = policy.redelivery_delay(deliveries, retry_after, self._rand)
        await self.schedule.schedule(stream, entry_id, int((self._now() + gap) * 1000))
        return gap

    async def _run(
        self, flow: str, envelope: EventEnvelope, stream: str, entry_id: str, deliveries: int = 1
    ) -> Outcome:
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
            gap = await self._defer(policy, stream, entry_id, deliveries, exc)
            log.warning(
                "flow.deferred",
                extra={
                    **fields,
                    "error_class": error_class_of(exc).value,
                    "reason": str(exc),
                    "redeliver_in_seconds": round(gap, 3),
                },
            )
            return Outcome.pending
        except Exception as exc:
            await record(ErrorClass.unknown, f"{type(exc).__name__}: {exc}")
            await self._defer(policy, stream, entry_id, deliveries, exc)
            log.exception("flow.error", extra=fields)
            return Outcome.pending
        await self._exceptions.resolve_exception(flow, envelope.subject)
        await self._ack(stream, entry_id)
        log.info("flow.done", extra=fields)
        return Outcome.done

    async def _ack(self, stream: str, entry_id: str) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.xack(stream, self.group, entry_id)
            self.schedule.forget(pipe, stream, entry_id)
            await pipe.execute()

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
            self.schedule.forget(pipe, stream, entry_id)
            await pipe.execute()
        log.error(
            "event.dead_lettered", extra={"stream": stream, "entry_id": entry_id, "deliveries": deliveries}
        )
