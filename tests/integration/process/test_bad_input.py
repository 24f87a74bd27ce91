"""Bad input never blocks the stream (real Redis, the fake system port): malformed envelopes, unknown
event types, events for customers the CRM does not have and webhooks for objects deleted since
(a system API 404) are each recorded with their reason as an owned exception and acknowledged,
and the event behind them is processed. Each flow's retry policy decides give-up and dead-lettering."""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio import Redis
from revbridge_contracts.events import EventType
from revbridge_contracts.process import ErrorClass, FlowState
from revbridge_process.bus import EventBus
from revbridge_process.consumer import Outcome
from revbridge_process.errors import SystemUnavailable
from revbridge_process.retry import RetryPolicy
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.process.support import Clock, event, make_consumer, pending_count
from tests.unit.process.fakes import FakeSystem, account, contract, invoice

pytestmark = pytest.mark.anyio
GOOD, ORPHAN = "800000000000001", "800000000000003"


def _system() -> FakeSystem:
    system = FakeSystem()
    system.add(contract(GOOD), account(), contract(ORPHAN, account_id="001GONE"))
    return system


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"type": "crm.contract.activated", "source": "api"}, "subject"),  # no subject
        (
            {"type": "crm.contract.activated", "source": "api", "subject": GOOD, "occurred_at": "soon"},
            "occurred_at",
        ),
        ({"type": "crm.contract.exploded", "source": "api", "subject": GOOD}, "type"),  # unknown event type
        ({"payload": "{not json"}, "type"),
    ],
)
async def test_malformed_or_unknown_entries_are_recorded_acked_and_the_next_event_flows(
    redis: Redis, prefix: str, engine: AsyncEngine, fields: dict[str, Any], problem: str
) -> None:
    consumer, store = make_consumer(redis, prefix, engine, _system())
    await consumer.ensure_groups()
    crm = consumer.streams[0]
    bad_id = str(await redis.xadd(crm, fields))
    await EventBus(redis, prefix).publish(event(EventType.contract_activated, GOOD))

    assert await consumer.read_new(block_ms=100) == [Outcome.bad_event, Outcome.done]
    record = await store.get_exception("intake", f"{crm}/{bad_id}")
    assert record is not None and record.error_class == ErrorClass.bad_event and problem in record.reason
    assert record.owner == "integration-ops"
    assert await pending_count(redis, crm) == 0


async def test_contract_for_an_unknown_customer_is_an_owned_exception(
    redis: Redis, prefix: str, engine: AsyncEngine
) -> None:
    system = _system()
    consumer, store = make_consumer(redis, prefix, engine, system)
    await consumer.ensure_groups()
    bus = EventBus(redis, prefix)
    await bus.publish(event(EventType.contract_activated, ORPHAN))
    await bus.publish(event(EventType.contract_activated, GOOD))

    assert await consumer.read_new(block_ms=100) == [Outcome.failed, Outcome.done]
    record = await store.get_exception("onboarding", ORPHAN)
    assert record is not None and "account 001GONE not found" in record.reason and record.owner
    assert not [w for w in system.writes if w[1] == "001GONE"]
    status = await store.get_status(ORPHAN)
    assert status is not None and status.state == FlowState.failed
    assert await pending_count(redis, consumer.streams[0]) == 0


async def test_webhook_for_a_deleted_invoice_is_an_owned_exception(
    redis: Redis, prefix: str, engine: AsyncEngine
) -> None:
    system = _system()
    system.add(invoice("in_live", GOOD))
    consumer, store = make_consumer(redis, prefix, engine, system)
    await consumer.ensure_groups()
    bus = EventBus(redis, prefix)
    await bus.publish(event(EventType.contract_activated, GOOD))  # makes the ERP customer
    await bus.publish(event(EventType.invoice_paid, "in_deleted", account="default"))
    await bus.publish(event(EventType.invoice_paid, "in_live", account="default"))

    # one entry per stream first: entries of one batch run concurrently, and an invoice read beside
    # its customer's onboarding would wait for a redelivery (409) instead of posting now
    assert await consumer.read_new(block_ms=100, count=1) == [Outcome.done, Outcome.failed]
    assert await consumer.read_new(block_ms=100) == [Outcome.done]
    record = await store.get_exception("invoice_posting", "in_deleted")
    assert record is not None and "invoice in_deleted not found" in record.reason
    assert record.account == "default"
    assert "in_live" in system.erp_invoices
    assert await pending_count(redis, consumer.streams[1]) == 0


async def test_flow_policy_gives_up_or_dead_letters_by_its_own_numbers(
    redis: Redis, prefix: str, engine: AsyncEngine
) -> None:
    system = _system()
    give_up = RetryPolicy(attempts=1, give_up=True)
    patient = RetryPolicy(attempts=1, max_deliveries=2)
    clock = Clock()
    consumer, store = make_consumer(redis, prefix, engine, system, max_deliveries=50, clock=clock)
    consumer._policies.update({"onboarding": give_up, "invoice_posting": patient})
    await consumer.ensure_groups()
    bus = EventBus(redis, prefix)

    system.failures["get_contract"].append(SystemUnavailable("503"))
    await bus.publish(event(EventType.contract_activated, GOOD))
    assert await consumer.read_new(block_ms=100) == [Outcome.failed]  # given up on: acked, owned
    record = await store.get_exception("onboarding", GOOD)
    assert record is not None and record.error_class == ErrorClass.upstream_unavailable
    assert await pending_count(redis, consumer.streams[0]) == 0

    system.failures["get_invoice"].extend([SystemUnavailable("503")] * 5)
    await bus.publish(event(EventType.invoice_paid, "in_1", account="default"))
    assert await consumer.read_new(block_ms=100) == [Outcome.pending]
    clock.advance(3600)  # past any redelivery gap
    assert await consumer.reclaim(min_idle_ms=0) == [Outcome.pending]  # delivery 2
    clock.advance(3600)
    assert await consumer.reclaim(min_idle_ms=0) == [Outcome.dead_lettered]  # delivery 3 > 2
    [(_, fields)] = await redis.xrange(consumer.dead_letter)
    assert fields["subject"] == "in_1" and "more than 2" in fields["dead_letter_reason"]
