"""Delivery guarantees of the worker against a real Redis: duplicates and reordering converge,
pending entries are reclaimed by another consumer, poison entries end in the dead-letter stream."""

from __future__ import annotations

import time
from typing import Any

import pytest
from redis.asyncio import Redis
from revbridge_contracts.events import EventType
from revbridge_contracts.process import ErrorClass
from revbridge_process.bus import EventBus
from revbridge_process.consumer import Outcome
from revbridge_process.errors import SystemUnavailable
from revbridge_process.flows.onboarding import onboard
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.process.support import Clock, event, make_consumer, pending_count
from tests.unit.process.fakes import FakeStatuses, FakeSystem, account, contract, invoice, mappings

pytestmark = pytest.mark.anyio
CONTRACT = "800000000000001"


async def _onboarded() -> FakeSystem:
    system = FakeSystem()
    system.add(contract(CONTRACT), account(), invoice("in_1"))
    await onboard(CONTRACT, system, mappings(), FakeStatuses())
    system.writes.clear()
    return system


async def test_duplicate_and_reordered_invoice_events_converge_to_one_posting(
    redis: Redis, prefix: str, engine: AsyncEngine
) -> None:
    system = await _onboarded()
    consumer, _ = make_consumer(redis, prefix, engine, system)
    await consumer.ensure_groups()
    bus = EventBus(redis, prefix)
    for type_ in (
        EventType.invoice_paid,
        EventType.invoice_finalized,
        EventType.invoice_paid,
        EventType.invoice_finalized,
    ):  # paid before finalized, and each twice
        await bus.publish(event(type_, "in_1", account="default"))

    assert await consumer.read_new(block_ms=100) == [Outcome.done] * 4
    assert list(system.erp_invoices) == ["in_1"] and list(system.erp_payments) == ["py_1"]
    distinct = {(method, key, command.model_dump_json()) for method, key, command in system.writes}
    journals = [k for m, k, _ in distinct if m == "upsert_erp_journal_entry"]  # revenue, once per month
    assert len(journals) == len(set(journals))
    assert sorted((m, k) for m, k, _ in distinct if m != "upsert_erp_journal_entry") == [
        ("upsert_erp_invoice", "in_1"),
        ("upsert_erp_payment", "py_1"),
    ]
    assert system.erp_payments["py_1"].amount == 300000
    assert await pending_count(redis, consumer.streams[1]) == 0


async def test_invoice_before_its_erp_customer_waits_pending_then_posts(
    redis: Redis, prefix: str, engine: AsyncEngine
) -> None:
    system = FakeSystem()
    system.add(contract(CONTRACT), account(), invoice("in_1"))
    clock = Clock()
    consumer, store = make_consumer(redis, prefix, engine, system, clock=clock)
    await consumer.ensure_groups()
    await EventBus(redis, prefix).publish(event(EventType.invoice_finalized, "in_1"))

    assert await consumer.read_new(block_ms=100) == [Outcome.pending]  # 409: no ERP customer yet
    record = await store.get_exception("invoice_posting", "in_1")
    assert record is not None and (record.error_class, record.owner) == (ErrorClass.conflict, "finance-ops")
    assert await pending_count(redis, consumer.streams[1]) == 1

    await onboard(CONTRACT, system, mappings(), FakeStatuses())
    assert await consumer.reclaim(min_idle_ms=0) == []  # its redelivery is not due yet
    clock.advance(3600)
    assert await consumer.reclaim(min_idle_ms=0) == [Outcome.done]
    assert list(system.erp_invoices) == ["in_1"]
    resolved = await store.get_exception("invoice_posting", "in_1")
    assert resolved is not None and resolved.status == "resolved"
    assert await pending_count(redis, consumer.streams[1]) == 0


async def test_pending_message_is_redelivered_to_another_consumer_when_due(
    redis: Redis, prefix: str, engine: AsyncEngine
) -> None:
    system = await _onboarded()
    system.failures["get_invoice"] += [SystemUnavailable("billing down")] * 2  # both in-process attempts
    clock = Clock()
    first, _ = make_consumer(redis, prefix, engine, system, name="worker-a", clock=clock)
    second, _ = make_consumer(redis, prefix, engine, system, name="worker-b", clock=clock)
    await first.ensure_groups()
    await EventBus(redis, prefix).publish(event(EventType.invoice_paid, "in_1"))

    assert await first.read_new(block_ms=100) == [Outcome.pending]
    billing = first.streams[1]
    [entry] = await redis.xpending_range(billing, "process", min="-", max="+", count=10)
    assert entry["consumer"] == "worker-a"

    assert await second.reclaim(min_idle_ms=0) == []  # scheduled, not due: not an orphan either
    clock.advance(3600)
    assert await second.reclaim(min_idle_ms=0) == [Outcome.done]
    assert await pending_count(redis, billing) == 0
    assert list(system.erp_payments) == ["py_1"]


async def test_poison_message_goes_to_dead_letter_after_max_deliveries(
    redis: Redis, prefix: str, engine: AsyncEngine
) -> None:
    system = await _onboarded()
    system.failures["get_invoice"] += [KeyError("bug in a mapper")] * 100
    clock = Clock()
    consumer, store = make_consumer(redis, prefix, engine, system, max_deliveries=5, clock=clock)
    await consumer.ensure_groups()
    await EventBus(redis, prefix).publish(event(EventType.invoice_paid, "in_1", correlation_id="c-poison"))
    outcomes = await consumer.read_new(block_ms=100)

    deadline = time.monotonic() + 10
    while Outcome.dead_lettered not in outcomes and time.monotonic() < deadline:
        clock.advance(86_400)
        outcomes += await consumer.reclaim(min_idle_ms=0)
    assert outcomes == [Outcome.pending] * 5 + [Outcome.dead_lettered]

    dead: list[Any] = await redis.xrange(consumer.dead_letter)  # type: ignore[assignment]
    [(_, fields)] = dead
    assert fields["subject"] == "in_1" and fields["correlation_id"] == "c-poison"
    assert fields["dead_letter_stream"] == consumer.streams[1]
    assert "delivered 6 times" in fields["dead_letter_reason"]
    assert await pending_count(redis, consumer.streams[1]) == 0
    record = await store.get_exception("invoice_posting", "in_1")
    assert record is not None and (record.error_class, record.attempts) == (ErrorClass.unknown, 5)
