"""Redelivery against a real Redis with an injected clock: gaps grow with the delivery count up to
the flow's cap, a Retry-After from the last failure wins, only due entries are claimed, orphans of
dead consumers are still found, each flow keeps within its own concurrency, and every key the
consumer writes is bounded."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import pytest
from redis.asyncio import Redis
from revbridge_contracts.events import EventType
from revbridge_contracts.models import Invoice
from revbridge_contracts.process import ErrorClass
from revbridge_process.bus import EventBus
from revbridge_process.consumer import Consumer, Outcome
from revbridge_process.errors import SystemRateLimited, SystemUnavailable
from revbridge_process.flows.onboarding import onboard
from revbridge_process.redelivery import SCHEDULE_TTL_SECONDS
from revbridge_process.retry import RetryPolicy, step_runner
from revbridge_process.store import PgStore
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.process.support import (
    GROUP,
    Clock,
    event,
    make_consumer,
    no_sleep,
    pending_count,
    repo_config,
)
from tests.unit.process.fakes import FakeStatuses, FakeSystem, account, contract, invoice, mappings

pytestmark = pytest.mark.anyio
CONTRACT = "800000000000001"
STEADY = RetryPolicy(
    attempts=1, max_deliveries=50, redeliver_base_seconds=5, redeliver_max_seconds=40, redeliver_jitter="none"
)


async def _onboarded(*invoices: Invoice) -> FakeSystem:
    system = FakeSystem()
    system.add(contract(CONTRACT), account(), *(invoices or (invoice("in_1"),)))
    await onboard(CONTRACT, system, mappings(), FakeStatuses())
    system.writes.clear()
    return system


async def _not_before(consumer: Any, entry_id: str, clock: Clock) -> float:
    """Seconds from the injected now to the entry's scheduled redelivery."""
    score = await consumer.schedule.not_before(consumer.streams[1], entry_id)
    assert score is not None, "no redelivery scheduled"
    return round(score / 1000 - clock.now, 3)


async def test_gaps_between_redeliveries_double_with_each_delivery_up_to_the_flow_cap(
    redis: Redis, prefix: str, engine: AsyncEngine
) -> None:
    system = await _onboarded()
    system.failures["get_invoice"] += [SystemUnavailable("billing down")] * 100
    clock = Clock()
    consumer, _ = make_consumer(redis, prefix, engine, system, clock=clock)
    consumer._policies["invoice_posting"] = STEADY
    await consumer.ensure_groups()
    entry_id = await EventBus(redis, prefix).publish(event(EventType.invoice_paid, "in_1"))

    assert await consumer.read_new(block_ms=100) == [Outcome.pending]
    gaps = []
    for _ in range(5):
        gap = await _not_before(consumer, entry_id, clock)
        gaps.append(gap)
        clock.advance(gap - 0.01)
        assert await consumer.reclaim(min_idle_ms=0) == [], "claimed before its time"
        clock.advance(0.01)
        assert await consumer.reclaim(min_idle_ms=0) == [Outcome.pending]
    assert gaps == [5, 10, 20, 40, 40]
    [pending] = await redis.xpending_range(consumer.streams[1], GROUP, min="-", max="+", count=1)
    assert pending["times_delivered"] == 6


async def test_retry_after_from_the_last_failure_sets_a_later_redelivery(
    redis: Redis, prefix: str, engine: AsyncEngine
) -> None:
    system = await _onboarded()
    system.failures["get_invoice"] += [SystemRateLimited("429 from the ERP", retry_after=120.0)]
    clock = Clock()
    consumer, _ = make_consumer(redis, prefix, engine, system, clock=clock)
    consumer._policies["invoice_posting"] = STEADY
    await consumer.ensure_groups()
    entry_id = await EventBus(redis, prefix).publish(event(EventType.invoice_paid, "in_1"))

    assert await consumer.read_new(block_ms=100) == [Outcome.pending]
    assert await _not_before(consumer, entry_id, clock) == 120  # not the 5 s backoff
    clock.advance(60)
    assert await consumer.reclaim(min_idle_ms=0) == []
    clock.advance(60)
    assert await consumer.reclaim(min_idle_ms=0) == [Outcome.done]
    assert list(system.erp_invoices) == ["in_1"]
    assert await redis.zcard(consumer.schedule.key(consumer.streams[1])) == 0


@dataclass
class WriteBackRun:
    system: FakeSystem
    consumer: Consumer
    store: PgStore
    clock: Clock
    entry_id: str

    async def converges(self) -> None:
        """The redelivery links the contract and resolves the exception the failure opened."""
        assert await self.consumer.reclaim(min_idle_ms=0) == [Outcome.done]
        assert self.system.links[CONTRACT].billing_subscription_id == f"sub_{CONTRACT}"
        resolved = await self.store.get_exception("onboarding", CONTRACT)
        assert resolved is not None and resolved.status == "resolved"


async def _write_back_failing(
    redis: Redis, prefix: str, engine: AsyncEngine, failure: Exception
) -> WriteBackRun:
    """A contract activated while the CRM write-back fails with ``failure`` for as many attempts as
    the repository's ``crm_writeback`` policy makes; the first delivery handled."""
    system = FakeSystem()
    system.add(contract(CONTRACT), account())
    policy = repo_config().retries.policy("crm_writeback", RetryPolicy())
    system.failures["put_billing_link"] += [failure] * policy.attempts
    clock = Clock()
    consumer, store = make_consumer(
        redis, prefix, engine, system, clock=clock, writeback=step_runner("crm_writeback", policy, no_sleep)
    )
    consumer._policies["onboarding"] = STEADY
    await consumer.ensure_groups()
    entry_id = await EventBus(redis, prefix).publish(event(EventType.contract_activated, CONTRACT))
    assert await consumer.read_new(block_ms=100) == [Outcome.pending]
    assert CONTRACT not in system.links
    return WriteBackRun(system, consumer, store, clock, entry_id)


async def test_a_throttled_crm_write_back_is_redelivered_after_retry_after_not_abandoned(
    redis: Redis, prefix: str, engine: AsyncEngine
) -> None:
    """Salesforce 429s outlasting the write-back's own attempts: the onboarding waits for the
    Retry-After and converges then; no write-back is given up as an owned exception."""
    run = await _write_back_failing(
        redis, prefix, engine, SystemRateLimited("429 from the CRM", retry_after=90.0)
    )
    score = await run.consumer.schedule.not_before(run.consumer.streams[0], run.entry_id)
    assert score is not None and round(score / 1000 - run.clock.now) == 90
    record = await run.store.get_exception("onboarding", CONTRACT)
    assert record is not None and record.error_class == ErrorClass.rate_limited
    run.clock.advance(90)
    await run.converges()


async def test_a_failing_crm_write_back_is_redelivered_and_its_exception_resolved_when_it_converges(
    redis: Redis, prefix: str, engine: AsyncEngine
) -> None:
    """CRM 500s outlasting the write-back's own attempts (the repository policy): the onboarding is
    redelivered, not left as an exception for a person to retry, and the exception the failure
    opened is resolved when the redelivery links the contract."""
    run = await _write_back_failing(redis, prefix, engine, SystemUnavailable("500 from the CRM"))
    record = await run.store.get_exception("onboarding", CONTRACT)
    assert record is not None and record.error_class == ErrorClass.upstream_unavailable
    run.clock.advance(60)
    await run.converges()


async def test_orphan_of_a_dead_consumer_is_reclaimed_but_a_scheduled_entry_waits(
    redis: Redis, prefix: str, engine: AsyncEngine
) -> None:
    system = await _onboarded(invoice("in_1"), invoice("in_2"))
    system.failures["get_invoice"] += [SystemUnavailable("billing down")]
    clock = Clock()
    dead, _ = make_consumer(redis, prefix, engine, system, name="worker-dead", clock=clock)
    live, _ = make_consumer(redis, prefix, engine, system, name="worker-live", clock=clock)
    live._policies["invoice_posting"] = STEADY
    await live.ensure_groups()
    bus = EventBus(redis, prefix)
    await bus.publish(event(EventType.invoice_paid, "in_1"))
    assert await live.read_new(block_ms=100) == [Outcome.pending]  # scheduled in 5 s
    await bus.publish(event(EventType.invoice_paid, "in_2"))
    [taken] = await dead.fetch_new(block_ms=100)  # read, then the worker died before handling it

    assert await live.reclaim(min_idle_ms=60_000) == []  # the orphan is not idle long enough yet
    outcomes = await live.reclaim(min_idle_ms=0)
    assert outcomes == [Outcome.done]  # in_2, redelivered; in_1 waits for its time
    assert "in_2" in system.erp_invoices and "in_1" not in system.erp_invoices
    assert taken.fields["subject"] == "in_2"
    clock.advance(5)
    assert await live.reclaim(min_idle_ms=0) == [Outcome.done]
    assert await pending_count(redis, live.streams[1]) == 0


async def test_entries_in_hand_are_kept_fresh_so_slow_work_is_not_taken_as_an_orphan(
    redis: Redis, prefix: str, engine: AsyncEngine
) -> None:
    system = await _onboarded()
    consumer, _ = make_consumer(redis, prefix, engine, system, name="worker-slow")
    other, _ = make_consumer(redis, prefix, engine, system, name="worker-other")
    await consumer.ensure_groups()
    entry_id = await EventBus(redis, prefix).publish(event(EventType.invoice_paid, "in_1"))
    [delivery] = await consumer.fetch_new(block_ms=100)
    stream = consumer.streams[1]
    # make the entry look idle for 100 s (XCLAIM ... IDLE), as if the work in hand were that slow
    await redis.xclaim(stream, GROUP, "worker-slow", 0, [entry_id], idle=100_000, justid=True)
    consumer.in_flight[(stream, entry_id)] = "invoice_posting"

    await consumer.touch_in_flight()
    assert await other.fetch_due(min_idle_ms=50_000) == []
    [pending] = await redis.xpending_range(stream, GROUP, min="-", max="+", count=1)
    assert pending["consumer"] == "worker-slow" and pending["times_delivered"] == 1
    assert delivery.entry_id == entry_id


async def test_each_flow_keeps_within_its_own_concurrency(
    redis: Redis, prefix: str, engine: AsyncEngine
) -> None:
    invoices = [invoice(f"in_{i}") for i in range(8)]
    system = await _onboarded(*invoices)
    gate, running, peak = asyncio.Event(), [0], [0]
    real_get_invoice = system.get_invoice

    async def slow_get_invoice(billing_account: str, invoice_id: str) -> Invoice:
        running[0] += 1
        peak[0] = max(peak[0], running[0])
        try:
            await gate.wait()
            return await real_get_invoice(billing_account, invoice_id)
        finally:
            running[0] -= 1

    system.get_invoice = slow_get_invoice  # type: ignore[method-assign]
    consumer, _ = make_consumer(redis, prefix, engine, system)
    consumer._policies["invoice_posting"] = RetryPolicy(attempts=1, concurrency=3)
    await consumer.ensure_groups()
    bus = EventBus(redis, prefix)
    for item in invoices:
        await bus.publish(event(EventType.invoice_paid, item.id))
    await bus.publish(event(EventType.contract_activated, CONTRACT))

    task = asyncio.create_task(consumer.read_new(block_ms=100, count=20))
    deadline = time.monotonic() + 5
    while not (running[0] == 3 and consumer.peak_in_flight.get("onboarding")):
        assert time.monotonic() < deadline, f"never reached 3 running ({running[0]})"
        await asyncio.sleep(0.01)
    # invoice posting is at its limit; the onboarding, another flow, was not held behind it
    onboarding = await asyncio.wait_for(_until_done(consumer, "onboarding"), timeout=5)
    assert onboarding and running[0] == 3
    gate.set()
    outcomes = await asyncio.wait_for(task, timeout=10)
    assert outcomes == [Outcome.done] * 9
    assert peak[0] == 3 and consumer.peak_in_flight["invoice_posting"] == 3
    assert sorted(system.erp_invoices) == sorted(i.id for i in invoices)


async def _until_done(consumer: Any, flow: str) -> bool:
    while flow in consumer.in_flight.values():
        await asyncio.sleep(0.01)
    return True


async def test_schedule_key_and_group_members_are_bounded(
    redis: Redis, prefix: str, engine: AsyncEngine
) -> None:
    system = await _onboarded(invoice("in_1"), invoice("in_2"))
    system.failures["get_invoice"] += [SystemUnavailable("billing down")] * 2
    clock = Clock()
    consumer, _ = make_consumer(redis, prefix, engine, system, name="worker-now", clock=clock)
    consumer._policies["invoice_posting"] = STEADY
    await consumer.ensure_groups()
    bus = EventBus(redis, prefix)
    first = await bus.publish(event(EventType.invoice_paid, "in_1"))
    await bus.publish(event(EventType.invoice_paid, "in_2"))
    assert await consumer.read_new(block_ms=100) == [Outcome.pending, Outcome.pending]
    schedule = consumer.schedule.key(consumer.streams[1])
    assert 0 < await redis.ttl(schedule) <= SCHEDULE_TTL_SECONDS

    # an entry trimmed from the stream while it waits leaves both the pending list and the schedule
    await redis.xdel(consumer.streams[1], first)
    clock.advance(5)
    assert await consumer.reclaim(min_idle_ms=0) == [Outcome.done]  # in_2 only
    assert await redis.zcard(schedule) == 0
    assert await pending_count(redis, consumer.streams[1]) == 0

    # group members of restarted workers (nothing pending) are removed; the live one stays
    await redis.xgroup_createconsumer(consumer.streams[1], GROUP, "host-1234")
    assert await consumer.reap_consumers(idle_ms=0) == ["host-1234"]
    members = await redis.xinfo_consumers(consumer.streams[1], GROUP)
    assert [m["name"] for m in members] == ["worker-now"]
